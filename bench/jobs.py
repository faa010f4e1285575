"""Jobs: two real Celery workers race through 100,000 due notifications; rate and duplicates.

The rows are the app's own (kind `taskforce.notice`, rendered by its real templates) and are COPYed into
the bench database for recipients made for this run only, so the seeded task force is untouched and the
run cleans up after itself. Each worker is the real `celery -A taskforce worker` with one change: its
mail backend is `DeliveryLogBackend`, which builds every message exactly as SMTP would and appends the
notification id of each delivered message to a file of its own. Duplicates are counted from those files
(what was handed to the mail server), not from the rows.
"""

from __future__ import annotations

import email.policy
import io
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection
from django.utils import timezone

from bench.context import BenchContext, Result

SECTION = "jobs"
SWEEP_TASK = "taskforce.tasks.send_due_notifications"
TARGET_RATE = 1000.0  # notifications per second, both workers together
COUNTS = {"T": 1_000}
FULL_COUNT = 100_000
RECIPIENTS = 200
BASE_DIR = Path(settings.BASE_DIR)

# The real `celery` command line, with the mail backend swapped for DeliveryLogBackend. Done in the
# worker's boot rather than in settings.py, so the app has no bench-only setting.
WORKER_BOOT = """
import os, sys
import taskforce.settings as s
s.MAILERS = {"default": {"BACKEND": "bench.jobs.DeliveryLogBackend", "OPTIONS": {"path": os.environ["BENCH_DELIVERY_LOG"]}}}
from celery.__main__ import main
sys.argv = sys.argv[1:]
sys.exit(main())
"""


class DeliveryLogBackend(BaseEmailBackend):
    """A mail server stand-in: serialises each message as SMTP would, records its notification id.

    One line per accepted message, appended and flushed per batch of sends, so a count of lines is a
    count of deliveries; the file is per worker process, so concurrent writers never interleave.
    """

    def __init__(self, *, path: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.path = Path(path)
        self.stream: io.TextIOWrapper | None = None

    def open(self) -> bool:
        if self.stream is not None:
            return False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.stream = self.path.open("a", encoding="ascii")
        return True

    def close(self) -> None:
        if self.stream is not None:
            self.stream.close()
            self.stream = None

    def send_messages(self, email_messages) -> int:
        created = self.open()
        assert self.stream is not None
        try:
            for message in email_messages:
                wire = message.message(policy=email.policy.SMTP).as_bytes()  # what the SMTP backend sends
                self.stream.write(f"{message.extra_headers.get('X-Taskforce-Notification', '?')} {len(wire)}\n")
            self.stream.flush()
        finally:
            if created:
                self.close()
        return len(email_messages)


def read_delivery_log(path: Path) -> list[str]:
    if not path.exists():
        return []
    return [line.split(" ", 1)[0] for line in path.read_text(encoding="ascii").splitlines() if line]


@dataclass
class Worker:
    name: str
    queue: str
    database_url: str
    redis_url: str
    workdir: Path
    process: subprocess.Popen | None = None
    log_path: Path = field(init=False)
    delivery_log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log_path = self.workdir / f"{self.name}.log"
        self.delivery_log = self.workdir / f"{self.name}.deliveries"

    def start(self) -> None:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "taskforce.settings",
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "DB_POOL_MAX": "2",
            "BENCH_DELIVERY_LOG": str(self.delivery_log),
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(BASE_DIR),
        }
        argv = [
            sys.executable, "-c", WORKER_BOOT,
            "celery", "-A", "taskforce", "worker",
            "-P", "solo", "-c", "1", "-n", f"{self.name}-{self.queue}@%h", "-Q", self.queue,
            "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel", "INFO",
        ]  # fmt: skip
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(argv, cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.log_path.exists() and b" ready." in self.log_path.read_bytes():
                return
            if self.process is None or self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"worker {self.name} did not start:\n{self.output()}")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # warm shutdown: the current task finishes first
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""

    def delivered(self) -> list[str]:
        return read_delivery_log(self.delivery_log)


@dataclass
class RaceOutcome:
    count: int
    seconds: float
    rate: float
    timed_out: bool
    delivered: int
    duplicates: int
    missing: int
    per_worker: dict[str, int]
    rows_not_sent_once: int
    insert_seconds: float
    other_rows_delivered: int


def make_recipients(tag: str, n: int) -> list[int]:
    from members.models import User

    users = [
        User(email=f"bench-jobs-{tag}-{i}@bench.invalid", full_name=f"Bench Recipient {i}", is_active=True)
        for i in range(n)
    ]
    for user in users:
        user.set_unusable_password()
    return [u.pk for u in User.objects.bulk_create(users)]


def copy_due_notifications(tag: str, count: int, recipient_ids: list[int]) -> str:
    """COPY `count` due rows; due times spread over the past hour as a day's reminders would be."""
    from taskforce import notifications
    from taskforce.models import Notification

    subject_type = f"bench.{tag}"
    now = timezone.now()
    start = now - timedelta(hours=1)
    step = timedelta(hours=1) / count
    table = Notification._meta.db_table
    columns = "kind, subject_type, subject_id, recipient_id, due_on, due_at, context, created_at, attempts, last_error"
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for n in range(count):
                due_at = start + step * n
                context = {"subject": f"Reminder {n}", "body": f"Action item {n} is due for report-back."}
                copy.write_row(
                    (
                        notifications.NOTICE_KIND,
                        subject_type,
                        str(n),
                        recipient_ids[n % len(recipient_ids)],
                        notifications.due_on_for(due_at),
                        due_at,
                        json.dumps(context),
                        now,
                        0,
                        "",
                    )
                )
        cursor.execute(f"ANALYZE {table}")  # as autovacuum would soon after a bulk load
    return subject_type


