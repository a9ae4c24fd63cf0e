"""The publishing ledger: each delivery goes out exactly once, whatever crashes on the way.

1. A delivery is **claimed** before any network call: one ``UPDATE … WHERE state='scheduled'``
   moves it to ``sending`` with a lease (``SELECT … FOR UPDATE SKIP LOCKED`` picks the rows on
   PostgreSQL; SQLite's IMMEDIATE transactions serialise the writers). Two workers never both
   hold one delivery.
2. The connector publishes with the delivery's stable idempotency key (on Bluesky the key *is*
   the record key, so a repeated call cannot make a second post), and the remote id is stored
   the moment the network returns it.
3. Errors are mapped by type: invalid content fails for good; rate limits and transient errors
   go back to the schedule with a retry time, a bounded number of times; an ambiguous outcome
   (timeout after sending) or a worker that died mid-call (lease expired in ``sending``) makes
   the delivery ``unconfirmed``, and it is **reconciled by reading the network**
   (``find_published``) before any retry; refused credentials hold it until the channel is
   reconnected. One channel's failure never touches another's delivery.
4. Many deliveries are in hand at once: each worker process has one ``Publisher``, a bounded
   pool (``CHORUS_PUBLISH_CONCURRENCY``) through which claimed batches go out side by side, one
   lane per channel (a channel waiting on its rate-limit budget holds one thread, never the
   others), each outcome recorded as it arrives (answers that arrive together share one short
   transaction). Its dispatcher (a ``jobs.loop``) wakes at the next due time and claims what
   is due in one statement; a queue job at each due time and the sweeper are the safety net.
5. The **sweeper** (every minute) expires leases, reconciles, releases held deliveries whose
   channel works again, publishes due deliveries whose job was lost, and e-mails the authors
   and approvers of posts still awaiting approval at their time.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from queue import Empty, SimpleQueue

from django.conf import settings
from django.core.mail import send_mail
from django.db import close_old_connections, connection, connections, transaction
from django.db.models import F, Min, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from chorus import crypto
from chorus.channels import services as channel_services
from chorus.channels.models import Channel
from chorus.networks import errors as network_errors
from chorus.networks.base import Capability, PostContent, PublishResult
from chorus.networks.registry import NETWORKS
from chorus.orgs import audit
from chorus.orgs.models import AuditEntry, Membership, Workspace
from chorus.orgs.roles import ROLE_MATRIX, Action
from chorus.publishing import decisions, media
from chorus.publishing.models import Delivery, Post
from chorus.publishing.services import active_pause, content_for

log = logging.getLogger(__name__)
State = Delivery.State
Hold = Delivery.Hold

MAX_ATTEMPTS = 5
LONGEST_RETRY = timedelta(minutes=15)
#: /healthz answers 503 when a delivery the ledger should have sent is later than this.
LATE_AFTER = timedelta(minutes=5)
#: The longest an idle dispatcher sleeps before looking again for deliveries due sooner.
DISPATCH_POLL_SECONDS = 1.0


def lease() -> timedelta:
    """How long a claim lasts before the sweeper treats its worker as dead."""
    return timedelta(seconds=settings.PUBLISH_LEASE_SECONDS)


def _reconcilable_networks() -> list[str]:
    return [
        slug for slug, info in NETWORKS.items() if Capability.FIND_PUBLISHED in info.capabilities
    ]


# Claiming ---------------------------------------------------------------------------------------


def claim(
    *,
    now: datetime | None = None,
    ids: Iterable[int] | None = None,
    limit: int = 50,
    states: Iterable[str] = (State.SCHEDULED,),
) -> tuple[list[int], str]:
    """Atomically moves due deliveries to ``sending`` under a new lease; returns their ids and
    the claim token a worker must show to record their outcome."""
    now = now or timezone.now()
    token = uuid.uuid4().hex
    states = list(states)
    with transaction.atomic():
        due = Delivery.objects.filter(
            state__in=states, due_at__lte=now, channel__status=Channel.Status.ACTIVE
        )
        if ids is not None:
            due = due.filter(pk__in=list(ids))
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True, of=("self",))
        picked = list(due.order_by("due_at", "pk").values_list("pk", flat=True)[:limit])
        if not picked:
            return [], token
        updated = Delivery.objects.filter(pk__in=picked, state__in=states, due_at__lte=now).update(
            state=State.SENDING,
            claim=token,
            lease_expires_at=now + lease(),
            attempts=F("attempts") + 1,
            updated_at=now,
        )
        if updated == len(picked):  # the usual case: the picked rows were locked for us
            return picked, token
        claimed = list(
            Delivery.objects.filter(claim=token, state=State.SENDING).values_list("pk", flat=True)
        )
    return claimed, token


# Sending ----------------------------------------------------------------------------------------


def send(delivery_id: int, token: str, now: datetime | None = None) -> str:
    """Publishes one claimed delivery (reconciling first when an earlier attempt may have
    gone through) and records the outcome. Returns the state it ended in."""
    loaded = _load_claimed([delivery_id], token)
    return _send_claimed(loaded[0], token, now, _Batch()) if loaded else "lost_claim"


def _load_claimed(ids: list[int], token: str) -> list[Delivery]:
    """The deliveries this claim still holds, with what publishing them needs, in one query."""
    return list(
        Delivery.objects.select_related("channel__workspace", "variant__post", "workspace")
        .filter(pk__in=ids, claim=token, state=State.SENDING)
        .order_by("due_at", "pk")
    )


class _Batch:
    """What the deliveries of one claimed batch share, read once for all of them: each
    variant's content per network and each workspace's crisis pause (as of the claim: a
    claimed delivery is already on its way)."""

    def __init__(self, recorder: _Recorder | None = None) -> None:
        self._contents: dict[tuple[int, str], PostContent] = {}
        self._paused: dict[int, bool] = {}
        self._recorder = recorder

    def read_ahead(self, deliveries: Iterable[Delivery]) -> None:
        """Reads what the batch shares once, before its lanes start side by side."""
        for delivery in deliveries:
            self.content(delivery)
            self.paused(delivery)

    def published(self, delivery: Delivery, result: PublishResult, reconciled: bool = False) -> str:
        if self._recorder is None:
            return _published(delivery, result, reconciled=reconciled)
        self._recorder.record(_Sent(delivery, result, reconciled))
        return State.PUBLISHED

    def content(self, delivery: Delivery) -> PostContent:
        key = (delivery.variant_id, delivery.channel.network)
        if key not in self._contents:
            self._contents[key] = content_for(delivery.variant, delivery.channel.network)
        return self._contents[key]

    def paused(self, delivery: Delivery) -> bool:
        if delivery.workspace_id not in self._paused:
            self._paused[delivery.workspace_id] = active_pause(delivery.workspace) is not None
        return self._paused[delivery.workspace_id]


def _send_claimed(delivery: Delivery, token: str, now: datetime | None, batch: _Batch) -> str:
    channel = delivery.channel
    try:
        if delivery.attempts > 1 and channel.network in _reconcilable_networks():
            # What was sent, and a time before any attempt began (the delivery's creation):
            # networks without an idempotency key recognise their post by them.
            try:
                found = channel_services.call(
                    channel,
                    lambda c: c.find_published(
                        delivery.idempotency_key,
                        content=batch.content(delivery),
                        sent_after=delivery.created_at,
                    ),
                    record_ok=False,  # recorded with the outcome
                )
            except (network_errors.TransientError, network_errors.RateLimited) as exc:
                if delivery.attempts < MAX_ATTEMPTS:
                    raise  # retried later, reading first again
                return _still_unconfirmed(delivery, token, str(exc), now)
            if found is not None:
                return batch.published(delivery, found, reconciled=True)
        if batch.paused(delivery):
            return _finish(delivery, token, State.PAUSED, _("Crisis pause."), hold=Hold.CRISIS)
        content = batch.content(delivery)
        media.require_reachable_links(content, channel.network)
        result = channel_services.call(
            channel, lambda c: c.publish(content, delivery.idempotency_key), record_ok=False
        )
    except network_errors.InvalidContent as exc:
        return _finish(delivery, token, State.FAILED, exc.reason or str(exc))
    except network_errors.RateLimited as exc:
        return _retry(delivery, token, str(exc), timedelta(seconds=exc.retry_after_seconds), now)
    except network_errors.TransientError as exc:
        return _retry(delivery, token, str(exc), None, now)
    except network_errors.AuthError as exc:
        # The channel is now "reconnect needed" and its managers are told; hold, don't fail.
        return _finish(delivery, token, State.PAUSED, str(exc), hold=Hold.RECONNECT)
    except crypto.DecryptionError as exc:
        return _finish(delivery, token, State.PAUSED, str(exc), hold=Hold.RECONNECT)
    except network_errors.AmbiguousOutcome as exc:
        return _finish(delivery, token, State.UNCONFIRMED, str(exc))
    except (network_errors.NotFound, network_errors.Unsupported) as exc:
        return _finish(delivery, token, State.FAILED, str(exc))
    except Exception as exc:
        # Anything else may have happened after the request left: never assume it did not.
        log.exception("delivery %s: unexpected error while publishing", delivery.pk)
        return _finish(delivery, token, State.UNCONFIRMED, f"{exc.__class__.__name__}: {exc}")
    return batch.published(delivery, result)


@dataclass(frozen=True)
class _Sent:
    delivery: Delivery
    result: PublishResult
    reconciled: bool = False


def _published(delivery: Delivery, result: PublishResult, *, reconciled: bool = False) -> str:
    _record_published([_Sent(delivery, result, reconciled)])
    return State.PUBLISHED


def _record_published(sent: list[_Sent]) -> None:
    """The network's answer is the truth: recorded whoever holds the claim now, several
    answers in one short transaction when they arrived together."""
    now = timezone.now()
    with transaction.atomic():
        still_open = Delivery.objects.filter(
            pk__in=[item.delivery.pk for item in sent],
            state__in=[State.SENDING, State.UNCONFIRMED, State.SCHEDULED],
        )
        if connection.features.has_select_for_update:
            still_open = still_open.select_for_update(of=("self",))
        recordable = set(still_open.values_list("pk", flat=True))
        channel_services.record_success(*(item.delivery.channel for item in sent))
        rows = [item for item in sent if item.delivery.pk in recordable]
        if not rows:
            return
        Delivery.objects.filter(pk__in=list(recordable)).update(
            state=State.PUBLISHED,
            hold=Hold.NONE,
            lease_expires_at=None,
            due_at=None,
            claim="",
            last_error="",
            updated_at=now,
        )
        _store_remote_ids(rows, now)
        AuditEntry.objects.bulk_create(
            audit.entry(
                None,
                "delivery.published",
                workspace=item.delivery.workspace,
                target=item.delivery,
                details={
                    "post": item.delivery.post_id,
                    "channel": item.delivery.channel_id,
                    "remote_id": item.result.remote_id[:500],
                    "reconciled": item.reconciled,
                },
            )
            for item in rows
        )


def _store_remote_ids(sent: list[_Sent], now: datetime) -> None:
    """Each row's own remote id, URL and time in one statement run for many (``executemany``):
    the ORM's ``bulk_update`` builds a CASE per row and field, costlier than the call itself."""
    adapt = connection.ops.adapt_datetimefield_value
    table = connection.ops.quote_name(Delivery._meta.db_table)
    statement = (
        f"UPDATE {table} SET remote_id = %s, remote_url = %s, published_at = %s"  # noqa: S608 (the model's table; values are parameters)
        " WHERE id = %s"
    )
    with connection.cursor() as cursor:
        cursor.executemany(
            statement,
            [
                (
                    item.result.remote_id[:500],
                    item.result.remote_url[:1000],
                    adapt(item.result.published_at or now),
                    item.delivery.pk,
                )
                for item in sent
            ],
        )


