"""Action plan goals, subcommittees, training events, the training matrix and certificates."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from members import selectors, services
from members.models import Goal, Subcommittee, TrainingAttendance, TrainingEvent, TrainingTopic
from taskforce import notifications

pytestmark = pytest.mark.django_db


def _topics(cast) -> dict[str, TrainingTopic]:
    services.training_topics_ensure(taskforce=cast.taskforce)
    return {t.name: t for t in TrainingTopic.objects.filter(taskforce=cast.taskforce)}


def test_the_coordinator_adds_a_goal_and_members_see_progress(cast, client_for):
    response = client_for(cast.coordinator).post(
        reverse("members:goal_new", args=[cast.taskforce.slug]),
        {
            "title": "Train school staff",
            "objective": "90% of counsellors trained",
            "target_on": "2027-06-30",
            "status": "on_track",
            "progress": 40,
        },
    )
    assert response.status_code == 302
    page = client_for(cast.member_b).get(reverse("members:plan", args=[cast.taskforce.slug])).content.decode()
    assert "Train school staff" in page and "40%" in page and 'width="40"' in page


def test_progress_over_100_is_refused_on_the_form(cast, client_for):
    response = client_for(cast.coordinator).post(
        reverse("members:goal_new", args=[cast.taskforce.slug]),
        {"title": "X", "objective": "Y", "target_on": "2027-06-30", "status": "on_track", "progress": 140},
    )
    assert response.status_code == 200 and not Goal.objects.exists()


def test_members_cannot_change_the_plan(cast, client_for):
    url = reverse("members:goal_new", args=[cast.taskforce.slug])
    assert client_for(cast.member_b).get(url).status_code == 403
    assert client_for(cast.outsider).get(url).status_code == 404


def test_a_subcommittee_spans_agencies_and_its_chair_may_edit_it(cast, client_for):
    goal = services.goal_save(
        taskforce=cast.taskforce,
        actor=cast.coordinator,
        title="Protocols",
        objective="Write one",
        target_on=date(2027, 1, 1),
        status="on_track",
        progress=0,
    )
    response = client_for(cast.coordinator).post(
        reverse("members:subcommittee_new", args=[cast.taskforce.slug]),
        {
            "name": "Protocols",
            "charge": "Draft the response protocol",
            "chair": cast.liaison_a.pk,
            "members": [cast.member_b.pk],
            "goals": [goal.pk],
        },
    )
    subcommittee = Subcommittee.objects.get(name="Protocols")
    assert response["Location"] == reverse("members:subcommittee_detail", args=[cast.taskforce.slug, subcommittee.pk])
    assert set(subcommittee.members.all()) == {cast.liaison_a, cast.member_b}
    edit = reverse("members:subcommittee_edit", args=[cast.taskforce.slug, subcommittee.pk])
    assert client_for(cast.liaison_a).get(edit).status_code == 200
    assert client_for(cast.member_b).get(edit).status_code == 403
    duplicate = client_for(cast.coordinator).post(
        reverse("members:subcommittee_new", args=[cast.taskforce.slug]), {"name": "protocols", "charge": "again"}
    )
    assert duplicate.status_code == 200 and "already a subcommittee" in duplicate.content.decode()


def test_training_fills_the_matrix_and_expires(cast):
    topics = _topics(cast)
    services.training_event_save(
        taskforce=cast.taskforce,
        actor=cast.coordinator,
        title="CSEC 101",
        kind="joint",
        topics=[topics["CSEC identification"]],
        trainer="Dr. Weiss",
        held_on=timezone.localdate() - timedelta(days=30),
        duration_minutes=90,
        attendees=[cast.liaison_a, cast.member_b],
    )
    services.training_event_save(
        taskforce=cast.taskforce,
        actor=cast.coordinator,
        title="Old confidentiality",
        kind="joint",
        topics=[topics["Confidentiality and information sharing"]],
        trainer="",
        held_on=date(2020, 1, 10),
        duration_minutes=60,
        attendees=[cast.liaison_a],
    )
    services.training_event_save(
        taskforce=cast.taskforce,
        actor=cast.coordinator,
        title="Picnic",
        kind="team_activity",
        topics=[topics["Labor trafficking"]],
        trainer="",
        held_on=timezone.localdate(),
        duration_minutes=120,
        attendees=[cast.member_b],
    )
    matrix_topics, rows = selectors.training_matrix(cast.taskforce)
    names = [t.name for t in matrix_topics]
    by_person = {row.person: {names[i]: cell.state for i, cell in enumerate(row.cells)} for row in rows}
    assert by_person[cast.liaison_a]["CSEC identification"] == "current"
    assert by_person[cast.liaison_a]["Confidentiality and information sharing"] == "expired"
    assert by_person[cast.member_b]["Labor trafficking"] == "missing"  # a team activity is not training
    assert by_person[cast.coordinator]["CSEC identification"] == "missing"
    gaps = selectors.training_gaps(rows, matrix_topics)
    sheriff = next(s for s in gaps["agency"] if s.label == "Sheriff's Office")
    assert (sheriff.people, sheriff.gaps, sheriff.possible, sheriff.coverage) == (1, 3, 4, 25)


def test_the_matrix_page_highlights_gaps(cast, client_for):
    _topics(cast)
    body = (
        client_for(cast.member_b).get(reverse("members:training_matrix", args=[cast.taskforce.slug])).content.decode()
    )
    assert "table-danger" in body and "Coverage by sector" in body and "Larry Liaison" in body


def test_recording_training_through_the_form(cast, client_for):
    topics = _topics(cast)
    url = reverse("members:training_new", args=[cast.taskforce.slug])
    missing_topic = client_for(cast.facilitator).post(
        url, {"title": "T", "kind": "joint", "held_on": "2026-11-01", "duration_minutes": 60}
    )
    assert missing_topic.status_code == 200 and "at least one topic" in missing_topic.content.decode()
    response = client_for(cast.facilitator).post(
        url,
        {
            "title": "Trauma-informed interviewing",
            "kind": "joint",
            "topics": [topics["Trauma-informed care"].pk],
            "held_on": "2026-11-01",
            "duration_minutes": 60,
            "attendees": [cast.member_b.pk, cast.liaison_b.pk],
        },
    )
    assert response.status_code == 302
    event = TrainingEvent.objects.get(title="Trauma-informed interviewing")
    assert set(TrainingAttendance.objects.filter(event=event).values_list("person__email", flat=True)) == {
        "mia@cac.example.org",
        "bea@cac.example.org",
    }
    assert client_for(cast.member_b).post(url, {"title": "x"}).status_code == 403


def test_a_certificate_is_for_the_attendee_and_the_coordinator_only(cast, client_for):
    topics = _topics(cast)
    event = services.training_event_save(
        taskforce=cast.taskforce,
        actor=cast.coordinator,
        title="CSEC 101",
        kind="joint",
        topics=[topics["CSEC identification"]],
        trainer="Dr. Weiss",
        held_on=date(2026, 10, 1),
        duration_minutes=90,
        attendees=[cast.member_b],
    )
    url = reverse("members:training_certificate", args=[cast.taskforce.slug, event.pk, cast.member_b.pk])
    response = client_for(cast.member_b).get(url)
    assert response["Content-Type"] == "application/pdf"
    text = " ".join(PdfReader(io.BytesIO(response.content)).pages[0].extract_text().split())
    assert (
        "Certificate of attendance" in text
        and "Mia Member" in text
        and "CSEC 101" in text
        and "October 1, 2026" in text
    )
    assert client_for(cast.coordinator).get(url).status_code == 200
    assert client_for(cast.liaison_a).get(url).status_code == 404
    assert client_for(cast.outsider).get(url).status_code == 404


def test_a_goal_unreviewed_for_a_year_reminds_coordinators_once(cast):
    goal = services.goal_save(
        taskforce=cast.taskforce,
        actor=cast.coordinator,
        title="Protocols",
        objective="Write one",
        target_on=date(2027, 1, 1),
        status="on_track",
        progress=10,
    )
    Goal.objects.filter(pk=goal.pk).update(reviewed_on=timezone.localdate() - timedelta(days=400))
    assert services.schedule_goal_reviews(timezone.now()) == 1
    assert services.schedule_goal_reviews(timezone.now()) == 0
    mail.outbox.clear()
    assert notifications.sweep() == 1
    assert mail.outbox[0].to == ["alice@dss.example.org"] and "Protocols" in mail.outbox[0].subject
    services.goal_mark_reviewed(goal=goal, actor=cast.coordinator)
    assert services.schedule_goal_reviews(timezone.now()) == 0


def test_each_goal_links_to_its_action_items(cast, client_for):
    goal = services.goal_save(taskforce=cast.taskforce, actor=cast.coordinator, title="Protocols", objective="Write one",
                              target_on=date(2027, 1, 1), status="on_track", progress=0)  # fmt: skip
    actions = reverse("meetings:actions", args=[cast.taskforce.slug])
    add = reverse("meetings:action_create", args=[cast.taskforce.slug])
    coordinator = client_for(cast.coordinator).get(reverse("members:plan", args=[cast.taskforce.slug])).content.decode()
    assert f"{actions}?goal={goal.pk}" in coordinator and f"{add}?goal={goal.pk}" in coordinator
    member = client_for(cast.member_b).get(reverse("members:plan", args=[cast.taskforce.slug])).content.decode()
    assert f"{actions}?goal={goal.pk}" in member and f"{add}?goal={goal.pk}" not in member
