"""Threads through the Threads API (graph.threads.net).

Credentials: a long-lived Threads user token and ``extra["threads_user_id"]``. Publishing is the
same container flow as Instagram: the profile's quota is read from ``threads_publishing_limit``
(posts, or replies for a reply), a container is created (``TEXT``, ``IMAGE``, ``VIDEO`` or
``CAROUSEL``, media fetched by Threads from their public ``MediaItem.url``), polled until
``FINISHED``, then published with ``threads_publish``. A thread's continuations are replies to
the part before. Threads has no refresh token: a long-lived token (60 days) is exchanged for a
new one while it is still valid.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, ClassVar

import httpx

from chorus.networks.base import (
    AccountMetrics,
    Author,
    Capability,
    ConnectableAccount,
    Credentials,
    MediaItem,
    PostContent,
    PostMetrics,
    PublishResult,
)
from chorus.networks.errors import NetworkError, TransientError
from chorus.networks.meta import (
    ContainerConnector,
    ScopedCodeFlow,
    graph_error,
    insight_values,
    is_video,
    json_body,
)
from chorus.networks.oauth import (
    PendingAuthorization,
    check_callback,
    credentials_from_token_response,
)

THREADS_HOST = "https://graph.threads.net"
THREADS_URL = f"{THREADS_HOST}/v1.0"
SCOPES = (
    "threads_basic",
    "threads_content_publish",
    "threads_manage_replies",
    "threads_read_replies",
    "threads_manage_insights",
)
_METRICS = ("views", "likes", "replies", "reposts", "quotes")
_PROFILE_FIELDS = "id,username,name,threads_profile_picture_url"


class ThreadsOAuthFlow(ScopedCodeFlow):
    """Threads' authorization code flow, then the exchange for a long-lived token."""

    network = "threads"
    authorization_endpoint = "https://threads.net/oauth/authorize"
    token_endpoint = f"{THREADS_HOST}/oauth/access_token"
    scope_separator = ","
    use_pkce = False
    default_scopes = SCOPES

    def finish(
        self, pending: PendingAuthorization, callback_params: Mapping[str, str]
    ) -> Credentials:
        code = check_callback(pending, callback_params)
        short_lived = self._exchange(
            "POST",
            self.token_endpoint,
            data={
                "client_id": self.app.client_id,
                "client_secret": self.app.client_secret,
                "grant_type": "authorization_code",
                "redirect_uri": self.app.redirect_uri,
                "code": code,
            },
        )
        long_lived = self._exchange(
            "GET",
            f"{THREADS_HOST}/access_token",
            params={
                "grant_type": "th_exchange_token",
                "client_secret": self.app.client_secret,
                "access_token": short_lived["access_token"],
            },
        )
        # Only the short-lived answer names the user.
        user_id = str(short_lived.get("user_id", ""))
        return credentials_from_token_response(long_lived, threads_user_id=user_id)

    def refresh(self, credentials: Credentials) -> Credentials:
        body = self._exchange(
            "GET",
            f"{THREADS_HOST}/refresh_access_token",
            params={"grant_type": "th_refresh_token", "access_token": credentials.access_token},
        )
        return credentials.merged_with(credentials_from_token_response(body))

    def _exchange(self, method: str, url: str, **request: Any) -> dict[str, Any]:
        # Secrets travel in these requests: errors carry the network's words, never the request.
        try:
            response = self.http.request(method, url, **request)
        except httpx.TransportError as error:
            raise TransientError(
                f"token request failed ({type(error).__name__})", network=self.network
            ) from error
        if not response.is_success:
            raise graph_error(response, self.network)
        body = json_body(response)
        if not body.get("access_token"):
            raise NetworkError("token response without a token", network=self.network)
        return body


