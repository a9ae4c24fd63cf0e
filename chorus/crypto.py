"""Encryption at rest for secrets such as network tokens.

Keys come from ``CHORUS_ENCRYPTION_KEYS`` (comma-separated Fernet keys): the first encrypts,
every key decrypts, so a new key can be put first and old values re-encrypted at leisure.
"""

from __future__ import annotations

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class DecryptionError(Exception):
    """No configured key can read this value (a key was removed before re-encryption)."""


@cache
def _keyring(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])


def keyring() -> MultiFernet:
    return _keyring(tuple(settings.ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return keyring().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    try:
        return keyring().decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise DecryptionError("no key in CHORUS_ENCRYPTION_KEYS can decrypt this value") from None


def reencrypt(ciphertext: str) -> str:
    """The same secret under the current first key (for key rotation)."""
    try:
        return keyring().rotate(ciphertext.encode()).decode()
    except InvalidToken:
        raise DecryptionError("no key in CHORUS_ENCRYPTION_KEYS can decrypt this value") from None
