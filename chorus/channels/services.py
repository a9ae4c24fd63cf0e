"""Connecting accounts, keeping their credentials fresh, and recording their health.

Every call to a network for a channel goes through ``connector_for``: it decrypts the
credentials, shares rate-limit budgets across processes and persists refreshed tokens.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Collection
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from chorus.channels.models import Channel, ChannelError, PendingConnection
from chorus.channels.oauth_apps import oauth_app_for
from chorus.channels.ratelimits import DatabaseRateLimitStore
from chorus.channels.signals import channel_reconnected
from chorus.channels.state import DatabaseStateStore
from chorus.errors import Conflict, Invalid
from chorus.networks import errors as network_errors
from chorus.networks.base import Author, Capability, ConnectableAccount, Connector, Credentials
from chorus.networks.registry import NETWORKS, oauth_flow_for
from chorus.networks.registry import connector_for as build_connector
from chorus.orgs import audit
from chorus.orgs.access import Actor, require
from chorus.orgs.models import Membership, Workspace
from chorus.orgs.roles import ROLE_RANK, Action, Role

log = logging.getLogger(__name__)
T = TypeVar("T")
REFRESH_AHEAD = timedelta(hours=1)
# Bluesky's OAuth access tokens live an hour: an hour ahead would renew them at every run.
REFRESH_AHEAD_OF = {"bluesky": timedelta(minutes=20)}
# Connectors built on chorus.networks.meta.RestConnector take the OAuth app to refresh tokens.
OAUTH_REFRESHING = frozenset({"x", "linkedin", "facebook", "instagram", "threads", "youtube"})
KEPT_ERRORS = 20


def connector_for(channel: Channel) -> Connector:
    """The connector acting for this channel; refreshed credentials are saved as they change."""

    def persist(credentials: Credentials) -> None:
        channel.set_credentials(credentials)
        Channel.objects.filter(pk=channel.pk).update(
            credentials_ciphertext=channel.credentials_ciphertext,
            scopes=channel.scopes,
            token_expires_at=channel.token_expires_at,
        )

    return build_connector(
        channel.network,
        channel.credentials,
        service_url=channel.service_url or None,
        rate_limits=DatabaseRateLimitStore(),
        on_credentials_change=persist,
        state=DatabaseStateStore(channel),
        **_network_options(channel.network),
    )


def _network_options(network: str) -> dict[str, Any]:
    """The OAuth app, for connectors that refresh their own token when the network refuses it."""
    app = oauth_app_for(network)
    return {"oauth_app": app} if app is not None and network in OAUTH_REFRESHING else {}


def call(channel: Channel, operation: Callable[[Connector], T], *, record_ok: bool = True) -> T:
    """Runs one operation for a channel and records the outcome on its health.

    An authentication failure the connector could not fix by refreshing marks the channel
    ``reconnect_needed``; other errors are recorded and raised for the caller to handle.
    ``record_ok=False`` leaves a success for the caller to record (``record_success`` takes
    many channels in one statement: the publishing ledger records a burst at once).
    """
    try:
        result = operation(connector_for(channel))
    except network_errors.AuthError as exc:
        mark_reconnect_needed(channel, str(exc))
        raise
    except network_errors.NetworkError as exc:
        record_failure(channel, exc)
        raise
    if record_ok:
        record_success(channel)
    return result


def record_success(*channels: Channel) -> None:
    now = timezone.now()
    for channel in channels:
        channel.last_ok_at = now
    Channel.objects.filter(pk__in={channel.pk for channel in channels}).update(last_ok_at=now)


def record_failure(channel: Channel, error: Exception) -> None:
    message = str(error)[:2000]
    channel.last_error, channel.last_error_at = message, timezone.now()
    Channel.objects.filter(pk=channel.pk).update(
        last_error=message, last_error_at=channel.last_error_at
    )
    ChannelError.objects.create(channel=channel, kind=error.__class__.__name__, message=message)
    stale = (
        ChannelError.objects.filter(channel=channel)
        .order_by("-id")
        .values_list("id", flat=True)[KEPT_ERRORS:]
    )
    ChannelError.objects.filter(id__in=list(stale)).delete()


# Connecting ----------------------------------------------------------------------------------


def _identify(
    network: str, credentials: Credentials, service_url: str | None
) -> tuple[Author, Credentials]:
    """Who the credentials belong to, checked against the network; the credentials it settled on."""
    settled: list[Credentials] = []
    connector = build_connector(
        network,
        credentials,
        service_url=service_url,
        rate_limits=DatabaseRateLimitStore(),
        on_credentials_change=settled.append,
        **_network_options(network),
    )
    try:
        author = connector.connect()
    except network_errors.AuthError as exc:
        raise Invalid(
            _("The network refused these credentials: %(reason)s") % {"reason": exc},
            fields={"credentials": _("Refused by the network.")},
        ) from None
    except network_errors.NetworkError as exc:
        raise Invalid(
            _("Could not reach the network: %(reason)s") % {"reason": exc},
            fields={"service_url": _("Unreachable or failing.")},
        ) from None
    return author, (settled[-1] if settled else connector.credentials)


@transaction.atomic
def connect(
    actor: Actor,
    workspace: Workspace,
    *,
    network: str,
    credentials: Credentials,
    service_url: str = "",
    kind: str = Channel.Kind.PROFILE,
) -> Channel:
    """Connects an account (or reconnects it when the workspace already has it)."""
    require(actor, Action.UPDATE_WORKSPACE, workspace)
    author, settled = _identify(network, credentials, service_url or None)
    return _save_channel(actor, workspace, network, author, settled, service_url, kind)


def _save_channel(
    actor: Actor,
    workspace: Workspace,
    network: str,
    author: Author,
    credentials: Credentials,
    service_url: str,
    kind: str,
) -> Channel:
    """The channel of an account the network has just vouched for, created or updated."""
    channel = Channel.objects.filter(
        workspace=workspace, network=network, remote_id=author.remote_id
    ).first()
    reconnecting = channel is not None
    if channel is None:
        channel = Channel(
            workspace=workspace,
            network=network,
            remote_id=author.remote_id,
            connected_by=actor.user,
        )
    channel.service_url = service_url
    channel.handle = author.handle
    channel.display_name = author.display_name
    channel.avatar_url = author.avatar_url
    channel.kind = kind
    channel.status = Channel.Status.ACTIVE
    channel.last_ok_at = timezone.now()
    channel.set_credentials(credentials)
    try:
        with transaction.atomic():
            channel.save()
    except IntegrityError:
        raise Conflict(_("This account is already connected in this workspace.")) from None
    if reconnecting:
        transaction.on_commit(lambda: channel_reconnected.send(sender=Channel, channel=channel))
    audit.record(
        actor,
        "channel.reconnected" if reconnecting else "channel.connected",
        workspace=workspace,
        target=channel,
        details={"network": network, "handle": author.handle},
    )
    return channel


def connect_bluesky(
    actor: Actor, workspace: Workspace, *, handle: str, app_password: str, service_url: str = ""
) -> Channel:
    handle = handle.strip().lstrip("@")
    if not handle or not app_password:
        raise Invalid(
            _("A handle and an app password are required."),
            fields={
                key: _("Required.")
                for key, value in (("handle", handle), ("app_password", app_password))
                if not value
            },
        )
    credentials = Credentials(
        extra={"auth": "app_password", "identifier": handle, "app_password": app_password}
    )
    return connect(
        actor,
        workspace,
        network="bluesky",
        credentials=credentials,
        service_url=service_url.rstrip("/"),
    )


def connect_bluesky_oauth(
    actor: Actor, workspace: Workspace, *, credentials: Credentials
) -> Channel:
    """Connects the account a Bluesky OAuth grant opened, on the PDS its DID document names."""
    return connect(
        actor,
        workspace,
        network="bluesky",
        credentials=credentials,
        service_url=credentials.extra["pds_url"],
    )


def connect_mastodon(
    actor: Actor, workspace: Workspace, *, instance_url: str, access_token: str
) -> Channel:
    if not instance_url.startswith(("https://", "http://")):
        raise Invalid(
            _("Give the instance address, e.g. https://mastodon.social."),
            fields={"instance_url": _("Must start with https://.")},
        )
    if not access_token:
        raise Invalid(_("An access token is required."), fields={"access_token": _("Required.")})
    return connect(
        actor,
        workspace,
        network="mastodon",
        credentials=Credentials(access_token=access_token),
        service_url=instance_url.rstrip("/"),
    )


# Choosing among the accounts of one grant ----------------------------------------------------

#: How long a grant waits for its user's choice before it is forgotten.
PENDING_CONNECTION_LIFETIME = timedelta(minutes=15)


def offers_account_choice(network: str) -> bool:
    """Whether an OAuth grant on this network is followed by a choice of accounts."""
    return Capability.ACCOUNT_CHOICE in NETWORKS[network].capabilities


def hold_grant(
    actor: Actor,
    workspace: Workspace,
    *,
    network: str,
    credentials: Credentials,
    service_url: str = "",
) -> PendingConnection:
    """Lists the accounts an OAuth grant opens and keeps them, encrypted, for this user and
    workspace only, until the user chooses (``connect_chosen``). Nothing is connected yet."""
    require(actor, Action.UPDATE_WORKSPACE, workspace)
    connector = build_connector(
        network,
        credentials,
        service_url=service_url or None,
        rate_limits=DatabaseRateLimitStore(),
        **_network_options(network),
    )
    try:
        accounts = connector.connectable_accounts()
    except network_errors.NetworkError as exc:
        raise Invalid(
            _("Could not list the accounts of this authorization: %(reason)s") % {"reason": exc}
        ) from None
    if not accounts:
        raise Invalid(
            _("This authorization gives access to no account Chorus can connect on %(network)s.")
            % {"network": NETWORKS[network].display_name}
        )
    now = timezone.now()
    with transaction.atomic():
        PendingConnection.objects.filter(expires_at__lte=now).delete()
        pending = PendingConnection(
            token=secrets.token_urlsafe(32),
            user=actor.user,
            workspace=workspace,
            network=network,
            service_url=service_url,
            expires_at=now + PENDING_CONNECTION_LIFETIME,
        )
        pending.set_accounts(accounts)
        pending.save()
        audit.record(
            actor,
            "channel.grant_received",
            workspace=workspace,
            details={"network": network, "accounts": len(accounts)},
        )
    return pending


@transaction.atomic
def connect_chosen(
    actor: Actor, pending: PendingConnection, remote_ids: Collection[str]
) -> list[Channel]:
    """Connects the chosen accounts of a held grant (all or none), then forgets the grant."""
    require(actor, Action.UPDATE_WORKSPACE, pending.workspace)
    offered: dict[str, ConnectableAccount] = {
        account.author.remote_id: account for account in pending.accounts
    }
    chosen = [offered[remote_id] for remote_id in dict.fromkeys(remote_ids) if remote_id in offered]
    if not chosen:
        raise Invalid(
            _("Choose at least one account to connect."), fields={"accounts": _("Required.")}
        )
    channels = [
        _save_channel(
            actor,
            pending.workspace,
            pending.network,
            account.author,
            account.credentials,
            pending.service_url,
            account.kind,
        )
        for account in chosen
    ]
    pending.delete()
    return channels


def discard_grant(actor: Actor, pending: PendingConnection) -> None:
    """The user connects none of the grant's accounts: its credentials are forgotten now."""
    require(actor, Action.UPDATE_WORKSPACE, pending.workspace)
    with transaction.atomic():
        pending.delete()
        audit.record(
            actor,
            "channel.grant_discarded",
            workspace=pending.workspace,
            details={"network": pending.network},
        )


