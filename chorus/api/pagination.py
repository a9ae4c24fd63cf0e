"""Cursor pagination: stable under inserts, and the cursor says nothing about other tenants."""

from __future__ import annotations

import base64
from typing import Any, TypeVar

from django.db import models
from ninja import Schema

from chorus.errors import Invalid

M = TypeVar("M", bound=models.Model)
DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class PageParams(Schema):
    cursor: str | None = None
    limit: int = DEFAULT_LIMIT


def _decode(cursor: str) -> int:
    try:
        return int(base64.urlsafe_b64decode(cursor.encode()).decode().removeprefix("id:"))
    except (ValueError, UnicodeDecodeError):
        raise Invalid(
            "The cursor is not valid; use next_cursor from the previous page.",
            fields={"cursor": "Not a cursor returned by this API."},
        ) from None


def _encode(pk: int) -> str:
    return base64.urlsafe_b64encode(f"id:{pk}".encode()).decode()


def paginate(
    queryset: models.QuerySet[M], params: PageParams, *, newest_first: bool = False
) -> dict[str, Any]:
    """One page ordered by id; ``next_cursor`` is null on the last page."""
    if not 1 <= params.limit <= MAX_LIMIT:
        raise Invalid(
            f"limit must be between 1 and {MAX_LIMIT}.",
            fields={"limit": f"Between 1 and {MAX_LIMIT}."},
        )
    ordered = queryset.order_by("-pk" if newest_first else "pk")
    if params.cursor:
        after = _decode(params.cursor)
        ordered = ordered.filter(pk__lt=after) if newest_first else ordered.filter(pk__gt=after)
    rows = list(ordered[: params.limit + 1])
    more = len(rows) > params.limit
    rows = rows[: params.limit]
    return {"items": rows, "next_cursor": _encode(rows[-1].pk) if more and rows else None}
