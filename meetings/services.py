"""Every write on meetings: scheduling, agendas, the live run, attendance, minutes, feedback, calendar feeds."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F, Max, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from meetings import recurrence
from meetings.models import (
    ATTENDED,
    ActionItem,
    AgendaCirculation,
    AgendaItem,
    Attendance,
    AttendanceStatus,
    CalendarToken,
    Feedback,
    FeedbackReceipt,
    ItemStatus,
    ItemType,
    Meeting,
    MeetingStatus,
    Minutes,
    MinutesComment,
    MinutesStatus,
    Series,
    Tier,
)
from members.models import Goal, Membership, MembershipStatus, Subcommittee, User
from taskforce import agenda, audit, notifications, permissions
from taskforce.models import TaskForce
from taskforce.services import StaleEdit

MEETING_PERMS = ("meetings.change_meeting",)
SERIES_PERMS = ("meetings.change_series",)

# New agendas start the way the fact sheet asks every meeting to start.
DEFAULT_ITEMS = (
    (ItemType.INTRODUCTIONS, "Introductions: name, role and organization", 10),
    (ItemType.CONFIDENTIALITY, "Confidentiality reminder", 2),
    (ItemType.TRAINING, "Training segment", 15),
)

# Notification kinds (rows in taskforce.notifications; each sent at most once per recipient and day).
CALL_OPENED = "meetings.call_opened"
DEADLINE = "meetings.deadline"
AGENDA = "meetings.agenda"
TOMORROW = "meetings.tomorrow"
MINUTES_COMMENTS = "meetings.minutes_comments"
MINUTES_APPROVAL = "meetings.minutes_approval"
FEEDBACK = "meetings.feedback"

MINUTES_COMMENT_DAYS = 7


class MeetingError(Exception):
    """A request the meeting's state does not allow; the message is for the user."""


def _grant(meeting: Meeting) -> None:
    for group in (meeting.taskforce.facilitators, meeting.taskforce.coordinators):
        for perm in MEETING_PERMS:
            permissions.grant(perm, group, meeting)


# --- scheduling ----------------------------------------------------------------------------------------


def _new_meeting(
    *,
    taskforce: TaskForce,
    actor: Any,
    title: str,
    starts_at: datetime,
    ends_at: datetime,
    time_zone: str,
    series: Series | None = None,
    occurrence_date: date | None = None,
    location: str = "",
    video_url: str = "",
    facilitator: User | None = None,
    note_taker: User | None = None,
    call_opens_days: int = 14,
    call_closes_days: int = 3,
) -> Meeting:
    meeting = Meeting.objects.create(
        taskforce=taskforce,
        series=series,
        occurrence_date=occurrence_date,
        title=title,
        starts_at=starts_at,
        ends_at=ends_at,
        time_zone=time_zone,
        location=location,
        video_url=video_url,
        facilitator=facilitator,
        note_taker=note_taker,
        call_opens_days=call_opens_days,
        call_closes_days=call_closes_days,
    )
    meeting.invited_agencies.set(
        Membership.objects.filter(taskforce=taskforce).exclude(status=MembershipStatus.WITHDRAWN)
    )
    AgendaItem.objects.bulk_create(
        AgendaItem(
            taskforce=taskforce,
            meeting=meeting,
            series=series,
            status=ItemStatus.ACCEPTED,
            position=position,
            title=str(title_),
            item_type=item_type,
            planned_minutes=minutes,
            presenter=facilitator if item_type != ItemType.TRAINING else None,
        )
        for position, (item_type, title_, minutes) in enumerate(DEFAULT_ITEMS, start=1)
    )
    _grant(meeting)
    return meeting


@transaction.atomic
def series_create(
    *,
    taskforce: TaskForce,
    actor: Any,
    title: str,
    frequency: str,
    starts_on: date,
    start_time: time,
    end_time: time,
    time_zone: str,
    ends_on: date | None = None,
    count: int | None = None,
    location: str = "",
    video_url: str = "",
    facilitator: User | None = None,
    note_taker: User | None = None,
    call_opens_days: int = 14,
    call_closes_days: int = 3,
) -> Series:
    """Create the series and one Meeting per occurrence (each can then be moved or cancelled alone)."""
    series = Series.objects.create(
        taskforce=taskforce,
        title=title,
        frequency=frequency,
        starts_on=starts_on,
        start_time=start_time,
        end_time=end_time,
        time_zone=time_zone,
        ends_on=ends_on,
        count=count,
        location=location,
        video_url=video_url,
        call_opens_days=call_opens_days,
        call_closes_days=call_closes_days,
        created_by=actor,
    )
    for perm in SERIES_PERMS:
        permissions.grant(perm, taskforce.facilitators, series)
        permissions.grant(perm, taskforce.coordinators, series)
    for day, starts_at, ends_at in recurrence.occurrences(
        frequency, starts_on, start_time, end_time, time_zone, until=ends_on, count=count
    ):
        _new_meeting(
            taskforce=taskforce,
            actor=actor,
            title=title,
            starts_at=starts_at,
            ends_at=ends_at,
            time_zone=time_zone,
            series=series,
            occurrence_date=day,
            location=location,
            video_url=video_url,
            facilitator=facilitator,
            note_taker=note_taker,
            call_opens_days=call_opens_days,
            call_closes_days=call_closes_days,
        )
    audit.record("series.created", actor=actor, obj=series, taskforce=taskforce, frequency=frequency)
    return series


