"""``chorus bench publish``: the ledger against a local stub network, measured.

A throwaway organisation gets ``channels`` channels and ``deliveries`` deliveries due over a
short window. ``workers`` real ``chorus worker`` processes (the command itself, on this
database and this queue: their dispatchers, queue jobs and publishers) publish them; the only
thing swapped is the network, a stub that answers after ``latency_ms`` and does *not*
deduplicate: every call it gets is written to a shared log, so each duplicate the ledger let
through is counted. The organisation is deleted afterwards.

The worker processes run ``chorus.publishing.bench_worker``, which installs the stub and then
hands over to ``chorus worker``.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection
from django.utils import timezone

from chorus.channels.models import Channel
from chorus.jobs.models import WorkerHeartbeat
from chorus.orgs import services as org_services
from chorus.orgs.access import Actor
from chorus.orgs.models import Organisation, User
from chorus.publishing import ledger, services
from chorus.publishing.models import Delivery, Post


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
    #: CPU the worker processes spent per delivery once it was due (not the database
    #: server's): a figure a busy machine does not distort as it does lateness.
    worker_cpu_ms_per_delivery: float | None


def _cpu_seconds(pids: list[int]) -> float | None:
    """User and system CPU time of these processes so far (Linux), or ``None``."""
    total = 0
    try:
        for pid in pids:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    except (OSError, IndexError, ValueError):
        return None
    return total / os.sysconf("SC_CLK_TCK")


def database_url() -> str:
    """This process's database, as a URL for the worker processes."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    return f"postgres://{quote(db['USER'] or '', safe='')}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _start_workers(count: int, log_path: str, latency: float) -> list[subprocess.Popen[bytes]]:
    env = {**os.environ, "DATABASE_URL": database_url(), "QUEUE_URL": settings.QUEUE_URL}
    command = [sys.executable, "-m", "chorus.publishing.bench_worker", log_path, str(latency)]
    return [subprocess.Popen(command, env=env) for _ in range(count)]  # noqa: S603 (this Python, fixed module)


def _wait_for_heartbeats(pids: set[int], processes: list[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + 120
    while set(WorkerHeartbeat.objects.filter(pid__in=pids).values_list("pid", flat=True)) != pids:
        if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
            raise RuntimeError("the bench's worker processes did not start")
        time.sleep(0.1)


def _stop_workers(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
    for process in processes:
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    WorkerHeartbeat.objects.filter(pid__in=[p.pid for p in processes]).delete()


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
    suffix = uuid.uuid4().hex[:8]
    owner = User.objects.create_user(f"bench-{suffix}@bench.invalid", None)
    root = org_services.create_organisation(owner=owner, name="Bench", slug=f"bench-{suffix}")
    actor = Actor(owner)
    processes: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory(prefix="chorus-bench-") as scratch:
        log_path = str(Path(scratch) / "published.log")
        try:
            processes = _start_workers(workers, log_path, latency_ms / 1000)
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
            _wait_for_heartbeats({p.pid for p in processes}, processes)
            drafts: list[Post] = []
            remaining = deliveries
            while remaining > 0:
                targets = made[: min(channels, remaining)]
                drafts.append(
                    services.create_post(
                        actor,
                        root,
                        text=f"Bench post {len(drafts)}",
                        channels=[channel.pk for channel in targets],
                    )
                )
                remaining -= len(targets)
            # Written ahead as drafts (that takes longer than the lead on a busy machine), then
            # all put on the schedule at once: due over one second, in 10 ms steps, and
            # queued as the product queues them.
            start = timezone.now() + timedelta(seconds=lead_seconds)
            for index, post in enumerate(drafts):
                when = start + timedelta(milliseconds=10 * (index % 100))
                Delivery.objects.filter(post=post).update(
                    state=Delivery.State.SCHEDULED, scheduled_at=when, due_at=when
                )
            ledger.dispatch(Delivery.objects.filter(workspace=root).values_list("pk", "due_at"))
            cpu_before = _cpu_seconds([p.pid for p in processes])
            ours = Delivery.objects.filter(workspace=root)
            deadline = time.monotonic() + lead_seconds + timeout_seconds
            while time.monotonic() < deadline:
                if not ours.exclude(state=Delivery.State.PUBLISHED).exists():
                    break
                if any(p.poll() is not None for p in processes):
                    raise RuntimeError("a bench worker process died")
                time.sleep(0.05)
            cpu_after = _cpu_seconds([p.pid for p in processes])
            _stop_workers(processes)
            rows = list(ours.values_list("scheduled_at", "published_at", "state"))
            posts = Counter(Path(log_path).read_text().split())
        finally:
            _stop_workers(processes)
            Organisation.objects.filter(pk=root.organisation_id).delete()
            owner.delete()
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
        duplicates=sum(count - 1 for count in posts.values() if count > 1),
        lost=sum(1 for _s, _p, state in rows if state != Delivery.State.PUBLISHED),
        worker_cpu_ms_per_delivery=round((cpu_after - cpu_before) * 1000 / len(rows), 2)
        if cpu_before is not None and cpu_after is not None and rows
        else None,
    )
