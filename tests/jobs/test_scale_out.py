"""Several `chorus worker` processes share one queue (the leg's SQLite file, or Redis)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.db import connection

from chorus.jobs.models import WorkerHeartbeat
from chorus.jobs.queue import huey
from chorus.jobs.tasks import ping

pytestmark = pytest.mark.django_db(transaction=True)


def database_url() -> str:
    """The test database, as a URL the worker processes can use."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.fixture
def two_workers():
    huey.immediate = False
    huey.flush()
    env = {**os.environ, "DATABASE_URL": database_url(), "QUEUE_URL": settings.QUEUE_URL}
    workers = [
        subprocess.Popen([sys.executable, "-m", "chorus.cli", "worker", "--threads", "1"], env=env)
        for _ in range(2)
    ]
    yield workers
    for worker in workers:
        worker.send_signal(signal.SIGINT)
    for worker in workers:
        worker.wait(timeout=30)
    huey.flush()


def wait_for_heartbeats(count: int) -> None:
    deadline = time.monotonic() + 30
    while WorkerHeartbeat.objects.count() < count and time.monotonic() < deadline:
        time.sleep(0.2)


def test_jobs_spread_over_every_worker_process(two_workers):
    wait_for_heartbeats(2)
    results = [ping(hold_seconds=0.1) for _ in range(40)]
    answers = [result.get(blocking=True, timeout=60) for result in results]
    assert len(answers) == 40
    pids = {answer.rsplit(":", 1)[1] for answer in answers}
    assert pids == {str(worker.pid) for worker in two_workers}


def test_each_worker_process_reports_its_heartbeat(two_workers):
    wait_for_heartbeats(2)
    assert set(WorkerHeartbeat.objects.values_list("pid", flat=True)) == {
        w.pid for w in two_workers
    }
    assert not WorkerHeartbeat.objects.filter(runs_periodic=True).exists()
