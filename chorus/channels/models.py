from __future__ import annotations

import dataclasses
import json

from django.conf import settings
from django.db import models
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _

from chorus import crypto
from chorus.networks.base import Author, ConnectableAccount, Credentials
from chorus.networks.registry import NETWORKS
from chorus.orgs.models import Workspace

NETWORK_CHOICES = [(slug, info.display_name) for slug, info in NETWORKS.items()]


class Channel(models.Model):
    """One account on one network, owned by a workspace."""

    class Kind(models.TextChoices):
        PROFILE = "profile", _("Profile")
        PAGE = "page", _("Page")
        ORGANISATION_PAGE = "organisation_page", _("Organisation page")
        BUSINESS_ACCOUNT = "business_account", _("Business account")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        RECONNECT_NEEDED = "reconnect_needed", _("Reconnect needed")
        DISABLED = "disabled", _("Disabled")

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="channels")
    network = models.CharField(_("network"), max_length=20, choices=NETWORK_CHOICES)
    service_url = models.URLField(
        _("server"), blank=True, help_text=_("Bluesky PDS or Mastodon instance")
    )
    remote_id = models.CharField(_("account id"), max_length=255)
    handle = models.CharField(_("handle"), max_length=255)
    display_name = models.CharField(_("name"), max_length=255, blank=True)
    avatar_url = models.URLField(_("avatar"), max_length=1000, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.PROFILE)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.ACTIVE
    )
    scopes = models.JSONField(_("granted scopes"), default=list, blank=True)
    token_expires_at = models.DateTimeField(_("token expiry"), null=True, blank=True)
    # Fernet ciphertext of Credentials.as_dict(); see chorus.crypto. Never leaves the server.
    credentials_ciphertext = models.TextField(editable=False)
    last_ok_at = models.DateTimeField(_("last successful call"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    connected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["network", "handle"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "network", "remote_id"],
                name="one_channel_per_account_and_workspace",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_network_display()} @{self.handle}"

    @property
    def credentials(self) -> Credentials:
        return Credentials.from_dict(json.loads(crypto.decrypt(self.credentials_ciphertext)))

    def set_credentials(self, credentials: Credentials) -> None:
        self.credentials_ciphertext = crypto.encrypt(json.dumps(credentials.as_dict()))
        self.scopes = sorted(credentials.scopes)
        self.token_expires_at = credentials.expires_at


class ChannelError(models.Model):
    """Recent failures of a channel, shown on its details page."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="errors")
    kind = models.CharField(max_length=40)
    message = models.TextField()
    created_at = models.DateTimeField(default=now, db_index=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.kind}: {self.message[:60]}"


class RateLimitBudget(models.Model):
    """A network's rate-limit budget for one key (account or app), shared by every process."""

    key = models.CharField(max_length=300, unique=True)
    limit = models.IntegerField(null=True)
    remaining = models.IntegerField(null=True)
    reset_at = models.DateTimeField(null=True)
    usage_percent = models.FloatField(null=True)
    observed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.key}: {self.remaining}/{self.limit}"


class InstanceApp(models.Model):
    """Chorus's OAuth application on one Mastodon instance, registered there on first use."""

    instance_url = models.URLField(_("instance"))
    redirect_uri = models.URLField()
    client_id = models.CharField(max_length=255)
    client_secret_ciphertext = models.TextField(editable=False)
    created_at = models.DateTimeField(default=now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["instance_url", "redirect_uri"], name="one_app_per_instance_and_callback"
            )
        ]

    def __str__(self) -> str:
        return self.instance_url


class PendingConnection(models.Model):
    """An OAuth grant waiting for its user to choose which of its accounts to connect.

    Bound to the user and the workspace it was started from, short-lived, and encrypted: it
    holds every offered account's credentials until the choice is made, then it is deleted.
    """

    token = models.CharField(max_length=64, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    network = models.CharField(_("network"), max_length=20, choices=NETWORK_CHOICES)
    service_url = models.URLField(_("server"), blank=True)
    # Fernet ciphertext of the offered accounts (authors, kinds, credentials) as JSON.
    accounts_ciphertext = models.TextField(editable=False)
    created_at = models.DateTimeField(default=now)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.network} grant for {self.workspace}"

    @property
    def accounts(self) -> list[ConnectableAccount]:
        return [
            ConnectableAccount(
                author=Author(**entry["author"]),
                credentials=Credentials.from_dict(entry["credentials"]),
                kind=entry["kind"],
            )
            for entry in json.loads(crypto.decrypt(self.accounts_ciphertext))
        ]

    def set_accounts(self, accounts: list[ConnectableAccount]) -> None:
        self.accounts_ciphertext = crypto.encrypt(
            json.dumps(
                [
                    {
                        "author": dataclasses.asdict(account.author),
                        "credentials": account.credentials.as_dict(),
                        "kind": account.kind,
                    }
                    for account in accounts
                ]
            )
        )


class ConnectorState(models.Model):
    """What a channel's connector must remember between the steps of one publish, so a worker
    that dies midway leaves the next one able to go on (see ``chorus.networks.base.StateStore``).
    Encrypted: a resumable upload's session address lets whoever holds it upload."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=300)
    value_ciphertext = models.TextField(editable=False)
    updated_at = models.DateTimeField(default=now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "key"], name="one_state_per_channel_key")
        ]

    def __str__(self) -> str:
        return f"{self.channel_id}: {self.key}"
