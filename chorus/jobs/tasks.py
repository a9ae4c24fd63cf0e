import os
import socket
import time
from datetime import timedelta

from django.utils import timezone

from chorus import jobs
from chorus.jobs.models import PeriodicRun, WorkerHeartbeat


@jobs.periodic(minute="17")
def prune_bookkeeping() -> None:
    """Forgets claimed periods and heartbeats of workers gone for a day."""
    day_ago = timezone.now() - timedelta(days=1)
    PeriodicRun.objects.filter(slot__lt=day_ago).delete()
    WorkerHeartbeat.objects.filter(last_seen__lt=day_ago).delete()


@jobs.task()
def ping(hold_seconds: float = 0.0) -> str:
    """Answers with the worker that ran it: proves a round trip through the queue.

    ``hold_seconds`` keeps the worker busy that long, to watch work spread over workers.
    """
    time.sleep(min(hold_seconds, 5.0))
    return f"{socket.gethostname()}:{os.getpid()}"
