"""Typed errors every connector raises, whatever the network.

Callers decide what to do from the type alone:

- ``AuthError``: the stored credentials no longer work; the channel must be reconnected.
- ``RateLimited``: try again after ``retry_after_seconds``.
- ``InvalidContent``: permanent; retrying the same content fails the same way.
- ``NotFound``: the remote object (post, account) does not exist (any more).
- ``TransientError``: the call did not happen or failed on the network's side; safe to retry.
- ``AmbiguousOutcome``: the request may have reached the network (timeout or connection dropped
  after sending). Reconcile with ``Connector.find_published`` before any retry.
- ``Unsupported``: the network (or this connector) has no such operation.
"""

from __future__ import annotations

import unicodedata

_MAX_DETAIL_LENGTH = 300


def untrusted_text(text: object, limit: int = _MAX_DETAIL_LENGTH) -> str:
    """A network's words made safe to show and log: control characters dropped, length bounded."""
    cleaned = "".join(
        " " if unicodedata.category(char).startswith("C") else char for char in str(text)
    ).strip()
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


class NetworkError(Exception):
    """Base of every error a connector raises."""

    def __init__(self, message: str, *, network: str = "", status: int | None = None) -> None:
        self.network = network
        self.status = status
        super().__init__(untrusted_text(message))


class AuthError(NetworkError):
    """Credentials rejected, expired beyond refresh or revoked: reconnect the account."""


class RateLimited(NetworkError):
    def __init__(
        self,
        message: str = "rate limited",
        *,
        retry_after_seconds: float,
        network: str = "",
        status: int | None = 429,
    ) -> None:
        self.retry_after_seconds = max(0.0, retry_after_seconds)
        super().__init__(message, network=network, status=status)


class InvalidContent(NetworkError):
    """The network refused the content itself; ``reason`` carries the network's words."""

    def __init__(self, reason: str, *, network: str = "", status: int | None = 400) -> None:
        self.reason = untrusted_text(reason)
        super().__init__(reason, network=network, status=status)


class NotFound(NetworkError):
    """The remote object does not exist, or is not visible to this account."""


class TransientError(NetworkError):
    """A failure that did not change anything on the network; the same call may be retried."""


class AmbiguousOutcome(NetworkError):
    """The request may or may not have taken effect: reconcile by reading, never blind-retry."""


class Unsupported(NetworkError):
    """The operation does not exist on this network (or is not implemented by its connector)."""
