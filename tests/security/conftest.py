"""What the authorization tests of the security suite share.

Not autouse: other files here (sign-in, second factor, sessions) need the second-factor gate and the real
cache, so each authorization module opts in with `pytestmark = pytest.mark.usefixtures("plain_settings")`.
Whether a request wrote anything is told by tests/security/table_state.py.
"""

from __future__ import annotations

import pytest
from django.core.cache import cache


@pytest.fixture
def plain_settings(settings):
    """No second-factor gate (tested in its own files) and a private cache, so throttles never interfere."""
    settings.REQUIRE_MFA = False
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "authz"}}
    cache.clear()
    yield settings
    cache.clear()
