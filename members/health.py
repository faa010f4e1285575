"""The members app's health measures and report sections (registered in members.apps.ready).

Thresholds, in one place so the dashboard's colours can be explained:
- sector coverage: on track with 15 of the 20 components covered by an agency with a liaison, attention at 8;
- charter: on track once the mission statement and shared values are written and the charter adopted;
- roles and responsibilities: on track when every active agency has them written, attention at 75%;
- training coverage of the core topics: on track at 80% current, attention at 50%;
- joint training and team activities: a joint training in the last six months and a team activity in the year;
- rural and tribal participation: at least one active agency serving each;
- action plan: any goal past its target date and not achieved is overdue (act now); at risk needs attention.

A membership counts as a member on a day when it joined on or before it and had not withdrawn by then.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.db.models import Count, Q
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from members import selectors
from members.models import (
    Goal,
    GoalStatus,
    Membership,
    MembershipStatus,
    Sector,
    TrainingAttendance,
    TrainingEvent,
    TrainingKind,
)
from taskforce import health
from taskforce.models import TaskForce

GROUP_MEMBERSHIP = _("Membership and charter")
GROUP_TRAINING = _("Training and team")
GROUP_PLAN = _("Action plan")


def register_providers() -> None:
    health.register_measures(measures)
    health.register_report_section(report_sections)


def _yes(flag: bool) -> str:
    return _("Yes") if flag else _("No")


def members_on(taskforce: TaskForce, day: date):
    """Memberships that were members on `day` (joined by then, not withdrawn by then)."""
    return Membership.objects.filter(taskforce=taskforce, joined_on__lte=day).filter(
        Q(withdrawn_on__isnull=True) | Q(withdrawn_on__gt=day)
    )


def memberships(taskforce: TaskForce) -> list[Membership]:
    """All the task force's memberships with agency and liaison, by agency name: read once per dashboard."""
    return health.shared(
        ("members.memberships", taskforce.pk),
        lambda: list(
            Membership.objects.filter(taskforce=taskforce)
            .select_related("agency", "liaison")
            .order_by("agency__name", "pk")
        ),
    )


def active_memberships(taskforce: TaskForce) -> list[Membership]:
    """The active memberships, by agency name (from memberships(): no query of its own)."""
    return [m for m in memberships(taskforce) if m.status == MembershipStatus.ACTIVE]


def _member_on(joined_on: date | None, withdrawn_on: date | None, day: date) -> bool:
    """members_on()'s test for one membership's dates, for trends read in one query."""
    return joined_on is not None and joined_on <= day and (withdrawn_on is None or withdrawn_on > day)


def measures(taskforce: TaskForce, today: date) -> list[health.Measure]:
    return [
        sector_measure(taskforce, today),
        charter_measure(taskforce, today),
        roles_measure(taskforce, today),
        training_measure(taskforce, today),
        team_measure(taskforce, today),
        rural_tribal_measure(taskforce, today),
        action_plan_measure(taskforce, today),
    ]


# --- measures -------------------------------------------------------------------------------------------


def sector_measure(taskforce: TaskForce, today: date) -> health.Measure:
    everyone = memberships(taskforce)
    rows = selectors.sector_coverage(taskforce, everyone)
    counts = selectors.coverage_counts(rows)
    state_labels = {"covered": _("Covered"), "no_liaison": _("Present, no liaison"), "missing": _("Missing")}
    # members_on(), month by month, over the memberships already read
    trend = [
        (label, len({m.agency.sector for m in everyone if _member_on(m.joined_on, m.withdrawn_on, last)}))
        for label, _first, last in health.months_back(today, 6)
    ]
    return health.Measure(
        key="members.sectors",
        label=_("Sector coverage"),
        value=_("%(n)s of %(total)s") % {"n": counts["covered"], "total": len(rows)},
        status=health.status_for(counts["covered"], good=15, warn=8),
        target=_("the 20 components of a multi-sector response, each with a liaison"),
        summary=_("%(no)s present without a liaison, %(missing)s missing")
        % {"no": counts["no_liaison"], "missing": counts["missing"]},
        trend=trend,
        trend_label=_("Sectors with a member agency, by month"),
        link=reverse("members:sectors", args=[taskforce.slug]),
        link_label=_("Fill the gaps"),
        table=health.Table(
            headers=[_("Sector"), _("State"), _("Agencies")],
            rows=[
                [row.label, str(state_labels[row.state]), ", ".join(m.agency.name for m in row.memberships) or "—"]
                for row in sorted(rows, key=lambda r: (["missing", "no_liaison", "covered"].index(r.state), r.label))
            ],
            caption=_("Each of the 20 sectors and the agencies that represent it"),
        ),
        group=GROUP_MEMBERSHIP,
        order=10,
    )


