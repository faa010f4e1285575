"""Task force health: apps register measures and report sections; the core renders whatever is registered.

The coordinators' health dashboard turns the fact sheet's key features into measures, and the period
report for funders and leadership is built from report sections. The core never imports an app: each
app registers its providers in its AppConfig.ready(), as with dashboard cards (taskforce/dashboard.py).

Two kinds of provider
---------------------
A **measure provider** takes `(taskforce, today)` and returns a list of `Measure`:

    def mou_measures(taskforce: TaskForce, today: date) -> list[health.Measure]:
        signed, total = ...
        return [
            health.Measure(
                key="mous.coverage",                       # unique, stable: "<app>.<name>"
                label=_("MOU coverage"),
                value=f"{signed} of {total}",               # what the tile shows, already formatted
                target=_("every active agency"),            # what good looks like, in words ("" if none)
                status=health.status_for(signed / total * 100, good=100, warn=75),  # GOOD, WARN, BAD or INFO
                summary=_("3 agencies still to sign"),      # one line under the value
                trend=[("Jul", 4), ("Aug", 6), ...],        # (period label, number), oldest first; [] if none
                trend_unit="%",                             # shown after trend numbers ("" for counts)
                link=reverse("mous:list", args=[taskforce.slug]),  # where to go to fix it
                link_label=_("Chase signatures"),
                table=health.Table(headers=[...], rows=[[...], ...]),  # the accessible detail behind it
                group=_("Agreements"),                      # measures are shown grouped, in ORDER of groups
                order=30,                                   # position within the dashboard
            )
        ]

    health.register_measures(mou_measures)

A **report-section provider** takes `(taskforce, period)` and returns a list of `ReportSection` for the
period report (PDF and CSV). Counts only: never a case's or a person's details beyond names of agencies.

    def mou_report(taskforce: TaskForce, period: health.Period) -> list[health.ReportSection]:
        return [
            health.ReportSection(
                key="mous.status",
                title=_("MOU status at the end of the period"),
                table=health.Table(headers=[_("Status"), _("Agencies")], rows=[["Signed", 12], ...]),
                totals={"signed": 12, "pending": 3},   # the headline numbers (tests reconcile these)
                note=_("Letters of understanding count as participation without a signature."),
                order=30,
            )
        ]

    health.register_report_section(mou_report)

The CSV has one row per table row: `section key, section title, *cells`, with a header row per section.
Cells are strings or numbers; formulas are neutralised when the CSV is written, not by providers.

Failures: a measure provider that raises is logged and shown as one "unavailable" tile, so a half-built app
never takes the coordinators' dashboard down; a report-section provider that raises fails the report,
because a funder must never receive partial numbers that look complete.

Trend periods: use `months_back(today, n)` / `quarters_back(today, n)` for the (label, start, end) windows
so every measure's trend lines up with the others. Charts are drawn server-side as SVG by `chart()`, with
the same numbers in a table beside them.
"""

from __future__ import annotations

import calendar
import csv
import io
import logging
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.core.cache import cache
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from taskforce.models import HealthSnapshot, TaskForce

logger = logging.getLogger(__name__)

GOOD, WARN, BAD, INFO = "good", "warn", "bad", "info"
STATUS_LABELS = {GOOD: _("On track"), WARN: _("Needs attention"), BAD: _("Act now"), INFO: _("For information")}


@dataclass
class Table:
    headers: list[Any]
    rows: list[list[Any]] = field(default_factory=list)
    caption: str = ""


@dataclass
class Measure:
    key: str
    label: str
    value: str
    status: str = INFO
    target: str = ""
    summary: str = ""
    trend: list[tuple[str, float]] = field(default_factory=list)
    trend_unit: str = ""
    trend_label: str = ""
    link: str = ""
    link_label: str = ""
    table: Table | None = None
    group: str = ""
    order: int = 100
    # For a measure with no history in the records: the number to keep once a month, so a trend builds up
    # (see record_snapshots). Leave None when `trend` is computed from the records.
    snapshot: float | None = None

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS.get(self.status, ""))

    @property
    def chart(self) -> Chart | None:
        return chart(self.trend, unit=self.trend_unit) if len(self.trend) >= 2 else None

    @property
    def trend_direction(self) -> str:
        """up, down or flat: the last trend point against the one before it."""
        if len(self.trend) < 2:
            return ""
        last, before = self.trend[-1][1], self.trend[-2][1]
        return "up" if last > before else "down" if last < before else "flat"


