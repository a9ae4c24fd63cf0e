"""The Huey instance behind the queue seam, chosen by ``QUEUE_URL``.

``sqlite:///path`` (default) keeps the queue in a file beside the database, consumed by the
worker inside ``chorus run``; ``redis://host:port/db`` lets any number of ``chorus worker``
processes on any number of machines share it.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from huey import Huey, RedisHuey, SqliteHuey

QUEUE_NAME = "chorus"


def build_huey(url: str) -> Huey:
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        # Same convention as DATABASE_URL: sqlite:////absolute/path, sqlite:///relative/path.
        return SqliteHuey(QUEUE_NAME, filename=url.removeprefix("sqlite:///"), utc=True)
    if scheme in {"redis", "rediss", "unix"}:
        return RedisHuey(QUEUE_NAME, url=url, utc=True)
    raise ValueError(f"QUEUE_URL must start with sqlite:// or redis://, not {url!r}")


def backend_name() -> str:
    return urlsplit(settings.QUEUE_URL).scheme


huey = build_huey(settings.QUEUE_URL)
