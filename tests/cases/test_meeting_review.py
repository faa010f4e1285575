"""A case on a meeting's case-review segment: who sees it, the roster, and which minutes carry the review."""

from __future__ import annotations

import io
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from cases import review, services
from meetings import services as meetings
from meetings.models import Minutes
from taskforce.models import AuditEvent
from tests.cases.world import make_case, make_meeting, propose_review


@pytest.fixture
def meeting(cast):
    return make_meeting(cast)


@pytest.fixture
def sheriff_case(cast):
    """Led by the Sheriff's Office (agency A); the CAC people, Fred the facilitator among them, have no access."""
    return make_case(
        cast, number="SO-77", lead=cast.agency_a, actor=cast.liaison_a, label="Wren", confidentiality="restricted"
    )


def rendered(user, item):
    request = RequestFactory().get("/")
    request.user = user
    return review.render_items(request, [item])[item.pk]


def test_the_item_is_restricted_and_says_nothing_of_the_case(cast, meeting, sheriff_case):
    item = propose_review(cast, sheriff_case)
    assert item.meeting == meeting and item.is_restricted
    assert "SO-77" not in item.title + item.description and "Wren" not in item.title + item.description


def test_participants_see_the_cases_they_are_entitled_to_and_others_see_restricted(cast, meeting, sheriff_case):
    item = propose_review(cast, sheriff_case)
    assert review.may_review(cast.liaison_a, item)
    assert "Wren" in rendered(cast.liaison_a, item)
    for person in (cast.facilitator, cast.member_b, cast.coordinator, cast.admin):
        assert not review.may_review(person, item)
        html = rendered(person, item)
        assert "Restricted case" in html and "SO-77" not in html and "Wren" not in html


def test_the_roster_marks_who_may_take_part(cast, meeting, sheriff_case):
    item = propose_review(cast, sheriff_case)
    meetings.attendance_roster_ensure(meeting=meeting)
    roster = {row.person: row.may_take_part for row in review.review_roster(sheriff_case, item) if row.person}
    assert roster[cast.liaison_a] is True
    assert roster[cast.facilitator] is False and roster[cast.coordinator] is False


def test_the_item_shows_the_roster_escaped_each_attendee_marked(cast, meeting, sheriff_case):
    item = propose_review(cast, sheriff_case)
    meetings.attendance_roster_ensure(meeting=meeting)
    meeting.attendance.create(name="<b>Guest</b> & Co", organization="Ministry", status="guest")
    html = rendered(cast.liaison_a, item)
    assert "&lt;b&gt;Guest&lt;/b&gt; &amp; Co" in html and "<b>Guest</b>" not in html
    assert f"✓ {cast.liaison_a.full_name}" in html  # full access: takes part
    assert f"✕ {cast.facilitator.full_name}" in html  # none: steps out for this item
    assert html.count('class="visually-hidden"> may take part') == 1  # the words a screen reader hears


def test_the_restricted_minutes_point_to_the_review_which_stays_in_the_case_file(cast, meeting, sheriff_case):
    item = propose_review(cast, sheriff_case)
    record = services.review_save(
        case=sheriff_case, actor=cast.liaison_a, held_on=timezone.localdate(), participants=[cast.liaison_a],
        discussion="Recruiter identified; safety plan holds.", service_needs="", recommendations=[], agenda_item=item,
    )  # fmt: skip
    services.follow_up_add(
        review=record, actor=cast.liaison_a, task="Subpoena hotel records", owner=cast.liaison_a,
        due_on=timezone.localdate() + timedelta(days=5),
    )  # fmt: skip
    minutes = meetings.minutes_draft(meeting=meeting, actor=cast.facilitator)
    restricted = str(meetings.minutes_record(minutes, meetings.RESTRICTED))
    general = str(meetings.minutes_record(minutes, meetings.GENERAL))
    assert "Case review (recorded in the case file)" in restricted
    assert "Case review" not in general and "1 restricted" not in general
    for edition in (restricted, general):  # the narrative never leaves the encrypted case file
        assert "Recruiter identified" not in edition and "Subpoena" not in edition
        assert "SO-77" not in edition and "Wren" not in edition
    item.refresh_from_db()
    assert item.notes == "" and record.agenda_item == item and record.meeting == meeting
    assert isinstance(minutes, Minutes)


def test_a_review_cannot_be_attached_to_another_cases_item(cast, meeting, sheriff_case):
    other = make_case(cast, number="SO-78", lead=cast.agency_a, actor=cast.liaison_a)
    item = propose_review(cast, other)
    with pytest.raises(ValueError):
        services.review_save(
            case=sheriff_case, actor=cast.liaison_a, held_on=timezone.localdate(), participants=[],
            discussion="x", service_needs="", recommendations=[], agenda_item=item,
        )  # fmt: skip


