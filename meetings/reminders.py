"""Renderers for the meeting notifications. Each checks the row is still relevant, else returns None."""

from __future__ import annotations

import dataclasses

from django.conf import settings
from django.urls import reverse

from meetings import ics, services
from meetings.models import AgendaCirculation, Meeting, Minutes, MinutesStatus
from taskforce import notifications, permissions
from taskforce.models import Notification


def _meeting(pk: str) -> Meeting | None:
    return Meeting.objects.select_related("taskforce").filter(pk=pk).first()


def _url(name: str, meeting: Meeting) -> str:
    return settings.SITE_URL + reverse(name, args=[meeting.taskforce.slug, meeting.pk])


def _message(row: Notification, meeting: Meeting, subject: str, template: str, **extra) -> notifications.Message | None:
    """The email, or None if the recipient may no longer see the meeting: access can end (an agency withdraws,
    a person is offboarded) between the row being scheduled and the sweep sending it."""
    if not permissions.has_perm(row.recipient, "meetings.view_meeting", meeting):
        return None
    context = {
        "recipient": row.recipient,
        "meeting": meeting,
        "taskforce_name": meeting.taskforce.name,
        "when": f"{meeting.local_start:%A, %B %-d, %Y, %-I:%M %p} – {meeting.local_end:%-I:%M %p %Z}",
        "meeting_url": _url("meetings:detail", meeting),
        "ics_url": _url("meetings:ics", meeting),
        **extra,
    }
    return notifications.render_message(subject=subject, template=f"emails/meeting_{template}", context=context)


def _upcoming(row: Notification) -> Meeting | None:
    """The meeting, if it still takes place at the time the reminder was scheduled for."""
    meeting = _meeting(row.subject_id)
    if meeting is None or meeting.is_cancelled or meeting.started_at:
        return None
    if row.context.get("starts_at") and row.context["starts_at"] != meeting.starts_at.isoformat():
        return None
    return meeting


def render_call_opened(row: Notification):
    meeting = _upcoming(row)
    if meeting is None:
        return None
    return _message(
        row,
        meeting,
        f"Agenda items wanted: {meeting.title} on {meeting.local_start:%b %-d}",
        "call_opened",
        submit_url=_url("meetings:submit", meeting),
        closes=f"{meeting.call_closes_at.astimezone(meeting.zone):%A, %B %-d}",
    )


def render_deadline(row: Notification):
    meeting = _upcoming(row)
    if meeting is None or meeting.call_state() != "open":
        return None
    return _message(
        row,
        meeting,
        f"Last day for agenda items: {meeting.title}",
        "deadline",
        submit_url=_url("meetings:submit", meeting),
        closes=f"{meeting.call_closes_at.astimezone(meeting.zone):%A, %B %-d, %-I:%M %p %Z}",
    )


def render_tomorrow(row: Notification):
    meeting = _upcoming(row)
    if meeting is None:
        return None
    return _message(row, meeting, f"Tomorrow: {meeting.title}", "tomorrow")


def render_agenda(row: Notification):
    circulation = AgendaCirculation.objects.select_related("meeting__taskforce").filter(pk=row.subject_id).first()
    if circulation is None or circulation.meeting.is_cancelled:
        return None
    meeting = circulation.meeting
    if meeting.agenda_version != circulation.version:
        return None  # a newer agenda went out; send that one instead
    items = [item for item in services.agenda_items(meeting)]
    updated = circulation.version > 1
    subject = f"{'Updated agenda' if updated else 'Agenda'}: {meeting.title}, {meeting.local_start:%b %-d}"
    message = _message(row, meeting, subject, "agenda", items=items, updated=updated, version=circulation.version)
    if message is None:
        return None
    invite = (f"meeting-{meeting.pk}.ics", ics.calendar_for([meeting]), "text/calendar; method=PUBLISH")
    return dataclasses.replace(message, attachments=(invite,))


def render_minutes_comments(row: Notification):
    minutes = Minutes.objects.select_related("meeting__taskforce").filter(pk=row.subject_id).first()
    if minutes is None or minutes.status != MinutesStatus.CIRCULATED:
        return None
    meeting = minutes.meeting
    return _message(
        row,
        meeting,
        f"Minutes for comment: {meeting.title}, {meeting.local_start:%b %-d}",
        "minutes_comments",
        minutes_url=_url("meetings:minutes", meeting),
        until=f"{minutes.comments_until.astimezone(meeting.zone):%A, %B %-d}",
    )


def render_minutes_approval(row: Notification):
    minutes = Minutes.objects.select_related("meeting__taskforce").filter(pk=row.subject_id).first()
    if minutes is None or minutes.status != MinutesStatus.CIRCULATED:
        return None
    meeting = minutes.meeting
    return _message(
        row,
        meeting,
        f"Minutes awaiting approval: {meeting.title}, {meeting.local_start:%b %-d}",
        "minutes_approval",
        minutes_url=_url("meetings:minutes", meeting),
    )


def render_feedback(row: Notification):
    meeting = _meeting(row.subject_id)
    if meeting is None or not meeting.ended_at:
        return None
    return _message(
        row,
        meeting,
        f"Two minutes of feedback: {meeting.title}",
        "feedback",
        feedback_url=_url("meetings:feedback", meeting),
    )


RENDERERS = {
    services.CALL_OPENED: render_call_opened,
    services.DEADLINE: render_deadline,
    services.TOMORROW: render_tomorrow,
    services.AGENDA: render_agenda,
    services.MINUTES_COMMENTS: render_minutes_comments,
    services.MINUTES_APPROVAL: render_minutes_approval,
    services.FEEDBACK: render_feedback,
}
