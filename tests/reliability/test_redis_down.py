"""Redis stopped under a running app: pages and forms keep working; what fell due is sent when it returns, once.

Everything Redis feeds runs for real against a private redis-server (never the shared one): the app is
gunicorn in a subprocess (its cache and Celery broker on the private Redis), the worker a real
`celery worker -B` whose beat sweeps every second instead of every minute. Both use the pytest-django test
database (hence transaction=True). Email goes to files and is counted per notification.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest
from django.db import transaction

from members.models import Announcement
from taskforce import notifications
from taskforce.cache import ResilientRedisCache
from taskforce.models import Notification
from tests.cast import PASSWORD
from tests.reliability.conftest import (
    AppServer,
    CeleryWorker,
    RedisServer,
    WebClient,
    page_summary,
    sent_notification_ids,
    test_database_url,
)
from tests.taskforce.conftest import (  # noqa: F401 - fixtures
    broker_down,
    make_recipient,
    past,
    ping_kind,
    recipient_user,
    topic,
    unused_tcp_port_closed,
)

REQUEST_BUDGET_SECONDS = 5.0  # a request must not hang on a dead Redis


@pytest.fixture
def stack(private_redis: RedisServer, tmp_path: Path):
    """(app, worker) on the private Redis and the test database; both stopped at the end, whatever happens."""
    options = {
        "database_url": test_database_url(),
        "redis_url": private_redis.url(0),
        "TEST_FAST_HASHING": "1",
    }
    started: list = []
    try:
        worker = CeleryWorker("worker", tmp_path, beat=True, TEST_SWEEP_SECONDS="1", **options)
        started.append(worker)
        started.append(app := AppServer(tmp_path, **options))
        worker.wait_ready()
        yield app, worker
    finally:
        for process in reversed(started):
            process.stop()


def timed(call, *args):
    started = time.monotonic()
    result = call(*args)
    elapsed = time.monotonic() - started
    assert elapsed < REQUEST_BUDGET_SECONDS, f"{call.__name__}{args[:1]} took {elapsed:.1f}s"
    return result


def announce(client: WebClient, slug: str, title: str) -> list[Notification]:
    """Publish an announcement emailed to every member through the real form; its notification rows."""
    status, body, _location = timed(
        client.post,
        f"/tf/{slug}/announcements/new/",
        {"title": title, "body": f"{title}: the body.", "tier": "all", "send_email": "on"},
    )
    assert status == 302, f"{status}: {page_summary(body)}"
    announcement = Announcement.objects.get(title=title)  # the record is saved
    rows = list(Notification.objects.filter(subject_type="members.announcement", subject_id=str(announcement.pk)))
    assert len(rows) >= 3, "every member of the task force gets the email"
    return rows


def wait_until_sent(rows: list[Notification], *processes, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    pks = [row.pk for row in rows]
    while time.monotonic() < deadline:
        if not Notification.objects.filter(pk__in=pks, sent_at__isnull=True).exists():
            return
        time.sleep(0.2)
    logs = "\n".join(f"--- {p.name} ---\n{p.output()}" for p in processes)
    raise AssertionError(f"still unsent after {timeout}s\n{logs}")


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_pages_and_forms_work_while_redis_is_down_and_notifications_go_out_once_it_returns(cast, private_redis, stack):
    app, worker = stack
    slug = cast.taskforce.slug
    coordinator = WebClient(app.base_url)
    coordinator.sign_in(cast.coordinator.email, PASSWORD)

    # Redis up: the whole path works (so the outage below is what makes any difference).
    before = announce(coordinator, slug, "Before the outage")
    wait_until_sent(before, app, worker)

    private_redis.stop()

    # Signing in (rate limits and lockout live in the cache), key pages, and a form that schedules email.
    member = WebClient(app.base_url)
    timed(member.sign_in, cast.member_b.email, PASSWORD)
    for client, path in [
        (member, f"/tf/{slug}/"),
        (member, f"/tf/{slug}/announcements/"),
        (member, f"/tf/{slug}/charter/"),
        (coordinator, f"/tf/{slug}/"),
        (coordinator, f"/tf/{slug}/announcements/new/"),
    ]:
        status, body, _location = timed(client.get, path)
        assert status == 200, f"GET {path} -> {status}: {page_summary(body)}"
    during = announce(coordinator, slug, "During the outage")
    time.sleep(3)  # three beat periods: nothing can reach the worker
    assert Notification.objects.filter(pk__in=[r.pk for r in during], sent_at__isnull=False).count() == 0

    private_redis.start()  # same port: the worker and the app reconnect by themselves

    wait_until_sent(during, app, worker)
    time.sleep(3)  # more sweeps: nothing goes out a second time
    assert app.process.poll() is None and worker.process.poll() is None
    worker.stop()
    deliveries = Counter(worker.sent_ids() + sent_notification_ids(app.mail_dir))
    expected = {str(row.pk) for row in before + during}
    assert set(deliveries) == expected
    assert {pk: n for pk, n in deliveries.items() if n != 1} == {}


def test_the_cache_carries_on_in_memory_while_redis_is_down_and_goes_back_to_it(private_redis, monkeypatch):
    """What keeps sign-in working above, in one process: no error while Redis is down, Redis again after."""
    monkeypatch.setattr("taskforce.cache.RETRY_AFTER_SECONDS", 0.0)  # retry Redis on every call
    cache = ResilientRedisCache(private_redis.url(0), {"OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1}})
    cache.set("up", "in redis")
    assert cache.get("up") == "in redis"

    private_redis.stop()
    started = time.monotonic()
    assert cache.get("up") is None  # a miss, not a ConnectionError
    cache.set("lockout", True, timeout=60)  # a lockout recorded during the outage still holds in this process
    assert cache.get("lockout") is True
    assert cache.add("attempts", 1) and cache.incr("attempts") == 2
    assert time.monotonic() - started < 5

    private_redis.start()
    cache.set("back", "in redis")
    assert cache._cache.get_client("back").get(cache.make_key("back")) is not None  # really in Redis again


@pytest.mark.django_db
def test_queue_sweep_survives_a_broker_outage_and_the_row_waits(
    broker_down,  # noqa: F811
    ping_kind,  # noqa: F811
    recipient_user,  # noqa: F811
    topic,  # noqa: F811
    past,  # noqa: F811
    mailoutbox,
    caplog,
    django_capture_on_commit_callbacks,
):
    """The web side in one process: publishing the wake-up to a dead broker is logged, not raised, and fast."""
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            row = notifications.schedule(kind=ping_kind.kind, subject=topic, recipient=recipient_user, due_at=past)
            notifications.queue_sweep()

    assert len(callbacks) == 1
    assert time.monotonic() - started < 5  # a web request must not hang on a dead broker
    assert "Could not queue a notification sweep" in caplog.text
    row.refresh_from_db()
    assert row.sent_at is None
    assert mailoutbox == []

    # The next beat sweep sends it.
    assert notifications.sweep() == 1
    assert len(mailoutbox) == 1
