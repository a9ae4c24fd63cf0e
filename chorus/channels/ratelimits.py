"""Rate-limit budgets kept in the database, so every worker process waits on the same budget."""

from __future__ import annotations

from chorus.channels.models import RateLimitBudget
from chorus.networks.ratelimit import RateLimitState


class DatabaseRateLimitStore:
    def wait_time(self, key: str) -> float:
        budget = RateLimitBudget.objects.filter(key=key).first()
        if budget is None:
            return 0.0
        return state_of(budget).wait_seconds()

    def record(self, key: str, state: RateLimitState) -> None:
        RateLimitBudget.objects.update_or_create(
            key=key,
            defaults={
                "limit": state.limit,
                "remaining": state.remaining,
                "reset_at": state.reset_at,
                "usage_percent": state.usage_percent,
                "observed_at": state.observed_at,
            },
        )


def state_of(budget: RateLimitBudget) -> RateLimitState:
    return RateLimitState(
        observed_at=budget.observed_at,
        limit=budget.limit,
        remaining=budget.remaining,
        reset_at=budget.reset_at,
        usage_percent=budget.usage_percent,
    )
