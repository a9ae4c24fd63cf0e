"""Rate limits read from the headers each network sends, and calls that wait within a bound."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from chorus.networks.errors import RateLimited
from chorus.networks.ratelimit import InMemoryRateLimitStore, RateLimitState, wait_for_budget

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def test_a_spent_bluesky_budget_waits_until_its_reset():
    headers = {
        "ratelimit-limit": "3000",
        "ratelimit-remaining": "0",
        "ratelimit-reset": str(int((NOW + timedelta(seconds=90)).timestamp())),
        "ratelimit-policy": "3000;w=300",
    }

    state = RateLimitState.from_headers(headers, now=NOW)

    assert state is not None
    assert (state.limit, state.remaining, state.policy) == (3000, 0, "3000;w=300")
    assert state.wait_seconds(NOW) == 90


def test_retry_after_as_an_http_date_or_seconds():
    as_date = RateLimitState.from_headers({"Retry-After": "Sat, 01 Mar 2025 12:02:00 GMT"}, NOW)
    as_seconds = RateLimitState.from_headers({"Retry-After": "30"}, NOW)

    assert as_date is not None and as_date.wait_seconds(NOW) == 120
    assert as_seconds is not None and as_seconds.wait_seconds(NOW) == 30


def test_meta_usage_at_100_percent_waits_for_the_regain_estimate():
    usage = {"1234": [{"type": "pages", "call_count": 100, "estimated_time_to_regain_access": 7}]}

    state = RateLimitState.from_headers({"x-business-use-case-usage": json.dumps(usage)}, NOW)

    assert state is not None and state.wait_seconds(NOW) == 7 * 60


def test_budget_left_means_no_wait_and_no_headers_means_no_state():
    state = RateLimitState.from_headers({"x-ratelimit-remaining": "5"}, NOW)

    assert state is not None and state.wait_seconds(NOW) == 0
    assert RateLimitState.from_headers({"content-type": "application/json"}, NOW) is None


def test_a_call_waits_a_short_reset_and_refuses_a_long_one():
    store = InMemoryRateLimitStore(clock=lambda: NOW)
    store.record("short", RateLimitState(NOW, remaining=0, reset_at=NOW + timedelta(seconds=2)))
    store.record("long", RateLimitState(NOW, remaining=0, reset_at=NOW + timedelta(hours=1)))
    slept: list[float] = []

    wait_for_budget(store, "short", max_wait_seconds=10, sleep=slept.append)
    with pytest.raises(RateLimited) as refused:
        wait_for_budget(store, "long", max_wait_seconds=10, sleep=slept.append)

    assert slept == [2]
    assert refused.value.retry_after_seconds == 3600