@transaction.atomic
def meeting_create(
    *,
    taskforce: TaskForce,
    actor: Any,
    title: str,
    day: date,
    start_time: time,
    end_time: time,
    time_zone: str,
    location: str = "",
    video_url: str = "",
    facilitator: User | None = None,
    note_taker: User | None = None,
    call_opens_days: int = 14,
    call_closes_days: int = 3,
) -> Meeting:
    """A one-off meeting."""
    meeting = _new_meeting(
        taskforce=taskforce,
        actor=actor,
        title=title,
        starts_at=recurrence.to_utc(day, start_time, time_zone),
        ends_at=recurrence.to_utc(day, end_time, time_zone),
        time_zone=time_zone,
        location=location,
        video_url=video_url,
        facilitator=facilitator,
        note_taker=note_taker,
        call_opens_days=call_opens_days,
        call_closes_days=call_closes_days,
    )
    audit.record("meeting.created", actor=actor, obj=meeting)
    return meeting


@transaction.atomic
def meeting_update(
    *,
    meeting: Meeting,
    actor: Any,
    title: str,
    day: date,
    start_time: time,
    end_time: time,
    time_zone: str,
    location: str,
    video_url: str,
    facilitator: User | None,
    note_taker: User | None,
    invited_agencies: list[Membership],
    invited_people: list[User],
) -> Meeting:
    """Edit one meeting; a new date or time moves just this occurrence of its series."""
    meeting = Meeting.objects.select_for_update().get(pk=meeting.pk)
    starts_at = recurrence.to_utc(day, start_time, time_zone)
    ends_at = recurrence.to_utc(day, end_time, time_zone)
    moved = starts_at != meeting.starts_at or ends_at != meeting.ends_at
    if moved and meeting.moved_from is None:
        meeting.moved_from = meeting.starts_at
    changed_logistics = moved or location != meeting.location or video_url != meeting.video_url
    meeting.title = title
    meeting.starts_at, meeting.ends_at, meeting.time_zone = starts_at, ends_at, time_zone
    meeting.location, meeting.video_url = location, video_url
    meeting.facilitator, meeting.note_taker = facilitator, note_taker
    meeting.save()
    meeting.invited_agencies.set(invited_agencies)
    meeting.invited_people.set(invited_people)
    audit.record("meeting.updated", actor=actor, obj=meeting, moved=moved)
    if moved:
        # Reminders carry the start they were scheduled for; the renderer drops stale ones. Cancel them now.
        for kind in (CALL_OPENED, DEADLINE, TOMORROW):
            notifications.cancel(kind=kind, subject=meeting)
        schedule_reminders_for(meeting, timezone.now())
    if changed_logistics and meeting.agenda_version:
        # The circulated agenda told people another time or place: mark the agenda changed.
        AgendaItem.objects.filter(meeting=meeting, status=ItemStatus.ACCEPTED, position=1).update(
            changed_in_version=meeting.agenda_version + 1
        )
    return meeting


@transaction.atomic
def meeting_cancel(*, meeting: Meeting, actor: Any, reason: str = "") -> Meeting:
    meeting = Meeting.objects.select_for_update().get(pk=meeting.pk)
    if meeting.started_at:
        raise MeetingError(_("A meeting that has started cannot be cancelled."))
    meeting.status = MeetingStatus.CANCELLED
    meeting.cancel_reason = reason
    meeting.save(update_fields=["status", "cancel_reason"])
    for kind in (CALL_OPENED, DEADLINE, TOMORROW):
        notifications.cancel(kind=kind, subject=meeting)
    # Items already accepted go back to the backlog so they are not lost.
    AgendaItem.objects.filter(meeting=meeting).exclude(
        item_type__in=[ItemType.INTRODUCTIONS, ItemType.CONFIDENTIALITY, ItemType.TRAINING]
    ).filter(status__in=[ItemStatus.ACCEPTED, ItemStatus.PROPOSED]).update(status=ItemStatus.BACKLOG, meeting=None)
    audit.record("meeting.cancelled", actor=actor, obj=meeting, reason=reason)
    return meeting


def _invited_ids(meeting: Meeting, *, without: QuerySet | None = None) -> QuerySet:
    """The ids (`user_id`) of everyone invited and active: the people of the invited agencies, the invited
    people, and the facilitators and coordinators; `without`: leave out these ids (a values() subquery).

    One UNION of three narrow lookups, each joining only its own people. Not one filter on the people with an
    OR of the three: PostgreSQL then reads every person to test each (43 ms against under 1 ms at the
    statewide size, where the agenda and the live console ask on every load).
    """
    tf = meeting.taskforce
    grouped = User.groups.through.objects
    people = Meeting.invited_people.through.objects
    branches = [
        grouped.filter(group__in=meeting.invited_agencies.values("group_id")),
        grouped.filter(group_id__in=[tf.facilitators_id, tf.coordinators_id]),
        people.filter(meeting=meeting),
    ]
    active = {"user__is_active": True, "user__offboarded_at__isnull": True}
    ids = [
        (branch if without is None else branch.exclude(user_id__in=without)).filter(**active).values("user_id")
        for branch in branches
    ]
    return ids[0].union(*ids[1:])


def invitees(meeting: Meeting) -> list[User]:
    """Everyone invited: the people of the invited agencies, the invited people, and the facilitators."""
    return list(User.objects.filter(pk__in=_invited_ids(meeting)).select_related("agency").order_by("full_name"))


def invitee_count(meeting: Meeting) -> int:
    """len(invitees(meeting)) in one query."""
    return _invited_ids(meeting).count()