class ThreadsConnector(ContainerConnector):
    network = "threads"
    account_field = "threads_user_id"
    oauth_flow_class = ThreadsOAuthFlow
    graph_url: ClassVar[str] = THREADS_URL
    status_fields = ("status", "error_message")
    container_edge = "threads"
    publish_edge = "threads_publish"
    limit_edge = "threads_publishing_limit"
    posts_edge = "threads"
    text_field = "text"
    capabilities = frozenset(
        {
            Capability.PUBLISH,
            Capability.DELETE,
            Capability.REPLY,
            Capability.FETCH_POST_METRICS,
            Capability.FETCH_ACCOUNT_METRICS,
            Capability.FIND_PUBLISHED,
            Capability.OAUTH,
            Capability.ACCOUNT_CHOICE,
            Capability.THREADS,
            Capability.MEDIA,
            Capability.VIDEO,
            Capability.LINK_CARDS,
            Capability.QUOTES,
        }
    )

    def connect(self) -> Author:
        """The Threads profile of the token (``/me``)."""
        return _author(self._graph("GET", "me", params={"fields": _PROFILE_FIELDS}))

    def connectable_accounts(self) -> list[ConnectableAccount]:
        """The user's own profile: a Threads grant opens no other, but the user confirms it."""
        author = self.connect()
        credentials = Credentials(extra={"threads_user_id": author.remote_id})
        return [ConnectableAccount(author, self.credentials.merged_with(credentials))]

    def publish(self, content: PostContent, idempotency_key: str) -> PublishResult:
        keys = [idempotency_key] + [
            f"{idempotency_key}#{index}" for index in range(1, len(content.thread) + 1)
        ]
        first = self._publish_one(content, keys[0], content.reply_to)
        parts, parent = [], first.remote_id
        for key, part in zip(keys[1:], content.thread, strict=True):
            published = self._publish_one(part, key, parent)
            parts.append(published)
            parent = published.remote_id
        self._forget(*keys)
        return replace(first, thread=tuple(parts))

    def reply(self, remote_id: str, content: PostContent, idempotency_key: str) -> PublishResult:
        return self.publish(replace(content, reply_to=remote_id), idempotency_key)

    def delete(self, remote_id: str) -> None:
        self._graph("DELETE", remote_id, write=True)

    def fetch_post_metrics(self, remote_ids: Sequence[str]) -> dict[str, PostMetrics]:
        fields = f"insights.metric({','.join(_METRICS)})"
        return {
            remote_id: _metrics(insight_values(post))
            for remote_id, post in self._objects(remote_ids, fields).items()
        }

    def fetch_account_metrics(self) -> AccountMetrics:
        body = self._graph(
            "GET", f"{self.account_id}/threads_insights", params={"metric": "followers_count"}
        )
        return AccountMetrics(
            followers=int(insight_values({"insights": body}).get("followers_count") or 0)
        )

    def _publish_one(self, content: PostContent, key: str, reply_to: str | None) -> PublishResult:
        def new_container() -> str:
            if reply_to:
                self._ensure_quota("reply_quota_usage", "reply_config")
            else:
                self._ensure_quota()
            fields = {"text": content.text}
            if reply_to:
                fields["reply_to_id"] = reply_to
            if content.quote_of:
                fields["quote_post_id"] = content.quote_of
            if content.media:
                return self._media_container(content.media, fields)
            if content.link is not None:
                fields["link_attachment"] = content.link.url
            container = self._create_container({**fields, "media_type": "TEXT"})
            self._await_container(container)
            return container

        return self._publish_once(key, content.text, new_container)

    def _container_fields(self, item: MediaItem, *, carousel: bool) -> dict[str, str]:
        if is_video(item):
            return {"media_type": "VIDEO", "video_url": self._public_url(item)}
        fields = {"media_type": "IMAGE", "image_url": self._public_url(item)}
        if item.alt_text:
            fields["alt_text"] = item.alt_text
        return fields


def _author(user: Mapping[str, Any]) -> Author:
    return Author(
        handle=str(user.get("username") or user["id"]),
        display_name=str(user.get("name") or ""),
        avatar_url=str(user.get("threads_profile_picture_url") or ""),
        remote_id=str(user["id"]),
    )


def _metrics(insights: Mapping[str, Any]) -> PostMetrics:
    return PostMetrics(
        likes=int(insights.get("likes") or 0),
        replies=int(insights.get("replies") or 0),
        reposts=int(insights.get("reposts") or 0),
        quotes=insights.get("quotes"),
        impressions=insights.get("views"),
    )
