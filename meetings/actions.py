"""Action items between meetings: who owns what, report-backs, their place on the agenda, reminders.

A report-back cycle (ReportBack) opens when the owner submits an update or when the report-back comes due;
its agenda item is created once, under a lock on the action item, by whichever comes first: the hourly
scheduler or the owner's submission. The facilitator closes the cycle with an outcome.
"""

from __future__ import annotations

import logging
import re
import secrets
import zoneinfo
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from meetings import access, services
from meetings.models import (
    ActionItem,
    ActionStatus,
    AgendaItem,
    ItemStatus,
    ItemType,
    Meeting,
    MeetingStatus,
    Outcome,
    ReportBack,
    Tier,
)
from members import comms
from members.models import Goal, Membership, Subcommittee, User
from taskforce import audit, notifications, permissions
from taskforce.models import Notification, TaskForce

logger = logging.getLogger(__name__)
MeetingError = services.MeetingError

# Notification kinds: each row is keyed by (kind, action item or task force, recipient, day): sent once.
DUE_IN_7 = "meetings.report_back_7d"
DUE_IN_1 = "meetings.report_back_1d"
OVERDUE = "meetings.report_back_overdue"
DIGEST = "meetings.actions_digest"
REMIND_AT = time(8, 0)  # task-force local time, for reminders and the Monday digest
SOURCE = "meetings.reportback"


# --- who --------------------------------------------------------------------------------------------------


def owners(action: ActionItem) -> list[User]:
    """The people who answer for the action: the person, the agency's liaisons, the subcommittee's chair."""
    people: list[User | None] = [action.owner_person]
    if action.owner_membership_id:
        people += [action.owner_membership.liaison, action.owner_membership.alternate_liaison]
    if action.owner_subcommittee_id:
        sub = action.owner_subcommittee
        people += [sub.chair] if sub.chair_id else list(sub.members.all())
    seen: dict[int, User] = {}
    for person in people:
        if person is not None and person.is_active and person.pk not in seen:
            seen[person.pk] = person
    return list(seen.values())


