from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from chorus import crypto


def test_secrets_survive_a_key_rotation(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.ENCRYPTION_KEYS = [old]
    stored = crypto.encrypt("bluesky-app-password")
    assert "bluesky-app-password" not in stored

    settings.ENCRYPTION_KEYS = [new, old]  # the new key encrypts, the old one still decrypts
    assert crypto.decrypt(stored) == "bluesky-app-password"
    rotated = crypto.reencrypt(stored)

    settings.ENCRYPTION_KEYS = [new]
    assert crypto.decrypt(rotated) == "bluesky-app-password"
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(stored)
