"""Many deliveries in hand at once, still exactly once: publishers racing over the same due
deliveries, outcomes recorded whatever their neighbours do, rate limits that hold one channel
only, and a dispatcher that claims deliveries at their time."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connections
from django.utils import timezone

from chorus.channels import services as channel_services
from chorus.channels.models import Channel, RateLimitBudget
from chorus.channels.ratelimits import DatabaseRateLimitStore
from chorus.networks import errors as network_errors
from chorus.networks.base import PostContent, PublishResult, ValidationIssue
from chorus.networks.ratelimit import wait_for_budget
from chorus.networks.validation import validate
from chorus.orgs import audit
from chorus.publishing import ledger
from chorus.publishing.models import Delivery
from tests.conftest import make_org, owner_of
from tests.publishing.helpers import offline_channel, post_to

pytestmark = pytest.mark.django_db(transaction=True)
State = Delivery.State


class SlowNetwork:
    """Answers after ``latency`` seconds, never deduplicates, and remembers when each channel
    was called; a channel's spent rate-limit budget (kept in the database) is waited for, as
    connectors do. ``failures`` maps a channel's handle to what its call raises."""

    def __init__(self, latency: float = 0.02) -> None:
        self.latency = latency
        self.lock = threading.Lock()
        self.posts: Counter[str] = Counter()
        self.calls: list[tuple[str, datetime]] = []
        self.failures: dict[str, Exception] = {}

    def for_channel(self, channel: Channel) -> SlowNetwork.Account:
        return SlowNetwork.Account(self, channel.handle)

    class Account:
        def __init__(self, network: SlowNetwork, handle: str) -> None:
            self.network, self.handle = network, handle

        def validate(self, content: PostContent) -> list[ValidationIssue]:
            return validate("bluesky", content)

        def publish(self, content: PostContent, idempotency_key: str) -> PublishResult:
            wait_for_budget(DatabaseRateLimitStore(), self.handle, max_wait_seconds=10)
            network = self.network
            with network.lock:
                network.calls.append((self.handle, datetime.now(UTC)))
            time.sleep(network.latency)
            if self.handle in network.failures:
                raise network.failures[self.handle]
            with network.lock:
                network.posts[idempotency_key] += 1
            return PublishResult(
                remote_id=f"at://{self.handle}/{idempotency_key}",
                remote_url=f"https://{self.handle}/{idempotency_key}",
            )

        def find_published(self, idempotency_key: str, **attempt: object) -> PublishResult | None:
            return None


@pytest.fixture
def network(monkeypatch) -> SlowNetwork:
    stub = SlowNetwork()
    monkeypatch.setattr(channel_services, "connector_for", stub.for_channel)
    return stub


def due_now(channels: int, posts: int) -> list[Channel]:
    """``posts`` posts on each of ``channels`` channels, all due now."""
    org = make_org()
    made = [offline_channel(org) for _ in range(channels)]
    for number in range(posts):
        post_to(owner_of(org), org, made, None, text=f"Post {number}")
    Delivery.objects.update(
        state=State.SCHEDULED, scheduled_at=timezone.now(), due_at=timezone.now()
    )
    return made


def drain(publisher: ledger.Publisher) -> None:
    """Claims and publishes through ``publisher`` until nothing is due, then stops it."""
    try:
        while True:
            claimed, lanes = publisher.start()
            for lane in lanes:
                lane.result()
            if not claimed:
                return
    finally:
        publisher.shutdown()
        connections.close_all()


