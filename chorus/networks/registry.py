"""Which networks exist, what they can do, and the connector for an account on one of them.

Connector modules are imported only when needed, so listing networks stays cheap and a
network's SDK is loaded only by the processes that use it.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from chorus.networks.base import (
    Capability,
    Connector,
    Credentials,
    CredentialsListener,
    StateStore,
)
from chorus.networks.errors import Unsupported
from chorus.networks.oauth import OAuthApp, OAuthFlow
from chorus.networks.ratelimit import RateLimitStore
from chorus.networks.validation import DEFAULT_LIMITS, NetworkLimits


@dataclass(frozen=True)
class NetworkInfo:
    slug: str
    display_name: str
    #: "module:ClassName" of the connector and of the OAuth flow ("" when there is none).
    connector_path: str
    oauth_flow_path: str = ""
    #: Default service when the network is one service (the PDS or instance is per account).
    default_service_url: str = ""

    @property
    def limits(self) -> NetworkLimits:
        return DEFAULT_LIMITS[self.slug]

    @property
    def capabilities(self) -> frozenset[Capability]:
        return self.connector_class.capabilities

    @property
    def media_by_url(self) -> bool:
        """The network fetches media from a public URL (``MediaItem.url``)."""
        return self.connector_class.media_by_url

    @property
    def connector_class(self) -> type[Connector]:
        connector_class: type[Connector] = _load(self.connector_path)
        return connector_class


NETWORKS: Mapping[str, NetworkInfo] = {
    info.slug: info
    for info in (
        NetworkInfo(
            "bluesky",
            "Bluesky",
            "chorus.networks.bluesky:BlueskyConnector",
            "chorus.networks.bluesky_oauth:BlueskyOAuthFlow",
            default_service_url="https://bsky.social",
        ),
        NetworkInfo(
            "mastodon",
            "Mastodon",
            "chorus.networks.mastodon:MastodonConnector",
            "chorus.networks.mastodon:MastodonOAuthFlow",
        ),
        NetworkInfo("x", "X", "chorus.networks.x:XConnector", "chorus.networks.x:XOAuthFlow"),
        NetworkInfo(
            "linkedin",
            "LinkedIn",
            "chorus.networks.linkedin:LinkedInConnector",
            "chorus.networks.linkedin:LinkedInOAuthFlow",
        ),
        NetworkInfo(
            "facebook",
            "Facebook",
            "chorus.networks.facebook:FacebookConnector",
            "chorus.networks.meta:MetaOAuthFlow",
        ),
        NetworkInfo(
            "instagram",
            "Instagram",
            "chorus.networks.instagram:InstagramConnector",
            "chorus.networks.meta:MetaOAuthFlow",
        ),
        NetworkInfo(
            "threads",
            "Threads",
            "chorus.networks.threads:ThreadsConnector",
            "chorus.networks.threads:ThreadsOAuthFlow",
        ),
        NetworkInfo(
            "youtube",
            "YouTube",
            "chorus.networks.youtube:YouTubeConnector",
            "chorus.networks.youtube:YouTubeOAuthFlow",
        ),
    )
}


def network_info(network: str) -> NetworkInfo:
    try:
        return NETWORKS[network]
    except KeyError:
        raise Unsupported(f"unknown network {network!r}", network=network) from None


def connector_for(
    network: str,
    credentials: Credentials,
    *,
    service_url: str | None = None,
    rate_limits: RateLimitStore | None = None,
    http_client: httpx.Client | None = None,
    on_credentials_change: CredentialsListener | None = None,
    state: StateStore | None = None,
    **network_options: Any,
) -> Connector:
    """The connector acting for one account. ``service_url`` is the account's PDS (Bluesky) or
    instance (Mastodon); ``rate_limits`` and ``state`` should be shared by every process
    (database-backed): ``state`` holds what a publish in several steps has done so far.
    ``network_options`` go to the network's connector as they are (e.g. ``oauth_app`` for the
    connectors that refresh their own tokens)."""
    info = network_info(network)
    return info.connector_class(
        credentials,
        service_url=service_url or info.default_service_url or None,
        rate_limits=rate_limits,
        http_client=http_client,
        on_credentials_change=on_credentials_change,
        state=state,
        **network_options,
    )


def oauth_flow_for(
    network: str,
    app: OAuthApp,
    *,
    service_url: str | None = None,
    http_client: httpx.Client | None = None,
) -> OAuthFlow:
    info = network_info(network)
    if not info.oauth_flow_path:
        raise Unsupported(f"{info.display_name} has no OAuth connection", network=network)
    flow_class: type[OAuthFlow] = _load(info.oauth_flow_path)
    return flow_class(
        app, service_url=service_url or info.default_service_url or None, http_client=http_client
    )


def _load(path: str) -> Any:
    module_name, _, name = path.partition(":")
    return getattr(importlib.import_module(module_name), name)
