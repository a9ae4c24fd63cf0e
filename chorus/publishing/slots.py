"""Channels' queues: weekly posting slots, and the next free slot a queued post takes.

A slot is a weekday and a wall-clock time in a zone ("Monday 09:00 in Paris"); each week it
is the instant ``timing.local_instant`` gives, so it keeps its local time across DST changes
(and follows the project's rule for a time a change skips or repeats). A slot is taken when a
delivery of the channel that is not cancelled is already scheduled at that instant.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator, Sequence
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from chorus.channels.models import Channel
from chorus.errors import Invalid
from chorus.orgs import audit
from chorus.orgs.access import Actor, require
from chorus.orgs.roles import Action
from chorus.publishing.models import Delivery, PostingSlot
from chorus.publishing.timing import Instant, local_instant, zone_named


def slots_of(channel: Channel) -> QuerySet[PostingSlot]:
    return channel.posting_slots.all()


@transaction.atomic
def add_slots(
    actor: Actor, channel: Channel, weekdays: Sequence[int], at: time, zone: str
) -> list[PostingSlot]:
    """Slots at ``at`` in ``zone`` on each of ``weekdays`` (0 is Monday); existing ones stay."""
    require(actor, Action.WRITE_CONTENT, channel.workspace)
    zone_named(zone, "zone")
    if not weekdays or any(day not in range(7) for day in weekdays):
        raise Invalid(
            _("Choose at least one day of the week."), fields={"weekdays": _("At least one day.")}
        )
    at = at.replace(second=0, microsecond=0, tzinfo=None)
    made = [
        PostingSlot.objects.get_or_create(channel=channel, weekday=day, local_time=at, zone=zone)[0]
        for day in sorted(set(weekdays))
    ]
    audit.record(
        actor,
        "posting_slots.added",
        workspace=channel.workspace,
        target=channel,
        details={"weekdays": sorted(set(weekdays)), "time": at.isoformat("minutes"), "zone": zone},
    )
    return made


@transaction.atomic
def remove_slot(actor: Actor, slot: PostingSlot) -> None:
    """Deliveries already scheduled at the slot keep their time."""
    channel = slot.channel
    require(actor, Action.WRITE_CONTENT, channel.workspace)
    details = {
        "weekday": slot.weekday,
        "time": slot.local_time.isoformat("minutes"),
        "zone": slot.zone,
    }
    slot.delete()
    audit.record(
        actor, "posting_slots.removed", workspace=channel.workspace, target=channel, details=details
    )


def _weeks_of(slot: PostingSlot, now: datetime) -> Iterator[Instant]:
    """The slot's instants from this week on, in order (the first may be already past)."""
    today = now.astimezone(zone_named(slot.zone)).date()
    first: date = today + timedelta(days=(slot.weekday - today.weekday()) % 7)
    for week in itertools.count():
        day = first + timedelta(weeks=week)
        yield local_instant(datetime.combine(day, slot.local_time), slot.zone)


def next_free_slot(channel: Channel, now: datetime) -> Instant | None:
    """The channel's first slot after ``now`` that no delivery of the channel has taken;
    None when the channel has no slots."""
    slots = list(slots_of(channel))
    if not slots:
        return None
    taken = set(
        Delivery.objects.filter(channel=channel, scheduled_at__gt=now)
        .exclude(state=Delivery.State.CANCELLED)
        .values_list("scheduled_at", flat=True)
    )
    # Every slot comes back each week, so a free instant turns up after finitely many taken.
    merged = heapq.merge(*(_weeks_of(slot, now) for slot in slots), key=lambda i: i.utc)
    return next(i for i in merged if i.utc > now and i.utc not in taken)


def queue_times(channels: Sequence[Channel], now: datetime) -> dict[int, Instant]:
    """Each channel's next free slot, by channel id. Call it in the transaction that writes
    the deliveries: it locks the channels so two posts queued at once take different slots."""
    list(Channel.objects.select_for_update().filter(pk__in=[c.pk for c in channels]))
    times = {channel.pk: next_free_slot(channel, now) for channel in channels}
    missing = [channel for channel in channels if times[channel.pk] is None]
    if missing:
        raise Invalid(
            _("%(channels)s has no posting slots: add some to its queue, or pick a time.")
            % {"channels": ", ".join(str(channel) for channel in missing)},
            fields={"queue": _("A channel without posting slots.")},
        )
    return {pk: instant for pk, instant in times.items() if instant is not None}