@dataclass
class ReportSection:
    key: str
    title: str
    table: Table
    totals: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    order: int = 100


MeasureProvider = Callable[[TaskForce, date], list[Measure]]
SectionProvider = Callable[[TaskForce, "Period"], list[ReportSection]]
_measure_providers: list[MeasureProvider] = []
_section_providers: list[SectionProvider] = []


def register_measures(provider: MeasureProvider) -> MeasureProvider:
    if provider not in _measure_providers:
        _measure_providers.append(provider)
    return provider


def register_report_section(provider: SectionProvider) -> SectionProvider:
    if provider not in _section_providers:
        _section_providers.append(provider)
    return provider


_shared: ContextVar[dict[Any, Any] | None] = ContextVar("health_shared", default=None)


def shared(key: Any, compute: Callable[[], Any]) -> Any:
    """A value several providers read (e.g. the active memberships), computed once per measures_for() call.

    Outside measures_for() it is simply computed. Nothing is kept beyond the call, so the numbers are always
    read from the records of the moment; providers must not mutate what they get.
    """
    cache = _shared.get()
    if cache is None:
        return compute()
    if key not in cache:
        cache[key] = compute()
    return cache[key]


def measures_for(taskforce: TaskForce, today: date) -> list[Measure]:
    """Every registered measure. A provider that fails shows as one unavailable tile, not a broken page."""
    token = _shared.set({})
    try:
        return _measures_for(taskforce, today)
    finally:
        _shared.reset(token)


# The dashboard's figures are read from the cache for up to an hour. Computing them reads every app's records
# (about 25 queries, some over all of the task force's meetings, action items and trainings), and that cost
# grows with the records; the figures are monthly and quarterly trends that an hour changes little.
DASHBOARD_CACHE_SECONDS = 3600


@dataclass
class DashboardFigures:
    measures: list[Measure]
    computed_at: datetime
    cache_key: str  # "" when they are not cached (a provider failed): nothing rendered from them is kept either


def dashboard_measures(taskforce: TaskForce, today: date) -> DashboardFigures:
    """measures_for() as the health dashboard shows it: computed at most once an hour per task force, and when.

    Safe to share between viewers: measures_for() takes no person, the figures are the task force's aggregates,
    and the view lets only the people who manage the task force (taskforce.manage_members) reach this. The key
    names the task force by pk and creation time (a database rebuilt under the same Redis reuses pks), the
    local day, the language (values and summaries are formatted in it) and the hour. The period reports and
    record_snapshots() call measures_for() itself: a report for a funder is read from the records of the moment.
    """
    now = timezone.now()
    key = ":".join(
        [
            "taskforce:health",
            str(taskforce.pk),
            f"{taskforce.created_at.timestamp():.6f}",
            today.isoformat(),
            translation.get_language() or "",
            now.strftime("%Y%m%d%H"),
        ]
    )
    cached = cache.get(key)
    if cached is not None:
        measures, computed_at = cached
        return DashboardFigures(measures, computed_at, key)
    measures = measures_for(taskforce, today)
    # A provider that failed shows as unavailable for this request only: the next one tries again.
    if any(m.key.startswith("unavailable:") for m in measures):
        return DashboardFigures(measures, now, "")
    cache.set(key, (measures, now), DASHBOARD_CACHE_SECONDS)
    return DashboardFigures(measures, now, key)


def warm_dashboards() -> int:
    """Compute each task force's dashboard figures for this hour before its first coordinator opens the page.

    Beat runs this on the hour (taskforce.tasks.warm_health_dashboards): a statewide task force's figures take
    seconds to compute (4 s at bench size L), which the first manager of the hour would otherwise wait for.
    Keyed as the view keys them: in the task force's own time zone and in every language the site speaks.
    Returns how many sets of figures are ready; one task force failing does not stop the others.
    """
    from django.conf import settings

    languages = dict.fromkeys([settings.LANGUAGE_CODE, *(code for code, _name in settings.LANGUAGES)])
    ready = 0
    for taskforce in TaskForce.objects.order_by("pk"):
        try:
            with timezone.override(taskforce.time_zone or settings.TIME_ZONE):
                today = timezone.localdate()
                for language in languages:
                    with translation.override(language):
                        ready += bool(dashboard_measures(taskforce, today).cache_key)
        except Exception:
            logger.exception("Warming the health dashboard of task force %s failed", taskforce.pk)
    return ready