def race(ctx: BenchContext, count: int, *, timeout: float | None = None) -> RaceOutcome:
    """Load `count` due rows, start two workers, publish sweeps, wait until every row is sent; clean up."""
    import redis
    from celery import Celery

    from members.models import User
    from taskforce.models import Notification

    tag = uuid.uuid4().hex[:10]
    queue = f"bench-jobs-{tag}"
    workdir = ctx.workdir / f"jobs-{tag}"
    workdir.mkdir(parents=True, exist_ok=True)
    # Five times what the target rate needs: a slower machine reports its rate so far (timed_out).
    timeout = timeout if timeout is not None else max(120.0, 5 * count / TARGET_RATE)
    client = redis.Redis.from_url(ctx.redis_url)
    producer = Celery("bench-jobs-producer", broker=ctx.redis_url, set_as_current=False)
    producer.conf.update(task_serializer="json", accept_content=["json"], broker_connection_retry_on_startup=False)
    workers = [Worker(name, queue, ctx.database_url, ctx.redis_url, workdir) for name in ("w1", "w2")]
    recipient_ids: list[int] = []
    subject_type = f"bench.{tag}"
    try:
        began = time.monotonic()
        recipient_ids = make_recipients(tag, RECIPIENTS)
        copy_due_notifications(tag, count, recipient_ids)
        insert_seconds = time.monotonic() - began
        mine = Notification.objects.filter(subject_type=subject_type)
        expected = {str(pk) for pk in mine.values_list("pk", flat=True)}
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.wait_ready()

        started = time.monotonic()
        for _ in range(len(workers)):
            producer.send_task(SWEEP_TASK, queue=queue)
        deadline = time.monotonic() + timeout
        timed_out = False
        while mine.filter(sent_at__isnull=True).exists():
            # A failed send records its error and backs off into the future, as a claimed row's lease does:
            # a short range of the pending index, where counting every unsent row (at 100,000 rows, 90 ms
            # each 0.2 s) took half a core from the workers being measured.
            failed = (
                mine.filter(sent_at__isnull=True, cancelled_at__isnull=True, due_at__gt=timezone.now())
                .exclude(last_error="")
                .count()
            )
            if failed or not all(w.alive() for w in workers):
                logs = "\n".join(f"--- {w.name} ---\n{w.output()}" for w in workers)
                unsent = mine.filter(sent_at__isnull=True).count()
                raise RuntimeError(f"{unsent} of {count} notifications unsent ({failed} failed)\n{logs}")
            if time.monotonic() > deadline:
                # A slow machine: report the rate so far (and the rows left) rather than nothing.
                timed_out = True
                break
            # A sweep task stops at its time budget; keep one waiting, as the minutely beat would.
            if client.llen(queue) == 0:
                producer.send_task(SWEEP_TASK, queue=queue)
            time.sleep(0.2)
        # Wall time from the first publish until every row was seen sent (polled every 0.2 s): sent_at is
        # the claim time of a row's batch, a little before its mail went out.
        seconds = time.monotonic() - started
        sent = mine.filter(sent_at__isnull=False).count()
        for worker in workers:
            worker.stop()  # closes the delivery logs

        per_worker = {w.name: w.delivered() for w in workers}
        counts = Counter(pk for delivered in per_worker.values() for pk in delivered)
        delivered_mine = {pk: n for pk, n in counts.items() if pk in expected}
        return RaceOutcome(
            count=count,
            seconds=seconds,
            rate=sent / seconds if seconds > 0 else float("inf"),
            timed_out=timed_out,
            delivered=sum(delivered_mine.values()),
            duplicates=sum(n - 1 for n in counts.values() if n > 1),
            missing=len(expected - set(delivered_mine)),
            per_worker={name: len(ids) for name, ids in per_worker.items()},
            rows_not_sent_once=mine.exclude(attempts=1, last_error="", sent_at__isnull=False).count(),
            insert_seconds=insert_seconds,
            other_rows_delivered=sum(n for pk, n in counts.items() if pk not in expected),
        )
    finally:
        for worker in workers:
            worker.stop()
        Notification.objects.filter(subject_type=subject_type).delete()
        User.objects.filter(pk__in=recipient_ids).delete()
        client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
        for delivery_tag, payload in client.hgetall("unacked").items():
            if json.loads(payload)[-1] == queue:
                client.hdel("unacked", delivery_tag)
                client.zrem("unacked_index", delivery_tag)
        producer.close()
        client.close()


def measure(ctx: BenchContext) -> list[Result]:
    count = COUNTS.get(ctx.size, FULL_COUNT)
    outcome = race(ctx, count)
    detail = {
        "notifications": outcome.count,
        "seconds": round(outcome.seconds, 2),
        "timed_out": outcome.timed_out,
        "delivered": outcome.delivered,
        "missing": outcome.missing,
        "per_worker": outcome.per_worker,
        "rows_not_sent_once": outcome.rows_not_sent_once,
        "insert_seconds": round(outcome.insert_seconds, 2),
        "other_rows_delivered": outcome.other_rows_delivered,
    }
    return [
        Result(
            SECTION,
            f"sweep of {outcome.count:,} due notifications, two Celery workers",
            round(outcome.rate, 1),
            "per s",
            target=f">= {TARGET_RATE:,.0f} per s",
            passed=outcome.rate >= TARGET_RATE,
            detail=detail,
        ),
        Result(
            SECTION,
            "duplicate deliveries",
            outcome.duplicates,
            "",
            target="0",
            # A timed-out run leaves rows unsent (the rate result says so); what went out must still be once.
            passed=outcome.duplicates == 0
            and (outcome.timed_out or (outcome.missing == 0 and outcome.rows_not_sent_once == 0)),
            detail=detail,
        ),
    ]
