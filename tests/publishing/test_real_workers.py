"""Real `chorus worker` processes take scheduled deliveries from the queue and publish them on
the local Bluesky network at their time, once, even when each job is queued twice."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from chorus.publishing import ledger
from chorus.publishing.models import Delivery
from tests.conftest import add_workspace, make_org, owner_of
from tests.fixtures.workers import wait_for_heartbeats
from tests.publishing.helpers import bluesky_channel, post_to, texts_on

pytestmark = [pytest.mark.bluesky, pytest.mark.django_db(transaction=True)]


def wait_until_settled(timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not Delivery.objects.exclude(state=Delivery.State.PUBLISHED).exists():
            return
        time.sleep(0.3)


def test_scheduled_deliveries_go_out_once_through_the_queue(bluesky_network, two_workers):
    wait_for_heartbeats(2)
    org = make_org()
    boss = owner_of(org)
    hq = bluesky_channel(bluesky_network, org, boss)
    market = bluesky_channel(bluesky_network, add_workspace(org), boss)
    due = timezone.now() + timedelta(seconds=4)
    post_to(boss, org, [hq, market], due, text="Queued for later")
    post_to(boss, org, [hq], due + timedelta(seconds=1), text="And one more")
    # A second job for every delivery, as if the sweeper and the queue both drove it.
    ledger.dispatch(Delivery.objects.values_list("pk", "due_at"))

    wait_until_settled()

    assert texts_on(bluesky_network, hq) == ["And one more", "Queued for later"]
    assert texts_on(bluesky_network, market) == ["Queued for later"]
    for delivery in Delivery.objects.all():
        assert delivery.state == Delivery.State.PUBLISHED
        assert delivery.published_at is not None and delivery.scheduled_at is not None
        assert delivery.published_at >= delivery.scheduled_at  # never early
