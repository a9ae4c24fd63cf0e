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
