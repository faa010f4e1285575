"""Two real Celery workers on a real Redis and PostgreSQL sweep the same rows: each email goes out once.

The workers are subprocesses running `celery -A taskforce worker` against the pytest-django test database
(hence transaction=True: they must see committed rows) and write email to files we count afterwards.
The worker harness itself is tests/reliability/conftest.py's CeleryWorker; the fault case (a worker killed
mid-sweep) is tests/reliability/test_worker_killed.py. Other modules import these fixtures.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from celery import Celery
from django.db import connection, transaction
from django.utils import timezone

from taskforce import notifications
from taskforce.models import Notification
from tests.reliability import conftest as reliability

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

SWEEP_TASK = "taskforce.tasks.send_due_notifications"


class Worker(reliability.CeleryWorker):
    """A real worker on the shared Redis and the pytest-django test database, consuming only `queue`."""

    def __init__(self, name: str, queue: str, tmp_path: Path) -> None:
        super().__init__(
            name, tmp_path, queue=queue, database_url=reliability.test_database_url(), redis_url=os.environ["REDIS_URL"]
        )


@pytest.fixture
def queue_name():
    """A queue of our own on the shared Redis, so no other worker or test takes our tasks."""
    name = f"taskforce-test-{uuid.uuid4().hex[:12]}"
    yield name
    import redis

    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    client.delete(name, f"_kombu.binding.{name}", f"_kombu.binding_permanent.{name}")
    # A killed worker's task stays "unacked" (acks_late) and would be restored into our queue in an hour.
    for tag, payload in client.hgetall("unacked").items():
        if json.loads(payload)[-1] == name:
            client.hdel("unacked", tag)
            client.zrem("unacked_index", tag)


@pytest.fixture
def producer():
    app = Celery("taskforce-test-producer", broker=os.environ["REDIS_URL"], set_as_current=False)
    app.conf.update(task_serializer="json", accept_content=["json"], broker_connection_retry_on_startup=False)
    yield app
    app.close()


@pytest.fixture
def sweeps_routed_to(queue_name):
    """Send this process's queue_sweep() messages to our workers' queue (Celery caches its router)."""
    from taskforce.celery import app

    saved = (app.conf.task_routes, app.conf.task_always_eager)
    app.conf.update(task_routes={SWEEP_TASK: {"queue": queue_name}}, task_always_eager=False)
    app.amqp.flush_routes()
    app.amqp.__dict__.pop("router", None)
    yield
    app.conf.update(task_routes=saved[0], task_always_eager=saved[1])
    app.amqp.flush_routes()
    app.amqp.__dict__.pop("router", None)


@pytest.fixture
def workers(queue_name, tmp_path):
    started = []
    try:
        for name in ("w1", "w2"):
            started.append(Worker(name, queue_name, tmp_path))
        for worker in started:
            worker.wait_ready()
        yield started
    finally:
        for worker in started:
            worker.stop()


def make_due_notifications(count: int, make_recipient) -> set[str]:
    people = [make_recipient() for _ in range(20)]
    due = timezone.now() - timezone.timedelta(minutes=1)
    ids = set()
    for n in range(count):
        row = notifications.schedule(
            kind=notifications.NOTICE_KIND,
            subject=people[n // len(people)],
            recipient=people[n % len(people)],
            due_at=due,
            context={"subject": f"Notice {n}", "body": f"Body of notice {n}"},
        )
        ids.add(str(row.pk))
    assert len(ids) == count
    return ids


def wait_until_all_sent(workers, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not Notification.objects.filter(sent_at__isnull=True).exists():
            return
        if any(w.process.poll() is not None for w in workers):
            break
        time.sleep(0.2)
    unsent = Notification.objects.filter(sent_at__isnull=True).count()
    logs = "\n".join(f"--- {w.name} ---\n{w.output()}" for w in workers)
    raise AssertionError(f"{unsent} notifications still unsent\n{logs}")


def test_two_workers_send_every_notification_exactly_once(workers, producer, queue_name, make_recipient):
    assert connection.vendor == "postgresql"
    ids = make_due_notifications(200, make_recipient)

    for _ in range(30):
        producer.send_task(SWEEP_TASK, queue=queue_name)
    wait_until_all_sent(workers)
    for worker in workers:
        worker.stop()  # flushes and closes the mail files

    per_worker = {w.name: w.sent_ids() for w in workers}
    counts = Counter(i for sent in per_worker.values() for i in sent)
    duplicates = {i: n for i, n in counts.items() if n > 1}
    assert duplicates == {}
    assert set(counts) == ids
    assert sum(counts.values()) == 200
    shares = {name: len(sent) for name, sent in per_worker.items()}
    print(shares)  # how the rows were shared (-s shows it)
    assert all(shares.values()), "both workers should have swept concurrently"
    rows = Notification.objects.all()
    assert all(row.sent_at is not None and row.attempts == 1 and row.last_error == "" for row in rows)


def test_queue_sweep_after_commit_reaches_a_worker(workers, sweeps_routed_to, make_recipient):
    """The web path: a service commits a due row and calls queue_sweep(); a worker sends it within seconds."""
    person = make_recipient()
    with transaction.atomic():
        row = notifications.schedule(
            kind=notifications.NOTICE_KIND,
            subject=person,
            recipient=person,
            due_at=timezone.now(),
            context={"subject": "Now", "body": "Right away"},
        )
        notifications.queue_sweep()  # published on commit, when a worker can see the row

    wait_until_all_sent(workers, timeout=30)
    for worker in workers:
        worker.stop()
    assert Counter(workers[0].sent_ids() + workers[1].sent_ids()) == {str(row.pk): 1}
