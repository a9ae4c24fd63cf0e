"""Settings read from the environment, with defaults that make a fresh clone run.

Secrets that are not given in the environment are generated once into the data folder
(``var/`` by default) so that a restart keeps sessions valid and encrypted data readable.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path

from cryptography.fernet import Fernet

PROJECT_DIR = Path(__file__).resolve().parent.parent


def var_dir() -> Path:
    path = Path(os.environ.get("CHORUS_VAR_DIR", PROJECT_DIR / "var")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


def env_bool(name: str, default: bool = False) -> bool:
    raw = env(name)
    if not raw:
        return default
    return raw.lower() in {"1", "true", "yes", "on"}


def _generated_secret(filename: str, make: Callable[[], str]) -> str:
    path = var_dir() / filename
    if not path.exists():
        # Written with 0600 before content so the secret is never world-readable.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(make())
    return path.read_text().strip()


def secret_key() -> str:
    return env("SECRET_KEY") or _generated_secret("secret_key", lambda: secrets.token_urlsafe(50))


def encryption_keys() -> list[str]:
    """Fernet keys: the first encrypts, all of them decrypt (rotation)."""
    keys = env_list("CHORUS_ENCRYPTION_KEYS")
    if keys:
        return keys
    return [_generated_secret("encryption_keys", lambda: Fernet.generate_key().decode())]