def test_the_review_page_links_the_item_and_proposes_the_roster(cast, meeting, sheriff_case, client_for):
    item = propose_review(cast, sheriff_case)
    meetings.attendance_roster_ensure(meeting=meeting)
    url = reverse("cases:review_new", kwargs={"slug": cast.taskforce.slug, "pk": sheriff_case.pk})
    client = client_for(cast.liaison_a)
    page = client.get(url, {"item": item.pk}).content.decode()
    assert f'name="item" value="{item.pk}"' in page
    response = client.post(url, {"item": item.pk, "held_on": timezone.localdate().isoformat(), "discussion": "Seen."})
    assert response.status_code == 302
    assert sheriff_case.reviews.get().agenda_item == item


def test_an_unrelated_item_is_none_of_cases_business(cast):
    item = SimpleNamespace(source_type="mous.objection", source_id="3", taskforce_id=cast.taskforce.pk, pk=1)
    assert review.case_for_item(item) is None
    assert not review.may_review(cast.liaison_a, item)


def test_proposing_from_the_case_page(cast, meeting, sheriff_case, client_for):
    url = reverse("cases:propose", kwargs={"slug": cast.taskforce.slug, "pk": sheriff_case.pk})
    response = client_for(cast.liaison_a).post(url)
    assert response.status_code == 302
    assert meeting.items.filter(source_type="cases.case", source_id=str(sheriff_case.pk)).exists()


def test_recording_the_review_twice_opens_the_first_record(cast, meeting, sheriff_case, client_for):
    item = propose_review(cast, sheriff_case)
    url = reverse("cases:review_new", kwargs={"slug": cast.taskforce.slug, "pk": sheriff_case.pk})
    client = client_for(cast.liaison_a)
    data = {"item": item.pk, "held_on": timezone.localdate().isoformat(), "discussion": "Seen."}
    client.post(url, data)
    response = client.post(url, data)
    assert response.status_code == 302 and sheriff_case.reviews.count() == 1


def test_the_restricted_minutes_carry_the_review_for_readers_with_full_access_only(cast, meeting, client_for):
    """Fred facilitates and is one of the lead agency's people; Alice coordinates but has no access."""
    case = make_case(cast, number="CAC-9", lead=cast.agency_b, actor=cast.liaison_b, label="Kestrel")
    item = propose_review(cast, case)
    record = services.review_save(
        case=case, actor=cast.liaison_b, held_on=timezone.localdate(), participants=[cast.liaison_b],
        discussion="Placement is stable; school re-enrolment next.", service_needs="Tutoring", recommendations=[],
        agenda_item=item,
    )  # fmt: skip
    services.follow_up_add(
        review=record, actor=cast.liaison_b, task="Arrange tutoring", owner=cast.liaison_b,
        due_on=timezone.localdate() + timedelta(days=5),
    )  # fmt: skip
    minutes = meetings.minutes_draft(meeting=meeting, actor=cast.facilitator)
    assert "Placement is stable" not in str(meetings.minutes_record(minutes, meetings.RESTRICTED))  # never sealed

    page = reverse("meetings:minutes", kwargs={"slug": cast.taskforce.slug, "pk": meeting.pk})
    fred = client_for(cast.facilitator).get(page, {"edition": "restricted"}).content.decode()
    assert "CAC-9 · Kestrel" in fred and "Placement is stable" in fred and "Arrange tutoring" in fred
    alice = client_for(cast.coordinator).get(page, {"edition": "restricted"}).content.decode()
    assert "Restricted case" in alice and "Placement is stable" not in alice and "Kestrel" not in alice
    general = client_for(cast.facilitator).get(page, {"edition": "general"}).content.decode()
    assert "Placement is stable" not in general and "Kestrel" not in general

    pdf_url = reverse(
        "meetings:minutes_pdf", kwargs={"slug": cast.taskforce.slug, "pk": meeting.pk, "edition": "restricted"}
    )
    text = " ".join(
        " ".join(
            p.extract_text() for p in PdfReader(io.BytesIO(client_for(cast.facilitator).get(pdf_url).content)).pages
        ).split()
    )
    assert "Placement is stable" in text and "Arrange tutoring" in text
    general_pdf = reverse(
        "meetings:minutes_pdf", kwargs={"slug": cast.taskforce.slug, "pk": meeting.pk, "edition": "general"}
    )
    general_text = " ".join(
        p.extract_text() for p in PdfReader(io.BytesIO(client_for(cast.facilitator).get(general_pdf).content)).pages
    )
    assert "Placement" not in general_text and "Kestrel" not in general_text
    reads = AuditEvent.objects.filter(action="case.viewed", object_id=str(case.pk), actor=cast.facilitator)
    assert reads.filter(detail__via="minutes").exists()
