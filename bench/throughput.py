"""Throughput: gunicorn with 2 workers on loopback under wrk; my-cases requests per second against the floor's.

gunicorn serves the production WSGI app (DEBUG off, WhiteNoise, every middleware, the MFA gate on) from the
bench database, with this process's environment, so its SECRET_KEY accepts the session made here. The
session is a real sign-in's: `bench.pages.client_for` logs the seeded liaison in (the session clock starts
as at sign-in) and the liaison has a TOTP authenticator, which is what the MFA gate checks; the cookie goes
to wrk with the `X-Forwarded-Proto: https` a TLS proxy would add. A Lua hook counts every status code, so a
redirect to sign-in (which wrk would count as a success) fails the section instead of inflating it.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.urls import reverse

from bench.context import BenchContext, Result

SECTION = "throughput"
MIN_RATIO = 0.40
WORKERS = 2
CONNECTIONS = 4  # two per sync worker: one being served, one waiting, so no worker ever idles
DURATIONS = {"T": 2}  # seconds per timed run
FULL_DURATION = 10
ROUNDS = 2  # floor, my cases, floor, my cases: a busy spell on the shared machine hits both
WRK = os.environ.get("WRK", "/usr/bin/wrk")
BASE_DIR = Path(settings.BASE_DIR)

STATUS_SCRIPT = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) statuses = {} end
function response(status, headers, body) statuses[status] = (statuses[status] or 0) + 1 end
function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for code, n in pairs(thread:get("statuses")) do total[code] = (total[code] or 0) + n end
  end
  io.write("STATUSES")
  for code, n in pairs(total) do io.write(" " .. code .. "=" .. n) end
  io.write("\\n")
end
"""


def application():
    """gunicorn's app factory (`bench.throughput:application()`): the project's WSGI app plus the floor route.

    The floor view is routed only when settings.BENCH_FLOOR is on (taskforce/urls.py), as bench.run does.
    """
    from django.core.wsgi import get_wsgi_application
    from django.urls import clear_url_caches

    app = get_wsgi_application()
    settings.BENCH_FLOOR = True
    if "taskforce.urls" in sys.modules:  # an app's ready() may have loaded the URLconf already
        importlib.reload(sys.modules["taskforce.urls"])
    clear_url_caches()
    return app


@dataclass
class Run:
    url: str
    requests_per_s: float
    requests: int
    statuses: dict[int, int]
    socket_errors: str
    latency_p50_ms: float | None
    output: str  # wrk's report, for the log when a run looks wrong

    @property
    def all_ok(self) -> bool:
        return bool(self.statuses) and set(self.statuses) == {200}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def session_cookie(user_id: int) -> str:
    from bench.pages import client_for

    client = client_for(user_id)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