def _measures_for(taskforce: TaskForce, today: date) -> list[Measure]:
    measures: list[Measure] = []
    for provider in _measure_providers:
        try:
            measures.extend(provider(taskforce, today))
        except Exception:
            name = f"{provider.__module__}.{provider.__qualname__}"
            logger.exception("Health measure provider %s failed", name)
            measures.append(
                Measure(
                    key=f"unavailable:{name}",
                    label=str(_("Some measures are unavailable")),
                    value=str(_("Not computed")),
                    summary=str(_("An error was logged; the other measures are unaffected.")),
                    group=str(_("Unavailable")),
                    order=10_000,
                )
            )
    _trends_from_snapshots(taskforce, today, measures)
    return sorted(measures, key=lambda m: (m.order, m.key))


SNAPSHOT_MONTHS = 6


def _trends_from_snapshots(taskforce: TaskForce, today: date, measures: list[Measure]) -> None:
    """Give measures kept by snapshot their trend: the kept months, then this month's live value. One query."""
    kept = [m for m in measures if m.snapshot is not None and not m.trend]
    if not kept:
        return
    windows = months_back(today, SNAPSHOT_MONTHS)
    values: dict[tuple[str, date], float] = {
        (key, month): value
        for key, month, value in HealthSnapshot.objects.filter(
            taskforce=taskforce, key__in=[m.key for m in kept], month__gte=windows[0][1]
        ).values_list("key", "month", "value")
    }
    for measure in kept:
        points = [
            (label, values[(measure.key, start)])
            for label, start, _end in windows[:-1]
            if (measure.key, start) in values
        ]
        measure.trend = [*points, (windows[-1][0], measure.snapshot)]
        measure.trend_label = measure.trend_label or str(_("Kept once a month"))


def record_snapshots(now: Any = None) -> int:
    """Keep this month's value of every snapshot measure of every task force (hourly; once a day in effect)."""
    today = timezone.localdate()
    month = today.replace(day=1)
    recorded = 0
    done_today = set(
        HealthSnapshot.objects.filter(month=month, recorded_on=today).values_list("taskforce_id", flat=True).distinct()
    )
    for taskforce in TaskForce.objects.exclude(pk__in=done_today):
        for measure in measures_for(taskforce, today):
            if measure.snapshot is None:
                continue
            HealthSnapshot.objects.update_or_create(
                taskforce=taskforce,
                key=measure.key,
                month=month,
                defaults={"value": float(measure.snapshot), "recorded_on": today},
            )
            recorded += 1
    return recorded


def grouped(measures: list[Measure]) -> list[tuple[str, list[Measure]]]:
    """Measures by group, groups in the order their first measure comes."""
    groups: dict[str, list[Measure]] = {}
    for measure in measures:
        groups.setdefault(str(measure.group), []).append(measure)
    return list(groups.items())


def report_for(taskforce: TaskForce, period: Period) -> list[ReportSection]:
    """Every registered section. A failing provider fails the report: a funder must not get partial numbers."""
    sections = [section for provider in _section_providers for section in provider(taskforce, period)]
    return sorted(sections, key=lambda s: (s.order, s.key))


def status_for(value: float, *, good: float, warn: float) -> str:
    """Higher is better: GOOD at or above `good`, WARN at or above `warn`, else BAD."""
    return GOOD if value >= good else WARN if value >= warn else BAD


def percent(part: float, whole: float) -> int:
    return round(100 * part / whole) if whole else 0


# --- periods ----------------------------------------------------------------------------------------------

PERIOD_KINDS = {"quarter": 3, "half": 6, "year": 12}


