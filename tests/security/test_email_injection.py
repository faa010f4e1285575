"""Email: no header injection from anything people type, and no confidential case text in any email.

Both tests send through the real path: services schedule Notification rows, the real sweep renders and
sends them (locmem outbox), and each message is checked both as Django's EmailMessage and as the bytes a
mail server would receive, parsed back with the standard library.
"""

from __future__ import annotations

import re
from datetime import timedelta
from email import policy
from email.parser import BytesParser

import pytest
from django.core import mail
from django.utils import timezone

from cases import services as cases
from cases.models import AccessRequest, Case, CaseAgency, CaseGrant, CaseReview, FollowUp, Level, Release
from meetings import services as meetings
from members import services as members
from taskforce import notifications
from taskforce.models import Notification
from tests.cases.world import build_world, make_case, make_meeting, propose_review
from tests.cast import Cast
from tests.security.test_xss import flood, free_text_columns, page_targets, value

# CR, LF and CRLF each try to end the header and start another (a blind-copy, a forged subject, a body).
HEADER_PAYLOAD = "Harbor\r\nBcc: bcc@evil.example\nX-Injected: yes\rSubject: forged\r\n\r\nbody"
EXPECTED_HEADERS = {
    "content-type",
    "mime-version",
    "content-transfer-encoding",
    "subject",
    "from",
    "to",
    "date",
    "message-id",
    "x-taskforce-notification",
    "x-taskforce-kind",
    "auto-submitted",
}


@pytest.fixture(autouse=True)
def _plain_settings(settings):
    settings.REQUIRE_MFA = False
    # Django 6.1's MAILERS wins over the EMAIL_BACKEND that pytest-django's outbox sets; its locmem backend
    # appends to whatever list mail.outbox is when it sends, so read mail.outbox, not the fixture's list.
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    mail.outbox = []


def send_everything_due() -> None:
    """Whatever is scheduled goes out now, and the schedulers add what they would add today."""
    notifications.run_schedulers(timezone.now())
    Notification.objects.filter(sent_at__isnull=True, cancelled_at__isnull=True).update(
        due_at=timezone.now() - timedelta(minutes=1)
    )
    while notifications.sweep(limit=1000):
        pass


def header_problems(message: mail.EmailMessage) -> list[str]:
    problems = []
    if len(message.recipients()) != 1 or "evil.example" in " ".join(message.recipients()):
        problems.append(f"recipients {message.recipients()}")
    if any(ch in message.subject for ch in "\r\n"):
        problems.append(f"subject {message.subject!r}")
    parsed = BytesParser(policy=policy.default).parsebytes(message.message().as_bytes())
    names = {name.lower() for name in parsed.keys()}
    if names - EXPECTED_HEADERS:
        problems.append(f"headers {sorted(names - EXPECTED_HEADERS)}")
    if len(parsed.get_all("Subject") or []) != 1:
        problems.append("more than one Subject")
    for name, header in parsed.items():
        # The words may stand in the one-line subject as text; in an address header they would be a recipient.
        if name.lower() != "subject" and ("evil.example" in str(header) or "forged" in str(header).lower()):
            problems.append(f"{name}: {str(header)[:80]!r}")
    return problems


def test_user_text_never_adds_an_email_header(cast: Cast, monkeypatch, django_capture_on_commit_callbacks):
    # Every object of the permission matrix (meetings, agendas, minutes, MOUs out for signature, letters,
    # announcements, goals, action items, cases...), with what their services scheduled.
    page_targets(cast, monkeypatch, pdfs=None)
    columns = free_text_columns()
    flood(columns, lambda c, pk, n: value(c, pk, HEADER_PAYLOAD))
    mail.outbox = []

    send_everything_due()
    # Sent at once, not through a Notification: the invitation (subject from the task force's name).
    with django_capture_on_commit_callbacks(execute=True):
        members.invitation_create(
            membership=cast.agency_a,
            actor=cast.liaison_a,
            email="eve@sheriff.example.org",
            full_name="Eve",
            role="member",
        )

    problems = [f"{m.subject[:60]!r}: {p}" for m in mail.outbox for p in header_problems(m)]
    assert problems == []
    kinds = {m.extra_headers.get("X-Taskforce-Kind", "invitation") for m in mail.outbox}
    # The payload really was in what they were built from: titles and names went into these subjects.
    assert sum("Harbor" in m.subject and "Bcc" in m.subject for m in mail.outbox) >= 5
    assert len(kinds) >= 8 and "invitation" in kinds, sorted(kinds)
    print(len(mail.outbox), "emails of kinds", sorted(kinds))


