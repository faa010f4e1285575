"""Occurrence dates and times: month ends, nth weekdays, quarterly, end dates and counts, DST changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from meetings import recurrence


def test_monthly_on_the_31st_falls_on_the_last_day_of_shorter_months():
    days = list(recurrence.dates("monthly_date", date(2027, 1, 31), count=6))
    assert days == [
        date(2027, 1, 31),
        date(2027, 2, 28),
        date(2027, 3, 31),
        date(2027, 4, 30),
        date(2027, 5, 31),
        date(2027, 6, 30),
    ]


def test_monthly_on_the_29th_in_a_leap_year():
    assert list(recurrence.dates("monthly_date", date(2028, 1, 29), count=3)) == [
        date(2028, 1, 29),
        date(2028, 2, 29),
        date(2028, 3, 29),
    ]


def test_second_tuesday_of_the_month():
    days = list(recurrence.dates("monthly_weekday", date(2027, 1, 12), count=4))
    assert days == [date(2027, 1, 12), date(2027, 2, 9), date(2027, 3, 9), date(2027, 4, 13)]
    assert all(day.weekday() == 1 and 8 <= day.day <= 14 for day in days)
    assert recurrence.describe("monthly_weekday", date(2027, 1, 12)) == "Monthly on the 2nd Tuesday"


def test_a_fifth_weekday_means_the_last_one():
    # Dec 29, 2026 is the fifth Tuesday; months with four Tuesdays get their last one.
    days = list(recurrence.dates("monthly_weekday", date(2026, 12, 29), count=3))
    assert days == [date(2026, 12, 29), date(2027, 1, 26), date(2027, 2, 23)]


def test_quarterly_and_biweekly():
    assert list(recurrence.dates("quarterly", date(2026, 11, 30), count=4)) == [
        date(2026, 11, 30),
        date(2027, 2, 28),
        date(2027, 5, 30),
        date(2027, 8, 30),
    ]
    assert list(recurrence.dates("biweekly", date(2026, 12, 28), count=3)) == [
        date(2026, 12, 28),
        date(2027, 1, 11),
        date(2027, 1, 25),
    ]


def test_it_stops_at_the_end_date_inclusive():
    days = list(recurrence.dates("weekly", date(2027, 1, 4), until=date(2027, 1, 25)))
    assert days == [date(2027, 1, 4), date(2027, 1, 11), date(2027, 1, 18), date(2027, 1, 25)]


def test_an_open_ended_rule_is_capped():
    assert (
        len(list(recurrence.dates("weekly", date(2027, 1, 4), until=date(2040, 1, 1))))
        == recurrence.HORIZON_OCCURRENCES
    )


def test_wall_clock_time_is_kept_across_the_spring_dst_change():
    got = recurrence.occurrences("weekly", date(2027, 3, 8), time(9), time(10), "America/New_York", count=1)
    before = recurrence.occurrences("weekly", date(2027, 3, 1), time(9), time(10), "America/New_York", count=3)
    # 9:00 EST is 14:00 UTC; after March 14, 9:00 EDT is 13:00 UTC.
    assert [start for _day, start, _end in before] == [
        datetime(2027, 3, 1, 14, tzinfo=UTC),
        datetime(2027, 3, 8, 14, tzinfo=UTC),
        datetime(2027, 3, 15, 13, tzinfo=UTC),
    ]
    assert got[0][1].hour == 14


def test_wall_clock_time_is_kept_across_the_autumn_dst_change_elsewhere():
    starts = [
        s
        for _d, s, _e in recurrence.occurrences(
            "weekly", date(2027, 11, 1), time(18, 30), time(20), "America/Los_Angeles", count=2
        )
    ]
    assert [s.astimezone(UTC).hour for s in starts] == [1, 2]  # 18:30 PDT = 01:30Z, 18:30 PST = 02:30Z


def test_a_time_skipped_by_the_spring_change_moves_forward():
    assert recurrence.to_utc(date(2027, 3, 14), time(2, 30), "America/New_York") == datetime(
        2027, 3, 14, 7, 30, tzinfo=UTC
    )


def test_an_ambiguous_autumn_time_takes_the_first_occurrence():
    assert recurrence.to_utc(date(2027, 11, 7), time(1, 30), "America/New_York") == datetime(
        2027, 11, 7, 5, 30, tzinfo=UTC
    )


def test_an_unknown_frequency_is_refused():
    with pytest.raises(ValueError):
        list(recurrence.dates("fortnightly-ish", date(2027, 1, 1), count=2))
