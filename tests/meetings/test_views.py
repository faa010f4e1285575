"""The meeting pages: who may do what, and each step of a meeting through the browser's requests."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils.safestring import mark_safe
from icalendar import Calendar
from pypdf import PdfReader

from meetings import services
from meetings.models import AgendaItem, Attendance, ItemStatus, ItemType, Meeting, Minutes, Series
from taskforce import notifications
from taskforce.models import AuditEvent

pytestmark = pytest.mark.django_db


def url(name, meeting=None, *args, slug=None):
    if meeting is None:
        return reverse(f"meetings:{name}", args=[slug, *args])
    return reverse(f"meetings:{name}", args=[meeting.taskforce.slug, meeting.pk, *args])


def pdf_text(response) -> str:
    assert response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(b"".join(response.streaming_content) if response.streaming else response.content))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_every_page_renders_for_the_facilitator(cast, client_for, meeting):
    client = client_for(cast.facilitator)
    slug = cast.taskforce.slug
    for name in ("list", "create", "series_create", "backlog", "feedback_trend", "calendar"):
        assert client.get(url(name, slug=slug)).status_code == 200, name
    for name in ("detail", "edit", "cancel", "submit", "run", "follow", "feedback", "minutes"):
        assert client.get(url(name, meeting)).status_code == 200, name


def test_it_creates_a_series_from_the_form(cast, client_for):
    response = client_for(cast.facilitator).post(
        url("series_create", slug=cast.taskforce.slug),
        {
            "title": "Second Tuesday",
            "frequency": "monthly_weekday",
            "starts_on": "2027-01-12",
            "start_time": "09:30",
            "end_time": "11:00",
            "time_zone": "America/New_York",
            "count": "6",
            "call_opens_days": "14",
            "call_closes_days": "3",
            "facilitator": cast.facilitator.pk,
        },
    )
    assert response.status_code == 302
    series = Series.objects.get(title="Second Tuesday")
    days = [m.local_start.date().isoformat() for m in series.meetings.order_by("starts_at")]
    assert days == ["2027-01-12", "2027-02-09", "2027-03-09", "2027-04-13", "2027-05-11", "2027-06-08"]


def test_members_cannot_schedule_or_facilitate(cast, client_for, meeting):
    client = client_for(cast.member_b)
    assert client.get(url("series_create", slug=cast.taskforce.slug)).status_code == 403
    assert client.get(url("run", meeting)).status_code == 403
    assert client.post(url("circulate", meeting)).status_code == 403
    assert AuditEvent.objects.filter(action="access.forbidden", actor=cast.member_b).exists()


def test_the_outsider_cannot_tell_the_meeting_exists(cast, client_for, meeting):
    client = client_for(cast.outsider)
    assert client.get(url("detail", meeting)).status_code == 404
    other = reverse("meetings:detail", args=[cast.other_taskforce.slug, meeting.pk])
    client_for(cast.outsider).get(reverse("meetings:list", args=[cast.other_taskforce.slug]))
    assert client.get(other).status_code == 404


def test_a_young_task_force_meeting_less_than_monthly_is_warned(cast, client_for):
    cast.taskforce.meeting_cadence = "quarterly"
    cast.taskforce.save()
    body = client_for(cast.member_b).get(url("list", slug=cast.taskforce.slug)).content.decode()
    assert "Meet at least monthly." in body
    cast.taskforce.meeting_cadence = "monthly"
    cast.taskforce.save()
    body = client_for(cast.member_b).get(url("list", slug=cast.taskforce.slug)).content.decode()
    assert "Meet at least monthly." not in body


def test_a_member_submits_and_the_facilitator_composes_and_circulates(
    cast, client_for, meeting, django_capture_on_commit_callbacks
):
    member, facilitator = client_for(cast.member_b), client_for(cast.facilitator)
    with time_machine.travel(meeting.starts_at - timedelta(days=5)):
        response = member.post(
            url("submit", meeting),
            {
                "title": "New runaway protocol",
                "description": "Draft from CAC",
                "item_type": "information_sharing",
                "presenter": cast.member_b.pk,
                "planned_minutes": "70",
                "tier": "members",
            },
        )
        assert response.status_code == 302
        item = AgendaItem.objects.get(title="New runaway protocol")
        assert "Waiting for the facilitator" in member.get(url("detail", meeting)).content.decode()
        facilitator.post(url("item_action", meeting, item.pk, "accept"))
        item.refresh_from_db()
        assert item.status == ItemStatus.ACCEPTED
        body = facilitator.get(url("detail", meeting)).content.decode()
        # 10 + 2 + 15 + 70 = 97 planned minutes in a 90-minute meeting: shown as over.
        assert "97 / 90" in body and "agenda-over" in body
        with django_capture_on_commit_callbacks(execute=True):
            facilitator.post(url("circulate", meeting))
        notifications.sweep()
    agenda_mails = [m for m in mail.outbox if m.subject.startswith("Agenda:")]
    assert len(agenda_mails) == len(services.invitees(meeting))
    assert "New runaway protocol" in agenda_mails[0].body
    assert "/meeting.ics" in agenda_mails[0].body


def test_the_ics_download_and_the_private_feed(cast, client_for, meeting):
    response = client_for(cast.member_b).get(url("ics", meeting))
    cal = Calendar.from_ical(response.content)
    events = list(cal.walk("VEVENT"))
    assert len(events) == 1
    assert events[0]["location"] == "County Building, Room 204"
    assert events[0].decoded("dtstart").hour == 10  # local wall-clock time with its VTIMEZONE
    client = client_for(cast.member_b)
    body = client.post(url("calendar", slug=cast.taskforce.slug), {"action": "issue"}).content.decode()
    feed = re.search(r'value="(http[^"]+\.ics)"', body).group(1)
    anonymous = client_for(None)
    response = anonymous.get(feed)
    assert response.status_code == 200
    assert len(list(Calendar.from_ical(response.content).walk("VEVENT"))) == 3
    client.post(url("calendar", slug=cast.taskforce.slug), {"action": "revoke"})
    assert anonymous.get(feed).status_code == 404


def test_restricted_items_show_as_restricted_to_those_without_access(cast, client_for, meeting):
    services.item_add(
        meeting=meeting,
        actor=cast.facilitator,
        title="Case 24-117 placement",
        item_type=ItemType.CASE_REVIEW,
        tier="restricted",
        presenter=cast.liaison_a,
    )
    member_view = client_for(cast.member_b).get(url("detail", meeting)).content.decode()
    assert "Case 24-117" not in member_view and "Restricted case" in member_view
    assert "Case 24-117" in client_for(cast.liaison_a).get(url("detail", meeting)).content.decode()
    assert "Case 24-117" in client_for(cast.coordinator).get(url("detail", meeting)).content.decode()


def test_the_agenda_and_live_rows_escape_what_people_typed(cast, client_for, meeting):
    # The rows are built as strings by meetings_tags (agenda_rows, planned_actual_rows), not by the template
    # engine: what people typed must still reach the page as text.
    services.item_add(
        meeting=meeting,
        actor=cast.facilitator,
        title="<script>alert(1)</script> & co",
        description="<b>bold</b>\nsecond line",
        item_type=ItemType.INFORMATION,
        presenter=cast.liaison_a,
    )
    client = client_for(cast.facilitator)
    for name in ("detail", "run", "follow"):
        body = client.get(url(name, meeting)).content.decode()
        assert "<script>alert(1)" not in body and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in body, name
    agenda = client.get(url("detail", meeting)).content.decode()
    assert "&lt;b&gt;bold&lt;/b&gt;<br>second line" in agenda
    assert 'aria-label="Move &lt;script&gt;alert(1)&lt;/script&gt; &amp; co up"' in agenda


def test_the_case_hook_decides_case_review_items(cast, client_for, meeting):
    from meetings import hooks

    item = services.item_add(
        meeting=meeting,
        actor=cast.facilitator,
        title="Case 9 review",
        item_type=ItemType.CASE_REVIEW,
        tier="restricted",
        source_type="cases.case",
        source_id="9",
    )
    # The cases app registers its own hooks at start-up; put them back afterwards.
    previous = hooks.case_item_access(), hooks.case_item_renderer()
    try:
        hooks.register_case_item_access(lambda user, it: user.pk == cast.member_b.pk and it.pk == item.pk)
        partial = mark_safe("<p>case partial</p>")  # noqa: S308
        hooks.register_case_item_renderer(lambda request, items: {it.pk: partial for it in items})
        page = client_for(cast.member_b).get(url("detail", meeting)).content.decode()
        assert "Case 9 review" in page and "<p>case partial</p>" in page
        assert "Case 9 review" not in client_for(cast.liaison_b).get(url("detail", meeting)).content.decode()
        # The case decides, facilitators included: Fred has no access to case 9.
        assert "Case 9 review" not in client_for(cast.facilitator).get(url("detail", meeting)).content.decode()
    finally:
        hooks.register_case_item_access(previous[0])
        hooks.register_case_item_renderer(previous[1])


def _run_meeting(cast, client, meeting):
    with time_machine.travel(meeting.starts_at, tick=False) as clock:
        client.post(url("run_action", meeting, "start"))
        row = Attendance.objects.get(meeting=meeting, person=cast.liaison_a)
        client.post(url("attendance", meeting), {"attendance": row.pk, "status": "present", "acknowledged": "1"})
        client.post(
            url("attendance", meeting),
            {
                "guest-name": "Dr. Ruiz",
                "guest-role": "Pediatrician",
                "guest-organization": "Harbor General",
                "guest-acknowledged": "on",
            },
        )
        clock.shift(timedelta(minutes=13))
        page = client.get(url("run", meeting)).content.decode()
        assert "Over time" in page and "is-over" in page
        meeting.refresh_from_db()
        client.post(url("notes", meeting, meeting.current_item_id), {"notes": "Everyone introduced", "decisions": ""})
        client.post(url("run_action", meeting, "next"))
        later = Meeting.objects.filter(series=meeting.series).order_by("starts_at")[1]
        client.post(
            url("action_item_create", meeting),
            {
                "action-title": "Share the hotel list",
                "action-owner_membership": cast.agency_a.pk,
                "action-due_on": "2027-01-31",
                "action-report_back_meeting": later.pk,
            },
        )
        clock.shift(timedelta(minutes=5))
        client.post(url("run_action", meeting, "end"))


def test_running_the_meeting_from_the_live_view(cast, client_for, meeting):
    client = client_for(cast.facilitator)
    _run_meeting(cast, client, meeting)
    meeting.refresh_from_db()
    assert meeting.ended_at
    assert Attendance.objects.get(meeting=meeting, name="Dr. Ruiz").status == "guest"
    assert Attendance.objects.get(meeting=meeting, person=cast.liaison_b).status == "absent"
    assert meeting.action_items.get().owner_membership == cast.agency_a
    intro = services.agenda_items(meeting)[0]
    assert intro.notes == "Everyone introduced" and intro.actual_seconds == 13 * 60


def test_participants_follow_the_current_item(cast, client_for, meeting):
    services.meeting_start(meeting=meeting, actor=cast.facilitator)
    member = client_for(cast.member_b)
    partial = member.get(url("follow", meeting), HTTP_HX_REQUEST="true").content.decode()
    assert "Introductions" in partial and "<html" not in partial
    services.meeting_goto(meeting=meeting, actor=cast.facilitator, step=1)
    partial = member.get(url("follow", meeting), HTTP_HX_REQUEST="true").content.decode()
    assert "Confidentiality reminder" in partial.split("live-title")[1][:200]
    member.post(url("check_in", meeting), {"acknowledged": "1"})
    assert Attendance.objects.get(meeting=meeting, person=cast.member_b).confidentiality_acknowledged_at


def test_the_minutes_pdf_editions(cast, client_for, meeting):
    services.item_add(
        meeting=meeting,
        actor=cast.facilitator,
        title="Case 24-117 placement",
        item_type=ItemType.CASE_REVIEW,
        tier="restricted",
        presenter=cast.liaison_a,
    )
    client = client_for(cast.facilitator)
    _run_meeting(cast, client, meeting)
    items = {item.title: item for item in services.agenda_items(meeting)}
    services.item_record(
        item=items["Case 24-117 placement"], actor=cast.facilitator, notes="Placed at SECRET-HOUSE", decisions="Refer"
    )
    minutes = Minutes.objects.get(meeting=meeting)
    response = client.post(
        url("minutes_edit", meeting),
        {"version": minutes.version, "summary": "A productive meeting.", "restricted_summary": "SECRET-SUMMARY"},
    )
    assert response.status_code == 302

    general = pdf_text(client.get(url("minutes_pdf", meeting, "general")))
    assert "Harbor Task Force" in general and "Minutes" in general
    assert "Larry Liaison" in general and "Sheriff's Office" in general  # attendance table
    assert "Dr. Ruiz" in general and "Share the hotel list" in general
    assert "A productive meeting." in general and "DRAFT" in general and "Page 1 of" in general
    for secret in ("SECRET", "Case 24-117"):
        assert secret not in general
    restricted = pdf_text(client.get(url("minutes_pdf", meeting, "restricted")))
    assert "SECRET-HOUSE" in restricted and "SECRET-SUMMARY" in restricted
    assert client_for(cast.member_b).get(url("minutes_pdf", meeting, "restricted")).status_code == 403
    member_general = pdf_text(client_for(cast.member_b).get(url("minutes_pdf", meeting, "general")))
    assert "SECRET" not in member_general

    client.post(url("minutes_action", meeting, "circulate"))
    client_for(cast.member_b).post(url("minutes_action", meeting, "comment"), {"body": "Looks right."})
    client.post(url("minutes_action", meeting, "approve"))
    minutes.refresh_from_db()
    assert minutes.is_locked
    approved = pdf_text(client.get(url("minutes_pdf", meeting, "general")))
    assert "DRAFT" not in approved and minutes.seal_general in approved.replace("\n", "")
    assert "Looks right." in client.get(url("minutes", meeting)).content.decode()


def test_the_sign_in_sheet(cast, client_for, meeting):
    text = pdf_text(client_for(cast.facilitator).get(url("signin_pdf", meeting)))
    assert (
        "Sign-in sheet" in text
        and "Mia Member" in text
        and "Child Advocacy Center" in text
        and "Confidentiality" in text
    )


def test_feedback_and_the_trend(cast, client_for, meeting):
    client = client_for(cast.facilitator)
    _run_meeting(cast, client, meeting)
    member = client_for(cast.liaison_a)
    response = member.post(
        url("feedback", meeting),
        {
            "usefulness": "4",
            "started_on_time": "yes",
            "ended_on_time": "no",
            "what_to_change": "Shorter intros",
            "anonymous": "on",
        },
    )
    assert response.status_code == 302
    assert "already answered" in member.get(url("feedback", meeting)).content.decode()
    page = client.get(url("feedback_trend", slug=cast.taskforce.slug)).content.decode()
    assert "<svg" in page and "Shorter intros" in page and "anonymous" in page
    assert (
        "Shorter intros"
        not in client_for(cast.member_b).get(url("feedback_trend", slug=cast.taskforce.slug)).content.decode()
    )


def test_the_next_meeting_approves_the_minutes_from_its_live_view(cast, client_for, series, meeting):
    client = client_for(cast.facilitator)
    _run_meeting(cast, client, meeting)
    client.post(url("minutes_action", meeting, "circulate"))
    upcoming = Meeting.objects.filter(series=series).order_by("starts_at")[1]
    approval = AgendaItem.objects.get(meeting=upcoming, item_type=ItemType.MINUTES_APPROVAL)
    with time_machine.travel(upcoming.starts_at, tick=False):
        client.post(url("run_action", upcoming, "start"))
        client.post(url("run_action", upcoming, "goto"), {"item": approval.pk})
        page = client.get(url("run", upcoming)).content.decode()
        assert "Record approval" in page
        client.post(url("minutes_action", meeting, "approve"))
    minutes = Minutes.objects.get(meeting=meeting)
    assert minutes.is_locked and minutes.approved_at_meeting == upcoming


def test_the_dashboard_shows_the_next_meeting(cast, client_for, meeting):
    body = client_for(cast.member_b).get(reverse("taskforce:dashboard", args=[cast.taskforce.slug])).content.decode()
    assert "Next meeting" in body and url("detail", meeting) in body


def test_the_dashboard_tells_the_facilitator_about_waiting_proposals(cast, client_for, meeting):
    with time_machine.travel(meeting.starts_at - timedelta(days=5)):
        services.item_submit(meeting=meeting, actor=cast.member_b, title="Runaway trends")
        dashboard = reverse("taskforce:dashboard", args=[cast.taskforce.slug])
        assert "1 proposed item waits for your decision" in client_for(cast.facilitator).get(dashboard).content.decode()
        assert "waits for your decision" not in client_for(cast.member_b).get(dashboard).content.decode()