def may_report(user: Any, action: ActionItem) -> bool:
    """The owner (the person, anyone of the owning agency, the subcommittee's chair or members) or a manager."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if access.can_schedule(user, action.taskforce):
        return True
    if action.owner_person_id == user.pk:
        return True
    if action.owner_membership_id:
        m = action.owner_membership
        if user.groups.filter(pk__in=[m.group_id, m.liaison_group_id]).exists():
            return True
    if action.owner_subcommittee_id:
        sub = action.owner_subcommittee
        if sub.chair_id == user.pk or sub.members.filter(pk=user.pk).exists():
            return True
    return False


def owed_by(user: User, taskforce: TaskForce) -> QuerySet[ActionItem]:
    """Open action items this person answers for (directly, as agency liaison, as subcommittee chair/member)."""
    return (
        open_actions(taskforce)
        .filter(
            Q(owner_person=user)
            | Q(owner_membership__liaison=user)
            | Q(owner_membership__alternate_liaison=user)
            | Q(owner_subcommittee__chair=user)
            | Q(owner_subcommittee__members=user, owner_subcommittee__chair__isnull=True)
        )
        .distinct()
    )


# --- selectors --------------------------------------------------------------------------------------------


def with_related(queryset: QuerySet[ActionItem]) -> QuerySet[ActionItem]:
    return queryset.select_related(
        "owner_person", "owner_membership__agency", "owner_subcommittee", "goal", "report_back_meeting", "meeting",
        "agenda_item", "taskforce",
    )  # fmt: skip


def open_actions(taskforce: TaskForce) -> QuerySet[ActionItem]:
    return with_related(ActionItem.objects.filter(taskforce=taskforce, status=ActionStatus.OPEN))


def visible_actions(user: Any, taskforce: TaskForce, queryset: QuerySet[ActionItem]) -> QuerySet[ActionItem]:
    """Actions from restricted agenda items are for the managers only (and their owners)."""
    if access.can_schedule(user, taskforce):
        return queryset
    return queryset.filter(Q(agenda_item__isnull=True) | Q(agenda_item__tier=Tier.MEMBERS) | Q(owner_person=user))


def is_overdue(action: ActionItem, today: date) -> bool:
    return action.is_open and action.due_on is not None and action.due_on < today


def local_today(taskforce: TaskForce) -> date:
    return timezone.now().astimezone(zoneinfo.ZoneInfo(taskforce.time_zone)).date()


@dataclass
class BoardRow:
    label: str
    open: int = 0
    overdue: int = 0
    items: list[ActionItem] = field(default_factory=list)


def overdue_board(taskforce: TaskForce, today: date) -> dict[str, list[BoardRow]]:
    """Open action items by agency and by subcommittee, with how many are past due (overdue listed)."""
    by_agency: dict[str, BoardRow] = {}
    by_sub: dict[str, BoardRow] = {}
    for action in open_actions(taskforce).select_related("owner_person__agency"):
        agency = (
            action.owner_membership.agency.name
            if action.owner_membership_id
            else (action.owner_person.agency.name if action.owner_person_id and action.owner_person.agency_id else "")
        )
        keys = []
        if agency:
            keys.append((by_agency, agency))
        if action.owner_subcommittee_id:
            keys.append((by_sub, action.owner_subcommittee.name))
        for table, label in keys:
            row = table.setdefault(label, BoardRow(label))
            row.open += 1
            if is_overdue(action, today):
                row.overdue += 1
                row.items.append(action)

    def ordered(table: dict[str, BoardRow]) -> list[BoardRow]:
        return sorted(table.values(), key=lambda r: (-r.overdue, r.label))

    return {"agencies": ordered(by_agency), "subcommittees": ordered(by_sub)}


def open_report_back(action: ActionItem) -> ReportBack | None:
    return ReportBack.objects.filter(action_item=action, outcome="").first()


# --- writes -----------------------------------------------------------------------------------------------


def _check(
    taskforce: TaskForce,
    *,
    owner_person: User | None,
    owner_membership: Membership | None,
    owner_subcommittee: Subcommittee | None,
    goal: Goal | None,
    report_back_meeting: Meeting | None,
) -> None:
    if owner_person is None and owner_membership is None and owner_subcommittee is None:
        raise MeetingError(_("An action item needs an owner: a person, an agency or a subcommittee."))
    for related in (owner_membership, owner_subcommittee, goal, report_back_meeting):
        if related is not None and related.taskforce_id != taskforce.pk:
            raise MeetingError(_("The owner, goal and report-back meeting must belong to this task force."))


@transaction.atomic
def action_item_save(
    *,
    taskforce: TaskForce,
    actor: Any,
    action: ActionItem | None = None,
    title: str,
    owner_person: User | None = None,
    owner_membership: Membership | None = None,
    owner_subcommittee: Subcommittee | None = None,
    goal: Goal | None = None,
    due_on: date | None = None,
    report_back_meeting: Meeting | None = None,
    report_back_on: date | None = None,
) -> ActionItem:
    """Create an action item outside a meeting, or edit any open one (from the action items page)."""
    _check(
        taskforce,
        owner_person=owner_person,
        owner_membership=owner_membership,
        owner_subcommittee=owner_subcommittee,
        goal=goal,
        report_back_meeting=report_back_meeting,
    )
    fields = {
        "title": title,
        "owner_person": owner_person,
        "owner_membership": owner_membership,
        "owner_subcommittee": owner_subcommittee,
        "goal": goal,
        "due_on": due_on,
        "report_back_meeting": report_back_meeting,
        "report_back_on": None if report_back_meeting else report_back_on,
    }
    if action is None:
        action = ActionItem.objects.create(taskforce=taskforce, created_by=actor, **fields)
        audit.record("action_item.created", actor=actor, obj=action, taskforce=taskforce)
    else:
        action = ActionItem.objects.select_for_update().get(pk=action.pk, taskforce=taskforce)
        for name, value in fields.items():
            setattr(action, name, value)
        action.save()
        audit.record("action_item.updated", actor=actor, obj=action, taskforce=taskforce)
    return action


def target_meeting(action: ActionItem, now: datetime | None = None) -> Meeting | None:
    """The meeting the report-back goes to: the chosen one, or the first one on or after the chosen date."""
    now = now or timezone.now()
    upcoming = Meeting.objects.filter(
        taskforce_id=action.taskforce_id, status=MeetingStatus.SCHEDULED, started_at__isnull=True
    )
    if action.report_back_meeting_id:
        return upcoming.filter(pk=action.report_back_meeting_id).first()
    if action.report_back_on is None:
        return None
    zone = zoneinfo.ZoneInfo(action.taskforce.time_zone)
    start = datetime.combine(action.report_back_on, time.min, tzinfo=zone)
    return upcoming.filter(starts_at__gte=max(start, now)).order_by("starts_at").first()


def _agenda_is_open(meeting: Meeting, now: datetime) -> bool:
    """The agenda is being put together: the call has opened and the meeting has not started."""
    return not meeting.is_cancelled and not meeting.started_at and now >= meeting.call_opens_at


def _presenter(action: ActionItem, report: ReportBack) -> User | None:
    if report.submitted_by_id:
        return report.submitted_by
    people = owners(action)
    return people[0] if people else None


def _description(action: ActionItem, report: ReportBack) -> str:
    lines = [_("Owner: %(owner)s") % {"owner": action.owner_label}]
    if action.goal_id:
        lines.append(_("Goal: %(goal)s") % {"goal": action.goal.title})
    if action.due_on:
        lines.append(_("Due: %(due)s") % {"due": action.due_on.isoformat()})
    if report.is_submitted:
        lines.append(_("Status: %(status)s") % {"status": report.get_status_display()})
        lines.append(_("Progress: %(progress)s") % {"progress": report.progress})
        if report.blockers:
            lines.append(_("Blockers: %(blockers)s") % {"blockers": report.blockers})
        if report.attachment_name:
            lines.append(_("Attachment: %(name)s (on the action item's page)") % {"name": report.attachment_name})
    else:
        lines.append(_("No written update yet."))
    return "\n".join(lines)


def _locked(action: ActionItem) -> ActionItem:
    return (
        ActionItem.objects.select_for_update(of=("self",))
        .select_related("taskforce", "owner_person", "owner_membership__agency", "owner_subcommittee", "goal")
        .select_related("agenda_item", "report_back_meeting")
        .get(pk=action.pk)
    )


def _open_cycle(action: ActionItem) -> ReportBack:
    report = open_report_back(action)
    if report is None:
        report = ReportBack.objects.create(action_item=action, due_on=action.report_back_due)
    return report


def _place(action: ActionItem, report: ReportBack, meeting: Meeting, actor: Any) -> None:
    """Put the cycle on `meeting`'s agenda, or refresh its item there (never a second item)."""
    fields = {
        "title": (_("Report-back: %(title)s") % {"title": action.title})[:200],
        "description": _description(action, report),
        "presenter": _presenter(action, report),
    }
    item = report.agenda_item
    if item is not None and item.meeting_id == meeting.pk and item.status == ItemStatus.ACCEPTED:
        services.item_update(item=item, actor=actor, **fields)
        return
    if item is not None:
        return  # the facilitator moved or removed it: theirs to decide, not ours to re-add
    item = services.item_add(
        meeting=meeting,
        actor=actor,
        item_type=ItemType.SUBCOMMITTEE,
        tier=Tier.RESTRICTED if action.is_restricted else Tier.MEMBERS,
        planned_minutes=5,
        source_type=SOURCE,
        source_id=str(report.pk),
        **fields,
    )
    report.agenda_item, report.meeting = item, meeting
    report.save(update_fields=["agenda_item", "meeting"])
    audit.record("report_back.placed", actor=actor, obj=action, taskforce=action.taskforce, meeting=meeting.pk)