def next_meeting(taskforce: TaskForce, *, after: datetime | None = None) -> Meeting | None:
    after = after or timezone.now()
    return (
        Meeting.objects.filter(taskforce=taskforce, status=MeetingStatus.SCHEDULED, starts_at__gt=after)
        .order_by("starts_at")
        .first()
    )


# --- the agenda -----------------------------------------------------------------------------------------


def _next_position(meeting: Meeting) -> int:
    top = AgendaItem.objects.filter(meeting=meeting, status=ItemStatus.ACCEPTED).aggregate(top=Max("position"))["top"]
    return (top or 0) + 1


def _mark_changed(meeting: Meeting, item: AgendaItem) -> None:
    if meeting.agenda_version:
        item.changed_in_version = meeting.agenda_version + 1


def _locked_meeting(meeting: Meeting) -> Meeting:
    meeting = Meeting.objects.select_for_update().get(pk=meeting.pk)
    if meeting.is_cancelled:
        raise MeetingError(_("This meeting is cancelled."))
    return meeting


@transaction.atomic
def item_submit(
    *,
    meeting: Meeting,
    actor: Any,
    title: str,
    description: str = "",
    presenter: User | None = None,
    planned_minutes: int = 10,
    tier: str = Tier.MEMBERS,
    item_type: str = ItemType.OTHER,
    facilitating: bool = False,
) -> AgendaItem:
    """A member proposes an item while the call is open; the facilitator decides on it."""
    meeting = _locked_meeting(meeting)
    if not facilitating and meeting.call_state() != "open":
        raise MeetingError(_("The call for agenda items for this meeting is not open."))
    item = AgendaItem.objects.create(
        taskforce=meeting.taskforce,
        meeting=meeting,
        series=meeting.series,
        status=ItemStatus.PROPOSED,
        title=title,
        description=description,
        presenter=presenter or actor,
        planned_minutes=planned_minutes,
        tier=tier,
        item_type=item_type,
        submitted_by=actor,
    )
    audit.record("agenda_item.submitted", actor=actor, obj=item, taskforce=meeting.taskforce, meeting=meeting.pk)
    return item


@transaction.atomic
def item_add(
    *, meeting: Meeting, actor: Any, restricted_viewers: list[User] | None = None, **fields: Any
) -> AgendaItem:
    """The facilitator puts an item straight on the agenda, at the end."""
    meeting = _locked_meeting(meeting)
    item = AgendaItem(
        taskforce=meeting.taskforce,
        meeting=meeting,
        series=meeting.series,
        status=ItemStatus.ACCEPTED,
        position=_next_position(meeting),
        submitted_by=actor,
        **fields,
    )
    _mark_changed(meeting, item)
    item.save()
    if restricted_viewers:
        item.restricted_viewers.set(restricted_viewers)
    audit.record("agenda_item.added", actor=actor, obj=item, taskforce=meeting.taskforce, meeting=meeting.pk)
    return item


@transaction.atomic
def item_update(
    *,
    item: AgendaItem,
    actor: Any,
    restricted_viewers: list[User] | None = None,
    expected_revision: int | None = None,
    **fields: Any,
) -> AgendaItem:
    """Save an agenda item; with expected_revision (the edit form's), refuse if someone saved in between."""
    item = AgendaItem.objects.select_for_update(of=("self",)).select_related("meeting").get(pk=item.pk)
    if expected_revision is not None and item.revision != expected_revision:
        raise StaleEdit(item)
    item.revision += 1
    for name, value in fields.items():
        setattr(item, name, value)
    if item.meeting_id and item.status == ItemStatus.ACCEPTED:
        _mark_changed(item.meeting, item)
    item.save()
    if restricted_viewers is not None:
        item.restricted_viewers.set(restricted_viewers)
    audit.record("agenda_item.updated", actor=actor, obj=item, taskforce=item.taskforce)
    return item


@transaction.atomic
def item_decide(
    *, item: AgendaItem, actor: Any, decision: str, reason: str = "", meeting: Meeting | None = None
) -> AgendaItem:
    """accept (onto `meeting` or its own), backlog (defer), decline (with a reason), or remove (to backlog)."""
    item = AgendaItem.objects.select_for_update(of=("self",)).select_related("meeting").get(pk=item.pk)
    target = meeting or item.meeting
    if decision == "accept":
        if target is None:
            raise MeetingError(_("Choose the meeting to put this item on."))
        target = _locked_meeting(target)
        item.meeting, item.series = target, target.series or item.series
        item.status = ItemStatus.ACCEPTED
        item.position = _next_position(target)
        _mark_changed(target, item)
    elif decision in ("backlog", "remove"):
        if item.meeting_id and item.status == ItemStatus.ACCEPTED and item.meeting.agenda_version:
            # Dropping a circulated item is a change people need to hear about.
            AgendaItem.objects.filter(meeting=item.meeting, status=ItemStatus.ACCEPTED).filter(position=1).update(
                changed_in_version=item.meeting.agenda_version + 1
            )
        item.series = item.series or (item.meeting.series if item.meeting_id else None)
        item.status, item.meeting = ItemStatus.BACKLOG, None
    elif decision == "decline":
        if not reason.strip():
            raise MeetingError(_("Give the reason for declining, so the person who proposed it knows."))
        item.status, item.decline_reason = ItemStatus.DECLINED, reason.strip()
    else:
        raise MeetingError(f"Unknown decision {decision!r}")
    item.save()
    audit.record(f"agenda_item.{decision}", actor=actor, obj=item, taskforce=item.taskforce, reason=reason)
    return item


