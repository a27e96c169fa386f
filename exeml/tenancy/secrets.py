"""Secrets at rest: Fernet (AES-128-CBC + HMAC) with keys from settings, rotatable.

A model field stores the token and hands the plain value to code that reads the attribute
(the storage factory), so nothing else needs to know; no API or admin page shows it.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models

log = logging.getLogger(__name__)

_TOKEN_PREFIX = "gAAAAA"  # every Fernet token starts with its version byte 0x80


def _derived_key(secret: str) -> bytes:
    return base64.urlsafe_b64encode(hashlib.sha256(b"exeml-fernet:" + secret.encode()).digest())


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...], secret: str) -> MultiFernet:
    return MultiFernet([Fernet(k.encode()) for k in keys] if keys else [Fernet(_derived_key(secret))])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.EXEML_FERNET_KEYS), settings.SECRET_KEY)


def encrypt(value: str) -> str:
    return fernet().encrypt(value.encode()).decode() if value else ""


def decrypt(token: str) -> str:
    if not token:
        return ""
    if not token.startswith(_TOKEN_PREFIX):
        return token  # stored before encryption: re-encrypted by rotate_secrets or the next save
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        # A key was removed from EXEML_FERNET_KEYS too early: the tenant's storage will refuse
        # the empty secret, and the operator sees why here.
        log.error("a stored secret cannot be decrypted with EXEML_FERNET_KEYS; re-enter it in the admin")
        return ""


def rotate(token: str) -> str:
    """Re-encrypt under the first key (plain legacy values are encrypted)."""
    if not token:
        return ""
    if not token.startswith(_TOKEN_PREFIX):
        return encrypt(token)
    return fernet().rotate(token.encode()).decode()


class EncryptedTextField(models.TextField):
    """Holds a Fernet token in the database, the plain value in Python."""

    def from_db_value(self, value, expression, connection):
        return decrypt(value) if value else value

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if not value or value.startswith(_TOKEN_PREFIX):
            return value
        return encrypt(value)
