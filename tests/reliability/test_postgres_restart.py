"""PostgreSQL restarted under a running app: the app recovers on its own, without being restarted.

The app is gunicorn in a subprocess against a private cluster (never the shared one on 5432), so the restart
kills every connection the app's psycopg pool holds. The pool must notice (settings: `check=
ConnectionPool.check_connection`) rather than hand a dead connection to the next request.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from tests.cast import PASSWORD
from tests.reliability.conftest import (
    AppServer,
    PostgresCluster,
    WebClient,
    clone_test_schema,
    run_django,
    service_env,
)

# django_db: pytest-django sets up (and names) the test database only for tests that ask for one.
pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

SEED = """
import json
from django.conf import settings
from django.core.management import call_command
settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # as the app's TEST_FAST_HASHING
call_command("migrate", verbosity=0)  # the schema is cloned; this adds content types and permissions
from tests.cast import build_cast
cast = build_cast()
print(json.dumps({"email": cast.coordinator.email, "slug": cast.taskforce.slug}))
"""


@pytest.fixture
def app_on_private_postgres(private_postgres: PostgresCluster, django_db_setup, tmp_path: Path):
    """(app, cluster, seed): gunicorn serving a seeded copy of the schema from the private cluster."""
    url = clone_test_schema(private_postgres, "taskforce")
    # No Redis: this test is about the database alone (the cache is then per-process, tasks run in-process).
    env = service_env(database_url=url, redis_url="", mail_dir=tmp_path / "mail-seed")
    seed = json.loads(run_django(SEED, env=env).splitlines()[-1])
    app = AppServer(tmp_path, database_url=url, redis_url="", TEST_FAST_HASHING="1")
    try:
        yield app, private_postgres, seed
    finally:
        app.stop()


def assert_pages_work(client: WebClient, slug: str, app: AppServer) -> None:
    for path in (f"/tf/{slug}/", f"/tf/{slug}/charter/", f"/tf/{slug}/charter/history/"):
        status, body, _location = client.get(path)
        assert status == 200, f"GET {path} -> {status}\n{body[-1500:]}\n--- app log ---\n{app.output()}"


def test_the_app_recovers_from_a_postgres_restart_without_restarting(app_on_private_postgres):
    app, cluster, seed = app_on_private_postgres
    client = WebClient(app.base_url)
    client.sign_in(seed["email"], PASSWORD)
    assert_pages_work(client, seed["slug"], app)
    pids = app.worker_pids()
    assert pids, "gunicorn has a worker"

    # Between requests: every pooled connection is now dead. The very next request must still succeed.
    cluster.restart()
    assert_pages_work(client, seed["slug"], app)
    # Writes too: a fresh sign-in saves a session and an audit row.
    WebClient(app.base_url).sign_in(seed["email"], PASSWORD)

    # During requests: whatever was in flight may fail, cleanly and quickly; nothing hangs.
    outcomes: list[tuple[int | str, float]] = []
    stop = threading.Event()

    worker = WebClient(app.base_url, timeout=20)
    worker.sign_in(seed["email"], PASSWORD)

    def hammer() -> None:
        while not stop.is_set():
            started = time.monotonic()
            try:
                status = worker.get(f"/tf/{seed['slug']}/")[0]
            except OSError as exc:  # a timeout or a dropped connection: the app hung or died
                status = f"{exc.__class__.__name__}: {exc}"
            outcomes.append((status, time.monotonic() - started))

    thread = threading.Thread(target=hammer)
    thread.start()
    try:
        time.sleep(0.5)
        cluster.restart()
        time.sleep(0.5)
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive()
    print({"during": [status for status, _seconds in outcomes]})  # -s shows what the restart cost
    assert outcomes, "requests were made during the restart"
    assert all(status in (200, 500, 503) for status, _seconds in outcomes), outcomes
    assert max(seconds for _status, seconds in outcomes) < 15, outcomes
    assert outcomes[-1][0] == 200, outcomes

    assert_pages_work(client, seed["slug"], app)
    # Recovered by itself: the same gunicorn worker processes, never restarted.
    assert app.process.poll() is None
    assert app.worker_pids() == pids