@transaction.atomic
def report_back_place(*, action: ActionItem, now: datetime | None = None, actor: Any = None) -> ReportBack | None:
    """Place a due report-back on its meeting's agenda (idempotent: the action item row is locked)."""
    now = now or timezone.now()
    action = _locked(action)
    if not action.is_open:
        return None
    meeting = target_meeting(action, now)
    if meeting is None or not _agenda_is_open(meeting, now):
        return None
    report = _open_cycle(action)
    _place(action, report, meeting, actor)
    return report


def attachment_root() -> Path:
    return Path(settings.PRIVATE_MEDIA_ROOT) / "report_backs"


def attachment_path(report: ReportBack) -> Path:
    """Where an attachment's bytes are. Storage names are ours (hex), but check containment anyway."""
    if not re.fullmatch(r"[0-9a-f]{32}", report.attachment_storage):
        raise Http404
    root = attachment_root().resolve()
    path = (root / report.attachment_storage[:2] / report.attachment_storage).resolve()
    if root not in path.parents:
        raise Http404
    return path


def _store_attachment(report: ReportBack, upload: UploadedFile) -> Path:
    """Checked by its bytes, as library uploads are (members.comms); returns the file written."""
    data = comms.read_upload(upload)
    name = comms.clean_file_name(upload.name)
    if not name or not Path(name).stem:
        raise comms.UploadRejected(_("The file needs a name."))
    kind = comms.sniff_upload(data, name)
    storage = secrets.token_hex(16)
    path = attachment_root() / storage[:2] / storage
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o750)
    with path.open("xb") as handle:  # never overwrite: the name is random
        handle.write(data)
    path.chmod(0o640)
    if report.attachment_storage:
        old = attachment_path(report)
        transaction.on_commit(lambda: old.unlink(missing_ok=True))
    report.attachment_name, report.attachment_storage = name, storage
    report.attachment_type, report.attachment_size = kind.content_type, len(data)
    return path