@transaction.atomic
def item_move(*, item: AgendaItem, actor: Any, direction: int) -> None:
    """Swap the item with its neighbour above (-1) or below (+1), renumbering the agenda 1..n."""
    meeting = _locked_meeting(item.meeting)
    items = list(AgendaItem.objects.filter(meeting=meeting, status=ItemStatus.ACCEPTED).order_by("position", "pk"))
    index = next(i for i, other in enumerate(items) if other.pk == item.pk)
    target = index + direction
    if 0 <= target < len(items):
        items[index], items[target] = items[target], items[index]
        for moved in (items[index], items[target]):
            _mark_changed(meeting, moved)
    for position, other in enumerate(items, start=1):
        other.position = position
    AgendaItem.objects.bulk_update(items, ["position", "changed_in_version"])
    audit.record("agenda_item.moved", actor=actor, obj=item, taskforce=meeting.taskforce, direction=direction)


@transaction.atomic
def agenda_circulate(*, meeting: Meeting, actor: Any) -> AgendaCirculation:
    """Send the agenda (with the .ics) to every invitee; a later circulation carries the marked changes."""
    meeting = _locked_meeting(meeting)
    meeting.agenda_version += 1
    meeting.agenda_circulated_at = timezone.now()
    meeting.save(update_fields=["agenda_version", "agenda_circulated_at"])
    circulation = AgendaCirculation.objects.create(meeting=meeting, version=meeting.agenda_version, circulated_by=actor)
    for person in invitees(meeting):
        notifications.schedule(kind=AGENDA, subject=circulation, recipient=person, due_at=circulation.circulated_at)
    notifications.queue_sweep()
    audit.record("agenda.circulated", actor=actor, obj=meeting, version=meeting.agenda_version)
    return circulation


def propose_to_next_meeting(proposal: agenda.Proposal) -> AgendaItem:
    """The taskforce.agenda handler: put an item from another app on the next meeting's agenda."""
    meeting = next_meeting(proposal.taskforce)
    if meeting is None:
        raise agenda.NoUpcomingMeeting(_("There is no upcoming meeting to add this to. Schedule one first."))
    item_type = proposal.item_type if proposal.item_type in ItemType.values else ItemType.OTHER
    source_type = source_id = ""
    if proposal.source is not None:
        source_type, source_id = proposal.source._meta.label_lower, str(proposal.source.pk)
    return item_add(
        meeting=meeting,
        actor=proposal.actor,
        title=proposal.title[:200],
        description=proposal.description,
        item_type=item_type,
        tier=Tier.RESTRICTED if proposal.restricted else Tier.MEMBERS,
        source_type=source_type,
        source_id=source_id,
    )


# --- running the meeting ----------------------------------------------------------------------------------


def agenda_items(meeting: Meeting) -> list[AgendaItem]:
    return list(
        AgendaItem.objects.with_viewers()
        .filter(meeting=meeting, status=ItemStatus.ACCEPTED)
        .select_related("presenter__agency")
        .order_by("position", "pk")
    )


def _close_current(meeting: Meeting, now: datetime) -> None:
    if meeting.current_item_id and meeting.current_item_started_at:
        spent = int((now - meeting.current_item_started_at).total_seconds())
        AgendaItem.objects.filter(pk=meeting.current_item_id).update(actual_seconds=F("actual_seconds") + max(spent, 0))


def _live(meeting: Meeting) -> Meeting:
    meeting = _locked_meeting(meeting)
    if not meeting.started_at:
        raise MeetingError(_("Start the meeting first."))
    if meeting.ended_at:
        raise MeetingError(_("This meeting has ended."))
    return meeting


@transaction.atomic
def meeting_start(*, meeting: Meeting, actor: Any) -> Meeting:
    meeting = _locked_meeting(meeting)
    if meeting.started_at:
        return meeting
    now = timezone.now()
    attendance_roster_ensure(meeting=meeting)
    first = AgendaItem.objects.filter(meeting=meeting, status=ItemStatus.ACCEPTED).order_by("position", "pk").first()
    meeting.started_at = now
    meeting.current_item = first
    meeting.current_item_started_at = now if first else None
    meeting.live_version += 1
    meeting.save()
    # Whoever starts the meeting is in the room, and is the one who reminds it of confidentiality.
    own = Attendance.objects.filter(meeting=meeting, person=actor).first()
    if own is not None and not own.attended:
        attendance_mark(attendance=own, actor=actor, status=AttendanceStatus.PRESENT, acknowledged=True)
    audit.record("meeting.started", actor=actor, obj=meeting)
    return meeting


@transaction.atomic
def meeting_goto(*, meeting: Meeting, actor: Any, item: AgendaItem | None = None, step: int = 0) -> Meeting:
    """Move the room to `item`, or `step` items forward/back from the current one."""
    meeting = _live(meeting)
    items = [
        i.pk for i in AgendaItem.objects.filter(meeting=meeting, status=ItemStatus.ACCEPTED).order_by("position", "pk")
    ]
    if item is None:
        index = items.index(meeting.current_item_id) if meeting.current_item_id in items else -1
        target = index + step
        if not 0 <= target < len(items):
            return meeting
        target_pk = items[target]
    else:
        if item.pk not in items:
            raise MeetingError(_("That item is not on this agenda."))
        target_pk = item.pk
    now = timezone.now()
    _close_current(meeting, now)
    meeting.current_item_id = target_pk
    meeting.current_item_started_at = now
    meeting.live_version += 1
    meeting.save(update_fields=["current_item", "current_item_started_at", "live_version"])
    return meeting


