"""The services plugin: what it skips, what CI's strict mode turns into failures, and the services themselves."""

from __future__ import annotations

import pytest

from tests.plugins import services

pytest_plugins = ["pytester"]

INNER_TESTS = """
import pytest

@pytest.mark.postgres
def test_needs_postgres():
    pass

@pytest.mark.redis
def test_needs_redis():
    pass

@pytest.mark.celery_worker
def test_needs_worker():
    pass

def test_needs_nothing():
    pass
"""


@pytest.fixture
def inner(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A throwaway test session with only our plugin, and no service configured."""
    for name in ("DATABASE_URL", "REDIS_URL", "TASKFORCE_REQUIRE_SERVICES"):
        monkeypatch.delenv(name, raising=False)
    pytester.makepyfile(test_inner=INNER_TESTS)
    return pytester


def run(pytester: pytest.Pytester) -> pytest.RunResult:
    # Django and Playwright stay out of the inner session: it exercises only the marker logic.
    return pytester.runpytest("-p", "tests.plugins.services", "-p", "no:django", "-p", "no:playwright", "-rs")


def test_it_skips_with_a_reason_when_services_are_missing(inner: pytest.Pytester) -> None:
    result = run(inner)

    result.assert_outcomes(passed=1, skipped=3)
    result.stdout.fnmatch_lines(["*needs PostgreSQL: set DATABASE_URL=postgres://*", "*needs Redis: set REDIS_URL=*"])
    assert result.ret == pytest.ExitCode.OK


def test_strict_mode_turns_every_skip_into_a_failure(inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TASKFORCE_REQUIRE_SERVICES", "1")

    result = run(inner)

    result.assert_outcomes(passed=1, errors=3)
    result.stdout.fnmatch_lines(["*needs PostgreSQL*TASKFORCE_REQUIRE_SERVICES=1 makes this a failure*"])
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_it_runs_the_test_when_the_service_is_configured(
    inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TASKFORCE_REQUIRE_SERVICES", "1")
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/anything")

    result = run(inner)

    result.assert_outcomes(passed=2, errors=2)


def test_it_pings_redis_rather_than_trusting_the_url(monkeypatch: pytest.MonkeyPatch) -> None:
    # Port 1 on loopback: nothing listens there, so the connection is refused at once.
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")

    assert "does not answer PING" in services.missing_redis()


def test_it_needs_an_executable_chromium(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("CHROMIUM_PATH", str(tmp_path / "no-such-chromium"))

    assert "no executable at" in services.missing_browser()


def test_worker_tests_need_both_redis_and_postgres(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("DATABASE_URL", "sqlite:///db.sqlite3")

    reason = services.missing_celery_worker()

    assert "needs Redis" in reason
    assert "needs PostgreSQL" in reason


def test_playwright_tests_are_marked_browser_automatically(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_page="def test_uses_page(page):\n    pass\n")

    items, _ = pytester.inline_genitems("-p", "tests.plugins.services", "-p", "no:django")

    assert items[0].get_closest_marker("browser") is not None


# --- the services themselves: skipped on a bare machine, required in CI ------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_database_is_postgresql() -> None:
    from django.db import connection

    assert connection.vendor == "postgresql"


@pytest.mark.redis
def test_the_cache_is_redis() -> None:
    from django.core.cache import cache

    cache.set("taskforce-infrastructure-check", "ok", timeout=10)

    assert cache.get("taskforce-infrastructure-check") == "ok"


@pytest.mark.browser
def test_chromium_loads_our_static_files_from_the_live_server(page, live_server, chromium_path: str) -> None:
    response = page.goto(f"{live_server.url}/static/vendor/bootstrap.min.css")

    assert response is not None and response.ok
    assert "text/css" in response.headers["content-type"]
    assert "Bootstrap" in page.content()
