from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar

from django.db import IntegrityError, close_old_connections, connections, transaction
from django.utils import timezone
from huey import crontab
from huey.api import Result, TaskWrapper

from chorus.jobs.queue import huey

P = ParamSpec("P")
R = TypeVar("R")
log = logging.getLogger(__name__)


def _with_fresh_connections(func: Callable[P, R]) -> Callable[P, R]:
    # Worker threads outlive requests: each job gets a fresh connection and gives it back, so
    # idle job threads hold no database connection (PostgreSQL's are few).
    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if huey.immediate:  # run inline, inside the caller's connection and transaction
            return func(*args, **kwargs)
        close_old_connections()
        try:
            return func(*args, **kwargs)
        finally:
            connections.close_all()

    return wrapper


def task(
    *, retries: int = 0, retry_delay: int = 0, name: str | None = None
) -> Callable[[Callable[..., Any]], TaskWrapper]:
    """Declares a job. Calling the decorated function enqueues it and returns a Huey result."""

    def decorate(func: Callable[..., Any]) -> TaskWrapper:
        return huey.task(
            retries=retries,
            retry_delay=retry_delay,
            name=name or f"{func.__module__}.{func.__name__}",
        )(_with_fresh_connections(func))

    return decorate


def enqueue(job: TaskWrapper, *args: Any, **kwargs: Any) -> Result:
    return job(*args, **kwargs)


def schedule(
    job: TaskWrapper,
    *,
    at: datetime,
    args: tuple[Any, ...] = (),
    kwargs: dict[str, Any] | None = None,
) -> Result:
    if timezone.is_naive(at):
        raise ValueError("schedule() needs an aware datetime")
    return job.schedule(args=args, kwargs=kwargs or {}, eta=at.astimezone(UTC))


def periodic(
    *, minute: str = "*", hour: str = "*", day: str = "*", month: str = "*", day_of_week: str = "*"
) -> Callable[[Callable[[], Any]], TaskWrapper]:
    """Declares a job that runs on a cron schedule, once per period across all schedulers."""

    def decorate(func: Callable[[], Any]) -> TaskWrapper:
        name = f"{func.__module__}.{func.__name__}"

        @functools.wraps(func)
        def once_per_slot() -> Any:
            if not claim_period(name, timezone.now()):
                log.debug("periodic job %s already ran for this period", name)
                return None
            return func()

        return huey.periodic_task(
            crontab(minute=minute, hour=hour, day=day, month=month, day_of_week=day_of_week),
            name=name,
        )(_with_fresh_connections(once_per_slot))

    return decorate


@dataclass(frozen=True)
class Loop:
    run: Callable[[threading.Event], None]
    #: Called before the process reports itself alive (imports, caches): not on the clock.
    prepare: Callable[[], None] | None = None


#: Loops every worker process runs beside its job threads, by name (see ``loop``).
LOOPS: dict[str, Loop] = {}


def loop(
    *, name: str | None = None, prepare: Callable[[], None] | None = None
) -> Callable[[Callable[[threading.Event], None]], Callable[[threading.Event], None]]:
    """Declares a loop that each worker process runs in a thread of its own until the event is
    set: for work that must start at a precise moment, which the queue's scheduler (a one-second
    tick) and its polling cannot promise. A loop must survive its own errors."""

    def decorate(func: Callable[[threading.Event], None]) -> Callable[[threading.Event], None]:
        LOOPS[name or f"{func.__module__}.{func.__name__}"] = Loop(func, prepare)
        return func

    return decorate


def claim_period(name: str, now: datetime) -> bool:
    """True for the first caller in this minute; a second scheduler's run is a no-op."""
    from chorus.jobs.models import PeriodicRun

    slot = now.replace(second=0, microsecond=0)
    try:
        with transaction.atomic():
            PeriodicRun.objects.create(name=name, slot=slot)
    except IntegrityError:
        return False
    return True