@transaction.atomic
def item_park(*, meeting: Meeting, actor: Any, item: AgendaItem) -> Meeting:
    """Take an item off today's agenda into the series backlog; if it was current, move on."""
    meeting = _live(meeting)
    now = timezone.now()
    was_current = meeting.current_item_id == item.pk
    if was_current:
        _close_current(meeting, now)
    items = [
        i.pk for i in AgendaItem.objects.filter(meeting=meeting, status=ItemStatus.ACCEPTED).order_by("position", "pk")
    ]
    AgendaItem.objects.filter(pk=item.pk).update(
        status=ItemStatus.BACKLOG, meeting=None, series=meeting.series, position=0
    )
    if was_current:
        index = items.index(item.pk)
        rest = items[index + 1 :] or items[:index][-1:]
        meeting.current_item_id = rest[0] if rest else None
        meeting.current_item_started_at = now if rest else None
    meeting.live_version += 1
    meeting.save(update_fields=["current_item", "current_item_started_at", "live_version"])
    audit.record("agenda_item.parked", actor=actor, obj=item, taskforce=meeting.taskforce)
    return meeting


@transaction.atomic
def meeting_end(*, meeting: Meeting, actor: Any) -> Meeting:
    meeting = _live(meeting)
    now = timezone.now()
    _close_current(meeting, now)
    meeting.ended_at = now
    meeting.current_item = None
    meeting.current_item_started_at = None
    meeting.live_version += 1
    meeting.save()
    Attendance.objects.filter(meeting=meeting, status=AttendanceStatus.INVITED).update(status=AttendanceStatus.ABSENT)
    minutes_draft(meeting=meeting, actor=actor)
    for attendance in Attendance.objects.filter(
        meeting=meeting, status__in=ATTENDED, person__isnull=False
    ).select_related("person"):
        notifications.schedule(kind=FEEDBACK, subject=meeting, recipient=attendance.person, due_at=now)
    notifications.queue_sweep()
    audit.record("meeting.ended", actor=actor, obj=meeting)
    return meeting


@transaction.atomic
def item_record(*, item: AgendaItem, actor: Any, notes: str, decisions: str) -> AgendaItem:
    """Notes and decisions on one item, taken during the meeting or while drafting the minutes."""
    item = AgendaItem.objects.select_for_update().get(pk=item.pk)
    minutes = Minutes.objects.filter(meeting_id=item.meeting_id).first()
    if minutes is not None and minutes.is_locked:
        raise MeetingError(_("The minutes are approved and locked."))
    item.notes, item.decisions = notes, decisions
    item.save(update_fields=["notes", "decisions"])
    Meeting.objects.filter(pk=item.meeting_id).update(live_version=F("live_version") + 1)
    return item


# --- attendance -----------------------------------------------------------------------------------------


def _person_row(meeting: Meeting, person: User) -> dict[str, Any]:
    return {
        "name": person.full_name or person.email,
        "role": person.title or person.agency_role,
        "organization": person.agency.name if person.agency_id else "",
    }


def attendance_roster_ensure(*, meeting: Meeting) -> None:
    """One attendance row per invitee (guests are added on the fly).

    One query when the roster is complete (the live console asks on every load): the invitees without a
    row. Their rows go in with one INSERT that ignores a row another request added meanwhile.
    """
    have = Attendance.objects.filter(meeting=meeting, person__isnull=False).values("person_id")
    missing = [row["user_id"] for row in _invited_ids(meeting, without=have)]
    if not missing:
        return
    people = User.objects.filter(pk__in=missing).select_related("agency")
    rows = [Attendance(meeting=meeting, person=p, **_person_row(meeting, p)) for p in people]
    Attendance.objects.bulk_create(rows, ignore_conflicts=True)


@transaction.atomic
def attendance_mark(*, attendance: Attendance, actor: Any, status: str, acknowledged: bool = False) -> Attendance:
    """Present needs the confidentiality acknowledgement, recorded with the check-in time."""
    attendance = Attendance.objects.select_for_update().get(pk=attendance.pk)
    if status in ATTENDED:
        if not acknowledged and attendance.confidentiality_acknowledged_at is None:
            raise MeetingError(_("Record the confidentiality acknowledgement to check someone in."))
        now = timezone.now()
        attendance.confidentiality_acknowledged_at = attendance.confidentiality_acknowledged_at or now
        attendance.checked_in_at = attendance.checked_in_at or now
    attendance.status = status
    attendance.save()
    Meeting.objects.filter(pk=attendance.meeting_id).update(live_version=F("live_version") + 1)
    audit.record("attendance.marked", actor=actor, obj=attendance.meeting, person=attendance.name, status=status)
    return attendance


@transaction.atomic
def attendance_check_in(*, meeting: Meeting, person: User) -> Attendance:
    """A participant checks themselves in from their own browser, acknowledging confidentiality."""
    attendance_roster_ensure(meeting=meeting)
    attendance = Attendance.objects.filter(meeting=meeting, person=person).first()
    if attendance is None:
        attendance = Attendance.objects.create(
            meeting=meeting, person=person, status=AttendanceStatus.GUEST, **_person_row(meeting, person)
        )
    return attendance_mark(
        attendance=attendance,
        actor=person,
        status=AttendanceStatus.GUEST if attendance.status == AttendanceStatus.GUEST else AttendanceStatus.PRESENT,
        acknowledged=True,
    )


