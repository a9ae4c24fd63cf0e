"""``chorus bench publish``: the ledger against a local stub network, measured.

A throwaway organisation gets ``channels`` channels and ``deliveries`` deliveries due over a
short window; ``workers`` threads run the ledger (claim, publish, record) as queue workers
would, against a stub connector that answers after ``latency_ms`` and does *not* deduplicate,
so every duplicate the ledger let through is counted. The organisation is deleted afterwards.
"""

from __future__ import annotations

import statistics
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import close_old_connections
from django.utils import timezone

from chorus.channels import services as channel_services
from chorus.channels.models import Channel
from chorus.networks.base import PostContent, PublishResult, ValidationIssue
from chorus.networks.validation import validate
from chorus.orgs import services as org_services
from chorus.orgs.access import Actor
from chorus.orgs.models import Organisation, User
from chorus.publishing import ledger, services
from chorus.publishing.models import Delivery
from chorus.publishing.timing import Instant


class StubConnector:
    """A network that takes ``latency`` per call and remembers every post it got."""

    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.lock = threading.Lock()
        self.posts: Counter[str] = Counter()

    def validate(self, content: PostContent) -> list[ValidationIssue]:
        return validate("bluesky", content)

    def publish(self, content: PostContent, idempotency_key: str) -> PublishResult:
        time.sleep(self.latency)
        with self.lock:
            self.posts[idempotency_key] += 1
            number = sum(self.posts.values())
        return PublishResult(
            remote_id=f"stub-{number}",
            remote_url=f"https://stub.invalid/{number}",
            published_at=datetime.now(UTC),
        )

    def find_published(self, idempotency_key: str) -> PublishResult | None:
        return None


@dataclass(frozen=True)
class Figures:
    deliveries: int
    channels: int
    workers: int
    latency_ms: int
    p50_lateness_ms: float
    p99_lateness_ms: float
    max_lateness_ms: float
    throughput_per_s: float
    duplicates: int
    lost: int


@contextmanager
def _stub_network(stub: StubConnector) -> Iterator[None]:
    original_connector, original_dispatch = channel_services.connector_for, ledger.dispatch
    channel_services.connector_for = lambda channel: stub  # type: ignore[assignment,return-value]
    ledger.dispatch = lambda due: None  # the bench's workers poll; no queue jobs
    try:
        yield
    finally:
        channel_services.connector_for = original_connector
        ledger.dispatch = original_dispatch


def _worker(stop: threading.Event, errors: list[BaseException]) -> None:
    try:
        while not stop.is_set():
            ids, token = ledger.claim(limit=5)
            if not ids:
                time.sleep(0.02)
                continue
            for delivery_id in ids:
                ledger.send(delivery_id, token)
    except BaseException as exc:  # reported by the caller
        errors.append(exc)
    finally:
        close_old_connections()


def _percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def run(
    *,
    deliveries: int,
    channels: int,
    latency_ms: int = 50,
    workers: int = 4,
    lead_seconds: float = 2.0,
    timeout_seconds: float = 600.0,
) -> Figures:
    if deliveries < 1 or channels < 1 or workers < 1:
        raise ValueError("deliveries, channels and workers must be at least 1")
    stub = StubConnector(latency_ms / 1000)
    suffix = uuid.uuid4().hex[:8]
    owner = User.objects.create_user(f"bench-{suffix}@bench.invalid", None)
    root = org_services.create_organisation(owner=owner, name="Bench", slug=f"bench-{suffix}")
    actor = Actor(owner)
    try:
        with _stub_network(stub):
            made = [
                Channel.objects.create(
                    workspace=root,
                    network="bluesky",
                    remote_id=f"did:plc:bench{suffix}{n}",
                    handle=f"bench{n}.invalid",
                    credentials_ciphertext="",
                )
                for n in range(channels)
            ]
            start = timezone.now() + timedelta(seconds=lead_seconds)
            remaining, index = deliveries, 0
            while remaining > 0:
                targets = made[: min(channels, remaining)]
                # Due times spread over one second, in 10 ms steps.
                when = start + timedelta(milliseconds=10 * (index % 100))
                services.create_post(
                    actor,
                    root,
                    text=f"Bench post {index}",
                    channels=[channel.pk for channel in targets],
                    when=Instant(when, "UTC"),
                )
                remaining -= len(targets)
                index += 1
            ours = Delivery.objects.filter(workspace=root)
            stop, errors = threading.Event(), list[BaseException]()
            threads = [
                threading.Thread(target=_worker, args=(stop, errors), daemon=True)
                for _ in range(workers)
            ]
            for thread in threads:
                thread.start()
            began = time.monotonic()
            deadline = began + lead_seconds + timeout_seconds
            while time.monotonic() < deadline and not errors:
                if not ours.exclude(state=Delivery.State.PUBLISHED).exists():
                    break
                time.sleep(0.05)
            stop.set()
            for thread in threads:
                thread.join()
            if errors:
                raise errors[0]
            rows = list(ours.values_list("scheduled_at", "published_at", "state"))
        lateness = [
            max((published - scheduled).total_seconds() * 1000, 0.0)
            for scheduled, published, state in rows
            if state == Delivery.State.PUBLISHED and published and scheduled
        ]
        published_times = [published for _s, published, _st in rows if published]
        span = (
            (max(published_times) - min(s for s, _p, _st in rows if s)).total_seconds()
            if published_times
            else 0.0
        )
        return Figures(
            deliveries=len(rows),
            channels=channels,
            workers=workers,
            latency_ms=latency_ms,
            p50_lateness_ms=round(statistics.median(lateness), 1) if lateness else 0.0,
            p99_lateness_ms=round(_percentile(lateness, 0.99), 1),
            max_lateness_ms=round(max(lateness, default=0.0), 1),
            throughput_per_s=round(len(lateness) / span, 1) if span > 0 else 0.0,
            duplicates=sum(count - 1 for count in stub.posts.values() if count > 1),
            lost=sum(1 for _s, _p, state in rows if state != Delivery.State.PUBLISHED),
        )
    finally:
        organisation = Organisation.objects.get(pk=root.organisation_id)
        organisation.delete()
        owner.delete()
