"""Encrypted text at rest: Fernet tokens under the keys in settings.FIELD_ENCRYPTION_KEYS (newest first).

MultiFernet encrypts with the first key and decrypts with any, so a new key goes in front, then
`manage.py rotate_encryption_keys` re-encrypts every row under it, and the old key can be dropped.
Ciphertext is not searchable, on purpose: nobody finds a case by what its narrative says.
"""

from __future__ import annotations

import functools
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

PREFIX = "fernet:"


@functools.cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is empty")
    return MultiFernet([Fernet(key.encode() if isinstance(key, str) else key) for key in keys])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(text: str) -> str:
    return PREFIX + fernet().encrypt(text.encode()).decode()


def decrypt(stored: str) -> str:
    if not stored.startswith(PREFIX):
        raise ValueError("not an encrypted value")
    try:
        return fernet().decrypt(stored[len(PREFIX) :].encode()).decode()
    except InvalidToken:
        # A key was dropped before its rows were rotated: fail loudly rather than show nothing.
        raise ImproperlyConfigured("A stored value cannot be decrypted with FIELD_ENCRYPTION_KEYS") from None


class EncryptedTextField(models.TextField):
    """Text encrypted before it reaches the database and decrypted when read. Empty stays empty."""

    description = "Encrypted text"

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(str(value))

    def from_db_value(self, value: Any, expression, connection) -> Any:
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_lookup(self, lookup_name: str):
        # Only emptiness can be asked of ciphertext; `icontains` would silently match nothing.
        if lookup_name not in {"isnull", "exact"}:
            return None
        return super().get_lookup(lookup_name)
