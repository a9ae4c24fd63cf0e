"""The queue seam against the real backend of the leg (SQLite file, or Redis)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from huey.consumer import Consumer

from chorus import jobs
from chorus.jobs import worker
from chorus.jobs.models import PeriodicRun, WorkerHeartbeat
from chorus.jobs.queue import huey
from chorus.jobs.seam import LOOPS, Loop, claim_period
from chorus.jobs.worker import Heartbeat

pytestmark = pytest.mark.django_db(transaction=True)
ran: list[str] = []


@jobs.task()
def remember(word: str) -> str:
    ran.append(word)
    return word.upper()


@pytest.fixture
def real_queue():
    """A real consumer in this process, on the leg's queue backend."""
    huey.immediate = False
    huey.flush()
    ran.clear()
    consumer = Consumer(
        huey, workers=2, periodic=False, worker_type="thread", initial_delay=0.05, max_delay=0.2
    )
    consumer.start()
    yield
    consumer.stop(graceful=True)
    huey.flush()


def wait_for(condition, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_an_enqueued_job_runs_on_a_worker(real_queue):
    result = jobs.enqueue(remember, "bonjour")
    assert result.get(blocking=True, timeout=10) == "BONJOUR"
    assert ran == ["bonjour"]


def test_a_scheduled_job_waits_for_its_time(real_queue):
    soon = datetime.now(UTC) + timedelta(seconds=1.5)
    jobs.schedule(remember, at=soon, args=("later",))
    time.sleep(0.5)
    assert ran == []
    assert wait_for(lambda: ran == ["later"])


def test_scheduling_needs_an_aware_time():
    with pytest.raises(ValueError, match="aware"):
        jobs.schedule(remember, at=datetime(2030, 1, 1, 9, 0), args=("x",))


def test_a_period_is_claimed_once_whatever_the_number_of_schedulers():
    now = datetime(2026, 3, 29, 1, 59, 30, tzinfo=UTC)
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(claim_period("sweep", now)))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, False, False, True]
    assert claim_period("sweep", now + timedelta(minutes=1)) is True
    assert PeriodicRun.objects.filter(name="sweep").count() == 2


def test_a_worker_records_its_heartbeat():
    heartbeat = Heartbeat(runs_periodic=True)
    heartbeat.beat()
    row = WorkerHeartbeat.objects.get(worker_id=heartbeat.worker_id)
    assert row.runs_periodic and row.pid > 0


def test_declared_loops_are_prepared_then_run_in_their_own_thread_until_stopped(monkeypatch):
    events: list[str] = []

    def spin(stop: threading.Event) -> None:
        events.append("running")
        stop.wait()
        events.append("stopped")

    monkeypatch.setattr(worker, "LOOPS", {"spin": Loop(spin, lambda: events.append("prepared"))})
    stop = threading.Event()
    threads = worker.start_loops(stop)
    # Prepared before it returns, so before the process reports itself alive.
    assert events[0] == "prepared"
    assert wait_for(lambda: "running" in events)
    stop.set()
    for thread in threads:
        thread.join(timeout=5)
    assert events == ["prepared", "running", "stopped"]


def test_every_worker_process_runs_the_publishing_dispatcher():
    assert "publishing.dispatcher" in LOOPS
