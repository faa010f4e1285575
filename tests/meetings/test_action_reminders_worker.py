"""Action-item reminders through real Celery workers: the scheduler runs twice, every reminder goes out once.

Reuses the two-worker harness of tests/taskforce/test_celery_worker.py (real Redis, the PostgreSQL test
database, email written to files). The scheduler runs with the clock moved to each reminder's moment, all
in the past, so the workers (on the real clock) find every row due.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime, timedelta
from datetime import time as clock

import pytest
import time_machine
from django.db import connection

from meetings import actions
from taskforce import notifications
from taskforce.models import Notification
from tests.cast import build_cast
from tests.taskforce.test_celery_worker import SWEEP_TASK, producer, queue_name, workers  # noqa: F401 - fixtures

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

KINDS = (actions.DUE_IN_7, actions.DUE_IN_1, actions.OVERDUE, actions.DIGEST)


def _ours():
    return Notification.objects.filter(kind__in=KINDS)


def _run_schedulers_at(when: datetime) -> None:
    with time_machine.travel(when, tick=False):
        assert notifications.run_schedulers() == 0


def _wait_until_sent(workers, expected: int, timeout: float = 90) -> None:  # noqa: F811 - the fixture
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _ours().filter(sent_at__isnull=False).count() >= expected:
            return
        time.sleep(0.2)
    logs = "\n".join(f"--- {w.name} ---\n{w.output()}" for w in workers)
    raise AssertionError(f"{_ours().filter(sent_at__isnull=True).count()} reminders unsent\n{logs}")


def test_each_action_reminder_is_sent_exactly_once(workers, producer, queue_name, settings):  # noqa: F811
    assert connection.vendor == "postgresql"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cast = build_cast()
    zone = actions.zoneinfo.ZoneInfo(cast.taskforce.time_zone)
    today = datetime.now(zone).date()
    # Every moment below is in the past for the workers, and only the digest's falls on a Monday (the
    # digest's day): a report-back moment on a Monday would rightly schedule a second digest.
    due = next(today - timedelta(days=k) for k in range(2, 9) if (today - timedelta(days=k)).weekday() in (2, 3, 4, 5))
    action = actions.action_item_save(
        taskforce=cast.taskforce, actor=cast.coordinator, title="Map the shelters", owner_person=cast.liaison_a,
        report_back_on=due,
    )  # fmt: skip
    monday = today - timedelta(days=today.weekday() + 7)
    moments = [
        datetime.combine(due - timedelta(days=7), clock(8, 5), tzinfo=zone),
        datetime.combine(due - timedelta(days=1), clock(8, 5), tzinfo=zone),
        datetime.combine(due + timedelta(days=1), clock(8, 5), tzinfo=zone),
        datetime.combine(monday, clock(8, 5), tzinfo=zone),
    ]
    for _twice in range(2):
        for when in moments:
            _run_schedulers_at(when)
    rows = {row.kind: row for row in _ours()}
    assert set(rows) == set(KINDS) and _ours().count() == 4
    assert rows[actions.OVERDUE].recipient == cast.coordinator
    assert {rows[k].recipient for k in (actions.DUE_IN_7, actions.DUE_IN_1, actions.DIGEST)} == {cast.liaison_a}

    for _ in range(6):
        producer.send_task(SWEEP_TASK, queue=queue_name)
    _wait_until_sent(workers, 4)
    # The hourly scheduler runs again after the sends: nothing new, nothing resent.
    for when in moments:
        _run_schedulers_at(when)
    for _ in range(3):
        producer.send_task(SWEEP_TASK, queue=queue_name)
    time.sleep(2)
    for worker in workers:
        worker.stop()

    ours = {str(pk) for pk in _ours().values_list("pk", flat=True)}
    counts = Counter(i for w in workers for i in w.sent_ids() if i in ours)
    assert counts == dict.fromkeys(ours, 1)
    assert _ours().count() == 4
    assert action.pk
