"""The calendar as files: an iCal feed and a CSV export, from deliveries already scoped."""

from __future__ import annotations

import csv
import io
import zoneinfo
from collections.abc import Sequence

from django.utils import timezone
from django.utils.translation import gettext as _

from chorus.networks.base import web_address
from chorus.networks.registry import NETWORKS
from chorus.orgs.models import Workspace
from chorus.publishing import ical
from chorus.publishing.models import Delivery
from chorus.publishing.selectors import labels_of

SUMMARY_LENGTH = 80
#: A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def network_name(slug: str) -> str:
    return NETWORKS[slug].display_name if slug in NETWORKS else slug


def ical_feed(
    workspace: Workspace, deliveries: Sequence[Delivery], page_url: str, host: str
) -> str:
    """One event per delivery: its time in UTC, the network, account and text."""
    tentative = {Delivery.State.DRAFT, Delivery.State.AWAITING_APPROVAL, Delivery.State.PAUSED}
    events = []
    for delivery in deliveries:
        assert delivery.scheduled_at is not None
        text = " ".join(delivery.variant.effective_text.split())
        network = network_name(delivery.channel.network)
        events.append(
            ical.Event(
                uid=f"delivery-{delivery.pk}@{host}",
                start=delivery.scheduled_at,
                modified=delivery.updated_at,
                summary=f"{network} @{delivery.channel.handle}: "
                + (text[: SUMMARY_LENGTH - 1] + "…" if len(text) > SUMMARY_LENGTH else text),
                description="\n".join(
                    [
                        delivery.variant.effective_text,
                        "",
                        f"{_('State')}: {delivery.get_state_display()}",
                        f"{_('Workspace')}: {delivery.channel.workspace.name}",
                    ]
                ),
                url=web_address(delivery.remote_url) or page_url,
                status=(
                    "CANCELLED"
                    if delivery.state == Delivery.State.CANCELLED
                    else "TENTATIVE"
                    if delivery.state in tentative
                    else "CONFIRMED"
                ),
            )
        )
    return ical.calendar(f"Chorus · {workspace.name}", events, timezone.now())


def neutralised(cell: str) -> str:
    """A cell a spreadsheet shows as text: a leading formula character gets a quote first."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


CSV_COLUMNS = (
    "scheduled_at",
    "timezone",
    "workspace",
    "channel",
    "network",
    "state",
    "text",
    "labels",
    "campaign",
    "remote_url",
)


def calendar_csv(deliveries: Sequence[Delivery], zone_name: str) -> str:
    """One row per delivery: its time in the calendar's zone (with the offset and the zone's
    name, so it reads back unambiguously), then what goes out where."""
    zone = zoneinfo.ZoneInfo(zone_name)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for delivery in deliveries:
        assert delivery.scheduled_at is not None
        campaign = delivery.post.campaign
        row = [
            delivery.scheduled_at.astimezone(zone).isoformat(),
            zone_name,
            delivery.channel.workspace.name,
            delivery.channel.handle,
            network_name(delivery.channel.network),
            delivery.state,
            delivery.variant.effective_text,
            ";".join(labels_of(delivery.post)),
            campaign.name if campaign else "",
            delivery.remote_url,
        ]
        writer.writerow([neutralised(str(cell)) for cell in row])
    return out.getvalue()