def charter_measure(taskforce: TaskForce, today: date) -> health.Measure:
    mission = bool(taskforce.mission_statement.strip())
    values = [line for line in taskforce.shared_values.splitlines() if line.strip()]
    adopted = taskforce.charter_adopted_on
    if mission and values and adopted:
        status, value = health.GOOD, _("Adopted")
    elif mission or values:
        status, value = health.WARN, _("Drafted, not adopted") if not adopted else _("Incomplete")
    else:
        status, value = health.BAD, _("Not written")
    return health.Measure(
        key="members.charter",
        label=_("Mission and shared values"),
        value=str(value),
        status=status,
        target=_("a clear mission statement representing shared values, adopted by the task force"),
        summary=_("Adopted on %(day)s") % {"day": date_format(adopted)} if adopted else _("No adoption date recorded"),
        link=reverse("taskforce:charter_edit", args=[taskforce.slug]),
        link_label=_("Edit the charter"),
        table=health.Table(
            headers=[_("Part"), _("State")],
            rows=[
                [_("Mission statement"), _("Written") if mission else _("Missing")],
                [_("Shared values"), _("%(n)s listed") % {"n": len(values)} if values else _("Missing")],
                [_("Adopted on"), date_format(adopted) if adopted else "—"],
                [_("Charter version"), taskforce.charter_version],
            ],
        ),
        group=GROUP_MEMBERSHIP,
        order=20,
        snapshot=100 if status == health.GOOD else 50 if status == health.WARN else 0,
        trend_unit="%",
        trend_label=_("Charter complete and adopted (100), drafted (50), missing (0), by month"),
    )


def roles_measure(taskforce: TaskForce, today: date) -> health.Measure:
    active = active_memberships(taskforce)
    defined = [m for m in active if m.roles_and_responsibilities.strip()]
    share = health.percent(len(defined), len(active))
    return health.Measure(
        key="members.roles",
        label=_("Roles and responsibilities defined"),
        value=_("%(n)s of %(total)s agencies") % {"n": len(defined), "total": len(active)},
        status=health.status_for(share, good=100, warn=75) if active else health.BAD,
        target=_("every member agency, with its response to trafficking"),
        summary=_("%(share)s%% of active agencies") % {"share": share},
        link=reverse("members:directory", args=[taskforce.slug]),
        link_label=_("Open the directory"),
        table=health.Table(
            headers=[
                _("Agency"),
                _("Roles defined"),
                _("Response described"),
                _("Commitment acknowledged"),
                _("Liaison"),
            ],
            rows=[
                [
                    m.agency.name,
                    _yes(bool(m.roles_and_responsibilities.strip())),
                    _yes(bool(m.response_commitments.strip())),
                    _yes(bool(m.commitment_acknowledged_at)),
                    m.liaison.full_name if m.liaison else "—",
                ]
                for m in sorted(active, key=lambda m: (bool(m.roles_and_responsibilities.strip()), m.agency.name))
            ],
        ),
        group=GROUP_MEMBERSHIP,
        order=30,
        snapshot=share,
        trend_unit="%",
        trend_label=_("Active agencies with roles defined, by month"),
    )


def _trainings(taskforce: TaskForce):
    return TrainingEvent.objects.filter(taskforce=taskforce).exclude(kind=TrainingKind.TEAM_ACTIVITY)


