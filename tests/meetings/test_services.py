"""Scheduling, agenda, live run, attendance, minutes and feedback through the services."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
import time_machine
from django.utils import timezone

from meetings import access, services
from meetings.models import (
    ActionItem,
    AgendaItem,
    Attendance,
    ItemStatus,
    ItemType,
    MeetingStatus,
    Minutes,
    MinutesStatus,
)
from taskforce import agenda, notifications
from taskforce.models import Notification
from taskforce.services import StaleEdit

pytestmark = pytest.mark.django_db


def test_a_series_creates_its_meetings_with_the_default_agenda(cast, series):
    meetings = list(series.meetings.order_by("starts_at"))
    assert len(meetings) == 3
    first = meetings[0]
    assert first.local_start.time() == time(10, 0)
    assert first.length_minutes == 90
    types = [item.item_type for item in services.agenda_items(first)]
    assert types == [ItemType.INTRODUCTIONS, ItemType.CONFIDENTIALITY, ItemType.TRAINING]
    assert set(first.invited_agencies.all()) == {cast.agency_a, cast.agency_b, cast.agency_c}


def test_facilitators_and_coordinators_may_facilitate_members_may_not(cast, meeting):
    assert access.can_facilitate(cast.facilitator, meeting)
    assert access.can_facilitate(cast.coordinator, meeting)
    assert not access.can_facilitate(cast.member_b, meeting)
    assert not access.can_facilitate(cast.liaison_a, meeting)
    assert not access.can_facilitate(cast.outsider, meeting)


def test_invitees_are_the_people_of_invited_agencies_and_the_facilitators(cast, meeting):
    people = set(services.invitees(meeting))
    assert {cast.coordinator, cast.facilitator, cast.liaison_a, cast.liaison_b, cast.member_b} <= people
    assert cast.outsider not in people
    meeting.invited_agencies.set([cast.agency_b])
    people = set(services.invitees(meeting))
    assert cast.liaison_a not in people
    assert cast.facilitator in people


def test_it_accepts_submissions_only_while_the_call_is_open(cast, meeting):
    with time_machine.travel(meeting.starts_at - timedelta(days=20)):
        with pytest.raises(services.MeetingError):
            services.item_submit(meeting=meeting, actor=cast.member_b, title="Too early")
    with time_machine.travel(meeting.starts_at - timedelta(days=5)):
        item = services.item_submit(meeting=meeting, actor=cast.member_b, title="Runaway trends", planned_minutes=15)
    assert item.status == ItemStatus.PROPOSED
    assert item.presenter == cast.member_b
    with time_machine.travel(meeting.starts_at - timedelta(days=2)):
        with pytest.raises(services.MeetingError):
            services.item_submit(meeting=meeting, actor=cast.member_b, title="Too late")
        # The facilitator may still add.
        services.item_submit(meeting=meeting, actor=cast.facilitator, title="Late but needed", facilitating=True)


def test_the_facilitator_accepts_defers_and_declines_with_a_reason(cast, meeting):
    with time_machine.travel(meeting.starts_at - timedelta(days=5)):
        a = services.item_submit(meeting=meeting, actor=cast.member_b, title="A")
        b = services.item_submit(meeting=meeting, actor=cast.liaison_a, title="B")
        c = services.item_submit(meeting=meeting, actor=cast.liaison_a, title="C")
    services.item_decide(item=a, actor=cast.facilitator, decision="accept")
    services.item_decide(item=b, actor=cast.facilitator, decision="backlog")
    with pytest.raises(services.MeetingError):
        services.item_decide(item=c, actor=cast.facilitator, decision="decline", reason=" ")
    services.item_decide(item=c, actor=cast.facilitator, decision="decline", reason="Covered by the MOU subcommittee")
    a.refresh_from_db(), b.refresh_from_db(), c.refresh_from_db()
    assert a.status == ItemStatus.ACCEPTED and a.position == 4
    assert b.status == ItemStatus.BACKLOG and b.meeting is None and b.series == meeting.series
    assert c.status == ItemStatus.DECLINED and c.decline_reason == "Covered by the MOU subcommittee"


def test_moving_items_renumbers_the_agenda(cast, meeting):
    items = services.agenda_items(meeting)
    services.item_move(item=items[2], actor=cast.facilitator, direction=-1)
    titles = [item.item_type for item in services.agenda_items(meeting)]
    assert titles == [ItemType.INTRODUCTIONS, ItemType.TRAINING, ItemType.CONFIDENTIALITY]
    assert [item.position for item in services.agenda_items(meeting)] == [1, 2, 3]


def test_circulating_notifies_every_invitee_once_and_later_changes_are_marked(cast, meeting):
    circulation = services.agenda_circulate(meeting=meeting, actor=cast.facilitator)
    rows = Notification.objects.filter(kind=services.AGENDA, subject_id=str(circulation.pk))
    assert rows.count() == len(services.invitees(meeting))
    services.agenda_circulate(meeting=meeting, actor=cast.facilitator)
    item = services.item_add(meeting=meeting, actor=cast.facilitator, title="Added after", planned_minutes=5)
    assert item.changed_in_version == 3  # carried by the next circulation
    meeting.refresh_from_db()
    assert meeting.agenda_version == 2
    assert Notification.objects.filter(kind=services.AGENDA).count() == 2 * rows.count()


def test_the_agenda_seam_adds_to_the_next_meeting(cast, meeting):
    item = agenda.propose(
        agenda.Proposal(
            taskforce=cast.taskforce,
            title="Objection to clause 4",
            description="",
            item_type="mou_objections",
            actor=cast.liaison_a,
            source=cast.agency_a,
            restricted=False,
        )
    )
    assert item.meeting == meeting
    assert item.item_type == ItemType.MOU_OBJECTIONS
    assert item.source_type == "members.membership"
    with pytest.raises(agenda.NoUpcomingMeeting):
        agenda.propose(
            agenda.Proposal(taskforce=cast.other_taskforce, title="x", description="", item_type="other", actor=None)
        )


def test_cancelling_one_occurrence_keeps_the_series_and_backlogs_its_items(cast, series, meeting):
    extra = services.item_add(meeting=meeting, actor=cast.facilitator, title="Survivor panel")
    services.meeting_cancel(meeting=meeting, actor=cast.facilitator, reason="Snow storm")
    meeting.refresh_from_db()
    extra.refresh_from_db()
    assert meeting.status == MeetingStatus.CANCELLED
    assert extra.status == ItemStatus.BACKLOG
    assert series.meetings.filter(status=MeetingStatus.SCHEDULED).count() == 2
    assert services.next_meeting(cast.taskforce) != meeting


def test_moving_one_occurrence_keeps_its_series_date(cast, meeting):
    original = meeting.occurrence_date
    services.meeting_update(
        meeting=meeting,
        actor=cast.facilitator,
        title=meeting.title,
        day=original + timedelta(days=1),
        start_time=time(14, 0),
        end_time=time(15, 0),
        time_zone=meeting.time_zone,
        location="Library",
        video_url="",
        facilitator=cast.coordinator,
        note_taker=None,
        invited_agencies=list(meeting.invited_agencies.all()),
        invited_people=[],
    )
    meeting.refresh_from_db()
    assert meeting.occurrence_date == original
    assert meeting.moved_from is not None
    assert meeting.local_start.time() == time(14, 0)
    assert meeting.facilitator == cast.coordinator


def _run_with_overrun(cast, meeting):
    start = meeting.starts_at
    with time_machine.travel(start, tick=False) as clock:
        services.meeting_start(meeting=meeting, actor=cast.facilitator)
        services.attendance_check_in(meeting=meeting, person=cast.member_b)
        clock.shift(timedelta(minutes=12))  # introductions planned 10
        services.meeting_goto(meeting=meeting, actor=cast.facilitator, step=1)
        clock.shift(timedelta(minutes=2))
        services.meeting_goto(meeting=meeting, actor=cast.facilitator, step=1)
        clock.shift(timedelta(minutes=20))
        services.meeting_end(meeting=meeting, actor=cast.facilitator)


def test_the_live_run_tracks_actual_time_per_item(cast, meeting):
    _run_with_overrun(cast, meeting)
    items = services.agenda_items(meeting)
    assert [item.actual_seconds for item in items] == [12 * 60, 2 * 60, 20 * 60]
    meeting.refresh_from_db()
    assert meeting.ended_at is not None and meeting.current_item is None
    assert Minutes.objects.filter(meeting=meeting).exists()


def test_parking_the_current_item_moves_on_and_keeps_it_in_the_backlog(cast, meeting):
    services.item_add(meeting=meeting, actor=cast.facilitator, title="Hotel outreach", planned_minutes=10)
    services.meeting_start(meeting=meeting, actor=cast.facilitator)
    services.meeting_goto(meeting=meeting, actor=cast.facilitator, step=1)
    meeting.refresh_from_db()
    parked = meeting.current_item
    services.item_park(meeting=meeting, actor=cast.facilitator, item=parked)
    meeting.refresh_from_db()
    parked.refresh_from_db()
    assert parked.status == ItemStatus.BACKLOG and parked.series == meeting.series
    assert meeting.current_item.item_type == ItemType.TRAINING


def test_check_in_requires_the_confidentiality_acknowledgement(cast, meeting):
    services.meeting_start(meeting=meeting, actor=cast.facilitator)
    row = Attendance.objects.get(meeting=meeting, person=cast.liaison_a)
    with pytest.raises(services.MeetingError):
        services.attendance_mark(attendance=row, actor=cast.facilitator, status="present")
    services.attendance_mark(attendance=row, actor=cast.facilitator, status="present", acknowledged=True)
    row.refresh_from_db()
    assert row.confidentiality_acknowledged_at and row.checked_in_at
    assert row.organization == "Sheriff's Office"
    guest = services.attendance_add_guest(
        meeting=meeting,
        actor=cast.facilitator,
        name="Dr. Ruiz",
        role="Pediatrician",
        organization="Harbor General",
        acknowledged=True,
    )
    assert guest.status == "guest"
    mine = services.attendance_check_in(meeting=meeting, person=cast.member_b)
    assert mine.status == "present" and mine.confidentiality_acknowledged_at


def test_action_items_need_an_owner_and_a_report_back_meeting_of_the_same_task_force(cast, series, meeting):
    later = series.meetings.order_by("starts_at")[1]
    with pytest.raises(services.MeetingError):
        services.action_item_create(meeting=meeting, actor=cast.facilitator, title="Nobody's")
    action = services.action_item_create(
        meeting=meeting,
        actor=cast.facilitator,
        title="Draft the hotel outreach protocol",
        owner_membership=cast.agency_a,
        due_on=timezone.localdate() + timedelta(days=30),
        report_back_meeting=later,
    )
    assert action.owner_label == "Sheriff's Office"
    assert later.report_backs.get() == action


def _restricted_meeting(cast, meeting):
    services.item_add(
        meeting=meeting,
        actor=cast.facilitator,
        title="Case 24-117 placement",
        description="Secret placement details",
        item_type=ItemType.CASE_REVIEW,
        tier="restricted",
        presenter=cast.liaison_a,
    )
    services.item_add(meeting=meeting, actor=cast.facilitator, title="Outreach calendar", planned_minutes=5)
    _run_with_overrun(cast, meeting)
    items = {item.title: item for item in services.agenda_items(meeting)}
    services.item_record(
        item=items["Case 24-117 placement"],
        actor=cast.facilitator,
        notes="Placement at SECRET-HOUSE",
        decisions="Refer to CAC",
    )
    services.item_record(item=items["Outreach calendar"], actor=cast.facilitator, notes="Dates agreed", decisions="")
    services.action_item_create(
        meeting=meeting,
        actor=cast.facilitator,
        title="Call SECRET-FAMILY",
        owner_person=cast.liaison_a,
        agenda_item=items["Case 24-117 placement"],
    )
    services.action_item_create(
        meeting=meeting, actor=cast.facilitator, title="Print flyers", owner_person=cast.member_b
    )
    return Minutes.objects.get(meeting=meeting)


def test_restricted_items_are_seen_only_by_facilitators_and_named_people(cast, meeting):
    minutes = _restricted_meeting(cast, meeting)
    item = AgendaItem.objects.get(title="Case 24-117 placement")
    assert access.can_see_item(cast.facilitator, item, facilitating=True)
    assert access.can_see_item(cast.liaison_a, item, facilitating=False)  # the presenter
    assert not access.can_see_item(cast.member_b, item, facilitating=False)
    general = services.minutes_record(minutes, services.GENERAL)
    text = services.canonical(general).decode()
    assert "SECRET" not in text and "Case 24-117" not in text
    assert "Print flyers" in text and general["restricted_items_omitted"] == 1
    restricted = services.canonical(services.minutes_record(minutes, services.RESTRICTED)).decode()
    assert "SECRET-HOUSE" in restricted and "SECRET-FAMILY" in restricted


def test_minutes_use_optimistic_locking(cast, meeting):
    minutes = _restricted_meeting(cast, meeting)
    services.minutes_update(
        minutes=minutes, actor=cast.facilitator, expected_version=1, summary="First", restricted_summary="", items={}
    )
    with pytest.raises(StaleEdit) as stale:
        services.minutes_update(
            minutes=minutes,
            actor=cast.coordinator,
            expected_version=1,
            summary="Second",
            restricted_summary="",
            items={},
        )
    assert stale.value.current.summary == "First"


def test_minutes_are_circulated_approved_at_the_next_meeting_locked_and_sealed(cast, series, meeting):
    minutes = _restricted_meeting(cast, meeting)
    with pytest.raises(services.MeetingError):
        services.minutes_approve(minutes=minutes, actor=cast.facilitator)
    services.minutes_circulate(minutes=minutes, actor=cast.facilitator)
    upcoming = series.meetings.order_by("starts_at")[1]
    approval = AgendaItem.objects.get(item_type=ItemType.MINUTES_APPROVAL)
    assert approval.meeting == upcoming
    assert Notification.objects.filter(kind=services.MINUTES_COMMENTS, recipient=cast.member_b).exists()
    assert Notification.objects.filter(kind=services.MINUTES_APPROVAL, recipient=cast.facilitator).exists()
    services.minutes_comment(minutes=minutes, actor=cast.member_b, body="Item 4: it was the CAC, not DSS.")
    approved = services.minutes_approve(minutes=minutes, actor=cast.coordinator)
    assert approved.status == MinutesStatus.APPROVED
    assert approved.approved_at_meeting == upcoming
    assert len(approved.seal_general) == 64 and approved.seal_general != approved.seal_restricted
    assert services.minutes_verify(approved)
    with pytest.raises(services.MeetingError):
        services.minutes_update(
            minutes=approved,
            actor=cast.facilitator,
            expected_version=approved.version,
            summary="x",
            restricted_summary="",
            items={},
        )
    with pytest.raises(services.MeetingError):
        services.item_record(item=services.agenda_items(meeting)[0], actor=cast.facilitator, notes="late", decisions="")
    # Tampering with the frozen record breaks the seal.
    Minutes.objects.filter(pk=approved.pk).update(sealed_general={**approved.sealed_general, "summary": "forged"})
    approved.refresh_from_db()
    assert not services.minutes_verify(approved)


def test_feedback_is_once_per_person_and_may_be_anonymous(cast, meeting):
    with pytest.raises(services.MeetingError):
        services.feedback_submit(
            meeting=meeting, person=cast.member_b, usefulness=4, started_on_time=True, ended_on_time=True
        )
    _run_with_overrun(cast, meeting)
    feedback = services.feedback_submit(
        meeting=meeting, person=cast.member_b, usefulness=4, started_on_time=True, ended_on_time=False, anonymous=True
    )
    assert feedback.respondent is None
    with pytest.raises(services.MeetingError):
        services.feedback_submit(
            meeting=meeting, person=cast.member_b, usefulness=5, started_on_time=True, ended_on_time=True
        )


def test_calendar_tokens_are_stored_hashed_and_revocable(cast):
    token = services.calendar_token_issue(user=cast.member_b)
    assert services.calendar_token_user(token) == cast.member_b
    assert cast.member_b.calendar_token.token_hash != token
    newer = services.calendar_token_issue(user=cast.member_b)
    assert services.calendar_token_user(token) is None
    services.calendar_token_revoke(user=cast.member_b)
    assert services.calendar_token_user(newer) is None


def test_action_item_model_requires_an_owner_in_the_database(cast, meeting):
    from django.db import IntegrityError

    with pytest.raises(IntegrityError):
        ActionItem.objects.create(taskforce=cast.taskforce, meeting=meeting, title="orphan")


def test_notification_kinds_are_registered():
    for kind in (
        services.CALL_OPENED,
        services.DEADLINE,
        services.AGENDA,
        services.TOMORROW,
        services.MINUTES_COMMENTS,
        services.MINUTES_APPROVAL,
        services.FEEDBACK,
    ):
        assert notifications.is_registered(kind)


def test_a_subcommittee_can_own_an_action_item(cast, meeting):
    from members.models import Subcommittee

    committee = Subcommittee.objects.create(taskforce=cast.taskforce, name="Hotel outreach", charge="Reach hotels")
    action = services.action_item_create(
        meeting=meeting, actor=cast.facilitator, title="Train hotel staff", owner_subcommittee=committee
    )
    assert action.owner_label == "Hotel outreach (subcommittee)"
    other = Subcommittee.objects.create(taskforce=cast.other_taskforce, name="Lake", charge="x")
    with pytest.raises(services.MeetingError):
        services.action_item_create(meeting=meeting, actor=cast.facilitator, title="x", owner_subcommittee=other)