@transaction.atomic
def disconnect(actor: Actor, channel: Channel) -> Channel:
    """Stops using the account and forgets its credentials; its history stays."""
    require(actor, Action.UPDATE_WORKSPACE, channel.workspace)
    channel.status = Channel.Status.DISABLED
    channel.set_credentials(Credentials())
    channel.save(update_fields=["status", "credentials_ciphertext", "scopes", "token_expires_at"])
    audit.record(actor, "channel.disconnected", workspace=channel.workspace, target=channel)
    return channel


# Token lifecycle -----------------------------------------------------------------------------


def mark_reconnect_needed(channel: Channel, reason: str) -> None:
    """The account must be reconnected by a person: hold its work and tell the managers."""
    if channel.status == Channel.Status.RECONNECT_NEEDED:
        return
    Channel.objects.filter(pk=channel.pk).update(status=Channel.Status.RECONNECT_NEEDED)
    channel.status = Channel.Status.RECONNECT_NEEDED
    record_failure(channel, network_errors.AuthError(reason, network=channel.network))
    audit.record(
        None,
        "channel.reconnect_needed",
        workspace=channel.workspace,
        target=channel,
        details={"reason": reason[:300]},
    )
    transaction.on_commit(lambda: _tell_managers(channel))


def managers_of(workspace: Workspace) -> list[str]:
    """E-mails of people who manage this workspace (role granted here or on an ancestor)."""
    strong = {role for role, rank in ROLE_RANK.items() if rank >= ROLE_RANK[Role.MANAGER]}
    return sorted(
        set(
            Membership.objects.filter(
                workspace_id__in=workspace.ancestor_ids, role__in=strong, user__is_active=True
            ).values_list("user__email", flat=True)
        )
    )


