"""Reminders go through taskforce.notifications: scheduled idempotently, sent at most once, dropped when stale."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
import time_machine
from django.core import mail

from meetings import services
from taskforce import notifications
from taskforce.models import Notification

pytestmark = pytest.mark.django_db


def _sweep_at(when):
    with time_machine.travel(when, tick=False):
        return notifications.sweep()


def test_the_scheduler_creates_each_reminder_once(cast, meeting):
    with time_machine.travel(meeting.starts_at - timedelta(days=20), tick=False):
        notifications.run_schedulers()
        first = Notification.objects.filter(kind__startswith="meetings.").count()
        notifications.run_schedulers()
        assert Notification.objects.filter(kind__startswith="meetings.").count() == first
    people = len(services.invitees(meeting))
    for kind in (services.CALL_OPENED, services.DEADLINE, services.TOMORROW):
        assert Notification.objects.filter(kind=kind, subject_id=str(meeting.pk)).count() == people, kind


def test_reminders_are_sent_when_due_and_only_once(cast, meeting):
    with time_machine.travel(meeting.starts_at - timedelta(days=20), tick=False):
        notifications.run_schedulers()
    assert _sweep_at(meeting.starts_at - timedelta(days=15)) == 0  # nothing due yet
    sent = _sweep_at(meeting.call_opens_at + timedelta(minutes=1))
    assert sent == len(services.invitees(meeting))
    opened = [m for m in mail.outbox if m.subject.startswith("Agenda items wanted")]
    assert len(opened) == sent
    assert "/submit/" in opened[0].body
    assert _sweep_at(meeting.call_opens_at + timedelta(minutes=2)) == 0
    mail.outbox.clear()
    _sweep_at(meeting.call_closes_at - timedelta(hours=12))
    assert {m.subject.split(":")[0] for m in mail.outbox} == {"Last day for agenda items"}
    mail.outbox.clear()
    _sweep_at(meeting.starts_at - timedelta(hours=12))
    assert {m.subject.split(":")[0] for m in mail.outbox} == {"Tomorrow"}
    assert "County Building, Room 204" in mail.outbox[0].body


def test_a_cancelled_meeting_sends_no_reminders(cast, meeting):
    with time_machine.travel(meeting.starts_at - timedelta(days=20), tick=False):
        notifications.run_schedulers()
    services.meeting_cancel(meeting=meeting, actor=cast.facilitator)
    assert _sweep_at(meeting.starts_at) == 0
    assert not mail.outbox


def test_a_moved_meeting_drops_the_old_reminders_and_schedules_new_ones(cast, meeting):
    with time_machine.travel(meeting.starts_at - timedelta(days=20), tick=False):
        notifications.run_schedulers()
        services.meeting_update(
            meeting=meeting,
            actor=cast.facilitator,
            title=meeting.title,
            day=meeting.local_start.date() + timedelta(days=2),
            start_time=time(10),
            end_time=time(11, 30),
            time_zone=meeting.time_zone,
            location=meeting.location,
            video_url="",
            facilitator=cast.facilitator,
            note_taker=None,
            invited_agencies=list(meeting.invited_agencies.all()),
            invited_people=[],
        )
    meeting.refresh_from_db()
    _sweep_at(meeting.starts_at - timedelta(hours=12))
    tomorrow = [m for m in mail.outbox if m.subject.startswith("Tomorrow")]
    assert len(tomorrow) == len(services.invitees(meeting))


def test_the_agenda_goes_out_once_per_circulation_and_feedback_after_the_meeting(
    cast, meeting, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.agenda_circulate(meeting=meeting, actor=cast.facilitator)
    notifications.sweep()
    notifications.sweep()
    agenda = [m for m in mail.outbox if m.subject.startswith("Agenda:")]
    assert len(agenda) == len(services.invitees(meeting))
    ((filename, invite, mimetype),) = agenda[0].attachments
    assert filename == f"meeting-{meeting.pk}.ics" and mimetype.startswith("text/calendar")
    assert b"BEGIN:VEVENT" in (invite if isinstance(invite, bytes) else invite.encode())
    mail.outbox.clear()
    services.meeting_start(meeting=meeting, actor=cast.facilitator)
    services.attendance_check_in(meeting=meeting, person=cast.member_b)
    services.meeting_end(meeting=meeting, actor=cast.facilitator)
    notifications.sweep()
    feedback = [m for m in mail.outbox if m.subject.startswith("Two minutes of feedback")]
    assert sorted(m.to[0] for m in feedback) == sorted([cast.member_b.email, cast.facilitator.email])


def test_a_superseded_agenda_is_not_sent(cast, meeting):
    services.agenda_circulate(meeting=meeting, actor=cast.facilitator)
    services.agenda_circulate(meeting=meeting, actor=cast.facilitator)
    notifications.sweep()
    agenda = [m for m in mail.outbox if "genda" in m.subject]
    assert len(agenda) == len(services.invitees(meeting))
    assert all(m.subject.startswith("Updated agenda") for m in agenda)
