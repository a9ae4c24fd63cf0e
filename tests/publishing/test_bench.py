"""`chorus bench publish` runs the ledger with concurrent workers and prints one JSON line."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from chorus.orgs.models import Organisation
from chorus.publishing.models import Delivery


@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_publish_every_delivery_exactly_once():
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
    assert figures["deliveries"] == 40
    assert (figures["duplicates"], figures["lost"]) == (0, 0)
    assert set(figures) >= {
        "p50_lateness_ms",
        "p99_lateness_ms",
        "max_lateness_ms",
        "throughput_per_s",
    }
    # The throwaway organisation is gone.
    assert not Organisation.objects.exists() and not Delivery.objects.exists()
