"""The demo meetings seed: runs after the members demo, once."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from meetings.models import Feedback, Meeting, Minutes, MinutesStatus

pytestmark = pytest.mark.django_db


def test_it_seeds_minuted_meetings_and_an_open_call_once(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("seed_demo")
    call_command("seed_meetings")
    assert Meeting.objects.filter(ended_at__isnull=False).count() == 3
    assert Minutes.objects.filter(status=MinutesStatus.APPROVED).count() == 2
    assert Feedback.objects.exists()
    assert all(m.seal_general for m in Minutes.objects.filter(status=MinutesStatus.APPROVED))
    count = Meeting.objects.count()
    call_command("seed_meetings")
    assert Meeting.objects.count() == count