@transaction.atomic
def attendance_add_guest(
    *, meeting: Meeting, actor: Any, name: str, role: str, organization: str, acknowledged: bool
) -> Attendance:
    if not acknowledged:
        raise MeetingError(_("A guest must acknowledge confidentiality before joining."))
    now = timezone.now()
    attendance = Attendance.objects.create(
        meeting=meeting,
        name=name,
        role=role,
        organization=organization,
        status=AttendanceStatus.GUEST,
        confidentiality_acknowledged_at=now,
        checked_in_at=now,
    )
    Meeting.objects.filter(pk=meeting.pk).update(live_version=F("live_version") + 1)
    audit.record("attendance.guest_added", actor=actor, obj=meeting, guest=name)
    return attendance


# --- action items -----------------------------------------------------------------------------------------


@transaction.atomic
def action_item_create(
    *,
    meeting: Meeting,
    actor: Any,
    title: str,
    owner_person: User | None = None,
    owner_membership: Membership | None = None,
    owner_subcommittee: Subcommittee | None = None,
    due_on: date | None = None,
    report_back_meeting: Meeting | None = None,
    agenda_item: AgendaItem | None = None,
    goal: Goal | None = None,
    report_back_on: date | None = None,
) -> ActionItem:
    if owner_person is None and owner_membership is None and owner_subcommittee is None:
        raise MeetingError(_("An action item needs an owner: a person, an agency or a subcommittee."))
    for owner in (owner_membership, owner_subcommittee, goal):
        if owner is not None and owner.taskforce_id != meeting.taskforce_id:
            raise MeetingError(_("The owner must belong to this task force."))
    if report_back_meeting is not None and report_back_meeting.taskforce_id != meeting.taskforce_id:
        raise MeetingError(_("The report-back meeting must belong to this task force."))
    minutes = Minutes.objects.filter(meeting=meeting).first()
    if minutes is not None and minutes.is_locked:
        raise MeetingError(_("The minutes are approved and locked."))
    action = ActionItem.objects.create(
        taskforce=meeting.taskforce,
        meeting=meeting,
        agenda_item=agenda_item,
        title=title,
        owner_person=owner_person,
        owner_membership=owner_membership,
        owner_subcommittee=owner_subcommittee,
        due_on=due_on,
        report_back_meeting=report_back_meeting,
        report_back_on=None if report_back_meeting else report_back_on,
        goal=goal,
        created_by=actor,
    )
    Meeting.objects.filter(pk=meeting.pk).update(live_version=F("live_version") + 1)
    audit.record("action_item.created", actor=actor, obj=action, taskforce=meeting.taskforce, meeting=meeting.pk)
    return action


# --- minutes ----------------------------------------------------------------------------------------------

GENERAL, RESTRICTED = "general", "restricted"


@transaction.atomic
def minutes_draft(*, meeting: Meeting, actor: Any) -> Minutes:
    minutes, created = Minutes.objects.get_or_create(meeting=meeting, defaults={"edited_by": actor})
    if created:
        audit.record("minutes.drafted", actor=actor, obj=meeting)
    return minutes


def _locked_minutes(minutes: Minutes) -> Minutes:
    minutes = Minutes.objects.select_for_update(of=("self",)).select_related("meeting").get(pk=minutes.pk)
    if minutes.is_locked:
        raise MeetingError(_("The minutes are approved and locked."))
    return minutes


@transaction.atomic
def minutes_update(
    *,
    minutes: Minutes,
    actor: Any,
    expected_version: int,
    summary: str,
    restricted_summary: str,
    items: dict[int, tuple[str, str]],
) -> Minutes:
    """Save the minutes text and each item's notes and decisions; refuse if someone saved in between."""
    minutes = _locked_minutes(minutes)
    if minutes.version != expected_version:
        raise StaleEdit(minutes)
    minutes.summary, minutes.restricted_summary = summary, restricted_summary
    minutes.version += 1
    minutes.edited_by, minutes.edited_at = actor, timezone.now()
    minutes.save()
    for item in AgendaItem.objects.filter(meeting=minutes.meeting, pk__in=items.keys()):
        item.notes, item.decisions = items[item.pk]
        item.save(update_fields=["notes", "decisions"])
    audit.record("minutes.updated", actor=actor, obj=minutes.meeting, version=minutes.version)
    return minutes


@transaction.atomic
def minutes_circulate(*, minutes: Minutes, actor: Any, days: int = MINUTES_COMMENT_DAYS) -> Minutes:
    """Open the comment window and put the approval on the next meeting's agenda."""
    minutes = _locked_minutes(minutes)
    meeting = minutes.meeting
    now = timezone.now()
    minutes.status = MinutesStatus.CIRCULATED
    minutes.circulated_at = now
    minutes.comments_until = now + timedelta(days=days)
    minutes.save()
    attendees = Attendance.objects.filter(meeting=meeting, person__isnull=False, status__in=ATTENDED).select_related(
        "person"
    )
    for attendance in attendees:
        notifications.schedule(kind=MINUTES_COMMENTS, subject=minutes, recipient=attendance.person, due_at=now)
    upcoming = next_meeting(meeting.taskforce, after=max(now, meeting.starts_at))
    if (
        upcoming is not None
        and not AgendaItem.objects.filter(
            meeting=upcoming, item_type=ItemType.MINUTES_APPROVAL, source_id=str(minutes.pk)
        ).exists()
    ):
        item_add(
            meeting=upcoming,
            actor=actor,
            title=_("Approve the minutes of %(date)s") % {"date": f"{meeting.local_start:%B %-d, %Y}"},
            item_type=ItemType.MINUTES_APPROVAL,
            planned_minutes=5,
            source_type="meetings.minutes",
            source_id=str(minutes.pk),
        )
        due = max(now, upcoming.starts_at - timedelta(days=2))
        for person in {
            *upcoming.taskforce.facilitators.user_set.all(),
            *upcoming.taskforce.coordinators.user_set.all(),
        }:
            notifications.schedule(kind=MINUTES_APPROVAL, subject=minutes, recipient=person, due_at=due)
    notifications.queue_sweep()
    audit.record("minutes.circulated", actor=actor, obj=meeting, comments_until=minutes.comments_until.isoformat())
    return minutes


