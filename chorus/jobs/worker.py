"""Runs the queue consumer in this process, with a heartbeat that ``/healthz`` reads."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, connections
from django.utils import timezone
from huey.consumer import Consumer

from chorus.jobs.models import WorkerHeartbeat
from chorus.jobs.queue import backend_name, huey
from chorus.jobs.seam import LOOPS

HEARTBEAT_EVERY_SECONDS = 10
log = logging.getLogger(__name__)


class Heartbeat(threading.Thread):
    def __init__(self, *, runs_periodic: bool) -> None:
        super().__init__(name="chorus-heartbeat", daemon=True)
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.runs_periodic = runs_periodic
        self.stopped = threading.Event()

    def beat(self) -> None:
        WorkerHeartbeat.objects.update_or_create(
            worker_id=self.worker_id,
            defaults={
                "hostname": socket.gethostname(),
                "pid": os.getpid(),
                "runs_periodic": self.runs_periodic,
                "last_seen": timezone.now(),
            },
        )

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                self.beat()
            except Exception:
                log.exception("could not record the worker heartbeat")
            finally:
                close_old_connections()
            self.stopped.wait(HEARTBEAT_EVERY_SECONDS)


def start_loops(stop: threading.Event) -> list[threading.Thread]:
    """Prepares, then starts every declared loop (``jobs.loop``) in a thread of its own."""
    for loop in LOOPS.values():
        if loop.prepare is not None:
            loop.prepare()

    def run(name: str) -> None:
        try:
            LOOPS[name].run(stop)
        except Exception:
            log.exception("loop %s stopped", name)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=run, args=(name,), name=f"chorus-loop-{name}", daemon=True)
        for name in LOOPS
    ]
    for thread in threads:
        thread.start()
    return threads


def consume(*, workers: int = 2, periodic: bool = True) -> None:
    """Blocks until SIGINT/SIGTERM. Must run in the main thread (signal handlers)."""
    loops_stop = threading.Event()
    loops = start_loops(loops_stop)
    heartbeat = Heartbeat(runs_periodic=periodic)
    heartbeat.start()
    # An idle worker polls at least every second: a job due now must not wait for a long backoff.
    consumer = Consumer(
        huey,
        workers=workers,
        periodic=periodic,
        worker_type="thread",
        initial_delay=0.1,
        max_delay=1.0,
    )
    log.info(
        "queue worker started (%s, %d threads, periodic=%s)", backend_name(), workers, periodic
    )
    try:
        consumer.run()
    finally:
        loops_stop.set()
        for thread in loops:
            thread.join(timeout=30)
        heartbeat.stopped.set()


def health() -> dict[str, object]:
    """The state of the queue and of the freshest worker, for /healthz."""
    queue: dict[str, object] = {"backend": backend_name()}
    try:
        queue["pending"] = huey.pending_count()
        queue["ok"] = True
    except Exception as exc:
        queue["ok"] = False
        queue["error"] = exc.__class__.__name__
    latest = WorkerHeartbeat.objects.order_by("-last_seen").first()
    worker: dict[str, object] = {"last_heartbeat": None, "age_seconds": None, "ok": False}
    if latest:
        age = (timezone.now() - latest.last_seen).total_seconds()
        worker = {
            "last_heartbeat": latest.last_seen.isoformat(),
            "age_seconds": round(age, 1),
            "ok": age <= settings.WORKER_SILENT_AFTER_SECONDS,
            "alive": WorkerHeartbeat.objects.filter(
                last_seen__gte=timezone.now()
                - timedelta(seconds=settings.WORKER_SILENT_AFTER_SECONDS)
            ).count(),
        }
    return {"queue": queue, "worker": worker}