class Gunicorn:
    def __init__(self, ctx: BenchContext, port: int) -> None:
        self.port = port
        self.log_path = ctx.workdir / "gunicorn.log"
        env = {
            **os.environ,
            "DATABASE_URL": ctx.database_url,
            "REDIS_URL": ctx.redis_url,
            "PYTHONPATH": str(BASE_DIR),
        }
        argv = [
            sys.executable, "-m", "gunicorn",
            "--workers", str(WORKERS), "--bind", f"127.0.0.1:{port}",
            "--worker-tmp-dir", str(ctx.workdir), "--timeout", "60", "--log-level", "warning",
            "bench.throughput:application()",
        ]  # fmt: skip
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(argv, cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)

    def get(self, path: str, cookie: str = "") -> tuple[int, bytes]:
        """One request as wrk sends it, without following redirects."""

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", headers={"Cookie": cookie, "X-Forwarded-Proto": "https"}
        )
        opener = urllib.request.build_opener(NoRedirect)
        try:
            with opener.open(request, timeout=30) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def wait_ready(self, path: str = "/", cookie: str = "", timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                self.get(path, cookie)
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer:\n{self.output()}")

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # graceful: workers finish their request
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def wrk(port: int, path: str, cookie: str, seconds: int, script: Path) -> Run:
    url = f"http://127.0.0.1:{port}{path}"
    argv = [
        WRK, "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", "-s", str(script),
        "-H", f"Cookie: {cookie}", "-H", "X-Forwarded-Proto: https", url,
    ]  # fmt: skip
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    statuses = {}
    if match := re.search(r"^STATUSES(.*)$", out, re.MULTILINE):
        statuses = {int(code): int(n) for code, n in re.findall(r"(\d+)=(\d+)", match.group(1))}
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    socket_errors = m.group(0) if (m := re.search(r"Socket errors:.*", out)) else ""
    p50 = re.search(r"^\s+50%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    latency = round(float(p50.group(1)) * scale[p50.group(2)], 2) if p50 else None
    return Run(path, rate, total, statuses, socket_errors, latency, out)


@contextlib.contextmanager
def serving(ctx: BenchContext) -> Iterator[Gunicorn]:
    """gunicorn up and answering for the duration of the block, then stopped."""
    server = Gunicorn(ctx, free_port())
    try:
        server.wait_ready("/", "")
        yield server
    finally:
        server.stop()


def status_script(ctx: BenchContext) -> Path:
    script = ctx.workdir / "wrk-statuses.lua"
    script.write_text(STATUS_SCRIPT)
    return script


def measure(ctx: BenchContext) -> list[Result]:
    with serving(ctx) as server:
        return measure_on(server, ctx)


def measure_on(server: Gunicorn, ctx: BenchContext) -> list[Result]:
    seconds = DURATIONS.get(ctx.size, FULL_DURATION)
    pages = {
        "floor": reverse("taskforce:bench_floor", kwargs={"slug": ctx.taskforce_slug}),
        "my cases": reverse("cases:mine", kwargs={"slug": ctx.taskforce_slug}),
    }
    cookie = session_cookie(ctx.users["liaison"])
    script = status_script(ctx)
    runs: dict[str, list[Run]] = {name: [] for name in pages}
    for name, path in pages.items():
        status, _body = server.get(path, cookie)
        if status != 200:
            raise RuntimeError(f"{name} ({path}) answered {status} to the liaison's session, not 200")
        wrk(server.port, path, cookie, 1, script)  # warm-up: both workers' first requests
    for _ in range(ROUNDS):
        for name, path in pages.items():
            runs[name].append(wrk(server.port, path, cookie, seconds, script))
    for name, path in pages.items():  # the session survived the load: still signed in, still 200
        status, _body = server.get(path, cookie)
        if status != 200:
            raise RuntimeError(f"after the load, {name} answered {status}")

    rate = {name: sum(r.requests_per_s for r in rs) / len(rs) for name, rs in runs.items()}
    ok = all(r.all_ok for rs in runs.values() for r in rs)
    detail = {
        "workers": WORKERS,
        "connections": CONNECTIONS,
        "seconds_per_run": seconds,
        "runs": {
            name: [
                {
                    "req_per_s": r.requests_per_s,
                    "requests": r.requests,
                    "statuses": r.statuses,
                    "p50_ms": r.latency_p50_ms,
                    "socket_errors": r.socket_errors,
                }
                for r in rs
            ]
            for name, rs in runs.items()
        },
        "all_200": ok,
    }
    ratio = rate["my cases"] / rate["floor"] if rate["floor"] else 0.0
    return [
        Result(SECTION, "floor (gunicorn, 2 workers)", round(rate["floor"], 1), "per s", detail=detail),
        Result(SECTION, "my cases (gunicorn, 2 workers)", round(rate["my cases"], 1), "per s", detail=detail),
        Result(
            SECTION,
            "my cases throughput vs floor",
            round(ratio, 2),
            "x floor",
            target=f">= {MIN_RATIO:.2f}x floor, every response 200",
            passed=ok and ratio >= MIN_RATIO,
            detail=detail,
        ),
    ]