@transaction.atomic
def minutes_comment(*, minutes: Minutes, actor: Any, body: str) -> MinutesComment:
    minutes = _locked_minutes(minutes)
    if minutes.status != MinutesStatus.CIRCULATED or (
        minutes.comments_until and timezone.now() > minutes.comments_until
    ):
        raise MeetingError(_("The minutes are not open for comment."))
    comment = MinutesComment.objects.create(minutes=minutes, author=actor, body=body)
    audit.record("minutes.commented", actor=actor, obj=minutes.meeting)
    return comment


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _from_case(item: AgendaItem) -> bool:
    return item.item_type == ItemType.CASE_REVIEW and item.source_type.startswith("cases.")


def minutes_record(minutes: Minutes, edition: str) -> dict[str, Any]:
    """The content of one edition as plain data: what the PDF shows and what the seal covers.

    The general edition leaves out restricted items, their action items and the restricted summary.
    """
    if minutes.is_locked:
        return minutes.sealed_general if edition == GENERAL else minutes.sealed_restricted
    meeting = minutes.meeting
    include_restricted = edition == RESTRICTED
    agenda = agenda_items(meeting)
    # The choice labels translated once for the record (what get_FOO_display gives, without rebuilding its
    # choices dict per row: the attendance of a statewide meeting runs to hundreds).
    types = {value: str(label) for value, label in ItemType.choices}
    statuses = {value: str(label) for value, label in AttendanceStatus.choices}
    # A case brought from the cases app is minuted in its case file (CaseReview), where its own access rules
    # hold; the minutes record only that it was reviewed.
    items = [
        {
            "position": index,
            "title": _("Case review (recorded in the case file)") if _from_case(item) else item.title,
            "type": types.get(item.item_type, item.item_type),
            "tier": item.tier,
            "presenter": item.presenter.full_name if item.presenter_id else "",
            "planned_minutes": item.planned_minutes,
            "actual_minutes": round(item.actual_seconds / 60),
            "notes": "" if _from_case(item) else item.notes,
            "decisions": "" if _from_case(item) else item.decisions,
        }
        for index, item in enumerate(agenda, start=1)
        if include_restricted or not item.is_restricted
    ]
    actions = [
        {
            "title": action.title,
            "owner": action.owner_label,
            "due_on": action.due_on.isoformat() if action.due_on else None,
            "report_back": str(action.report_back_meeting) if action.report_back_meeting_id else "",
            "status": action.get_status_display(),
            "restricted": action.is_restricted,
        }
        for action in ActionItem.objects.filter(meeting=meeting)
        .select_related(
            "owner_person", "owner_membership__agency", "owner_subcommittee", "report_back_meeting", "agenda_item"
        )
        .order_by("pk")
        if include_restricted or not action.is_restricted
    ]
    attendance = [
        {"name": name, "role": role, "organization": organization, "status": statuses.get(status, status)}
        for name, role, organization, status in Attendance.objects.filter(meeting=meeting)
        .order_by("organization", "name")
        .values_list("name", "role", "organization", "status")
    ]
    return {
        "edition": edition,
        "taskforce": meeting.taskforce.name,
        "meeting": meeting.title,
        "starts_at": meeting.starts_at.isoformat(),
        "ends_at": meeting.ends_at.isoformat(),
        "time_zone": meeting.time_zone,
        "location": meeting.location,
        "facilitator": meeting.facilitator.full_name if meeting.facilitator_id else "",
        "note_taker": meeting.note_taker.full_name if meeting.note_taker_id else "",
        "started_at": _iso(meeting.started_at),
        "ended_at": _iso(meeting.ended_at),
        "summary": minutes.summary,
        "restricted_summary": minutes.restricted_summary if include_restricted else "",
        "attendance": attendance,
        "items": items,
        "restricted_items_omitted": 0 if include_restricted else sum(1 for item in agenda if item.is_restricted),
        "action_items": actions,
        "approved_at": _iso(minutes.approved_at),
        "approved_by": minutes.approved_by.full_name if minutes.approved_by_id else "",
        "approved_at_meeting": str(minutes.approved_at_meeting) if minutes.approved_at_meeting_id else "",
    }