def _tell_managers(channel: Channel) -> None:
    link = f"{settings.PUBLIC_URL}/w/{channel.workspace.slug}/channels/{channel.pk}/"
    with override(channel.workspace.default_locale):
        subject = _("Reconnect %(channel)s") % {"channel": channel}
        body = _(
            "Chorus can no longer act for %(channel)s in %(workspace)s: the network refused its "
            "credentials. Its scheduled posts are held until someone reconnects it.\n\nReconnect: %(link)s"
        ) % {"channel": channel, "workspace": channel.workspace.name, "link": link}
    send_mail(subject, body, None, managers_of(channel.workspace))


def refresh_token(channel: Channel) -> bool:
    """Renews the channel's access token with its network's OAuth application.

    A refusal means a person must reconnect the account; a passing failure is recorded and
    retried at the next run. The stored refresh token is kept when the answer has none.
    """
    app = oauth_app_for(channel.network)
    if app is None:
        record_failure(
            channel,
            network_errors.AuthError(f"no OAuth application is configured for {channel.network}"),
        )
        return False
    flow = oauth_flow_for(channel.network, app, service_url=channel.service_url or None)
    with transaction.atomic():
        # One refresh at a time per channel: X rotates refresh tokens, so a second concurrent
        # refresh would spend a token the first one already replaced.
        locked = Channel.objects.select_for_update().get(pk=channel.pk)
        if locked.token_expires_at != channel.token_expires_at:
            return True  # another worker refreshed it while this one waited
        try:
            fresh = flow.refresh(locked.credentials)
        except network_errors.AuthError as exc:
            mark_reconnect_needed(locked, str(exc))
            return False
        except network_errors.NetworkError as exc:
            record_failure(locked, exc)
            return False
        locked.set_credentials(locked.credentials.merged_with(fresh))
        locked.last_ok_at = timezone.now()
        locked.save(
            update_fields=["credentials_ciphertext", "scopes", "token_expires_at", "last_ok_at"]
        )
    return True


def refresh_expiring(now: datetime | None = None) -> int:
    """Refreshes the tokens of active channels that expire within the hour (or their network's
    own window, ``REFRESH_AHEAD_OF``); returns how many."""
    now = now or timezone.now()
    expiring = Q(token_expires_at__lte=now + REFRESH_AHEAD) & ~Q(network__in=REFRESH_AHEAD_OF)
    for network, ahead in REFRESH_AHEAD_OF.items():
        expiring |= Q(network=network, token_expires_at__lte=now + ahead)
    due = Channel.objects.filter(
        expiring, status=Channel.Status.ACTIVE, token_expires_at__isnull=False
    ).select_related("workspace")
    return sum(refresh_token(channel) for channel in due)