@transaction.atomic
def report_back_submit(
    *,
    action: ActionItem,
    actor: Any,
    status: str,
    progress: str,
    blockers: str = "",
    attachment: UploadedFile | None = None,
) -> ReportBack:
    """The owner's written update; on the agenda at once if the target meeting's agenda is open."""
    action = _locked(action)
    if not action.is_open:
        raise MeetingError(_("This action item is closed."))
    if not progress.strip():
        raise MeetingError(_("Write what has been done."))
    report = _open_cycle(action)
    report.status, report.progress, report.blockers = status, progress.strip(), blockers.strip()
    report.submitted_by, report.submitted_at = actor, timezone.now()
    report.due_on = report.due_on or action.report_back_due
    written = _store_attachment(report, attachment) if attachment is not None else None
    try:
        report.save()
    except BaseException:
        if written is not None:
            written.unlink(missing_ok=True)  # no row names it
        raise
    audit.record("report_back.submitted", actor=actor, obj=action, taskforce=action.taskforce, report=report.pk)
    meeting = target_meeting(action)
    if report.agenda_item_id:
        meeting = report.agenda_item.meeting or meeting
    if meeting is not None and _agenda_is_open(meeting, timezone.now()):
        _place(action, report, meeting, actor)
    return report


@transaction.atomic
def report_back_outcome(
    *,
    action: ActionItem,
    actor: Any,
    outcome: str,
    reason: str = "",
    report_back_meeting: Meeting | None = None,
    report_back_on: date | None = None,
    due_on: date | None = None,
) -> ReportBack:
    """The facilitator's decision: done; continue (with a new meeting or date); drop (with a reason)."""
    action = _locked(action)
    if not action.is_open:
        raise MeetingError(_("This action item is already closed."))
    if outcome == Outcome.DROP and not reason.strip():
        raise MeetingError(_("Give the reason for dropping it."))
    if outcome == Outcome.CONTINUE:
        if report_back_meeting is None and report_back_on is None:
            raise MeetingError(_("Choose when to report back next: a meeting or a date."))
        if report_back_meeting is not None and report_back_meeting.taskforce_id != action.taskforce_id:
            raise MeetingError(_("The report-back meeting must belong to this task force."))
    elif outcome not in Outcome.values:
        raise MeetingError(f"Unknown outcome {outcome!r}")
    report = _open_cycle(action)
    report.outcome, report.outcome_reason = outcome, reason.strip()
    report.outcome_by, report.outcome_at = actor, timezone.now()
    report.save()
    if outcome == Outcome.DONE:
        action.status = ActionStatus.DONE
    elif outcome == Outcome.DROP:
        action.status = ActionStatus.DROPPED
    else:
        action.report_back_meeting = report_back_meeting
        action.report_back_on = None if report_back_meeting else report_back_on
        action.due_on = due_on or action.due_on
    action.save()
    if report.meeting_id:
        Meeting.objects.filter(pk=report.meeting_id).update(live_version=F("live_version") + 1)
    audit.record(f"report_back.{outcome}", actor=actor, obj=action, taskforce=action.taskforce, reason=reason)
    return report


