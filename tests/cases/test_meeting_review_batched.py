"""The agenda's case-review items are loaded together (cases.review.prepare_items): the same answers as one by
one, for every person, in a number of queries that does not grow with the number of case-review items."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cases import review, services
from meetings import services as meetings
from taskforce.models import AuditEvent
from tests.cases.world import make_case, make_meeting, propose_review


@pytest.fixture
def meeting(cast):
    return make_meeting(cast)


def _case(cast, number):
    return make_case(
        cast, number=number, lead=cast.agency_a, actor=cast.liaison_a, label=f"Label {number}",
        confidentiality="restricted",
    )  # fmt: skip


def _request(user):
    request = RequestFactory().get("/")
    request.user = user
    return request


def test_prepared_items_answer_as_the_one_by_one_path(cast, meeting):
    cases = [_case(cast, f"SO-{n}") for n in range(3)]
    items = [propose_review(cast, case) for case in cases]
    services.review_save(
        case=cases[1], actor=cast.liaison_a, held_on=timezone.localdate(), participants=[cast.liaison_a],
        discussion="Discussed at the table", service_needs="", recommendations=[], agenda_item=items[1],
    )  # fmt: skip
    meetings.attendance_roster_ensure(meeting=meeting)
    for person in (cast.liaison_a, cast.facilitator, cast.member_b, cast.coordinator, cast.admin):
        plain = [meetings.agenda_items(meeting) for _ in range(2)]
        fresh, prepared = [[i for i in batch if i.pk in {x.pk for x in items}] for batch in plain]
        review.prepare_items(_request(person), prepared)
        for one, batched in zip(fresh, prepared, strict=True):
            assert review.may_review(person, one) == review.may_review(person, batched)
            assert _rendered(person, one) == _rendered(person, batched)
        if person == cast.liaison_a:
            assert "Discussed at the table" in _rendered(person, prepared[1])
        # Loaded for one person, never used for another.
        assert review._prepared(prepared[0], cast.member_b if person != cast.member_b else cast.liaison_a) is None


def _rendered(person, item) -> str:
    return review.render_items(_request(person), [item])[item.pk]


def _agenda_queries(client, meeting, cast) -> int:
    url = reverse("meetings:detail", kwargs={"slug": cast.taskforce.slug, "pk": meeting.pk})
    client.get(url)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured.captured_queries)


def test_the_agenda_costs_the_same_with_more_case_review_items(cast, meeting, client_for):
    propose_review(cast, _case(cast, "SO-1"))
    meetings.attendance_roster_ensure(meeting=meeting)
    client = client_for(cast.liaison_a)
    one = _agenda_queries(client, meeting, cast)
    for n in range(2, 5):
        propose_review(cast, _case(cast, f"SO-{n}"))
    # Each case shown in full is still an audited read, all of them written in one INSERT: the count stays flat.
    assert _agenda_queries(client, meeting, cast) == one
    restricted_viewer = client_for(cast.member_b)
    assert _agenda_queries(restricted_viewer, meeting, cast) == _agenda_queries(restricted_viewer, meeting, cast)


def test_reviews_and_rosters_are_read_only_when_a_case_is_shown(cast, meeting):
    """The access check needs the cases and the reader's permissions on them (two queries); the reviews and the
    room's roster are read once, for every item, by the first case actually rendered (the live page shows
    one case at a time, and a person who sees none never pays for them)."""
    items = [propose_review(cast, _case(cast, f"SO-{n}")) for n in range(3)]
    meetings.attendance_roster_ensure(meeting=meeting)
    for person in (cast.liaison_a, cast.member_b):
        prepared = [i for i in meetings.agenda_items(meeting) if i.pk in {x.pk for x in items}]
        with CaptureQueriesContext(connection) as captured:
            review.prepare_items(_request(person), prepared)
            allowed = [item for item in prepared if review.may_review(person, item)]
        assert len(captured.captured_queries) == 2
        assert len(allowed) == (3 if person == cast.liaison_a else 0)
    allowed = [i for i in meetings.agenda_items(meeting) if i.pk in {x.pk for x in items}]
    review.prepare_items(_request(cast.liaison_a), allowed)
    with CaptureQueriesContext(connection) as captured:
        html = review.render_items(_request(cast.liaison_a), allowed)
    # The reviews, the roster with each attendee's eligibility, and the audited reads of the three cases together.
    assert [q["sql"].split()[0] for q in captured.captured_queries] == ["SELECT", "SELECT", "INSERT"]
    assert all("✓ " in part for part in html.values()) and set(html) == {item.pk for item in allowed}
    shown = AuditEvent.objects.filter(action="case.viewed", actor=cast.liaison_a, detail__via="meeting")
    assert sorted(e.detail["agenda_item"] for e in shown) == sorted(item.pk for item in allowed)
