from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _

from chorus.channels.models import Channel, ChannelError, PendingConnection, RateLimitBudget
from chorus.errors import NotFound
from chorus.orgs.access import Actor, get_scoped, scoped
from chorus.orgs.models import Workspace
from chorus.orgs.roles import Action


def channels(actor: Actor, workspace: Workspace | None = None) -> models.QuerySet[Channel]:
    """Channels the actor can see; with a workspace, those of its whole subtree."""
    found = scoped(actor, Channel.objects.select_related("workspace"), Action.VIEW_WORKSPACE)
    if workspace is not None:
        found = found.filter(workspace__path__startswith=workspace.path)
    return found.order_by("workspace__path", "network", "handle")


def channel(actor: Actor, channel_id: int) -> Channel:
    return get_scoped(
        actor, Channel.objects.select_related("workspace"), channel_id, Action.VIEW_WORKSPACE
    )


def recent_errors(channel: Channel) -> models.QuerySet[ChannelError]:
    return channel.errors.all()[:20]


def rate_limit_budgets(channel: Channel) -> models.QuerySet[RateLimitBudget]:
    """Budgets recorded for this account (keys name the network, server and account)."""
    return RateLimitBudget.objects.filter(
        key__startswith=f"{channel.network}:", key__endswith=channel.remote_id
    )


def needing_reconnection(actor: Actor, workspace: Workspace) -> int:
    return channels(actor, workspace).filter(status=Channel.Status.RECONNECT_NEEDED).count()


def pending_connection(actor: Actor, workspace: Workspace, token: str) -> PendingConnection:
    """A grant awaiting its choice: only its own user, in its own workspace, before it expires."""
    found = (
        PendingConnection.objects.select_related("workspace")
        .filter(token=token, user=actor.user, workspace=workspace, expires_at__gt=timezone.now())
        .first()
    )
    if found is None:
        raise NotFound(_("This authorization is unknown or has expired. Start again."))
    return found
