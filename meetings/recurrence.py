"""Occurrence dates of a series, computed in the meeting's own time zone.

Dates are generated on the local calendar and then combined with the local wall-clock time, so a 9:00
meeting stays at 9:00 across daylight-saving changes (its UTC time moves instead). A monthly meeting on
the 31st falls on the last day of shorter months; "5th Tuesday" is not offered: the weekday rule takes
the 1st-4th or the last weekday of the month.
"""

from __future__ import annotations

import calendar
import zoneinfo
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

# Open-ended series are generated this far ahead; a longer series is extended by editing it.
HORIZON_OCCURRENCES = 60


def add_months(day: date, months: int, *, on_day: int | None = None) -> date:
    """`day` moved by `months`, on `on_day` (default day.day), clamped to the month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(on_day or day.day, last))


def week_of_month(day: date) -> int:
    """1-4 for the first to fourth such weekday of the month; a 5th one means "the last" (-1)."""
    nth = (day.day - 1) // 7 + 1
    return -1 if nth == 5 else nth


def nth_weekday(year: int, month: int, weekday: int, nth: int) -> date:
    """The nth (1-4, or -1 for last) `weekday` (0 = Monday) of the month."""
    if nth == -1:
        last = calendar.monthrange(year, month)[1]
        day = date(year, month, last)
        return day - timedelta(days=(day.weekday() - weekday) % 7)
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (nth - 1))


def describe(frequency: str, first: date) -> str:
    if frequency == "monthly_weekday":
        nth = week_of_month(first)
        ordinal = {1: "1st", 2: "2nd", 3: "3rd", 4: "4th", -1: "last"}[nth]
        return f"Monthly on the {ordinal} {calendar.day_name[first.weekday()]}"
    if frequency == "monthly_date":
        return f"Monthly on day {first.day}" + (" (or the month's last day)" if first.day > 28 else "")
    if frequency == "quarterly":
        return f"Every three months on day {first.day}"
    if frequency == "biweekly":
        return f"Every other {calendar.day_name[first.weekday()]}"
    return f"Every {calendar.day_name[first.weekday()]}"


def dates(frequency: str, first: date, *, until: date | None = None, count: int | None = None) -> Iterator[date]:
    """Local dates of the occurrences, starting with `first`, stopping at `until` or after `count`."""
    limit = count if count is not None else HORIZON_OCCURRENCES
    limit = min(limit, HORIZON_OCCURRENCES)
    nth = week_of_month(first)
    produced = 0
    step = 0
    while produced < limit:
        if frequency == "weekly":
            day = first + timedelta(weeks=step)
        elif frequency == "biweekly":
            day = first + timedelta(weeks=2 * step)
        elif frequency == "monthly_date":
            day = add_months(first, step, on_day=first.day)
        elif frequency == "quarterly":
            day = add_months(first, 3 * step, on_day=first.day)
        elif frequency == "monthly_weekday":
            moved = add_months(first.replace(day=1), step)
            day = nth_weekday(moved.year, moved.month, first.weekday(), nth)
        else:
            raise ValueError(f"Unknown frequency {frequency!r}")
        step += 1
        if until is not None and day > until:
            return
        produced += 1
        yield day


def to_utc(day: date, at: time, zone_name: str) -> datetime:
    """The UTC instant of a local wall-clock time. A time skipped by a DST jump moves forward by the gap."""
    # fold=0 reads a non-existent local time (02:30 on spring-forward day) with the pre-gap offset,
    # which lands it after the gap (03:30); an ambiguous time (fall-back) takes its first occurrence.
    return datetime.combine(day, at, tzinfo=zoneinfo.ZoneInfo(zone_name)).astimezone(UTC)


def occurrences(
    frequency: str,
    first: date,
    start: time,
    end: time,
    zone_name: str,
    *,
    until: date | None = None,
    count: int | None = None,
) -> list[tuple[date, datetime, datetime]]:
    """(local date, start in UTC, end in UTC) for each occurrence."""
    return [
        (day, to_utc(day, start, zone_name), to_utc(day, end, zone_name))
        for day in dates(frequency, first, until=until, count=count)
    ]
