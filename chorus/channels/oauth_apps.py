"""The OAuth applications this install has registered with each network (from the environment)."""

from __future__ import annotations

from django.conf import settings

from chorus.networks.oauth import OAuthApp


def oauth_app_for(network: str) -> OAuthApp | None:
    """The application for ``network``, or None when the operator has not configured one."""
    configured = settings.OAUTH_APPS.get(network)
    if not configured:
        return None
    return OAuthApp(
        client_id=str(configured["client_id"]),
        client_secret=str(configured.get("client_secret", "")),
        redirect_uri=f"{settings.PUBLIC_URL}/channels/oauth/{network}/callback/",
        scopes=tuple(configured.get("scopes", ())),
    )