@dataclass(frozen=True)
class Period:
    kind: str  # quarter, half, year
    year: int
    number: int  # 1-4 for quarters, 1-2 for halves, 1 for a year

    @property
    def start(self) -> date:
        months = PERIOD_KINDS[self.kind]
        return date(self.year, 1 + months * (self.number - 1), 1)

    @property
    def end(self) -> date:
        months = PERIOD_KINDS[self.kind]
        last_month = months * self.number
        return date(self.year, last_month, calendar.monthrange(self.year, last_month)[1])

    @property
    def label(self) -> str:
        if self.kind == "quarter":
            return f"Q{self.number} {self.year}"
        if self.kind == "half":
            return f"H{self.number} {self.year}"
        return str(self.year)

    @property
    def slug(self) -> str:
        return self.label.replace(" ", "-").lower()

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    @classmethod
    def parse(cls, kind: str | None, year: Any, number: Any) -> Period | None:
        """A period from query parameters, or None if they do not make one."""
        try:
            year, number = int(year), int(number or 1)
        except (TypeError, ValueError):
            return None
        if kind not in PERIOD_KINDS or not 2000 <= year <= 2100 or not 1 <= number <= 12 // PERIOD_KINDS[kind]:
            return None
        return cls(kind, year, number)

    @classmethod
    def last_complete(cls, kind: str, today: date) -> Period:
        """The latest period of `kind` that ended before today (the one a funder asks about)."""
        months = PERIOD_KINDS[kind]
        current = (today.month - 1) // months + 1
        if current == 1:
            return cls(kind, today.year - 1, 12 // months)
        return cls(kind, today.year, current - 1)


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def months_back(today: date, n: int) -> list[tuple[str, date, date]]:
    """The last `n` calendar months up to and including today's, oldest first: (label, first, last day)."""
    windows = []
    year, month = today.year, today.month
    for _index in range(n):
        windows.append((date_format(date(year, month, 1), "M y"), date(year, month, 1), _month_end(year, month)))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return list(reversed(windows))


def quarters_back(today: date, n: int) -> list[tuple[str, date, date]]:
    current = Period("quarter", today.year, (today.month - 1) // 3 + 1)
    windows = []
    for _index in range(n):
        windows.append((current.label, current.start, current.end))
        current = (
            Period("quarter", current.year - 1, 4)
            if current.number == 1
            else Period("quarter", current.year, current.number - 1)
        )
    return list(reversed(windows))


# --- charts: server-rendered SVG geometry ---------------------------------------------------------------


@dataclass
class Bar:
    label: str
    value: float
    x: float
    y: float
    width: float
    height: float
    text: str

    @property
    def cx(self) -> float:
        return round(self.x + self.width / 2, 1)


@dataclass
class Chart:
    width: int
    height: int
    baseline: float
    bars: list[Bar]
    points: str  # polyline points for a line over the bar tops
    maximum: float
    unit: str


def _fmt(value: float, unit: str) -> str:
    number = f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"
    return f"{number}{unit}"


def chart(series: list[tuple[str, float]], *, unit: str = "", width: int = 280, height: int = 96) -> Chart:
    """Bar geometry for a small trend chart; the template draws it (no script, no inline style)."""
    top_pad, bottom_pad = 14, 18
    plot = height - top_pad - bottom_pad
    maximum = max([float(v) for _label, v in series] + [100.0 if unit == "%" else 1.0])
    slot = width / max(len(series), 1)
    bar_width = max(slot * 0.6, 4)
    bars = []
    for index, (label, value) in enumerate(series):
        bar_height = plot * float(value) / maximum if maximum else 0
        x = index * slot + (slot - bar_width) / 2
        y = top_pad + plot - bar_height
        bars.append(Bar(str(label), float(value), round(x, 1), round(y, 1), round(bar_width, 1), round(bar_height, 1),
                        _fmt(value, unit)))  # fmt: skip
    points = " ".join(f"{bar.x + bar.width / 2:.1f},{bar.y:.1f}" for bar in bars)
    return Chart(width, height, top_pad + plot, bars, points, maximum, unit)


# --- CSV ----------------------------------------------------------------------------------------------


def _csv_cell(cell: Any) -> Any:
    """Neutralise spreadsheet formulas (CSV injection) in text cells; numbers pass through."""
    if isinstance(cell, str) and cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + cell
    return "" if cell is None else cell


def report_csv(taskforce: TaskForce, period: Period, sections: list[ReportSection]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_csv_cell(str(taskforce.name)), period.label, period.start.isoformat(), period.end.isoformat()])
    for section in sections:
        writer.writerow([])
        writer.writerow(
            [section.key, _csv_cell(str(section.title)), *[_csv_cell(str(h)) for h in section.table.headers]]
        )
        for row in section.table.rows:
            writer.writerow([section.key, _csv_cell(str(section.title)), *[_csv_cell(c) for c in row]])
    return out.getvalue()
