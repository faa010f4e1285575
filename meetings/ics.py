"""iCalendar (.ics) for one meeting and for a person's private feed."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from django.conf import settings
from django.urls import reverse
from icalendar import Calendar, Event

from meetings.models import Meeting


def _uid(meeting: Meeting) -> str:
    host = urlsplit(settings.SITE_URL).hostname or "taskforce.local"
    return f"meeting-{meeting.pk}@{host}"


def event_for(meeting: Meeting) -> Event:
    event = Event()
    event.add("uid", _uid(meeting))
    event.add("summary", f"{meeting.title} ({meeting.taskforce.name})")
    event.add("dtstart", meeting.local_start)
    event.add("dtend", meeting.local_end)
    event.add("dtstamp", meeting.created_at)
    # The agenda version is the sequence: a re-circulated agenda updates the event in calendar apps.
    event.add("sequence", meeting.agenda_version + (1 if meeting.moved_from else 0))
    if meeting.location:
        event.add("location", meeting.location)
    url = settings.SITE_URL + reverse("meetings:detail", args=[meeting.taskforce.slug, meeting.pk])
    event.add("url", url)
    description = [f"Agenda and details: {url}"]
    if meeting.video_url:
        description.append(f"Video link: {meeting.video_url}")
    # Agenda text stays out of the calendar: calendars sync to phones and third-party servers.
    event.add("description", "\n".join(description))
    event.add("status", "CANCELLED" if meeting.is_cancelled else "CONFIRMED")
    return event


def calendar_for(meetings: Iterable[Meeting], *, name: str = "Taskforce meetings") -> bytes:
    cal = Calendar()
    cal.add("prodid", "-//Taskforce//Meetings//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", name)
    for meeting in meetings:
        cal.add_component(event_for(meeting))
    # Adds VTIMEZONE components for the zones used, so clients show the right wall-clock time.
    cal.add_missing_timezones()
    return cal.to_ical()