class _Recorder:
    """Records a process's published deliveries: whatever arrived while the previous write
    ran goes into the next transaction (a group commit), so each remote id is stored as soon
    as the database can take it, without one transaction per delivery. Each sender waits for
    its own write; when a group fails, its deliveries are written one by one, so one bad row
    never costs its neighbours their record."""

    def __init__(self) -> None:
        self._arrived: SimpleQueue[tuple[_Sent, Future[None]] | None] = SimpleQueue()
        self._thread = threading.Thread(
            target=self._write_forever, name="chorus-publish-recorder", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._arrived.put(None)
        self._thread.join()

    def record(self, sent: _Sent) -> None:
        written: Future[None] = Future()
        self._arrived.put((sent, written))
        written.result()

    def _write_forever(self) -> None:
        closing = False
        while not closing:
            group: list[tuple[_Sent, Future[None]]] = []
            arrived = self._arrived.get()
            while arrived is not None:
                group.append(arrived)
                try:
                    arrived = self._arrived.get_nowait()
                except Empty:
                    break
            closing = arrived is None
            if group:
                self._write(group)
        connections.close_all()

    def _write(self, group: list[tuple[_Sent, Future[None]]]) -> None:
        try:
            _record_published([sent for sent, _written in group])
        except Exception:
            close_old_connections()
            for sent, written in group:
                self._write_alone(sent, written)
        else:
            for _sent, written in group:
                written.set_result(None)

    @staticmethod
    def _write_alone(sent: _Sent, written: Future[None]) -> None:
        try:
            _record_published([sent])
        except Exception as exc:
            close_old_connections()
            written.set_exception(exc)
        else:
            written.set_result(None)


def _finish(delivery: Delivery, token: str, state: str, error: str, hold: str = Hold.NONE) -> str:
    now = timezone.now()
    message = network_errors.untrusted_text(error, 2000)
    with transaction.atomic():
        updated = Delivery.objects.filter(pk=delivery.pk, claim=token, state=State.SENDING).update(
            state=state,
            hold=hold,
            last_error=message,
            lease_expires_at=None,
            claim="",
            updated_at=now,
        )
        if updated and state in (State.FAILED, State.UNCONFIRMED, State.PAUSED):
            audit.record(
                None,
                f"delivery.{state}",
                workspace=delivery.workspace,
                target=delivery,
                details={
                    "post": delivery.post_id,
                    "channel": delivery.channel_id,
                    "error": message[:300],
                    "hold": hold,
                },
            )
    return state if updated else "lost_claim"


def retry_delay(attempts: int) -> timedelta:
    # A setting, so the chaos test (tests/publishing/test_chaos.py) can settle in minutes.
    first = timedelta(seconds=settings.PUBLISH_FIRST_RETRY_SECONDS)
    return min(first * (2 ** max(attempts - 1, 0)), LONGEST_RETRY)


def _still_unconfirmed(delivery: Delivery, token: str, error: str, now: datetime | None) -> str:
    """Out of attempts, but the network could not be read to tell whether an earlier attempt
    went out: "failed" could be a lie about a live post (seen studying the chaos test, where
    kills and failed reads add up attempts). It stays unconfirmed; the sweeper reads again
    after a pause, and reading uses up no attempt."""
    message = _("Could not check whether an earlier attempt went out: %(error)s") % {"error": error}
    state = _finish(delivery, token, State.UNCONFIRMED, message)
    if state == State.UNCONFIRMED:
        start = max(now or timezone.now(), timezone.now())
        Delivery.objects.filter(pk=delivery.pk, state=State.UNCONFIRMED).update(
            due_at=start + retry_delay(MAX_ATTEMPTS), attempts=MAX_ATTEMPTS - 1
        )
    return state


def _retry(
    delivery: Delivery, token: str, error: str, after: timedelta | None, now: datetime | None
) -> str:
    if delivery.attempts >= MAX_ATTEMPTS:
        return _finish(
            delivery,
            token,
            State.FAILED,
            _("Gave up after %(n)s attempts: %(error)s") % {"n": delivery.attempts, "error": error},
        )
    # ``now`` may be ahead of the clock (tests and the benchmark drive time themselves).
    start = max(now or timezone.now(), timezone.now())
    due = start + max(after or timedelta(0), retry_delay(delivery.attempts))
    updated = Delivery.objects.filter(pk=delivery.pk, claim=token, state=State.SENDING).update(
        state=State.SCHEDULED,
        due_at=due,
        last_error=network_errors.untrusted_text(error, 2000),
        lease_expires_at=None,
        claim="",
        updated_at=timezone.now(),
    )
    if updated:
        transaction.on_commit(lambda: dispatch([(delivery.pk, due)]))
    return State.SCHEDULED if updated else "lost_claim"


# Driving ----------------------------------------------------------------------------------------


def dispatch(due: Iterable[tuple[int, datetime | None]]) -> None:
    """Queues one job per due time for the deliveries due then (the worker processes'
    dispatchers usually take them first). Losing a job is harmless: the sweeper and the claim
    make sure each delivery goes out once, on time or within a minute."""
    from chorus import jobs
    from chorus.publishing.tasks import publish_deliveries

    by_time: dict[datetime | None, list[int]] = defaultdict(list)
    for delivery_id, at in due:
        by_time[at].append(delivery_id)
    for at, ids in by_time.items():
        try:
            if at is None or at <= timezone.now():
                jobs.enqueue(publish_deliveries, ids)
            else:
                jobs.schedule(publish_deliveries, at=at, args=(ids,))
        except Exception:
            log.exception("could not queue deliveries %s; the sweeper will pick them up", ids)


class Publisher:
    """Publishes claimed deliveries with up to ``slots`` of them in hand at once (one per
    process, shared by its dispatcher, its queue jobs and its sweeper).

    A batch is claimed in one statement, never more than the free slots, so nothing claimed
    waits long for a thread. Its deliveries of one channel form a lane and go out one after
    the other, so a channel waiting on its rate-limit budget holds one thread while the other
    channels' lanes go on. Each outcome is recorded as it arrives, in its own short
    transaction, whatever happens to its neighbours.
    """

    def __init__(self, slots: int) -> None:
        self.slots = max(1, slots)
        self._pool = ThreadPoolExecutor(max_workers=self.slots, thread_name_prefix="chorus-publish")
        self._held = 0
        self._changed = threading.Condition()
        self._recorder = _Recorder()

    def free(self) -> int:
        with self._changed:
            return self.slots - self._held

    def wait_for_free(self, count: int, timeout: float) -> None:
        with self._changed:
            self._changed.wait_for(lambda: self.slots - self._held >= count, timeout)

    def wait_until_idle(self, timeout: float) -> None:
        with self._changed:
            self._changed.wait_for(lambda: self._held == 0, timeout)

    def shutdown(self) -> None:
        """Finishes what is in hand, then stops its threads, each closing its connection."""
        self.wait_until_idle(lease().total_seconds())
        # One task per thread: each waits for the others, so every thread runs exactly one.
        everyone = threading.Barrier(self.slots)
        for _thread in range(self.slots):
            self._pool.submit(_close_connections_with, everyone)
        self._pool.shutdown(wait=True)
        self._recorder.close()

    def start(
        self,
        *,
        now: datetime | None = None,
        ids: Iterable[int] | None = None,
        limit: int | None = None,
        states: Iterable[str] = (State.SCHEDULED,),
    ) -> tuple[int, list[Future[list[str]]]]:
        """Claims up to ``limit`` due deliveries (never more than the free slots) and starts
        publishing them; returns how many it claimed and one future per lane."""
        with self._changed:
            wanted = min(limit or self.slots, self.slots - self._held)
            if wanted <= 0:
                return 0, []
            self._held += wanted
        deliveries: list[Delivery] = []
        batch = _Batch(self._recorder)
        try:
            claimed, token = claim(now=now, ids=ids, limit=wanted, states=states)
            deliveries = _load_claimed(claimed, token) if claimed else []
            batch.read_ahead(deliveries)
        except BaseException:
            # Whatever was claimed waits for its lease to run out, then for the sweeper.
            self._release(wanted)
            raise
        self._release(wanted - len(deliveries))
        lanes: dict[int, list[Delivery]] = defaultdict(list)
        for delivery in deliveries:
            lanes[delivery.channel_id].append(delivery)
        started = time.monotonic()
        return len(deliveries), [
            self._pool.submit(self._run_lane, lane, token, now, batch, started)
            for lane in lanes.values()
        ]

    def _release(self, count: int) -> None:
        if count:
            with self._changed:
                self._held -= count
                self._changed.notify_all()

    def _run_lane(
        self,
        lane: list[Delivery],
        token: str,
        now: datetime | None,
        batch: _Batch,
        started: float,
    ) -> list[str]:
        # The pool's threads keep their database connection from lane to lane (one per slot:
        # size PostgreSQL's max_connections for it); a broken one is dropped after an error.
        outcomes = []
        for delivery in lane:
            try:
                if time.monotonic() - started > lease().total_seconds() / 2:
                    # Its lane was slow (rate limits): let another worker take it in time.
                    outcomes.append(_give_back(delivery, token))
                else:
                    outcomes.append(_send_claimed(delivery, token, now, batch))
            except Exception:
                # Its lease runs out and the sweeper reads the network: nothing is lost.
                log.exception("delivery %s: could not publish or record it", delivery.pk)
                outcomes.append("error")
                close_old_connections()
            finally:
                self._release(1)
        return outcomes


def _close_connections_with(everyone: threading.Barrier) -> None:
    try:
        everyone.wait(timeout=10)
    except threading.BrokenBarrierError:
        pass
    finally:
        connections.close_all()


_publisher: Publisher | None = None
_publisher_lock = threading.Lock()


def publisher() -> Publisher:
    """This process's publisher, sized by ``CHORUS_PUBLISH_CONCURRENCY``."""
    global _publisher
    with _publisher_lock:
        if _publisher is None:
            _publisher = Publisher(settings.PUBLISH_CONCURRENCY)
        return _publisher


def shutdown_publisher() -> None:
    """Stops this process's publisher, if it started (tests; a worker's exit)."""
    global _publisher
    with _publisher_lock:
        if _publisher is not None:
            _publisher.shutdown()
            _publisher = None


def _give_back(delivery: Delivery, token: str) -> str:
    """Returns a claimed delivery that was never sent to the schedule, as if never claimed."""
    updated = Delivery.objects.filter(pk=delivery.pk, claim=token, state=State.SENDING).update(
        state=State.SCHEDULED,
        claim="",
        lease_expires_at=None,
        attempts=F("attempts") - 1,
        updated_at=timezone.now(),
    )
    return State.SCHEDULED if updated else "lost_claim"


def _publish(
    *,
    now: datetime | None,
    limit: int,
    ids: Iterable[int] | None = None,
    states: Iterable[str] = (State.SCHEDULED,),
) -> Counter[str]:
    """Claims up to ``limit`` due deliveries, publishes them and waits for the outcomes."""
    if connection.in_atomic_block:
        # The caller's open transaction is invisible to the pool's threads: publish in it.
        claimed, token = claim(now=now, ids=ids, limit=limit, states=states)
        batch = _Batch()
        return Counter(_send_claimed(d, token, now, batch) for d in _load_claimed(claimed, token))
    _count, lanes = publisher().start(now=now, ids=ids, limit=limit, states=states)
    return Counter(outcome for lane in lanes for outcome in lane.result())


def run_deliveries(ids: list[int], now: datetime | None = None) -> dict[str, int]:
    """The job of deliveries due at one time: publishes those still due."""
    outcome: Counter[str] = Counter()
    due = Delivery.objects.filter(
        pk__in=ids, state=State.SCHEDULED, due_at__lte=now or timezone.now()
    )
    # A read first: most jobs find their deliveries already taken by a dispatcher.
    while due.exists():
        batch = _publish(now=now, ids=ids, limit=len(ids))
        if not batch:
            break  # the publisher is full: the dispatcher takes the rest as room frees
        outcome.update(batch)
    return dict(outcome)


def run_delivery(delivery_id: int, now: datetime | None = None) -> str:
    """Publishes one delivery if it is (still) due; returns the state it ended in."""
    return next(iter(run_deliveries([delivery_id], now)), "not_due")


def run_due(now: datetime | None = None, limit: int = 200) -> dict[str, int]:
    """Publishes the deliveries due at ``now`` (up to ``limit``); returns how many ended in
    each state."""
    outcome: Counter[str] = Counter()
    while outcome.total() < limit:
        batch = _publish(now=now, limit=limit - outcome.total())
        if not batch:
            break
        outcome.update(batch)
    return dict(outcome)


def next_due_at() -> datetime | None:
    return Delivery.objects.filter(
        state=State.SCHEDULED, channel__status=Channel.Status.ACTIVE
    ).aggregate(next=Min("due_at"))["next"]


def prepare_to_dispatch() -> None:
    """Imports every connector now, not in the first due batch's threads all at once."""
    for network in NETWORKS.values():
        network.connector_class  # noqa: B018 (the import is the point)
    publisher()


def dispatch_forever(stop: threading.Event) -> None:
    """A worker process's dispatcher: sleeps until the next due time (looking again at least
    every ``DISPATCH_POLL_SECONDS`` for sooner ones), then claims what is due, as much as the
    publisher has room for. Queue jobs and the sweeper remain as the safety net."""
    pool = publisher()
    # A claim costs a few round trips whatever its size: when busy, claim half a pool at once.
    batch = max(1, pool.slots // 2)
    while not stop.is_set():
        try:
            upcoming = next_due_at()
            now = timezone.now()
            pause = (upcoming - now).total_seconds() if upcoming else DISPATCH_POLL_SECONDS
            if pause <= 0:
                if pool.free() < batch:
                    pool.wait_for_free(batch, DISPATCH_POLL_SECONDS)
                claimed, _lanes = pool.start()
                # None claimed: locked by another worker's claim this instant, or no room yet.
                pause = 0 if claimed else 0.01
        except Exception:
            log.exception("publishing dispatcher: trying again shortly")
            close_old_connections()
            pause = DISPATCH_POLL_SECONDS
        stop.wait(min(pause, DISPATCH_POLL_SECONDS))
    shutdown_publisher()


@dataclass
class SweepReport:
    expired_leases: int = 0
    reconciled: dict[str, int] = field(default_factory=dict)
    released: int = 0
    held: int = 0
    published: dict[str, int] = field(default_factory=dict)
    approvals_overdue: int = 0
    adaptations_overdue: int = 0


def expire_leases(now: datetime) -> int:
    """A worker that held a lease past its end died or hung mid-call: the post may be out."""
    return Delivery.objects.filter(state=State.SENDING, lease_expires_at__lt=now).update(
        state=State.UNCONFIRMED,
        claim="",
        lease_expires_at=None,
        due_at=now,
        last_error=_("The worker stopped while publishing; checking the network before any retry."),
        updated_at=now,
    )


def reconcile(now: datetime) -> dict[str, int]:
    """Unconfirmed deliveries on networks that can be read back: claimed like due ones, then
    ``send`` reads the network first (their attempts are above one) and only publishes when
    nothing is there. Elsewhere they stay unconfirmed for a person to check."""
    networks = _reconcilable_networks()
    candidates = Delivery.objects.filter(
        state=State.UNCONFIRMED, channel__network__in=networks
    ).values_list("pk", flat=True)
    ids = list(candidates)
    if not ids:
        return {}
    Delivery.objects.filter(pk__in=ids, due_at__isnull=True).update(due_at=now)
    # One batch is at most the publisher's free room: go on until each has had its turn (the
    # chaos test saw dozens left unconfirmed for minutes when only the first batch went).
    outcome: Counter[str] = Counter()
    while outcome.total() < len(ids):
        batch = _publish(
            now=now, ids=ids, limit=len(ids) - outcome.total(), states=[State.UNCONFIRMED]
        )
        if not batch:
            break
        outcome.update(batch)
    return dict(outcome)


def hold_unusable_channels(now: datetime) -> int:
    """Due deliveries of channels that cannot publish wait for a reconnection, visibly."""
    return Delivery.objects.filter(
        state=State.SCHEDULED,
        due_at__lte=now,
        channel__status__in=[Channel.Status.RECONNECT_NEEDED, Channel.Status.DISABLED],
    ).update(
        state=State.PAUSED,
        hold=Hold.RECONNECT,
        last_error=_("The channel must be reconnected."),
        updated_at=now,
    )


def release_reconnected_now(**_signal: object) -> None:
    release_reconnected(timezone.now())


def release_reconnected(now: datetime) -> int:
    return Delivery.objects.filter(
        state=State.PAUSED, hold=Hold.RECONNECT, channel__status=Channel.Status.ACTIVE
    ).update(state=State.SCHEDULED, hold=Hold.NONE, due_at=now, updated_at=now)


def _late_by_scope(state: str, now: datetime) -> dict[tuple[Post, Workspace], list[Delivery]]:
    """Deliveries in ``state`` whose time has come and whose people were not told yet, by
    post and by the workspace whose team must act: the post's own, or a market's for its
    local variant."""
    late = (
        Delivery.objects.select_related("post__author", "post__workspace", "variant__workspace")
        .filter(state=state, scheduled_at__lte=now, overdue_notified_at__isnull=True)
        .order_by("post_id", "pk")
    )
    found: dict[tuple[Post, Workspace], list[Delivery]] = defaultdict(list)
    for delivery in late:
        found[(delivery.post, delivery.variant.workspace)].append(delivery)
    return found


def _market_team(post: Post, scope: Workspace, memberships: Iterable[Membership]) -> set[str]:
    """E-mails of the memberships held in the market itself (below the post's workspace);
    for the post's own workspace, or a market without such people, all of them."""
    everyone = {m.user.email for m in memberships}
    if scope == post.workspace:
        return everyone
    above = set(post.workspace.ancestor_ids)
    local = {m.user.email for m in memberships if m.workspace_id not in above}
    return local or everyone


def _writers(post: Post, deliveries: Iterable[Delivery]) -> set[str]:
    """E-mails of who wrote the late words: the post's author and the market's adapter."""
    people = [post.author, *(d.variant.adapted_by for d in deliveries)]
    return {person.email for person in people if person is not None and person.is_active}


def _tell_late(
    post: Post, scope: Workspace, deliveries: list[Delivery], recipients: set[str], now: datetime
) -> None:
    if scope == post.workspace:
        text, page = post.text, reverse("publish", kwargs={"slug": scope.slug})
    else:
        text = deliveries[0].variant.effective_text
        page = reverse("post-markets", kwargs={"slug": scope.slug, "post_id": post.pk})
    values = {
        "workspace": scope.name,
        "when": deliveries[0].scheduled_at,
        "text": text[:500],
        "link": settings.PUBLIC_URL + page,
    }
    with override(scope.default_locale):
        if deliveries[0].state == State.AWAITING_ADAPTATION:
            subject = _("A post missed its time: it is still waiting to be adapted")
            body = (
                _(
                    "This post for %(workspace)s was due at %(when)s but nobody adapted it, so it "
                    "was not published there:\n\n%(text)s\n\nAdapt it, or ask its author for a new "
                    "time: %(link)s"
                )
                % values
            )
        else:
            subject = _("A post missed its time: it is still awaiting approval")
            body = (
                _(
                    "This post of %(workspace)s was due at %(when)s but nobody approved it, so it "
                    "was not published:\n\n%(text)s\n\nApprove it with a new time, or cancel it: %(link)s"
                )
                % values
            )
    send_mail(subject, body, None, sorted(recipients))
    Delivery.objects.filter(pk__in=[d.pk for d in deliveries]).update(overdue_notified_at=now)


def notify_overdue_approvals(now: datetime) -> int:
    """Posts still awaiting approval at their time are not published; their writers and the
    approvers of the workspace whose rules apply (a market's own, for its adaptation) are
    told once."""
    count = 0
    for (post, scope), deliveries in _late_by_scope(State.AWAITING_APPROVAL, now).items():
        approvers = decisions.approvers_for_next_step(post, scope)
        _tell_late(
            post,
            scope,
            deliveries,
            _market_team(post, scope, approvers) | _writers(post, deliveries),
            now,
        )
        count += len(deliveries)
    return count


def notify_overdue_adaptations(now: datetime) -> int:
    """A market's copy still waiting to be adapted at its time is not published: the market's
    editors and managers and the post's author are told once."""
    count = 0
    for (post, market), deliveries in _late_by_scope(State.AWAITING_ADAPTATION, now).items():
        team = Membership.objects.select_related("user").filter(
            workspace_id__in=market.ancestor_ids,
            role__in=ROLE_MATRIX[Action.WRITE_CONTENT],
            user__is_active=True,
        )
        recipients = _market_team(post, market, team) | _writers(post, deliveries)
        _tell_late(post, market, deliveries, recipients, now)
        count += len(deliveries)
    return count


def sweep(now: datetime | None = None) -> SweepReport:
    now = now or timezone.now()
    report = SweepReport()
    report.expired_leases = expire_leases(now)
    report.reconciled = reconcile(now)
    report.released = release_reconnected(now)
    report.held = hold_unusable_channels(now)
    report.published = run_due(now)
    report.approvals_overdue = notify_overdue_approvals(now)
    report.adaptations_overdue = notify_overdue_adaptations(now)
    return report


# Health -----------------------------------------------------------------------------------------


def overdue(now: datetime | None = None) -> dict[str, object]:
    """For /healthz: deliveries later than they should be. Not ``ok`` when one the ledger
    itself should have sent (scheduled, sending, unconfirmed) is more than 5 minutes late;
    posts awaiting approval or a reconnection are reported but wait for a person."""
    now = now or timezone.now()
    reconcilable = _reconcilable_networks()

    def behind(cutoff: datetime) -> Q:
        return (
            Q(state=State.SCHEDULED, due_at__lt=cutoff)
            | Q(state=State.SENDING, lease_expires_at__lt=cutoff)
            | Q(
                state=State.UNCONFIRMED,
                due_at__lt=cutoff,
                channel__network__in=reconcilable,
            )
        )

    machine = Delivery.objects.filter(behind(now))
    oldest = machine.order_by("due_at").values_list("due_at", flat=True).first()
    late = Delivery.objects.filter(behind(now - LATE_AFTER)).count()
    # Unconfirmed on a network that cannot be read back: a person checks the account.
    to_check = (
        Delivery.objects.filter(state=State.UNCONFIRMED)
        .exclude(channel__network__in=reconcilable)
        .count()
    )
    waiting_approval = Delivery.objects.filter(
        state=State.AWAITING_APPROVAL, scheduled_at__lt=now
    ).count()
    waiting_reconnect = Delivery.objects.filter(state=State.PAUSED, hold=Hold.RECONNECT).count()
    return {
        "ok": late == 0,
        "count": machine.count(),
        "late_over_5_minutes": late,
        "oldest_seconds": round((now - oldest).total_seconds(), 1) if oldest else None,
        "awaiting_approval": waiting_approval,
        "awaiting_reconnection": waiting_reconnect,
        "unconfirmed_to_check": to_check,
    }
