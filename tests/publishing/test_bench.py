"""`chorus bench publish` runs real `chorus worker` processes over the ledger and prints one
JSON line."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from chorus.jobs.models import WorkerHeartbeat
from chorus.jobs.queue import huey
from chorus.orgs.models import Organisation
from chorus.publishing.models import Delivery


@pytest.fixture
def real_queue():
    """The bench queues jobs for its workers as the product does, on the leg's queue."""
    huey.immediate = False
    huey.flush()
    yield
    huey.flush()


@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_publish_every_delivery_exactly_once(real_queue):
    out = io.StringIO()
    call_command(
        "bench",
        "publish",
        "--deliveries",
        "40",
        "--channels",
        "4",
        "--latency-ms",
        "5",
        "--workers",
        "3",
        stdout=out,
    )
    figures = json.loads(out.getvalue())
    assert (figures["deliveries"], figures["workers"]) == (40, 3)
    assert (figures["duplicates"], figures["lost"]) == (0, 0)
    assert set(figures) >= {
        "p50_lateness_ms",
        "p99_lateness_ms",
        "max_lateness_ms",
        "throughput_per_s",
    }
    # The throwaway organisation is gone, and so are its worker processes' heartbeats.
    assert not Organisation.objects.exists() and not Delivery.objects.exists()
    assert not WorkerHeartbeat.objects.exists()
