"""Shared fixtures: the cast of users, fast password hashing, and a clean mail outbox."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.test import override_settings

from tests.cast import PASSWORD, Cast, build_cast

FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fast_hashing(settings):
    # Argon2 is the production hasher (tested in tests/security/test_deployment.py); tests need thousands of hashes.
    settings.PASSWORD_HASHERS = FAST_HASHERS


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    # Uploaded files from tests never land in the work tree.
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"


@pytest.fixture
def cast(db) -> Cast:
    return build_cast()


@pytest.fixture(scope="module")
def _module_cast(django_db_setup, django_db_blocker):
    """The cast built once for a whole module, in a transaction rolled back when the module ends.

    Each test still runs in its own savepoint (pytest-django's `db`), so tests stay isolated; only the
    few hundred queries of building the cast are saved. Not for modules with transactional tests.
    """
    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=FAST_HASHERS):
        outer = transaction.atomic()
        outer.__enter__()
        try:
            yield build_cast()
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture
def shared_cast(_module_cast, db) -> Cast:
    """Big parametrized modules override `cast` with this one (see tests/security/test_permission_matrix.py)."""
    return _module_cast.reloaded()


@pytest.fixture
def client_for(client):
    """Log a cast member in on a fresh client: `client_for(cast.coordinator)`."""
    from django.test import Client

    def make(user=None) -> Client:
        c = Client()
        if user is not None:
            c.force_login(user)
        return c

    return make


@pytest.fixture
def browser_settings(settings):
    """For live_server + Playwright tests: no second-factor gate (tested on its own), a private cache, and
    the locmem outbox (live_server runs in a thread of this process, so it is the one the test reads)."""
    from django.core import mail
    from django.core.cache import cache

    settings.REQUIRE_MFA = False
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "browser"}}
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    cache.clear()
    mail.outbox = []
    yield settings
    cache.clear()


@pytest.fixture
def password() -> str:
    return PASSWORD
