"""pytest plugin: markers for tests that need real services, and Playwright on Debian's Chromium.

A test marked `postgres`, `redis`, `browser` or `celery_worker` is skipped, with the reason, where that
service is missing, so `make test` passes on a bare laptop. CI sets TASKFORCE_REQUIRE_SERVICES=1: there a
missing service is a failure, because a green run that skipped the real database proves little.
Loaded through pyproject.toml's addopts (`-p tests.plugins.services`).
"""

from __future__ import annotations

import functools
import importlib.util
import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest

# Playwright's sync API keeps an event loop running in the test thread; Django would then refuse ORM
# calls from that thread (SynchronousOnlyOperation) in live_server tests. Set before any test runs.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

DEFAULT_CHROMIUM = "/usr/bin/chromium"
POSTGRES_SCHEMES = {"postgres", "postgresql", "pgsql", "postgis"}
PLAYWRIGHT_FIXTURES = {"page", "context", "browser", "new_context", "launch_browser"}

# Without these Chromium stalls or crashes here: no sandbox as root, no GPU, and no network beyond loopback
# (QUIC, component updates, sync and background fetches would wait on hosts it cannot reach).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

MARKERS = {
    "postgres": "needs PostgreSQL running (DATABASE_URL=postgres://...)",
    "redis": "needs Redis running (REDIS_URL=redis://...)",
    "browser": "needs Chromium (/usr/bin/chromium or $CHROMIUM_PATH) and the playwright package",
    "celery_worker": "needs Redis and PostgreSQL running (a real broker and row locking)",
}


def services_required() -> bool:
    return os.environ.get("TASKFORCE_REQUIRE_SERVICES", "").strip().lower() in {"1", "true", "yes", "on"}


def missing_postgres() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    if urlsplit(url).scheme.lower() in POSTGRES_SCHEMES:
        return None
    return "needs PostgreSQL: set DATABASE_URL=postgres://postgres@127.0.0.1:5432/taskforce"


@functools.cache
def _redis_ping(url: str) -> str | None:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping()
    except (redis.RedisError, OSError, ValueError) as exc:
        return f"needs Redis: {url} does not answer PING ({exc.__class__.__name__}: {exc})"
    return None


def missing_redis() -> str | None:
    url = os.environ.get("REDIS_URL", "")
    if not url:
        return "needs Redis: set REDIS_URL=redis://127.0.0.1:6379/0 and start redis-server"
    return _redis_ping(url)


def chromium_executable() -> str:
    return os.environ.get("CHROMIUM_PATH") or DEFAULT_CHROMIUM


def missing_browser() -> str | None:
    path = chromium_executable()
    if not (Path(path).is_file() and os.access(path, os.X_OK)):
        return f"needs Chromium: no executable at {path} (apt-get install chromium, or set CHROMIUM_PATH)"
    if importlib.util.find_spec("playwright") is None:
        return "needs Chromium: the playwright package is not installed (pip install -r requirements-dev.txt)"
    return None


def missing_celery_worker() -> str | None:
    reasons = [reason for reason in (missing_redis(), missing_postgres()) if reason]
    return "; ".join(reasons) or None


CHECKS = {
    "postgres": missing_postgres,
    "redis": missing_redis,
    "browser": missing_browser,
    "celery_worker": missing_celery_worker,
}


def skip_or_fail(reason: str) -> None:
    if services_required():
        pytest.fail(f"{reason} (TASKFORCE_REQUIRE_SERVICES=1 makes this a failure, not a skip)", pytrace=False)
    pytest.skip(reason)


def pytest_configure(config: pytest.Config) -> None:
    for name, description in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {description}")
    # Entry-point plugins such as pytest-playwright load after `-p` plugins and would win a fixture-name tie;
    # registering the fixtures now puts them last, so ours override pytest-playwright's launch arguments.
    config.pluginmanager.register(PlaywrightFixtures, "taskforce-playwright-fixtures")


def missing_services(item: pytest.Item) -> str | None:
    reasons = [check() for marker, check in CHECKS.items() if item.get_closest_marker(marker) is not None]
    return "; ".join(dict.fromkeys(reason for reason in reasons if reason)) or None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    strict = services_required()
    for item in items:
        # A test that drives a browser needs Chromium whether or not its author remembered the marker.
        if PLAYWRIGHT_FIXTURES.intersection(getattr(item, "fixturenames", ())) and not item.get_closest_marker(
            "browser"
        ):
            item.add_marker(pytest.mark.browser)
        # A skip marker (rather than pytest.skip() in a hook) reports the test's own file and line.
        if not strict and (reason := missing_services(item)):
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    # tryfirst: fail before fixtures such as live_server or the database try to reach the missing service.
    if services_required() and (reason := missing_services(item)):
        skip_or_fail(reason)


class PlaywrightFixtures:
    """Registered as a plugin in pytest_configure, after pytest-playwright, so these override its defaults."""

    @pytest.fixture(scope="session")
    @staticmethod
    def chromium_path() -> str:
        """The Chromium binary the browser tests drive: Debian's, or $CHROMIUM_PATH."""
        if reason := missing_browser():
            skip_or_fail(reason)
        return chromium_executable()

    @pytest.fixture(scope="session")
    @staticmethod
    def browser_type_launch_args(chromium_path: str) -> dict:
        """Launch Debian's Chromium headless; Playwright's own browser downloads are not reachable here."""
        return {"executable_path": chromium_path, "headless": True, "args": CHROMIUM_ARGS}
