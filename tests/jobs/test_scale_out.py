"""Several `chorus worker` processes share one queue (the leg's SQLite file, or Redis)."""

from __future__ import annotations

import pytest

from chorus.jobs.models import WorkerHeartbeat
from chorus.jobs.tasks import ping
from tests.fixtures.workers import wait_for_heartbeats

pytestmark = pytest.mark.django_db(transaction=True)


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
        worker.pid for worker in two_workers
    }
    assert not WorkerHeartbeat.objects.filter(runs_periodic=True).exists()
