"""The OAuth applications this install has registered with each network (from the environment)."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

from chorus import crypto
from chorus.channels.models import InstanceApp
from chorus.errors import Invalid
from chorus.networks import bluesky_oauth
from chorus.networks.errors import NetworkError
from chorus.networks.mastodon import SCOPES, register_app
from chorus.networks.oauth import OAuthApp


def oauth_app_for(network: str) -> OAuthApp | None:
    """The application for ``network``, or None when the operator has not configured one."""
    if network == "bluesky":
        return bluesky_app()
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


def bluesky_app() -> OAuthApp:
    """Chorus as a Bluesky OAuth client: nothing to register, the client id is the URL of the
    metadata Chorus serves, or the loopback form on a local install."""
    redirect_uri = callback_url("bluesky")
    if urlsplit(redirect_uri).hostname == "localhost":
        # atproto servers refuse "localhost" in loopback redirect URIs (RFC 8252 §8.3).
        redirect_uri = redirect_uri.replace("://localhost", "://127.0.0.1", 1)
    metadata_url = f"{settings.PUBLIC_URL}/channels/oauth/bluesky/client-metadata.json"
    return OAuthApp(
        client_id=bluesky_oauth.client_id_for(redirect_uri, metadata_url),
        redirect_uri=redirect_uri,
        scopes=bluesky_oauth.SCOPES,
    )


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