def training_measure(taskforce: TaskForce, today: date) -> health.Measure:
    topics, rows = selectors.training_matrix(taskforce)
    gaps = selectors.training_gaps(rows, topics)["agency"]
    possible = sum(g.possible for g in gaps)
    missing = sum(g.gaps for g in gaps)
    share = health.percent(possible - missing, possible)
    windows = health.months_back(today, 6)
    attended = set(
        TrainingAttendance.objects.filter(
            event__in=_trainings(taskforce), event__held_on__gte=windows[0][1], event__held_on__lte=windows[-1][2]
        ).values_list("person_id", "event__held_on")
    )  # one query for the whole trend
    trend = [
        (label, len({person for person, held_on in attended if first <= held_on <= last}))
        for label, first, last in windows
    ]
    return health.Measure(
        key="members.training",
        label=_("Training coverage of the core topics"),
        value=f"{share}%",
        status=health.status_for(share, good=80, warn=50) if possible else health.BAD,
        target=_("everyone current on every core topic"),
        summary=_("%(topics)s core topics, %(people)s people") % {"topics": len(topics), "people": len(rows)},
        trend=trend,
        trend_label=_("People trained, by month"),
        link=reverse("members:training_matrix", args=[taskforce.slug]),
        link_label=_("See the training matrix"),
        table=health.Table(
            headers=[_("Agency"), _("People"), _("Missing or expired"), _("Coverage")],
            rows=[[g.label, g.people, g.gaps, f"{g.coverage}%"] for g in gaps],
            caption=_("Coverage of the core topics by agency, lowest first"),
        ),
        group=GROUP_TRAINING,
        order=60,
    )


def team_measure(taskforce: TaskForce, today: date) -> health.Measure:
    quarters = health.quarters_back(today, 4)
    year_ago = today - timedelta(days=365)
    # One query: every event's kind and date over the quarters and the last twelve months, counted in Python.
    events = list(
        TrainingEvent.objects.filter(
            taskforce=taskforce,
            held_on__gte=min(quarters[0][1], year_ago),
            held_on__lte=max(quarters[-1][2], today),
        ).values_list("kind", "held_on")
    )
    has_joint = any(k == TrainingKind.JOINT and today - timedelta(days=183) < d <= today for k, d in events)
    has_team = any(k == TrainingKind.TEAM_ACTIVITY and year_ago < d <= today for k, d in events)
    status = health.GOOD if has_joint and has_team else health.WARN if has_joint or has_team else health.BAD
    joint_or_team = (TrainingKind.JOINT, TrainingKind.TEAM_ACTIVITY)
    trend = [
        (label, sum(1 for k, d in events if k in joint_or_team and first <= d <= last))
        for label, first, last in quarters
    ]
    by_kind: dict[str, int] = {}
    for kind, held_on in events:
        if year_ago < held_on <= today:
            by_kind[kind] = by_kind.get(kind, 0) + 1
    return health.Measure(
        key="members.team",
        label=_("Joint training and team activities"),
        value=_("%(joint)s joint · %(team)s team")
        % {"joint": by_kind.get(TrainingKind.JOINT, 0), "team": by_kind.get(TrainingKind.TEAM_ACTIVITY, 0)},
        status=status,
        target=_("a joint training every six months and a team activity every year"),
        summary=_("in the last twelve months"),
        trend=trend,
        trend_label=_("Joint trainings and team activities, by quarter"),
        link=reverse("members:training_new", args=[taskforce.slug]),
        link_label=_("Plan one"),
        table=health.Table(
            headers=[_("Kind"), _("Last twelve months")],
            rows=[[str(label), by_kind.get(value, 0)] for value, label in TrainingKind.choices],
        ),
        group=GROUP_TRAINING,
        order=65,
    )