def test_two_workers_racing_over_the_same_due_deliveries_publish_each_once(network):
    due_now(channels=6, posts=10)
    workers = [ledger.Publisher(slots=8), ledger.Publisher(slots=8)]
    threads = [threading.Thread(target=drain, args=(worker,)) for worker in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert list(network.posts.values()) == [1] * 60  # 60 different posts, each sent once
    assert Counter(Delivery.objects.values_list("state", flat=True)) == {State.PUBLISHED: 60}
    for delivery in Delivery.objects.select_related("channel"):
        # The remote id the network returned is the one stored.
        assert delivery.remote_id == f"at://{delivery.channel.handle}/{delivery.idempotency_key}"
        assert delivery.attempts == 1


def test_a_result_is_recorded_even_when_its_neighbours_in_the_batch_fail(network, monkeypatch):
    invalid, flaky, broken, fine, unrecordable = due_now(channels=5, posts=1)
    network.failures = {
        invalid.handle: network_errors.InvalidContent("Record/text too long"),
        flaky.handle: network_errors.TransientError("502 Bad Gateway"),
        broken.handle: RuntimeError("connection reset after sending"),
    }
    # Recording one of them fails: the group it arrived with is written one by one instead.
    original_entry = audit.entry

    def entry(*args, **kwargs):
        if kwargs.get("details", {}).get("channel") == unrecordable.pk:
            raise RuntimeError("disk full")
        return original_entry(*args, **kwargs)

    monkeypatch.setattr(audit, "entry", entry)

    claimed, lanes = ledger.Publisher(slots=5).start()
    assert claimed == 5 and len(lanes) == 5  # one batch, a lane per channel
    outcomes = sorted(outcome for lane in lanes for outcome in lane.result())

    assert outcomes == sorted(
        [State.FAILED, State.SCHEDULED, State.UNCONFIRMED, State.PUBLISHED, "error"]
    )
    state_of = {d.channel_id: d for d in Delivery.objects.all()}
    assert state_of[invalid.pk].state == State.FAILED
    assert state_of[flaky.pk].state == State.SCHEDULED  # retried later
    assert state_of[broken.pk].state == State.UNCONFIRMED  # read back before any retry
    assert state_of[fine.pk].state == State.PUBLISHED
    assert state_of[fine.pk].remote_id.startswith(f"at://{fine.handle}/")
    # Not recorded: still held under its lease, so the sweeper reads the network for it.
    assert state_of[unrecordable.pk].state == State.SENDING


def test_one_channels_rate_limit_does_not_delay_the_others(network):
    limited, free = due_now(channels=2, posts=3)
    reset_at = timezone.now() + timedelta(seconds=1.5)
    RateLimitBudget.objects.create(
        key=limited.handle, limit=100, remaining=0, reset_at=reset_at, observed_at=timezone.now()
    )
    started = datetime.now(UTC)

    drain(ledger.Publisher(slots=6))

    calls = {
        handle: [at for h, at in network.calls if h == handle]
        for handle in (limited.handle, free.handle)
    }
    # The free channel went ahead at once while the limited one waited for its budget ...
    assert max(calls[free.handle]) < reset_at
    assert max(calls[free.handle]) - started < timedelta(seconds=1)
    # ... and the limited one waited rather than hammered: no call before the reset.
    assert len(calls[limited.handle]) == 3
    assert min(calls[limited.handle]) >= reset_at
    assert Counter(Delivery.objects.values_list("state", flat=True)) == {State.PUBLISHED: 6}


def test_a_lane_slowed_past_half_its_lease_gives_the_rest_back_uncounted(network, settings):
    settings.PUBLISH_LEASE_SECONDS = 2
    network.latency = 1.2
    due_now(channels=1, posts=2)

    claimed, lanes = ledger.Publisher(slots=2).start()
    assert claimed == 2
    assert sorted(lanes[0].result()) == [State.PUBLISHED, State.SCHEDULED]

    given_back = Delivery.objects.get(state=State.SCHEDULED)
    assert (given_back.attempts, given_back.claim, given_back.lease_expires_at) == (0, "", None)
    assert sum(network.posts.values()) == 1


def test_the_dispatcher_claims_deliveries_at_their_time(network):
    org = make_org()
    channels = [offline_channel(org) for _ in range(3)]
    due = timezone.now() + timedelta(seconds=1.5)
    post_to(owner_of(org), org, channels, due)
    stop = threading.Event()
    dispatcher = threading.Thread(target=ledger.dispatch_forever, args=(stop,))
    dispatcher.start()
    try:
        deadline = time.monotonic() + 20
        while Delivery.objects.exclude(state=State.PUBLISHED).exists():
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        stop.set()
        dispatcher.join()

    for delivery in Delivery.objects.all():
        assert delivery.published_at is not None
        lateness = delivery.published_at - due
        assert timedelta(0) <= lateness < timedelta(seconds=1)  # never early, not a poll late