def report_back_for_item(item: AgendaItem) -> ReportBack | None:
    """The report-back an agenda item was placed for (the live view offers the outcome form on it)."""
    if item.source_type != SOURCE:
        return None
    return ReportBack.objects.select_related("action_item").filter(agenda_item=item).first()


# --- the hourly scheduler --------------------------------------------------------------------------------


def _at(day: date, zone: zoneinfo.ZoneInfo) -> datetime:
    return datetime.combine(day, REMIND_AT, tzinfo=zone)


def _coordinators(taskforce: TaskForce) -> list[User]:
    return list(
        User.objects.filter(groups=taskforce.coordinators_id, is_active=True, offboarded_at__isnull=True).distinct()
    )


def schedule_action_reminders(now: datetime) -> None:
    """Hourly: place due report-backs on agendas, then create reminder rows (unique keys make it idempotent)."""
    horizon = now + timedelta(days=60)
    candidates = (
        ActionItem.objects.filter(status=ActionStatus.OPEN)
        .filter(
            Q(report_back_meeting__starts_at__lte=horizon, report_back_meeting__starts_at__gt=now)
            | Q(report_back_on__isnull=False)
        )
        .select_related("taskforce")
    )
    for action in candidates:
        try:
            report_back_place(action=action, now=now)
        except MeetingError:
            # One meeting that cannot take the item (cancelled meanwhile) must not stop the others.
            logger.warning("Report-back of action item %s not placed", action.pk, exc_info=True)
    for action in with_related(
        ActionItem.objects.filter(status=ActionStatus.OPEN).exclude(report_back_meeting=None, report_back_on=None)
    ):
        _schedule_for(action, now)
    _schedule_digests(now)


def _schedule_for(action: ActionItem, now: datetime) -> None:
    due = action.report_back_due
    if due is None:
        return
    zone = zoneinfo.ZoneInfo(action.taskforce.time_zone)
    context = {"due": due.isoformat()}
    report = open_report_back(action)
    if report is not None and report.is_submitted:
        return  # nothing owed: the update is in
    for kind, at in ((DUE_IN_7, _at(due - timedelta(days=7), zone)), (DUE_IN_1, _at(due - timedelta(days=1), zone))):
        if at - timedelta(days=1) <= now <= at + timedelta(hours=12):
            for person in owners(action):
                notifications.schedule(kind=kind, subject=action, recipient=person, due_at=at, context=context)
    overdue_at = _at(due + timedelta(days=1), zone)
    if overdue_at <= now <= overdue_at + timedelta(days=14):
        sub = action.owner_subcommittee
        people = [sub.chair] if sub is not None and sub.chair_id else _coordinators(action.taskforce)
        for person in people:
            notifications.schedule(kind=OVERDUE, subject=action, recipient=person, due_at=overdue_at, context=context)