def canonical(record: dict[str, Any]) -> bytes:
    """Sorted keys, no whitespace, UTF-8: the same record always gives the same bytes."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@transaction.atomic
def minutes_approve(*, minutes: Minutes, actor: Any, at_meeting: Meeting | None = None) -> Minutes:
    """Approve (as an item of the next meeting), freeze both editions and seal each with SHA-256."""
    minutes = _locked_minutes(minutes)
    if minutes.status != MinutesStatus.CIRCULATED:
        raise MeetingError(_("Circulate the minutes for comment before approving them."))
    if at_meeting is None:
        item = (
            AgendaItem.objects.filter(
                item_type=ItemType.MINUTES_APPROVAL, source_id=str(minutes.pk), status=ItemStatus.ACCEPTED
            )
            .select_related("meeting")
            .first()
        )
        at_meeting = item.meeting if item else None
    minutes.approved_at = timezone.now()
    minutes.approved_by = actor
    minutes.approved_at_meeting = at_meeting
    # Computed while still unlocked (a locked record reads back its sealed copy).
    general = minutes_record(minutes, GENERAL)
    restricted = minutes_record(minutes, RESTRICTED)
    minutes.status = MinutesStatus.APPROVED
    minutes.sealed_general, minutes.sealed_restricted = general, restricted
    minutes.seal_general = Minutes.digest(canonical(general))
    minutes.seal_restricted = Minutes.digest(canonical(restricted))
    minutes.save()
    notifications.cancel(kind=MINUTES_APPROVAL, subject=minutes)
    notifications.cancel(kind=MINUTES_COMMENTS, subject=minutes)
    audit.record(
        "minutes.approved",
        actor=actor,
        obj=minutes.meeting,
        at_meeting=at_meeting.pk if at_meeting else None,
        seal_general=minutes.seal_general,
        seal_restricted=minutes.seal_restricted,
    )
    return minutes


def minutes_verify(minutes: Minutes) -> bool:
    """Whether the sealed editions still hash to their seals."""
    return bool(
        minutes.is_locked
        and Minutes.digest(canonical(minutes.sealed_general)) == minutes.seal_general
        and Minutes.digest(canonical(minutes.sealed_restricted)) == minutes.seal_restricted
    )


# --- feedback ----------------------------------------------------------------------------------------------


@transaction.atomic
def feedback_submit(
    *,
    meeting: Meeting,
    person: User,
    usefulness: int,
    started_on_time: bool,
    ended_on_time: bool,
    what_to_change: str = "",
    anonymous: bool = False,
) -> Feedback:
    meeting = Meeting.objects.get(pk=meeting.pk)
    if not meeting.ended_at:
        raise MeetingError(_("Feedback opens when the meeting has ended."))
    _receipt, created = FeedbackReceipt.objects.get_or_create(meeting=meeting, person=person)
    if not created:
        raise MeetingError(_("You have already given feedback on this meeting. Thank you!"))
    feedback = Feedback.objects.create(
        meeting=meeting,
        respondent=None if anonymous else person,
        usefulness=usefulness,
        started_on_time=started_on_time,
        ended_on_time=ended_on_time,
        what_to_change=what_to_change,
    )
    notifications.cancel(kind=FEEDBACK, subject=meeting, recipient=person)
    return feedback


# --- calendar feed -------------------------------------------------------------------------------------------


@transaction.atomic
def calendar_token_issue(*, user: User) -> str:
    """A new private feed token (replacing any earlier one); shown once, stored only as its hash."""
    token = secrets.token_urlsafe(32)
    CalendarToken.objects.update_or_create(
        user=user, defaults={"token_hash": CalendarToken.hash_token(token), "created_at": timezone.now()}
    )
    audit.record("calendar_feed.issued", actor=user)
    return token


@transaction.atomic
def calendar_token_revoke(*, user: User) -> None:
    deleted, _unused = CalendarToken.objects.filter(user=user).delete()
    if deleted:
        audit.record("calendar_feed.revoked", actor=user)


def calendar_token_user(token: str) -> User | None:
    row = CalendarToken.objects.select_related("user").filter(token_hash=CalendarToken.hash_token(token)).first()
    if row is None or not row.user.is_active:
        return None
    CalendarToken.objects.filter(pk=row.pk).update(last_used_at=timezone.now())
    return row.user


# --- reminders ------------------------------------------------------------------------------------------------


@dataclass
class _Due:
    kind: str
    at: datetime


def _reminders_due(meeting: Meeting) -> list[_Due]:
    return [
        _Due(CALL_OPENED, meeting.call_opens_at),
        _Due(DEADLINE, meeting.call_closes_at - timedelta(days=1)),
        _Due(TOMORROW, meeting.starts_at - timedelta(days=1)),
    ]


def schedule_reminders_for(meeting: Meeting, now: datetime) -> int:
    """Rows for the call, the deadline and the day before; a reminder whose moment has passed is skipped."""
    if meeting.is_cancelled or meeting.started_at:
        return 0
    created = 0
    people = None
    for due in _reminders_due(meeting):
        if due.at < now - timedelta(hours=2):
            continue
        if due.kind == DEADLINE and meeting.call_closes_at <= now:
            continue
        people = people if people is not None else invitees(meeting)
        for person in people:
            row = notifications.schedule(
                kind=due.kind,
                subject=meeting,
                recipient=person,
                due_at=due.at,  # fixed, so the unique key is the same on every run
                context={"starts_at": meeting.starts_at.isoformat()},
            )
            created += row is not None
    return created


def schedule_upcoming_reminders(now: datetime) -> None:
    """Hourly scheduler: reminders for meetings in the next five weeks (idempotent by the unique key)."""
    for meeting in Meeting.objects.filter(
        status=MeetingStatus.SCHEDULED,
        started_at__isnull=True,
        starts_at__gt=now,
        starts_at__lte=now + timedelta(days=35),
    ).select_related("taskforce"):
        schedule_reminders_for(meeting, now)
