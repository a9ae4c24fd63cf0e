from django.db import models
from django.utils import timezone


class WorkerHeartbeat(models.Model):
    """One row per worker process, touched every few seconds while it consumes the queue."""

    worker_id = models.CharField(max_length=100, unique=True)
    hostname = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    runs_periodic = models.BooleanField(default=False)
    started_at = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"{self.hostname}:{self.pid}"


class PeriodicRun(models.Model):
    """Claims one period of one periodic job, so it runs once even with several schedulers."""

    name = models.CharField(max_length=200)
    slot = models.DateTimeField()
    started_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["name", "slot"], name="one_run_per_slot")]

    def __str__(self) -> str:
        return f"{self.name} @ {self.slot:%Y-%m-%d %H:%M}"
