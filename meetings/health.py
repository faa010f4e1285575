"""The meetings app's health measures for action items (registered in meetings.apps.ready).

Thresholds:
- action items overdue: on track with none, attention with up to three, act now beyond;
- report-backs on time (updates in by the report-back date, over the cycles due in the last six months):
  on track at 80%, attention at 50%.
"""

from __future__ import annotations

from datetime import date

from django.urls import reverse
from django.utils.translation import gettext as _

from meetings import actions
from meetings.models import ReportBack
from taskforce import health
from taskforce.models import TaskForce

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
    trend = []
    for label, first, last in windows:
        cycles = [c for c in _cycles_due(taskforce, first, min(last, today)) if c.due_on <= today]
        trend.append((label, health.percent(sum(c.on_time for c in cycles), len(cycles))))
    cycles = [c for c in _cycles_due(taskforce, windows[0][1], today) if c.due_on <= today]
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
