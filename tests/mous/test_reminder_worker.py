"""MOU reminders through two real Celery workers on Redis and PostgreSQL: each one is sent once.

The agreement went out for signature six days ago (the clock is moved back while it is set up), so the
signature requests and the first reminder of each step are due; the later reminders are not. Two workers
sweep again and again; every due email goes out exactly once and nothing early goes out.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from mous import services
from taskforce import notifications
from taskforce.models import Notification
from tests.cast import build_cast
from tests.mous.conftest import out_for_signature
from tests.taskforce.test_celery_worker import SWEEP_TASK, Worker, producer, queue_name  # noqa: F401 - fixtures

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def mou_workers(queue_name, tmp_path):  # noqa: F811 - the imported fixture
    started = []
    try:
        for name in ("m1", "m2"):
            started.append(Worker(name, queue_name, tmp_path))
        for worker in started:
            worker.wait_ready()
        yield started
    finally:
        for worker in started:
            worker.stop()


def test_due_mou_reminders_go_out_once_through_real_workers(mou_workers, producer, queue_name):  # noqa: F811
    with time_machine.travel(timezone.now() - timedelta(days=6), tick=True):
        cast = build_cast()
        out_for_signature(cast)
        # Everything of the set-up (invitations too) is already sent or moot; only MOU rows remain.
        Notification.objects.exclude(kind__startswith="mous.").update(cancelled_at=timezone.now())
    assert notifications.run_schedulers() == 0  # the hourly scheduler adds nothing: the rows exist
    now = timezone.now()
    due = set(Notification.objects.filter(kind__startswith="mous.", due_at__lte=now).values_list("pk", flat=True))
    later = set(Notification.objects.filter(kind__startswith="mous.", due_at__gt=now).values_list("pk", flat=True))
    kinds = Counter(Notification.objects.filter(pk__in=due).values_list("kind", flat=True))
    assert kinds == {services.SIGNATURE_REQUESTED: 2, services.SIGN_REMINDER: 2}
    assert len(later) == 8  # four more reminders per step, not yet due

    for _ in range(12):
        producer.send_task(SWEEP_TASK, queue=queue_name)
    deadline = time.monotonic() + 60
    while Notification.objects.filter(pk__in=due, sent_at__isnull=True).exists():
        assert time.monotonic() < deadline, "\n".join(w.output() for w in mou_workers)
        time.sleep(0.2)
    for _ in range(6):  # more sweeps find nothing to send again
        producer.send_task(SWEEP_TASK, queue=queue_name)
    time.sleep(2)
    for worker in mou_workers:
        worker.stop()

    sent = Counter(int(pk) for worker in mou_workers for pk in worker.sent_ids())
    assert set(sent) == due
    assert all(count == 1 for count in sent.values()), sent
    assert not Notification.objects.filter(pk__in=later, sent_at__isnull=False).exists()
