"""PostgreSQL restarted under a running app: the app recovers on its own, without being restarted.

The app is gunicorn in a subprocess, with a real Celery worker, against a private cluster (never the shared
one on 5432), so the restart kills every connection their psycopg pools hold. The pool must notice (settings: `check=
ConnectionPool.check_connection`) rather than hand a dead connection to the next request.
"""

from __future__ import annotations

import json
import threading
import time

import pytest

from tests.cast import PASSWORD
from tests.reliability.conftest import (
    AppServer,
    CeleryWorker,
    PostgresCluster,
    RedisServer,
    WebClient,
    clone_test_schema,
    page_summary,
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
def app_on_private_postgres(private_postgres: PostgresCluster, private_redis: RedisServer, django_db_setup, tmp_path):
    """(app, worker, cluster, seed): gunicorn and a Celery worker (beat inside, sweeping every second) on a
    seeded copy of the schema in the private cluster, their broker and cache a private Redis."""
    url = clone_test_schema(private_postgres, "taskforce")
    options = {"database_url": url, "redis_url": private_redis.url(0), "TEST_FAST_HASHING": "1"}
    seed = json.loads(run_django(SEED, env=service_env(mail_dir=tmp_path / "mail-seed", **options)).splitlines()[-1])
    started: list = []
    try:
        started.append(worker := CeleryWorker("worker", tmp_path, beat=True, TEST_SWEEP_SECONDS="1", **options))
        started.append(app := AppServer(tmp_path, **options))
        worker.wait_ready()
        yield app, worker, private_postgres, seed
    finally:
        for process in reversed(started):
            process.stop()


def assert_pages_work(client: WebClient, slug: str, app: AppServer) -> None:
    for path in (f"/tf/{slug}/", f"/tf/{slug}/charter/", f"/tf/{slug}/charter/history/"):
        status, body, _location = client.get(path)
        assert status == 200, f"GET {path} -> {status}\n{body[-1500:]}\n--- app log ---\n{app.output()}"


def test_the_app_and_worker_recover_from_a_postgres_restart_without_restarting(app_on_private_postgres):
    app, worker, cluster, seed = app_on_private_postgres
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

    hammering = WebClient(app.base_url, timeout=20)
    hammering.sign_in(seed["email"], PASSWORD)

    def hammer() -> None:
        while not stop.is_set():
            started = time.monotonic()
            try:
                status = hammering.get(f"/tf/{seed['slug']}/")[0]
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

    # The worker recovered too: email scheduled now goes out, once each, from the same worker process.
    status, body, _location = client.post(
        f"/tf/{seed['slug']}/announcements/new/",
        {"title": "After the restart", "body": "Still here.", "tier": "all", "send_email": "on"},
    )
    assert status == 302, page_summary(body)
    ours = "FROM taskforce_notification WHERE subject_type = 'members.announcement'"
    due = cluster.psql(f"SELECT id {ours} ORDER BY id", dbname="taskforce").split()  # noqa: S608 (constant)
    assert len(due) >= 3, "every member is emailed"
    deadline = time.monotonic() + 60
    while cluster.psql(f"SELECT count(*) {ours} AND sent_at IS NULL", dbname="taskforce") != "0":  # noqa: S608
        assert time.monotonic() < deadline, f"not sent after the restart:\n{worker.output()}"
        time.sleep(0.3)
    assert worker.process.poll() is None, "the worker was not restarted (it never exited)"
    worker.stop()
    assert sorted((pk for pk in worker.sent_ids() if pk in due), key=int) == due  # each exactly once

    # Recovered by itself: the same gunicorn worker processes, never restarted.
    assert app.process.poll() is None
    assert app.worker_pids() == pids
