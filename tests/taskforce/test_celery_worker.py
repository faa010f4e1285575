"""Two real Celery workers on a real Redis and PostgreSQL sweep the same rows: each email goes out once.

The workers are subprocesses running `celery -A taskforce worker` against the pytest-django test database
(hence transaction=True: they must see committed rows) and write email to files we count afterwards.
"""

from __future__ import annotations

import email
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import quote

import pytest
from celery import Celery
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from taskforce import notifications
from taskforce.models import Notification

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

BASE_DIR = Path(settings.BASE_DIR)
SWEEP_TASK = "taskforce.tasks.send_due_notifications"

# The real `celery` command line, with one change: email goes to files in $EMAIL_FILE_PATH. Done here
# rather than in settings.py so the test needs no test-only setting; it works with Django 6.1's MAILERS
# or the deprecated EMAIL_* settings, whichever the project uses.
WORKER_BOOT = """
import os, sys
import taskforce.settings as s
backend, path = "django.core.mail.backends.filebased.EmailBackend", os.environ["EMAIL_FILE_PATH"]
if hasattr(s, "MAILERS"):
    s.MAILERS = {"default": {"BACKEND": backend, "OPTIONS": {"file_path": path}}}
else:
    s.EMAIL_BACKEND, s.EMAIL_FILE_PATH = backend, path
from celery.__main__ import main
sys.argv = sys.argv[1:]
sys.exit(main())
"""


def test_database_url() -> str:
    db = settings.DATABASES["default"]
    auth = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


test_database_url.__test__ = False  # a helper, not a test


class Worker:
    def __init__(self, name: str, queue: str, tmp_path: Path) -> None:
        self.name = name
        self.mail_dir = tmp_path / f"mail-{name}"
        self.log_path = tmp_path / f"{name}.log"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "taskforce.settings",
            "DATABASE_URL": test_database_url(),
            "DB_POOL_MAX": "2",
            "REDIS_URL": os.environ["REDIS_URL"],
            "EMAIL_FILE_PATH": str(self.mail_dir),
            "LOG_LEVEL": "WARNING",
        }
        argv = [
            sys.executable, "-c", WORKER_BOOT,
            "celery", "-A", "taskforce", "worker",
            "-P", "solo", "-c", "1", "-n", f"{name}-{queue}@%h", "-Q", queue,
            "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel", "INFO",
        ]  # fmt: skip
        self.log = self.log_path.open("wb")
        self.process = subprocess.Popen(argv, cwd=BASE_DIR, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if b" ready." in self.log_path.read_bytes():
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"worker {self.name} did not start:\n{self.output()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # warm shutdown: finish the current task first
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.log.close()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def sent_ids(self) -> list[str]:
        """The notification ids in every email this worker wrote (the file backend separates with dashes)."""
        ids = []
        for path in sorted(self.mail_dir.glob("*.log")):
            for chunk in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
                # A worker killed mid-write leaves a torn message without our header: not delivered.
                if chunk.strip() and (pk := email.message_from_bytes(chunk)["X-Taskforce-Notification"]):
                    ids.append(pk)
        return ids


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


def test_a_killed_worker_loses_nothing(workers, producer, queue_name, make_recipient):
    """SIGKILL one worker mid-sweep: its open transaction dies with it and the other worker sends the rest.

    At most the one row in flight (mailed, not yet committed) goes out twice: at-least-once by design.
    """
    ids = make_due_notifications(400, make_recipient)
    w1, w2 = workers

    for _ in range(10):
        producer.send_task(SWEEP_TASK, queue=queue_name)
    deadline = time.monotonic() + 30
    while Notification.objects.filter(sent_at__isnull=False).count() < 40:
        assert time.monotonic() < deadline, w1.output()
        time.sleep(0.005)
    w1.process.kill()
    w1.process.wait(10)

    producer.send_task(SWEEP_TASK, queue=queue_name)  # the beat sweep a minute later, in effect
    wait_until_all_sent([w2])
    w2.stop()

    counts = Counter(w1.sent_ids() + w2.sent_ids())
    print({"w1 (killed)": len(w1.sent_ids()), "w2": len(w2.sent_ids()), "duplicates": sum(counts.values()) - len(ids)})
    assert 0 < len(w1.sent_ids()) < len(ids)
    assert set(counts) == ids
    assert sum(counts.values()) - len(ids) <= 1


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
