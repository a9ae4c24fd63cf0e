"""The OAuth applications this install has registered with each network (from the environment)."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _

from chorus import crypto
from chorus.channels.models import InstanceApp
from chorus.errors import Invalid
from chorus.networks.errors import NetworkError
from chorus.networks.mastodon import SCOPES, register_app
from chorus.networks.oauth import OAuthApp


def oauth_app_for(network: str) -> OAuthApp | None:
    """The application for ``network``, or None when the operator has not configured one."""
    configured = settings.OAUTH_APPS.get(network)
    if not configured:
        return None
    return OAuthApp(
        client_id=str(configured["client_id"]),
        client_secret=str(configured.get("client_secret", "")),
        redirect_uri=callback_url(network),
        scopes=tuple(configured.get("scopes", ())),
    )


def callback_url(network: str) -> str:
    """Where the network sends the browser back (register it with the network's application)."""
    return f"{settings.PUBLIC_URL}/channels/oauth/{network}/callback/"


def mastodon_app(instance_url: str) -> OAuthApp:
    """Chorus's application on a Mastodon instance, registered there the first time."""
    redirect_uri = callback_url("mastodon")
    known = InstanceApp.objects.filter(instance_url=instance_url, redirect_uri=redirect_uri).first()
    if known is not None:
        return OAuthApp(
            known.client_id, crypto.decrypt(known.client_secret_ciphertext), redirect_uri, SCOPES
        )
    try:
        app = register_app(instance_url, redirect_uri)
    except NetworkError as exc:
        raise Invalid(
            _("Could not register Chorus on %(instance)s: %(reason)s")
            % {"instance": instance_url, "reason": exc},
            fields={"instance_url": _("Unreachable or refused.")},
        ) from None
    InstanceApp.objects.get_or_create(
        instance_url=instance_url,
        redirect_uri=redirect_uri,
        defaults={
            "client_id": app.client_id,
            "client_secret_ciphertext": crypto.encrypt(app.client_secret),
        },
    )
    return app
