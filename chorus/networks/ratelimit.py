"""Rate-limit bookkeeping from response headers, shared by every connector.

A connector asks the store how long to wait before a call (``wait_for_budget``) and records
what the network said after it (``RateLimitState.from_headers``). The store is keyed by a
string the connector chooses (network, account, endpoint family); the in-memory store here
serves one process, a database-backed one can serve all worker processes.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Protocol

from chorus.networks.errors import RateLimited

# A reset value above this is a Unix timestamp; below, a number of seconds from now.
_EPOCH_THRESHOLD = 1_000_000_000
# Meta says "up to an hour" when it throttles without saying how long; pause a while at least.
_META_DEFAULT_PAUSE = timedelta(minutes=5)


@dataclass(frozen=True)
class RateLimitState:
    observed_at: datetime
    limit: int | None = None
    remaining: int | None = None
    reset_at: datetime | None = None
    #: Meta's usage headers: the highest percentage of any budget used (100 = throttled).
    usage_percent: float | None = None
    policy: str | None = None

    @classmethod
    def from_headers(
        cls, headers: Mapping[str, str], now: datetime | None = None
    ) -> RateLimitState | None:
        """What the headers say, or ``None`` when they say nothing about rate limits."""
        now = now or datetime.now(UTC)
        lowered = {key.lower(): value for key, value in headers.items()}
        limit = remaining = None
        reset_at = None
        for prefix in ("x-ratelimit-", "ratelimit-", "x-rate-limit-"):
            limit = _int(lowered.get(prefix + "limit")) if limit is None else limit
            remaining = _int(lowered.get(prefix + "remaining")) if remaining is None else remaining
            reset_at = reset_at or _moment(lowered.get(prefix + "reset"), now)
        retry_at = _moment(lowered.get("retry-after"), now, plain_number_is_delay=True)
        if retry_at is not None:
            reset_at, remaining = max(retry_at, reset_at or retry_at), 0
        usage_percent, regain_at = _meta_usage(lowered, now)
        if regain_at is not None:
            reset_at = max(regain_at, reset_at or regain_at)
        if (limit, remaining, reset_at, usage_percent) == (None, None, None, None):
            return None
        return cls(
            observed_at=now,
            limit=limit,
            remaining=remaining,
            reset_at=reset_at,
            usage_percent=usage_percent,
            policy=lowered.get("ratelimit-policy"),
        )

    def wait_seconds(self, now: datetime | None = None) -> float:
        """How long to wait before the next call; 0 when there is budget left."""
        now = now or datetime.now(UTC)
        exhausted = (self.remaining is not None and self.remaining <= 0) or (
            self.usage_percent is not None and self.usage_percent >= 100
        )
        if not exhausted:
            return 0.0
        reset_at = self.reset_at or self.observed_at + _META_DEFAULT_PAUSE
        return max(0.0, (reset_at - now).total_seconds())


class RateLimitStore(Protocol):
    def wait_time(self, key: str) -> float:
        """Seconds to wait before calling the API behind ``key``; 0 to go ahead."""
        ...

    def record(self, key: str, state: RateLimitState) -> None: ...


class InMemoryRateLimitStore:
    """One process's view. Thread-safe."""

    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._states: dict[str, RateLimitState] = {}
        self._lock = threading.Lock()
        self._clock = clock

    def wait_time(self, key: str) -> float:
        with self._lock:
            state = self._states.get(key)
        return state.wait_seconds(self._clock()) if state else 0.0

    def record(self, key: str, state: RateLimitState) -> None:
        with self._lock:
            self._states[key] = state


def wait_for_budget(
    store: RateLimitStore,
    key: str,
    *,
    max_wait_seconds: float,
    network: str = "",
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Wait until ``key`` has budget again, but never longer than ``max_wait_seconds``:
    beyond that, raise ``RateLimited`` so the caller reschedules instead of blocking a worker."""
    delay = store.wait_time(key)
    if delay <= 0:
        return
    if delay > max_wait_seconds:
        raise RateLimited(
            f"rate limit reached for {key}", retry_after_seconds=delay, network=network, status=None
        )
    sleep(delay)


def _int(value: str | None) -> int | None:
    try:
        return int(float(value)) if value is not None else None
    except ValueError:
        return None


def _moment(
    value: str | None, now: datetime, *, plain_number_is_delay: bool = False
) -> datetime | None:
    """A reset moment written as seconds from now, a Unix timestamp, ISO 8601 or an HTTP-date."""
    if not value:
        return None
    value = value.strip()
    try:
        number = float(value)
    except ValueError:
        pass
    else:
        if number < 0 or number != number:  # negative or NaN: meaningless
            return None
        if plain_number_is_delay or number < _EPOCH_THRESHOLD:
            return now + timedelta(seconds=number)
        return datetime.fromtimestamp(number, UTC)
    for parse in (datetime.fromisoformat, parsedate_to_datetime):
        try:
            moment = parse(value)
        except (TypeError, ValueError):
            continue
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return None


def _meta_usage(headers: Mapping[str, str], now: datetime) -> tuple[float | None, datetime | None]:
    """Meta's ``x-app-usage`` / ``x-business-use-case-usage``: percentages of budgets used,
    and for business use cases the minutes until access is regained."""
    percentages: list[float] = []
    regain_minutes: list[float] = []
    for name in ("x-app-usage", "x-ad-account-usage", "x-business-use-case-usage"):
        try:
            usage = json.loads(headers[name])
        except (KeyError, ValueError):
            continue
        if not isinstance(usage, dict):
            continue
        # Business use cases are grouped by business id, each a list of budgets.
        entries = (
            [entry for group in usage.values() if isinstance(group, list) for entry in group]
            if name == "x-business-use-case-usage"
            else [usage]
        )
        for entry in entries:
            if not isinstance(entry, dict):
                continue
            for metric in ("call_count", "total_cputime", "total_time", "acc_id_util_pct"):
                if isinstance(entry.get(metric), int | float):
                    percentages.append(float(entry[metric]))
            regain = entry.get("estimated_time_to_regain_access")
            if isinstance(regain, int | float) and regain > 0:
                regain_minutes.append(float(regain))
    usage_percent = max(percentages) if percentages else None
    regain_at = now + timedelta(minutes=max(regain_minutes)) if regain_minutes else None
    return usage_percent, regain_at
