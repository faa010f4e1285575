"""The meetings app's health measures for action items (registered in meetings.apps.ready).

Thresholds:
- action items overdue: on track with none, attention with up to three, act now beyond;
- report-backs on time (updates in by the report-back date, over the cycles due in the last six months):
  on track at 80%, attention at 50%.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction

from django.db.models import Avg, Min
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from meetings import actions, selectors
from meetings.models import ATTENDED, Attendance, Feedback, Meeting, MeetingStatus, ReportBack
from members import health as members_health
from members.models import Membership
from taskforce import health
from taskforce.models import Cadence, TaskForce

GROUP = _("Action plan")


def register_providers() -> None:
    health.register_measures(measures)


def measures(taskforce: TaskForce, today: date) -> list[health.Measure]:
    return [overdue_measure(taskforce, today), on_time_measure(taskforce, today)]


def overdue_measure(taskforce: TaskForce, today: date) -> health.Measure:
    board = actions.overdue_board(taskforce, today)
    overdue = sum(1 for a in actions.open_actions(taskforce) if actions.is_overdue(a, today))
    rows = [[_("Agency"), r.label, r.open, r.overdue] for r in board["agencies"]]
    rows += [[_("Subcommittee"), r.label, r.open, r.overdue] for r in board["subcommittees"]]
    return health.Measure(
        key="meetings.actions_overdue",
        label=_("Action items overdue"),
        value=str(overdue),
        target=_("none overdue"),
        status=health.GOOD if overdue == 0 else health.WARN if overdue <= 3 else health.BAD,
        summary=_("By agency and subcommittee in the table"),
        link=reverse("meetings:overdue_board", args=[taskforce.slug]),
        link_label=_("Open the overdue board"),
        table=health.Table(headers=[_("By"), _("Owner"), _("Open"), _("Overdue")], rows=rows),
        group=GROUP,
        order=72,
    )


def _cycles_due(taskforce: TaskForce, first: date, last: date) -> list[ReportBack]:
    return list(
        ReportBack.objects.filter(action_item__taskforce=taskforce, due_on__gte=first, due_on__lte=last).select_related(
            "action_item"
        )
    )


def on_time_measure(taskforce: TaskForce, today: date) -> health.Measure:
    windows = health.months_back(today, 6)
    cycles = [c for c in _cycles_due(taskforce, windows[0][1], today) if c.due_on <= today]  # one query
    trend = []
    for label, first, last in windows:
        month = [c for c in cycles if first <= c.due_on <= min(last, today)]
        trend.append((label, health.percent(sum(c.on_time for c in month), len(month))))
    on_time = sum(c.on_time for c in cycles)
    pct = health.percent(on_time, len(cycles))
    return health.Measure(
        key="meetings.report_backs_on_time",
        label=_("Report-backs on time"),
        value=f"{pct}%" if cycles else _("None due yet"),
        target=_("80% of updates in by the report-back date"),
        status=health.status_for(pct, good=80, warn=50) if cycles else health.INFO,
        summary=_("%(on_time)s of %(due)s in the last six months") % {"on_time": on_time, "due": len(cycles)},
        trend=trend,
        trend_unit="%",
        link=reverse("meetings:actions", args=[taskforce.slug]),
        link_label=_("See the action items"),
        table=health.Table(
            headers=[_("Action"), _("Due"), _("Update in"), _("On time")],
            rows=[
                [
                    c.action_item.title,
                    c.due_on.isoformat(),
                    c.submitted_at.date().isoformat() if c.submitted_at else "—",
                    _("Yes") if c.on_time else _("No"),
                ]
                for c in cycles
            ],
        ),
        group=GROUP,
        order=73,
    )


# --- meetings: cadence, punctuality, agendas, attendance, feedback (issue #7) ------------------------------
#
# Thresholds, in one place so the dashboard's colours can be explained:
# - cadence: meetings held in the last six complete months against the intended cadence (weekly counts as four
#   a month, every two weeks two, monthly one, every two months one in two, quarterly one in three); in the task
#   force's first six months at least monthly, whatever the charter says. On track at 100% of the expected
#   number, attention at 67%.
# - on time: started within 5 minutes of the scheduled start (either way: started_at is when the facilitator
#   pressed Start) and ended no later than 5 minutes after the scheduled end; on track at 80%, attention at 50%.
# - agendas ahead: first circulated at least AGENDA_AHEAD_DAYS (3) days before the start; 80% / 50%.
# - attendance: an agency attended a held meeting it was invited to when at least one of its people was
#   checked in (present or guest); on track at 75%, attention at 50%.
# - dormant: an active agency with nobody at the last 3 held meetings it was invited to; none on track,
#   one or two need attention, three or more act now.
# - feedback: average usefulness (1-5) over the last six meetings with answers; on track at 4, attention at 3.
# A meeting is held when it was started (live run) and not cancelled; it counts on its local start date.

GROUP_MEETINGS = _("Meetings")
ON_TIME_GRACE = timedelta(minutes=5)
AGENDA_AHEAD_DAYS = 3
DORMANT_AFTER = 3
DORMANT_LOOKBACK = 12  # held meetings looked at for dormancy
PER_MONTH = {
    Cadence.WEEKLY: Fraction(4),
    Cadence.BIWEEKLY: Fraction(2),
    Cadence.MONTHLY: Fraction(1),
    Cadence.BIMONTHLY: Fraction(1, 2),
    Cadence.QUARTERLY: Fraction(1, 3),
}


def register_meeting_providers() -> None:
    health.register_measures(meeting_measures)
    health.register_report_section(meeting_report_sections)


def meeting_measures(taskforce: TaskForce, today: date) -> list[health.Measure]:
    return [
        cadence_measure(taskforce, today),
        punctuality_measure(taskforce, today),
        agenda_ahead_measure(taskforce, today),
        attendance_measure(taskforce, today),
        dormant_measure(taskforce, today),
        feedback_measure(taskforce, today),
    ]


def _local_day(meeting: Meeting) -> date:
    return meeting.starts_at.astimezone(zoneinfo.ZoneInfo(meeting.time_zone)).date()


def _in_days(taskforce: TaskForce, first: date, last: date, **filters):
    """Meetings starting around [first, last] (a day's margin for time zones); keep them with `_between`."""
    return Meeting.objects.filter(
        taskforce=taskforce,
        starts_at__gte=datetime.combine(first - timedelta(days=1), time.min, tzinfo=UTC),
        starts_at__lt=datetime.combine(last + timedelta(days=2), time.min, tzinfo=UTC),
        **filters,
    )


def _between(meetings, first: date, last: date) -> list[Meeting]:
    return [m for m in meetings if first <= _local_day(m) <= last]


def held_between(taskforce: TaskForce, first: date, last: date, queryset=None) -> list[Meeting]:
    """Held meetings whose local start date is in [first, last], oldest first: one query."""
    meetings = queryset if queryset is not None else _in_days(taskforce, first, last)
    held = meetings.filter(status=MeetingStatus.SCHEDULED, started_at__isnull=False).order_by("starts_at", "pk")
    return _between(held, first, last)


def _month_of(windows, day: date) -> str | None:
    return next((label for label, first, last in windows if first <= day <= last), None)


def _fraction_text(value: Fraction) -> str:
    return str(int(value)) if value.denominator == 1 else f"{float(value):.1f}"


def expected_per_month(taskforce: TaskForce, month_start: date) -> Fraction:
    """The charter's cadence; at least monthly in the task force's first six months (the fact sheet)."""
    per_month = PER_MONTH.get(taskforce.meeting_cadence, Fraction(1))
    if month_start < taskforce.established_on + timedelta(days=183):
        per_month = max(per_month, Fraction(1))
    return per_month


def cadence_measure(taskforce: TaskForce, today: date) -> health.Measure:
    windows = _cadence_windows(today)
    counted = [w for w in windows if w[2] >= taskforce.established_on]
    meetings = _recent_meetings(taskforce, today)  # and this month's, which fall in no window
    held = {label: 0 for label, _first, _last in windows}
    cancelled = dict(held)
    for meeting in meetings:
        label = _month_of(windows, _local_day(meeting))
        if label is None:
            continue
        if meeting.is_cancelled:
            cancelled[label] += 1
        elif meeting.started_at:
            held[label] += 1
    expected = {label: expected_per_month(taskforce, first) for label, first, _last in counted}
    total_expected = sum(expected.values(), Fraction(0))
    total_held = sum(held[label] for label in expected)
    share = health.percent(total_held, total_expected)
    return health.Measure(
        key="meetings.cadence",
        label=_("Meeting cadence"),
        value=_("%(held)s of %(expected)s expected") % {"held": total_held, "expected": _fraction_text(total_expected)}
        if counted
        else _("No complete month yet"),
        status=health.status_for(share, good=100, warn=67) if total_expected else health.INFO,
        target=_("%(cadence)s (the charter); at least monthly in the first six months")
        % {"cadence": taskforce.get_meeting_cadence_display().lower()},
        summary=_("meetings held in the last %(n)s complete months") % {"n": len(counted)},
        trend=[(label, held[label]) for label, _first, _last in windows],
        trend_label=_("Meetings held, by month"),
        link=reverse("meetings:list", args=[taskforce.slug]),
        link_label=_("Schedule meetings"),
        table=health.Table(
            headers=[_("Month"), _("Held"), _("Expected"), _("Cancelled")],
            rows=[
                [label, held[label], _fraction_text(expected[label]) if label in expected else "—", cancelled[label]]
                for label, _first, _last in windows
            ],
        ),
        group=GROUP_MEETINGS,
        order=20,
    )


def on_time(meeting: Meeting) -> tuple[bool, bool]:
    """(started on time, ended on time), from the live run's timestamps."""
    started = abs(meeting.started_at - meeting.starts_at) <= ON_TIME_GRACE
    ended = meeting.ended_at <= meeting.ends_at + ON_TIME_GRACE
    return started, ended


def _minutes(delta: timedelta) -> int:
    return round(delta.total_seconds() / 60)


def punctuality_measure(taskforce: TaskForce, today: date) -> health.Measure:
    windows = health.months_back(today, 6)
    meetings = [m for m in _held_recently(taskforce, today) if m.ended_at]
    punctual = {m.pk: all(on_time(m)) for m in meetings}
    trend = []
    for label, first, last in windows:
        month = [m for m in meetings if first <= _local_day(m) <= last]
        trend.append((label, health.percent(sum(punctual[m.pk] for m in month), len(month))))
    good = sum(punctual.values())
    share = health.percent(good, len(meetings))
    return health.Measure(
        key="meetings.on_time",
        label=_("Meetings on time"),
        value=f"{share}%" if meetings else _("None held yet"),
        status=health.status_for(share, good=80, warn=50) if meetings else health.INFO,
        target=_("started within 5 minutes of the time set, ended no more than 5 minutes late"),
        summary=_("%(good)s of %(n)s meetings in the last six months") % {"good": good, "n": len(meetings)},
        trend=trend,
        trend_unit="%",
        trend_label=_("Meetings on time, by month"),
        link=reverse("meetings:feedback_trend", args=[taskforce.slug]),
        link_label=_("See what members say"),
        table=health.Table(
            headers=[_("Meeting"), _("Date"), _("Started (min late)"), _("Ended (min over)"), _("On time")],
            rows=[
                [
                    m.title,
                    date_format(_local_day(m), "Y-m-d"),
                    _minutes(m.started_at - m.starts_at),
                    _minutes(m.ended_at - m.ends_at),
                    _("Yes") if punctual[m.pk] else _("No"),
                ]
                for m in reversed(meetings)
            ],
        ),
        group=GROUP_MEETINGS,
        order=21,
    )


def agenda_ahead(meeting: Meeting) -> bool:
    first = getattr(meeting, "first_circulated_at", None)
    return first is not None and first <= meeting.starts_at - timedelta(days=AGENDA_AHEAD_DAYS)


def _with_first_circulation(taskforce: TaskForce, first: date, last: date):
    return _in_days(taskforce, first, last).annotate(first_circulated_at=Min("circulations__circulated_at"))


def agenda_ahead_measure(taskforce: TaskForce, today: date) -> health.Measure:
    windows = health.months_back(today, 6)
    meetings = _held_recently(taskforce, today)
    ahead = {m.pk: agenda_ahead(m) for m in meetings}
    trend = []
    for label, first, last in windows:
        month = [m for m in meetings if first <= _local_day(m) <= last]
        trend.append((label, health.percent(sum(ahead[m.pk] for m in month), len(month))))
    good = sum(ahead.values())
    share = health.percent(good, len(meetings))

    def days_before(m: Meeting) -> str:
        if m.first_circulated_at is None:
            return _("Not circulated")
        return str((m.starts_at - m.first_circulated_at).days)

    return health.Measure(
        key="meetings.agenda_ahead",
        label=_("Agendas circulated ahead"),
        value=f"{share}%" if meetings else _("None held yet"),
        status=health.status_for(share, good=80, warn=50) if meetings else health.INFO,
        target=_("the agenda out at least %(n)s days before the meeting") % {"n": AGENDA_AHEAD_DAYS},
        summary=_("%(good)s of %(n)s meetings in the last six months") % {"good": good, "n": len(meetings)},
        trend=trend,
        trend_unit="%",
        trend_label=_("Agendas out %(n)s days ahead, by month") % {"n": AGENDA_AHEAD_DAYS},
        link=reverse("meetings:list", args=[taskforce.slug]),
        link_label=_("Prepare the next agenda"),
        table=health.Table(
            headers=[_("Meeting"), _("Date"), _("Days ahead"), _("In time")],
            rows=[
                [m.title, date_format(_local_day(m), "Y-m-d"), days_before(m), _("Yes") if ahead[m.pk] else _("No")]
                for m in reversed(meetings)
            ],
        ),
        group=GROUP_MEETINGS,
        order=22,
    )


def _agency_presence(meeting_ids: list[int]) -> tuple[set[tuple[int, int]], set[tuple[int, int]]]:
    """(meeting, membership) pairs invited, and (meeting, agency) pairs with someone checked in: two queries."""
    invited = set(
        Meeting.invited_agencies.through.objects.filter(meeting_id__in=meeting_ids).values_list(
            "meeting_id", "membership_id"
        )
    )
    present = set(
        Attendance.objects.filter(meeting_id__in=meeting_ids, status__in=ATTENDED, person__agency__isnull=False)
        .values_list("meeting_id", "person__agency_id")
        .distinct()
    )
    return invited, present


def _active(taskforce: TaskForce) -> list[Membership]:
    """Active memberships by agency name, read once per dashboard (members.health.memberships)."""
    return members_health.active_memberships(taskforce)


def _cadence_windows(today: date) -> list[tuple[str, date, date]]:
    return health.months_back(today.replace(day=1) - timedelta(days=1), 6)  # six complete months


def _recent_meetings(taskforce: TaskForce, today: date) -> list[Meeting]:
    """Every meeting around the six complete months before this one and this month to today, with its first
    circulation, oldest first: one query per dashboard for cadence, punctuality, agendas and attendance."""
    first = _cadence_windows(today)[0][1]
    return health.shared(
        ("meetings.recent", taskforce.pk, today),
        lambda: list(_with_first_circulation(taskforce, first, today).order_by("starts_at", "pk")),
    )


def _held_recently(taskforce: TaskForce, today: date) -> list[Meeting]:
    """held_between() the last six months (this one included) and today, from _recent_meetings()."""
    first = health.months_back(today, 6)[0][1]
    held = [
        m
        for m in _recent_meetings(taskforce, today)
        if m.status == MeetingStatus.SCHEDULED and m.started_at is not None
    ]
    return _between(held, first, today)


def attendance_measure(taskforce: TaskForce, today: date) -> health.Measure:
    windows = health.months_back(today, 6)
    meetings = _held_recently(taskforce, today)
    invited, present = _agency_presence([m.pk for m in meetings])
    active = _active(taskforce)
    rows, all_invited, all_attended = [], 0, 0
    for membership in active:
        mine = [m for m in meetings if (m.pk, membership.pk) in invited]
        came = [m for m in mine if (m.pk, membership.agency_id) in present]
        all_invited += len(mine)
        all_attended += len(came)
        rows.append([membership.agency.name, len(came), len(mine), f"{health.percent(len(came), len(mine))}%"])
    trend = []
    for label, first, last in windows:
        month = [m for m in meetings if first <= _local_day(m) <= last]
        pairs = [(m, a) for m in month for a in active if (m.pk, a.pk) in invited]
        came = sum(1 for m, a in pairs if (m.pk, a.agency_id) in present)
        trend.append((label, health.percent(came, len(pairs))))
    share = health.percent(all_attended, all_invited)
    return health.Measure(
        key="meetings.attendance",
        label=_("Attendance by agency"),
        value=f"{share}%" if all_invited else _("None held yet"),
        status=health.status_for(share, good=75, warn=50) if all_invited else health.INFO,
        target=_("every invited agency represented at every meeting"),
        summary=_("%(came)s of %(invited)s agency invitations to %(n)s meetings in the last six months")
        % {"came": all_attended, "invited": all_invited, "n": len(meetings)},
        trend=trend,
        trend_unit="%",
        trend_label=_("Invited agencies represented, by month"),
        link=reverse("members:directory", args=[taskforce.slug]),
        link_label=_("Contact the liaisons"),
        table=health.Table(
            headers=[_("Agency"), _("Meetings attended"), _("Invited to"), _("Rate")],
            rows=sorted(rows, key=lambda r: (health.percent(r[1], r[2]) if r[2] else 101, r[0])),
            caption=_("Held meetings of the last six months each agency was invited to, lowest rate first"),
        ),
        group=GROUP_MEETINGS,
        order=23,
    )


def dormant_agencies(taskforce: TaskForce) -> list[tuple[Membership, int, date | None]]:
    """Each active agency, how many of its latest invited held meetings it missed in a row, and when it last came."""
    meetings = list(
        Meeting.objects.filter(taskforce=taskforce, status=MeetingStatus.SCHEDULED, started_at__isnull=False).order_by(
            "-starts_at", "-pk"
        )[:DORMANT_LOOKBACK]
    )
    invited, present = _agency_presence([m.pk for m in meetings])
    result = []
    for membership in _active(taskforce):
        mine = [m for m in meetings if (m.pk, membership.pk) in invited]  # newest first
        came = [m for m in mine if (m.pk, membership.agency_id) in present]
        missed = next((i for i, m in enumerate(mine) if m in came), len(mine))
        result.append((membership, missed, _local_day(came[0]) if came else None))
    return result


def dormant_measure(taskforce: TaskForce, today: date) -> health.Measure:
    agencies = dormant_agencies(taskforce)
    dormant = [row for row in agencies if row[1] >= DORMANT_AFTER]
    return health.Measure(
        key="meetings.dormant",
        label=_("Dormant agencies"),
        value=str(len(dormant)),
        status=health.GOOD if not dormant else health.WARN if len(dormant) <= 2 else health.BAD,
        target=_("no agency absent from %(n)s meetings in a row") % {"n": DORMANT_AFTER},
        summary=(
            _("Absent %(n)s meetings in a row or more: %(names)s")
            % {"n": DORMANT_AFTER, "names": ", ".join(m.agency.name for m, _missed, _last in dormant)}
            if dormant
            else _("Every active agency came to at least one of its last %(n)s meetings") % {"n": DORMANT_AFTER}
        ),
        link=reverse("members:directory", args=[taskforce.slug]),
        link_label=_("Reach out to them"),
        table=health.Table(
            headers=[_("Agency"), _("Meetings missed in a row"), _("Last attended")],
            rows=[
                [m.agency.name, missed, date_format(last, "Y-m-d") if last else "—"]
                for m, missed, last in sorted(agencies, key=lambda r: (-r[1], r[0].agency.name))
            ],
            caption=_("Over the last %(n)s meetings held") % {"n": DORMANT_LOOKBACK},
        ),
        group=GROUP_MEETINGS,
        order=24,
    )


def feedback_measure(taskforce: TaskForce, today: date) -> health.Measure:
    points = selectors.feedback_trend(taskforce, limit=6)
    responses = sum(p.responses for p in points)
    mean = Feedback.objects.filter(meeting__in=[p.meeting.pk for p in points]).aggregate(mean=Avg("usefulness"))
    average = round(mean["mean"], 1) if responses else 0
    return health.Measure(
        key="meetings.feedback",
        label=_("Meeting usefulness"),
        value=_("%(avg)s of 5") % {"avg": average} if responses else _("No feedback yet"),
        status=health.status_for(average, good=4, warn=3) if responses else health.INFO,
        target=_("members find the meetings useful: 4 of 5 or better"),
        summary=_("%(n)s answers over the last %(m)s meetings with feedback") % {"n": responses, "m": len(points)},
        trend=[(date_format(_local_day(p.meeting), "M j"), p.usefulness) for p in points],
        trend_label=_("Average usefulness (1-5), by meeting"),
        link=reverse("meetings:feedback_trend", args=[taskforce.slug]),
        link_label=_("Read the feedback"),
        table=health.Table(
            headers=[_("Meeting"), _("Date"), _("Answers"), _("Usefulness"), _("Said it started on time")],
            rows=[
                [
                    p.meeting.title,
                    date_format(_local_day(p.meeting), "Y-m-d"),
                    p.responses,
                    p.usefulness,
                    f"{p.on_time_start}%",
                ]
                for p in reversed(points)
            ],
        ),
        group=GROUP_MEETINGS,
        order=25,
    )


# --- the period report: meetings held and attendance ------------------------------------------------------


def meeting_report_sections(taskforce: TaskForce, period: health.Period) -> list[health.ReportSection]:
    queryset = _with_first_circulation(taskforce, period.start, period.end)
    meetings = held_between(taskforce, period.start, period.end, queryset)
    cancelled = len(_between(queryset.filter(status=MeetingStatus.CANCELLED), period.start, period.end))
    ids = [m.pk for m in meetings]
    invited, present = _agency_presence(ids)
    rows = list(
        Attendance.objects.filter(meeting_id__in=ids, status__in=ATTENDED).values_list(
            "meeting_id", "person__agency_id"
        )
    )
    memberships = {m.agency_id: m for m in Membership.objects.filter(taskforce=taskforce).select_related("agency")}
    per_meeting = {pk: 0 for pk in ids}
    per_agency: dict[int, int] = {}
    others = 0
    for meeting_id, agency_id in rows:
        per_meeting[meeting_id] += 1
        if agency_id in memberships:
            per_agency[agency_id] = per_agency.get(agency_id, 0) + 1
        else:
            others += 1
    by_agency = []
    for agency_id, membership in sorted(memberships.items(), key=lambda item: item[1].agency.name):
        invited_to = sum(1 for m in ids if (m, membership.pk) in invited)
        attended = sum(1 for m in ids if (m, agency_id) in present)
        if invited_to or attended:
            by_agency.append([membership.agency.name, attended, invited_to, per_agency.get(agency_id, 0)])
    totals = {
        "meetings": len(meetings),
        "cancelled": cancelled,
        "attendances": len(rows),
        "guests_and_others": others,
        "agencies_attending": sum(1 for row in by_agency if row[1]),
        "average_attendance": round(len(rows) / len(meetings), 1) if meetings else 0,
        "on_time": sum(1 for m in meetings if m.ended_at and all(on_time(m))),
        "agendas_ahead": sum(1 for m in meetings if agenda_ahead(m)),
    }
    table_rows = [*by_agency, [_("Guests and others"), "", "", others], [_("Total"), "", "", len(rows)]]
    held = health.ReportSection(
        key="meetings.held",
        title=_("Meetings held and attendance"),
        table=health.Table(
            headers=[_("Agency"), _("Meetings attended"), _("Invited to"), _("People attending")], rows=table_rows
        ),
        totals=totals,
        note=_(
            "Meetings held: %(meetings)s (cancelled: %(cancelled)s); attendances: %(attendances)s, of which guests and "
            "others %(guests_and_others)s; agencies attending: %(agencies_attending)s; average attendance: "
            "%(average_attendance)s; on time: %(on_time)s; agenda out %(days)s days ahead: %(agendas_ahead)s."
        )
        % {**totals, "days": AGENDA_AHEAD_DAYS},
        order=20,
    )
    listing = health.ReportSection(
        key="meetings.list",
        title=_("Meetings in the period"),
        table=health.Table(
            headers=[
                _("Date"),
                _("Meeting"),
                _("Attending"),
                _("On time"),
                _("Agenda %(n)s days ahead") % {"n": AGENDA_AHEAD_DAYS},
            ],
            rows=[
                [
                    date_format(_local_day(m), "Y-m-d"),
                    m.title,
                    per_meeting[m.pk],
                    _("Yes") if m.ended_at and all(on_time(m)) else _("No"),
                    _("Yes") if agenda_ahead(m) else _("No"),
                ]
                for m in meetings
            ],
        ),
        totals={"meetings": len(meetings), "attendances": sum(per_meeting.values())},
        order=21,
    )
    return [held, listing]