def test_clean_header_leaves_one_line_whatever_it_is_given():
    for raw in (HEADER_PAYLOAD, "a\u2028b\u2029c\x85d\x0be\x0cf\x00g", "x" * 1000):
        cleaned = notifications.clean_header(raw)
        assert cleaned.isprintable() and len(cleaned) <= notifications.SUBJECT_MAX_LENGTH


# --- no confidential case text in any email -----------------------------------------------------------

MARK = "SECRETMARK"


def _mark_every_case_field(case: Case) -> None:
    """Everything a case file holds that is typed by people, each with its own marker."""
    Case.objects.filter(pk=case.pk).update(
        label=f"{MARK}-label", county=f"{MARK}-county", summary=f"{MARK}-summary", service_needs=f"{MARK}-needs"
    )
    for model, fields in (
        (CaseReview, ("discussion", "service_needs")),
        (FollowUp, ("task",)),
        (Release, ("scope",)),
        (CaseGrant, ("justification",)),
        (AccessRequest, ("justification",)),
        (CaseAgency, ("role",)),
    ):
        for pk in model.objects.filter(case=case).values_list("pk", flat=True):
            model.objects.filter(pk=pk).update(**{f: f"{MARK}-{model.__name__}-{f}-{pk}" for f in fields})


def test_no_case_text_reaches_any_email(cast: Cast):
    """Access requested and decided (both ways), follow-ups due, the case on a circulated agenda and in
    circulated minutes: the emails name the case by its number and link to it, nothing more."""
    world = build_world(cast)
    meeting = make_meeting(cast)
    item = propose_review(cast, world.case, actor=cast.liaison_b)
    review = cases.review_save(
        case=world.case,
        actor=cast.liaison_b,
        held_on=timezone.localdate(),
        participants=[cast.liaison_b, cast.liaison_a],
        discussion="x",
        service_needs="y",
        recommendations=[],
        agenda_item=item,
    )
    cases.follow_up_add(
        review=review, actor=cast.liaison_b, task="z", owner=cast.liaison_a, due_on=timezone.localdate()
    )
    # A second case, led by the CAC with the Sheriff's Office only: Alice asks to see its summary, granted.
    granted = cases.access_request_create(
        case=make_case(cast, number="2026-002", label="other", involved=[cast.agency_a]), actor=cast.coordinator,
        level=Level.SUMMARY, justification="Need to coordinate placement",
    )  # fmt: skip
    _mark_every_case_field(world.case)
    _mark_every_case_field(granted.case)

    meetings.agenda_circulate(meeting=meeting, actor=cast.facilitator)
    send_everything_due()
    cases.access_request_decide(access_request=granted, actor=cast.liaison_b, approve=True)
    cases.access_request_decide(
        access_request=world.access_request, actor=cast.liaison_b, approve=False, reason="Not needed for your role"
    )
    minutes = meetings.minutes_draft(meeting=meeting, actor=cast.facilitator)
    meetings.minutes_circulate(minutes=minutes, actor=cast.facilitator)
    send_everything_due()

    kinds = {m.extra_headers.get("X-Taskforce-Kind") for m in mail.outbox}
    for needed in (cases.ACCESS_REQUESTED, cases.ACCESS_DECIDED, cases.FOLLOW_UP_DUE):
        assert needed in kinds, sorted(kinds)
    leaks = []
    for message in mail.outbox:
        parts = [message.subject, message.body, *(str(content) for content, _type in message.alternatives)]
        parts += [str(attachment) for attachment in message.attachments]
        parts.append(message.message().as_bytes().decode(errors="replace"))
        if any(MARK in part for part in parts):
            leaks.append(f"{message.extra_headers.get('X-Taskforce-Kind')}: {message.subject}")
    assert leaks == []
    print(len(mail.outbox), "emails of kinds", sorted(kinds))


def test_a_calendar_file_keeps_user_text_inside_its_properties(cast: Cast, client_for):
    """The same line-break trick against the .ics download: a title cannot start a property of its own."""
    from django.urls import reverse

    meeting = make_meeting(cast, "Monthly\r\nATTENDEE:mailto:bcc@evil.example\nX-Injected: yes")
    Meeting = type(meeting)
    Meeting.objects.filter(pk=meeting.pk).update(location="Room 1\rORGANIZER:mailto:x@evil.example")
    response = client_for(cast.coordinator).get(reverse("meetings:ics", args=[cast.taskforce.slug, meeting.pk]))
    assert response.status_code == 200
    unfolded = response.content.decode().replace("\r\n ", "").replace("\r\n\t", "")
    lines = re.split(r"\r\n|\r|\n", unfolded)  # a calendar client may take a bare CR or LF as a line end
    assert not [line for line in lines if line.upper().startswith(("ATTENDEE", "X-INJECTED", "ORGANIZER:MAILTO:X@"))]
    assert any(line.startswith("SUMMARY:Monthly") for line in lines)