def _schedule_digests(now: datetime) -> None:
    for taskforce in TaskForce.objects.filter(pk__in=ActionItem.objects.filter(status="open").values("taskforce")):
        zone = zoneinfo.ZoneInfo(taskforce.time_zone)
        local = now.astimezone(zone)
        monday = local.date() - timedelta(days=local.weekday())
        at = _at(monday, zone)
        if not at <= now < at + timedelta(days=1):
            continue  # Monday from 08:00; the unique key keeps it to one a week
        people = User.objects.filter(pk__in=_owers(taskforce), is_active=True, offboarded_at__isnull=True)
        for person in people:
            notifications.schedule(kind=DIGEST, subject=taskforce, recipient=person, due_at=at)


def _owers(taskforce: TaskForce) -> set[int]:
    ids: set[int] = set()
    for action in open_actions(taskforce).prefetch_related("owner_subcommittee__members"):
        ids.update(person.pk for person in owners(action))
    return ids


# --- renderers --------------------------------------------------------------------------------------------


def _action_url(action: ActionItem) -> str:
    return settings.SITE_URL + reverse("meetings:action_detail", args=[action.taskforce.slug, action.pk])


def _still_owed(row: Notification) -> ActionItem | None:
    action = with_related(ActionItem.objects.filter(pk=row.subject_id)).first()
    if action is None or not action.is_open:
        return None
    due = action.report_back_due
    if due is None or row.context.get("due") != due.isoformat():
        return None  # rescheduled: the new date has reminders of its own
    report = open_report_back(action)
    if report is not None and report.is_submitted:
        return None
    return action


def _render(row: Notification, action: ActionItem, subject: str, lead: str):
    if not permissions.has_perm(row.recipient, "meetings.view_actionitem", action):
        return None  # access ended since the reminder was scheduled: nothing about the task force
    return notifications.render_message(
        subject=subject,
        template="emails/meeting_action_reminder",
        context={
            "recipient": row.recipient,
            "taskforce_name": action.taskforce.name,
            "lead": lead,
            "actions": [action],
            "url": _action_url(action),
        },
    )


def render_due_in_7(row: Notification):
    action = _still_owed(row)
    if action is None:
        return None
    lead = _("A report-back is due in a week, on %(due)s.") % {"due": row.context["due"]}
    return _render(row, action, _("Report-back due in a week: %(title)s") % {"title": action.title}, lead)


def render_due_in_1(row: Notification):
    action = _still_owed(row)
    if action is None:
        return None
    lead = _("A report-back is due tomorrow, %(due)s.") % {"due": row.context["due"]}
    return _render(row, action, _("Report-back due tomorrow: %(title)s") % {"title": action.title}, lead)


def render_overdue(row: Notification):
    action = _still_owed(row)
    if action is None:
        return None
    lead = _("The report-back by %(owner)s was due on %(due)s and no update has come in.") % {
        "owner": action.owner_label,
        "due": row.context["due"],
    }
    return _render(row, action, _("Overdue report-back: %(title)s") % {"title": action.title}, lead)


def render_digest(row: Notification):
    taskforce = TaskForce.objects.filter(pk=row.subject_id).first()
    if taskforce is None or not permissions.has_perm(row.recipient, "taskforce.view_taskforce", taskforce):
        return None
    actions = list(owed_by(row.recipient, taskforce))
    if not actions:
        return None
    return notifications.render_message(
        subject=_("What you owe this week: %(n)s action items") % {"n": len(actions)},
        template="emails/meeting_action_reminder",
        context={
            "recipient": row.recipient,
            "taskforce_name": taskforce.name,
            "lead": _("Your open action items and their report-backs:"),
            "actions": actions,
            "url": settings.SITE_URL + reverse("meetings:actions", args=[taskforce.slug]) + "?mine=1",
        },
    )


RENDERERS = {DUE_IN_7: render_due_in_7, DUE_IN_1: render_due_in_1, OVERDUE: render_overdue, DIGEST: render_digest}
