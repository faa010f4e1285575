"""Reminders and notices through taskforce.notifications: scheduled once, sent once, stopped when moot."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from mous import services
from taskforce import notifications
from taskforce.models import Notification
from tests.mous.conftest import sign, step_for

pytestmark = pytest.mark.django_db


def test_reminder_times_follow_the_policy():
    start = timezone.now()
    times = services.reminder_times(start, 5)
    assert [(t - start).days for t in times] == [5, 7, 9, 11, 13]
    late = services.reminder_times(start, 25)
    assert [(t - start).days for t in late] == [25, 27, 29]


def test_sending_schedules_the_request_and_five_reminders_per_step(cast, signing):
    step = step_for(signing, cast.liaison_a)
    rows = Notification.objects.filter(subject_type="mous.signaturerequest", subject_id=str(step.pk))
    assert rows.filter(kind=services.SIGNATURE_REQUESTED).count() == 1
    assert rows.filter(kind=services.SIGN_REMINDER).count() == 5
    # The hourly scheduler creates nothing new: the rows are idempotent.
    before = Notification.objects.count()
    services.schedule_mou_notifications(timezone.now())
    services.schedule_mou_notifications(timezone.now())
    assert Notification.objects.count() == before


def test_the_request_and_reminders_are_each_sent_once_and_stop_after_signing(cast, signing):
    mail.outbox.clear()
    notifications.sweep()
    to_larry = [m for m in mail.outbox if m.to == [cast.liaison_a.email]]
    assert len(to_larry) == 1 and "Please sign" in to_larry[0].subject
    assert f"/mous/{signing.pk}/steps/" in to_larry[0].body
    with time_machine.travel(timezone.now() + timedelta(days=5, hours=1)):
        mail.outbox.clear()
        notifications.sweep()
        assert sum(1 for m in mail.outbox if m.to == [cast.liaison_a.email]) == 1
        assert "Reminder" in mail.outbox[0].subject
        mail.outbox.clear()
        notifications.sweep()
        assert not mail.outbox
    sign(signing, cast.liaison_a)
    with time_machine.travel(timezone.now() + timedelta(days=31)):
        mail.outbox.clear()
        notifications.sweep(limit=1000)
        assert not [m for m in mail.outbox if m.to == [cast.liaison_a.email]]
        # Bea never signed: she got her remaining four reminders, no more.
        assert len([m for m in mail.outbox if m.to == [cast.liaison_b.email]]) == 4


def test_the_coordinator_sends_one_reminder_now_at_most_once_a_day(cast, signing):
    step = step_for(signing, cast.liaison_b)
    assert services.request_remind_now(req=step, actor=cast.coordinator) is True
    assert services.request_remind_now(req=step, actor=cast.coordinator) is False
    mail.outbox.clear()
    notifications.sweep()
    assert any(m.to == [cast.liaison_b.email] and "Reminder" in m.subject for m in mail.outbox)


def test_sign_and_decline_notify_the_coordinator(cast, signing):
    sign(signing, cast.liaison_a)
    services.request_decline(req=step_for(signing, cast.liaison_b), actor=cast.liaison_b, reason="legal", text="No")
    mail.outbox.clear()
    notifications.sweep()
    subjects = [m.subject for m in mail.outbox if m.to == [cast.coordinator.email]]
    assert "Sheriff's Office signed Harbor Anti-Trafficking MOU" in subjects
    assert "Child Advocacy Center declined Harbor Anti-Trafficking MOU" in subjects


def test_expiry_reminders_60_and_30_days_before_the_end(cast, signing):
    today = timezone.localdate()
    signing.expires_on = today + timedelta(days=90)
    signing.save(update_fields=["expires_on"])
    sign(signing, cast.liaison_a)
    sign(signing, cast.liaison_b)
    rows = Notification.objects.filter(kind=services.EXPIRY_REMINDER, recipient=cast.coordinator)
    assert sorted((r.due_on - today).days for r in rows) == [30, 60]
    services.schedule_mou_notifications(timezone.now())
    assert rows.count() == 2
    with time_machine.travel(timezone.now() + timedelta(days=31)):
        mail.outbox.clear()
        notifications.sweep(limit=1000)
        mine = [m for m in mail.outbox if m.to == [cast.coordinator.email] and "expires" in m.subject]
        assert len(mine) == 1
        assert "in 59 days" in mine[0].body or "in 58 days" in mine[0].body
        mail.outbox.clear()
        notifications.sweep(limit=1000)
        assert not [m for m in mail.outbox if "expires" in m.subject]
