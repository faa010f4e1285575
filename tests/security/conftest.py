"""What the tests of the security suite share.

Not autouse: some files here need the second-factor gate or the real cache, so each module opts in with
`pytestmark = pytest.mark.usefixtures("plain_settings")` (or "auth_settings").
Whether a request wrote anything is told by tests/security/table_state.py.
"""

from __future__ import annotations

import time

import pytest
import time_machine
from allauth.mfa import app_settings as mfa_settings
from django.core.cache import cache

from members.models import User

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def plain_settings(settings):
    """No second-factor gate (tested in its own files) and a private cache, so throttles never interfere."""
    settings.REQUIRE_MFA = False
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "authz"}}
    cache.clear()
    yield settings
    cache.clear()


@pytest.fixture
def auth_settings(plain_settings):
    """plain_settings for the sign-in, second-factor and session files, landing on / after sign-in."""
    plain_settings.LOGIN_REDIRECT_URL = "/"
    return plain_settings


@pytest.fixture
def clock():
    """Time stands still one second into a TOTP window, so a code stays current until the test moves it."""
    window_start = int(time.time()) // mfa_settings.TOTP_PERIOD * mfa_settings.TOTP_PERIOD
    with time_machine.travel(window_start + 1, tick=False) as traveller:
        yield traveller


@pytest.fixture
def ada(db) -> User:
    return User.objects.create_superuser("ada@example.org", PASSWORD, full_name="Ada Admin")
