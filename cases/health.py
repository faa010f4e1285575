"""The cases app's health measure and report section (registered in cases.apps.ready): counts only.

No case's number, label or any detail leaves here: only how many reviews were held, of how many different
cases, at how many meetings, by month. The health page is for coordinators and site admins.
A review counts on the day it was held (CaseReview.held_on).
"""

from __future__ import annotations

from datetime import date

from django.db.models import Count, Q
from django.db.models.functions import TruncMonth
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from cases.models import CaseReview
from taskforce import health
from taskforce.models import TaskForce

GROUP = _("Case review")


def register_providers() -> None:
    health.register_measures(measures)
    health.register_report_section(report_sections)


def _reviews(taskforce: TaskForce, first: date, last: date):
    return CaseReview.objects.filter(case__taskforce=taskforce, held_on__gte=first, held_on__lte=last)


def _by_month(taskforce: TaskForce, first: date, last: date) -> dict[date, dict[str, int]]:
    """Reviews and different cases per month, in one query."""
    rows = (
        _reviews(taskforce, first, last)
        .annotate(month=TruncMonth("held_on"))
        .values("month")
        .annotate(reviews=Count("pk"), cases=Count("case", distinct=True))
    )
    found = {}
    for row in rows:
        month = row["month"]  # a date: the truncated field is a DateField
        found[date(month.year, month.month, 1)] = {"reviews": row["reviews"], "cases": row["cases"]}
    return found


def _totals(taskforce: TaskForce, first: date, last: date) -> dict[str, int]:
    return _reviews(taskforce, first, last).aggregate(
        reviews=Count("pk"), cases=Count("case", distinct=True), meetings=Count("meeting", distinct=True)
    )


def measures(taskforce: TaskForce, today: date) -> list[health.Measure]:
    windows = health.months_back(today, 6)
    # One aggregate query: the six months' totals and each month's counts (conditional aggregates).
    aggregates = {
        "reviews": Count("pk"),
        "cases": Count("case", distinct=True),
        "meetings": Count("meeting", distinct=True),
    }
    for index, (_label, first, last) in enumerate(windows):
        in_month = Q(held_on__gte=first, held_on__lte=last)
        aggregates[f"reviews_{index}"] = Count("pk", filter=in_month)
        aggregates[f"cases_{index}"] = Count("case", distinct=True, filter=in_month)
    found = _reviews(taskforce, windows[0][1], today).aggregate(**aggregates)
    totals = {key: found[key] for key in ("reviews", "cases", "meetings")}
    months = {
        first: {"reviews": found[f"reviews_{index}"], "cases": found[f"cases_{index}"]}
        for index, (_label, first, _last) in enumerate(windows)
    }
    trend = [(label, months.get(first, {}).get("reviews", 0)) for label, first, _last in windows]
    return [
        health.Measure(
            key="cases.reviews",
            label=_("Case reviews held"),
            value=str(totals["reviews"]),
            status=health.INFO,
            target=_("cases reviewed by the task force as they need it"),
            summary=_("%(cases)s different cases at %(meetings)s meetings in the last six months") % totals,
            trend=trend,
            trend_label=_("Case reviews held, by month"),
            link=reverse("cases:list", args=[taskforce.slug]),
            link_label=_("Open the case list"),
            table=health.Table(
                headers=[_("Month"), _("Reviews"), _("Different cases")],
                rows=[
                    [label, months.get(first, {}).get("reviews", 0), months.get(first, {}).get("cases", 0)]
                    for label, first, _last in windows
                ],
                caption=_("Counts only: no case is named"),
            ),
            group=GROUP,
            order=90,
        )
    ]


# --- the period report ----------------------------------------------------------------------------------


def _months_of(period: health.Period) -> list[date]:
    months, day = [], period.start
    while day <= period.end:
        months.append(day)
        day = date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)
    return months


def report_sections(taskforce: TaskForce, period: health.Period) -> list[health.ReportSection]:
    months = _by_month(taskforce, period.start, period.end)
    totals = _totals(taskforce, period.start, period.end)
    rows = [
        [date_format(first, "F Y"), months.get(first, {}).get("reviews", 0), months.get(first, {}).get("cases", 0)]
        for first in _months_of(period)
    ]
    rows.append([_("Total"), totals["reviews"], totals["cases"]])
    return [
        health.ReportSection(
            key="cases.reviews",
            title=_("Case reviews held"),
            table=health.Table(headers=[_("Month"), _("Reviews"), _("Different cases")], rows=rows),
            totals=totals,
            note=_(
                "Case reviews held: %(reviews)s, of %(cases)s different cases, at %(meetings)s meetings. Counts only: "
                "no case detail leaves the case files."
            )
            % totals,
            order=60,
        )
    ]