def rural_tribal_measure(taskforce: TaskForce, today: date) -> health.Measure:
    reach = [m for m in active_memberships(taskforce) if m.agency.is_rural or m.agency.is_tribal]
    rural = sum(1 for m in reach if m.agency.is_rural)
    tribal = sum(1 for m in reach if m.agency.is_tribal)
    year_ago = today - timedelta(days=365)
    trained = dict(
        TrainingAttendance.objects.filter(
            event__in=_trainings(taskforce).filter(held_on__gt=year_ago, held_on__lte=today),
            person__agency__in=[m.agency_id for m in reach],
        )
        .values_list("person__agency")
        .annotate(n=Count("person", distinct=True))
    )
    status = health.GOOD if rural and tribal else health.WARN if rural or tribal else health.BAD
    serving = [m for m in memberships(taskforce) if m.agency.is_rural or m.agency.is_tribal]
    trend = [
        (label, sum(1 for m in serving if _member_on(m.joined_on, m.withdrawn_on, last)))
        for label, _first, last in health.months_back(today, 6)
    ]
    return health.Measure(
        key="members.rural_tribal",
        label=_("Rural and tribal participation"),
        value=_("%(rural)s rural · %(tribal)s tribal") % {"rural": rural, "tribal": tribal},
        status=status,
        target=_("agencies serving the rural and tribal communities of the region"),
        summary=_("active agencies; resources are scarcest there"),
        trend=trend,
        trend_label=_("Member agencies serving rural or tribal communities, by month"),
        link=reverse("members:onboard", args=[taskforce.slug]),
        link_label=_("Invite an agency"),
        table=health.Table(
            headers=[_("Agency"), _("Rural"), _("Tribal"), _("People trained (12 months)")],
            rows=[
                [m.agency.name, _yes(m.agency.is_rural), _yes(m.agency.is_tribal), trained.get(m.agency_id, 0)]
                for m in reach
            ],
        ),
        group=GROUP_MEMBERSHIP,
        order=40,
    )


def _goal_is_overdue(goal: Goal, today: date) -> bool:
    return goal.target_on < today and goal.status not in (GoalStatus.ACHIEVED, GoalStatus.DROPPED)


def action_plan_measure(taskforce: TaskForce, today: date) -> health.Measure:
    goals = list(Goal.objects.filter(taskforce=taskforce).exclude(status=GoalStatus.DROPPED))
    overdue = [g for g in goals if _goal_is_overdue(g, today)]
    at_risk = [g for g in goals if g.status == GoalStatus.AT_RISK]
    achieved = [g for g in goals if g.status == GoalStatus.ACHIEVED]
    average = round(sum(g.progress for g in goals) / len(goals)) if goals else 0
    if not goals:
        status = health.WARN
    elif overdue:
        status = health.BAD
    elif at_risk:
        status = health.WARN
    else:
        status = health.GOOD
    return health.Measure(
        key="members.action_plan",
        label=_("Action plan progress"),
        value=f"{average}%",
        status=status,
        target=_("goals on track and met by their target dates"),
        summary=_("%(goals)s goals: %(overdue)s overdue, %(risk)s at risk, %(done)s achieved")
        % {"goals": len(goals), "overdue": len(overdue), "risk": len(at_risk), "done": len(achieved)},
        link=reverse("members:plan", args=[taskforce.slug]),
        link_label=_("Review the plan"),
        table=health.Table(
            headers=[_("Goal"), _("Status"), _("Progress"), _("Target date"), _("Overdue")],
            rows=[
                [
                    g.title,
                    g.get_status_display(),
                    f"{g.progress}%",
                    date_format(g.target_on),
                    _yes(_goal_is_overdue(g, today)),
                ]
                for g in goals
            ],
        ),
        group=GROUP_PLAN,
        order=80,
        snapshot=average,
        trend_unit="%",
        trend_label=_("Average goal progress, by month"),
    )


# --- the period report ----------------------------------------------------------------------------------


def report_sections(taskforce: TaskForce, period: health.Period) -> list[health.ReportSection]:
    return [agencies_section(taskforce, period), training_section(taskforce, period), plan_section(taskforce, period)]


