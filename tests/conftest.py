"""Shared fixtures: the cast of users, fast password hashing, and a clean mail outbox."""

from __future__ import annotations

import pytest

from tests.cast import PASSWORD, Cast, build_cast


@pytest.fixture(autouse=True)
def _fast_hashing(settings):
    # Argon2 is the production hasher (tested in test_settings); tests need thousands of hashes.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def cast(db) -> Cast:
    return build_cast()


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
def password() -> str:
    return PASSWORD
