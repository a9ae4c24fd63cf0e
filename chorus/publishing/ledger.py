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
4. The **sweeper** (every minute) expires leases, reconciles, releases held deliveries whose
   channel works again, publishes due deliveries whose job was lost, and e-mails the authors
   and approvers of posts still awaiting approval at their time.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from chorus import crypto
from chorus.channels import services as channel_services
from chorus.channels.models import Channel
from chorus.networks import errors as network_errors
from chorus.networks.base import Capability, PublishResult
from chorus.networks.registry import NETWORKS
from chorus.orgs import audit
from chorus.publishing.models import Delivery
from chorus.publishing.services import active_pause, content_for

log = logging.getLogger(__name__)
State = Delivery.State
Hold = Delivery.Hold

MAX_ATTEMPTS = 5
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(minutes=15)
#: /healthz answers 503 when a delivery the ledger should have sent is later than this.
LATE_AFTER = timedelta(minutes=5)


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
        Delivery.objects.filter(pk__in=picked, state__in=states, due_at__lte=now).update(
            state=State.SENDING,
            claim=token,
            lease_expires_at=now + lease(),
            attempts=F("attempts") + 1,
            updated_at=now,
        )
        claimed = list(
            Delivery.objects.filter(claim=token, state=State.SENDING).values_list("pk", flat=True)
        )
    return claimed, token


# Sending ----------------------------------------------------------------------------------------


def send(delivery_id: int, token: str, now: datetime | None = None) -> str:
    """Publishes one claimed delivery (reconciling first when an earlier attempt may have
    gone through) and records the outcome. Returns the state it ended in."""
    delivery = (
        Delivery.objects.select_related("channel__workspace", "variant__post", "workspace")
        .filter(pk=delivery_id, claim=token, state=State.SENDING)
        .first()
    )
    if delivery is None:
        return "lost_claim"
    channel = delivery.channel
    try:
        if delivery.attempts > 1 and channel.network in _reconcilable_networks():
            found = channel_services.call(
                channel, lambda c: c.find_published(delivery.idempotency_key)
            )
            if found is not None:
                return _published(delivery, found, reconciled=True)
        if active_pause(delivery.workspace) is not None:
            return _finish(delivery, token, State.PAUSED, _("Crisis pause."), hold=Hold.CRISIS)
        result = channel_services.call(
            channel, lambda c: c.publish(content_for(delivery.variant), delivery.idempotency_key)
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
    return _published(delivery, result)


def _published(delivery: Delivery, result: PublishResult, *, reconciled: bool = False) -> str:
    """The network's answer is the truth: recorded whoever holds the claim now."""
    now = timezone.now()
    with transaction.atomic():
        updated = Delivery.objects.filter(
            pk=delivery.pk, state__in=[State.SENDING, State.UNCONFIRMED, State.SCHEDULED]
        ).update(
            state=State.PUBLISHED,
            hold=Hold.NONE,
            remote_id=result.remote_id[:500],
            remote_url=result.remote_url[:1000],
            published_at=result.published_at or now,
            lease_expires_at=None,
            due_at=None,
            claim="",
            last_error="",
            updated_at=now,
        )
        if updated:
            audit.record(
                None,
                "delivery.published",
                workspace=delivery.workspace,
                target=delivery,
                details={
                    "post": delivery.post_id,
                    "channel": delivery.channel_id,
                    "remote_id": result.remote_id[:500],
                    "reconciled": reconciled,
                },
            )
    return State.PUBLISHED


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
    return min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), LONGEST_RETRY)


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
    """Queues one job per delivery at its time. Losing a job is harmless: the sweeper and
    the claim make sure each delivery goes out once, on time or within a minute."""
    from chorus import jobs
    from chorus.publishing.tasks import publish_delivery

    for delivery_id, at in due:
        try:
            if at is None or at <= timezone.now():
                jobs.enqueue(publish_delivery, delivery_id)
            else:
                jobs.schedule(publish_delivery, at=at, args=(delivery_id,))
        except Exception:
            log.exception("could not queue delivery %s; the sweeper will pick it up", delivery_id)


def run_delivery(delivery_id: int, now: datetime | None = None) -> str:
    """The job of one delivery: publish it if it is (still) due."""
    ids, token = claim(now=now, ids=[delivery_id], limit=1)
    if not ids:
        return "not_due"
    return send(ids[0], token, now)


def run_due(now: datetime | None = None, limit: int = 200) -> dict[str, int]:
    """Publishes every delivery due at ``now``; returns how many ended in each state."""
    ids, token = claim(now=now, limit=limit)
    outcome: dict[str, int] = defaultdict(int)
    for delivery_id in ids:
        outcome[send(delivery_id, token, now)] += 1
    return dict(outcome)


@dataclass
class SweepReport:
    expired_leases: int = 0
    reconciled: dict[str, int] = field(default_factory=dict)
    released: int = 0
    held: int = 0
    published: dict[str, int] = field(default_factory=dict)
    approvals_overdue: int = 0


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
    Delivery.objects.filter(pk__in=list(candidates), due_at__isnull=True).update(due_at=now)
    ids, token = claim(now=now, ids=list(candidates), states=[State.UNCONFIRMED])
    outcome: dict[str, int] = defaultdict(int)
    for delivery_id in ids:
        outcome[send(delivery_id, token, now)] += 1
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


def notify_overdue_approvals(now: datetime) -> int:
    """Posts still awaiting approval at their time are not published; their author and
    approvers are told once."""
    late = list(
        Delivery.objects.select_related("post__author", "post__workspace").filter(
            state=State.AWAITING_APPROVAL, scheduled_at__lte=now, overdue_notified_at__isnull=True
        )
    )
    by_post: dict[int, list[Delivery]] = defaultdict(list)
    for delivery in late:
        by_post[delivery.post_id].append(delivery)
    for deliveries in by_post.values():
        post = deliveries[0].post
        recipients = set(channel_services.managers_of(post.workspace))
        if post.author and post.author.is_active:
            recipients.add(post.author.email)
        link = f"{settings.PUBLIC_URL}/w/{post.workspace.slug}/publish/"
        with override(post.workspace.default_locale):
            subject = _("A post missed its time: it is still awaiting approval")
            body = _(
                "This post of %(workspace)s was due at %(when)s but nobody approved it, so it "
                "was not published:\n\n%(text)s\n\nApprove it with a new time, or cancel it: %(link)s"
            ) % {
                "workspace": post.workspace.name,
                "when": deliveries[0].scheduled_at,
                "text": post.text[:500],
                "link": link,
            }
        send_mail(subject, body, None, sorted(recipients))
        Delivery.objects.filter(pk__in=[d.pk for d in deliveries]).update(overdue_notified_at=now)
    return len(late)


def sweep(now: datetime | None = None) -> SweepReport:
    now = now or timezone.now()
    report = SweepReport()
    report.expired_leases = expire_leases(now)
    report.reconciled = reconcile(now)
    report.released = release_reconnected(now)
    report.held = hold_unusable_channels(now)
    report.published = run_due(now)
    report.approvals_overdue = notify_overdue_approvals(now)
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