def agencies_section(taskforce: TaskForce, period: health.Period) -> health.ReportSection:
    members = list(members_on(taskforce, period.end).select_related("agency"))
    by_sector = {value: 0 for value in Sector.values}
    for membership in members:
        by_sector[membership.agency.sector] += 1
    joined = Membership.objects.filter(taskforce=taskforce, joined_on__range=(period.start, period.end)).count()
    withdrawn = Membership.objects.filter(taskforce=taskforce, withdrawn_on__range=(period.start, period.end)).count()
    totals = {
        "agencies": len(members),
        "sectors": sum(1 for n in by_sector.values() if n),
        "joined": joined,
        "withdrawn": withdrawn,
        "rural": sum(1 for m in members if m.agency.is_rural),
        "tribal": sum(1 for m in members if m.agency.is_tribal),
    }
    rows = [[str(label), by_sector[value]] for value, label in Sector.choices]
    rows.append([_("Total member agencies"), totals["agencies"]])
    return health.ReportSection(
        key="members.agencies",
        title=_("Member agencies by sector"),
        table=health.Table(headers=[_("Sector"), _("Agencies")], rows=rows),
        totals=totals,
        note=_(
            "Member agencies at the end of the period: %(agencies)s, in %(sectors)s of the 20 sectors; serving rural "
            "communities: %(rural)s; tribal: %(tribal)s. Joined during the period: %(joined)s; withdrew: %(withdrawn)s."
        )
        % totals,
        order=10,
    )


def training_section(taskforce: TaskForce, period: health.Period) -> health.ReportSection:
    events = list(
        TrainingEvent.objects.filter(taskforce=taskforce, held_on__range=(period.start, period.end))
        .prefetch_related("topics")
        .annotate(attended=Count("attendances"))
        .order_by("held_on", "pk")
    )
    trainings = [e for e in events if e.kind != TrainingKind.TEAM_ACTIVITY]
    people = (
        TrainingAttendance.objects.filter(event__in=[e.pk for e in trainings]).values("person_id").distinct().count()
    )
    totals = {
        "trainings": len(trainings),
        "attendances": sum(e.attended for e in trainings),
        "people_trained": people,
        "training_hours": round(sum(e.duration_minutes for e in trainings) / 60, 1),
        "team_activities": len(events) - len(trainings),
    }
    rows = [
        [
            date_format(e.held_on, "Y-m-d"),
            e.title,
            e.get_kind_display(),
            ", ".join(t.name for t in e.topics.all()) or "—",
            e.attended,
        ]
        for e in events
    ]
    return health.ReportSection(
        key="members.training",
        title=_("Trainings and people trained"),
        table=health.Table(headers=[_("Date"), _("Event"), _("Kind"), _("Topics"), _("Attended")], rows=rows),
        totals=totals,
        note=_(
            "Trainings: %(trainings)s (%(training_hours)s hours); attendances: %(attendances)s; different people "
            "trained: %(people_trained)s; team activities: %(team_activities)s."
        )
        % totals,
        order=50,
    )


def plan_section(taskforce: TaskForce, period: health.Period) -> health.ReportSection:
    goals = list(Goal.objects.filter(taskforce=taskforce).exclude(status=GoalStatus.DROPPED))
    by_status = {value: 0 for value in GoalStatus.values}
    for goal in goals:
        by_status[goal.status] += 1
    totals = {
        "goals": len(goals),
        "achieved": by_status[GoalStatus.ACHIEVED],
        "on_track": by_status[GoalStatus.ON_TRACK],
        "at_risk": by_status[GoalStatus.AT_RISK],
        "not_started": by_status[GoalStatus.NOT_STARTED],
        "average_progress": round(sum(g.progress for g in goals) / len(goals)) if goals else 0,
        "due_in_period": sum(1 for g in goals if period.contains(g.target_on)),
    }
    return health.ReportSection(
        key="members.action_plan",
        title=_("Action plan progress"),
        table=health.Table(
            headers=[_("Goal"), _("Status"), _("Progress"), _("Target date")],
            rows=[
                [g.title, g.get_status_display(), f"{g.progress}%", date_format(g.target_on, "Y-m-d")] for g in goals
            ],
        ),
        totals=totals,
        note=_(
            "Goals: %(goals)s (status as last recorded); achieved: %(achieved)s; on track: %(on_track)s; at risk: "
            "%(at_risk)s; not started: %(not_started)s; average progress: %(average_progress)s%%; target date in the "
            "period: %(due_in_period)s."
        )
        % totals,
        order=70,
    )
