/* Meetings: live countdowns and clocks, and confirmations. Loaded with the CSP nonce; no inline handlers. */
(function () {
  "use strict";

  function mmss(seconds) {
    var s = Math.abs(Math.round(seconds));
    var m = Math.floor(s / 60);
    var r = s % 60;
    return m + ":" + (r < 10 ? "0" : "") + r;
  }

  function hhmmss(seconds) {
    var s = Math.max(0, Math.round(seconds));
    var h = Math.floor(s / 3600);
    var rest = mmss(s % 3600);
    if (h === 0) return rest;
    return h + ":" + (rest.length < 5 ? "0" : "") + rest;
  }

  var timers = [];

  function clearTimers() {
    timers.forEach(function (t) { window.clearInterval(t); });
    timers = [];
  }

  function startCountdowns(root) {
    var loadedAt = Date.now();
    root.querySelectorAll("[data-countdown]").forEach(function (box) {
      var remaining = parseInt(box.getAttribute("data-remaining"), 10) || 0;
      var planned = parseInt(box.getAttribute("data-planned"), 10) || 1;
      var display = box.querySelector("[data-countdown-display]");
      var label = box.querySelector("[data-countdown-label]");
      var bar = box.querySelector("[data-countdown-bar]");
      var warning = box.querySelector("[data-overrun-warning]");
      var live = document.querySelector("[data-clock]");
      var running = !live || live.getAttribute("data-live") === "1" || !!box.closest("#follow-live");
      var actual = document.querySelector("[data-actual-current]");
      var actualStart = actual ? parseInt(actual.getAttribute("data-actual-current"), 10) || 0 : 0;
      function tick() {
        var passed = running ? (Date.now() - loadedAt) / 1000 : 0;
        var left = remaining - passed;
        var over = left < 0;
        if (display) display.textContent = (over ? "+" : "") + mmss(left);
        if (label) label.textContent = label.getAttribute(over ? "data-over" : "data-left");
        box.classList.toggle("is-over", over);
        box.classList.toggle("is-warning", !over && left < 60);
        if (warning) warning.hidden = !over;
        if (bar) {
          var used = Math.min(1, (planned - left) / planned);
          bar.style.width = (used * 100).toFixed(1) + "%";
        }
        if (actual) {
          actual.textContent = mmss(actualStart + passed);
          var row = actual.closest("tr");
          if (row) row.classList.toggle("is-over", over);
        }
      }
      tick();
      timers.push(window.setInterval(tick, 1000));
    });
    var clock = root.querySelector("[data-clock]") || document.querySelector("[data-clock]");
    if (clock && root === document) {
      var loaded = Date.now();
      var elapsedAtLoad = parseInt(clock.getAttribute("data-elapsed"), 10) || 0;
      var leftAtLoad = parseInt(clock.getAttribute("data-left"), 10) || 0;
      var now = clock.querySelector("[data-clock-now]");
      var elapsed = clock.querySelector("[data-clock-elapsed]");
      var left = clock.querySelector("[data-clock-left]");
      var isLive = clock.getAttribute("data-live") === "1";
      var clockTick = function () {
        var passed = (Date.now() - loaded) / 1000;
        if (now) now.textContent = new Date().toLocaleTimeString([], { hour: "numeric", minute: "2-digit" });
        if (elapsed) elapsed.textContent = isLive ? hhmmss(elapsedAtLoad + passed) : (elapsedAtLoad ? hhmmss(elapsedAtLoad) : "—");
        if (left) {
          var l = leftAtLoad - (isLive ? passed : 0);
          left.textContent = Math.abs(l) > 86400 ? "—" : (l >= 0 ? hhmmss(l) : "+" + hhmmss(-l));
          left.classList.toggle("is-over", l < 0);
        }
      };
      clockTick();
      window.setInterval(clockTick, 1000);
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    startCountdowns(document);
    document.addEventListener("submit", function (event) {
      var button = event.submitter;
      var message = button && button.getAttribute("data-confirm");
      if (message && !window.confirm(message)) event.preventDefault();
    });
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    clearTimers();
    startCountdowns(event.target);
  });
})();
