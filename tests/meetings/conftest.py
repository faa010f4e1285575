"""Meeting fixtures on top of the shared cast: a monthly series with its next meeting a week away."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django.utils import timezone

from meetings import services
from meetings.models import Meeting


@pytest.fixture(autouse=True)
def _long_sessions(settings):
    # Tests travel days ahead to a meeting's start; the session timeouts are tested in tests/taskforce.
    settings.SESSION_IDLE_TIMEOUT = timedelta(days=3650)
    settings.SESSION_ABSOLUTE_TIMEOUT = timedelta(days=3650)
    settings.SESSION_COOKIE_AGE = 3650 * 24 * 3600
    settings.REQUIRE_MFA = False


@pytest.fixture
def series(cast):
    start = timezone.localdate() + timedelta(days=7)
    return services.series_create(
        taskforce=cast.taskforce,
        actor=cast.facilitator,
        title="Harbor monthly meeting",
        frequency="monthly_date",
        starts_on=start,
        start_time=time(10, 0),
        end_time=time(11, 30),
        time_zone="America/New_York",
        count=3,
        location="County Building, Room 204",
        facilitator=cast.facilitator,
        note_taker=cast.member_b,
    )


@pytest.fixture
def meeting(series) -> Meeting:
    return series.meetings.order_by("starts_at").first()
