"""X through the X API v2.

Credentials: an OAuth 2.0 user token (authorization code with PKCE, ``offline.access`` for a
refresh token) and ``extra["user_id"]`` (read from ``/2/users/me`` when missing). Rate limits
are per endpoint and per user: each endpoint family has its own budget, learned from the
``x-rate-limit-*`` headers.

X has no idempotency key. A publish whose answer is lost raises ``AmbiguousOutcome``, and
``find_published`` reconciles by reading the account's own tweets since the attempt began and
looking for one with the same text (X rewrites links to t.co and escapes ``&<>``, so texts are
compared without links and entities), the same reply target and the same quoted tweet. X itself
refuses a tweet identical to a recent one, so an exact match in that window is the attempt. The
connector remembers what it sent for each key; a caller in another process passes ``content``
and ``sent_after`` (the ledger does).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import httpx

from chorus.networks.base import (
    AccountMetrics,
    Author,
    Capability,
    Credentials,
    MediaItem,
    MediaKind,
    Notification,
    NotificationKind,
    Page,
    PostContent,
    PostMetrics,
    PublishResult,
    RemotePost,
)
from chorus.networks.errors import (
    AuthError,
    InvalidContent,
    NetworkError,
    NotFound,
    TransientError,
    untrusted_text,
)
from chorus.networks.meta import (
    RestConnector,
    ScopedCodeFlow,
    attempt_to_reconcile,
    comparable_text,
    json_body,
    parse_time,
    rate_limited,
)

API_URL = "https://api.x.com/2"
SCOPES = (
    "tweet.read",
    "tweet.write",
    "users.read",
    "like.read",
    "like.write",
    "media.write",
    "offline.access",
)
# X's windows are 15 minutes (24 hours for some): a 429 without headers waits one window.
_DEFAULT_PAUSE = 15 * 60.0
_CHUNK_BYTES = 4 * 1024 * 1024
_TWEET_FIELDS = "created_at,author_id,conversation_id,referenced_tweets,public_metrics"
_USER_FIELDS = "username,name,profile_image_url"
# Pages of tweets read back when reconciling.
_RECONCILE_PAGES = 3


class XOAuthFlow(ScopedCodeFlow):
    network = "x"
    authorization_endpoint = "https://x.com/i/oauth2/authorize"
    token_endpoint = f"{API_URL}/oauth2/token"
    client_authentication = "basic"  # a confidential client: id and secret in Basic auth
    default_scopes = SCOPES


@dataclass(frozen=True)
class _Attempt:
    content: PostContent
    started_at: datetime


class XConnector(RestConnector):
    network = "x"
    oauth_flow_class = XOAuthFlow
    capabilities = frozenset(
        {
            Capability.PUBLISH,
            Capability.DELETE,
            Capability.REPLY,
            Capability.LIKE,
            Capability.FETCH_NOTIFICATIONS,
            Capability.SEARCH,
            Capability.FETCH_POST_METRICS,
            Capability.FETCH_ACCOUNT_METRICS,
            Capability.FIND_PUBLISHED,
            Capability.OAUTH,
            Capability.THREADS,
            Capability.MEDIA,
            Capability.VIDEO,
            Capability.QUOTES,
        }
    )

    def __init__(self, credentials: Credentials, **options: Any) -> None:
        super().__init__(credentials, **options)
        self._attempts: dict[str, _Attempt] = {}

    @property
    def account_id(self) -> str:
        if not self.credentials.extra.get("user_id"):
            me = self._api("GET", "users/me", bucket="users")["data"]
            self._update_credentials(
                Credentials(extra={"user_id": str(me["id"]), "username": str(me["username"])})
            )
        return self.credentials.extra["user_id"]

    def connect(self) -> Author:
        me = self._api("GET", "users/me", bucket="users", params={"user.fields": _USER_FIELDS})[
            "data"
        ]
        self._update_credentials(
            Credentials(extra={"user_id": str(me["id"]), "username": str(me["username"])})
        )
        return Author(
            handle=str(me["username"]),
            display_name=str(me.get("name") or ""),
            avatar_url=str(me.get("profile_image_url") or ""),
            remote_id=str(me["id"]),
        )

    # Publishing --------------------------------------------------------------------------

    def publish(self, content: PostContent, idempotency_key: str) -> PublishResult:
        self._attempts[idempotency_key] = _Attempt(content, datetime.now(UTC))
        first = self._tweet(content, content.reply_to)
        parts, parent = [], first.remote_id
        for part in content.thread:
            published = self._tweet(part, parent)
            parts.append(published)
            parent = published.remote_id
        return replace(first, thread=tuple(parts))

    def reply(self, remote_id: str, content: PostContent, idempotency_key: str) -> PublishResult:
        return self.publish(replace(content, reply_to=remote_id), idempotency_key)

    def find_published(
        self,
        idempotency_key: str,
        *,
        content: PostContent | None = None,
        sent_after: datetime | None = None,
    ) -> PublishResult | None:
        """The tweet (and thread) published by an earlier attempt, found by its text."""
        attempt = self._attempts.get(idempotency_key)
        if content is None and attempt is not None:
            content, sent_after = attempt.content, sent_after or attempt.started_at
        content, since = attempt_to_reconcile(self.network, content, sent_after)
        timeline = self._own_tweets_since(since)
        first = _matching_tweet(timeline, content, content.reply_to)
        if first is None:
            return None
        parts, parent = [], first
        for part in content.thread:
            found = _matching_tweet(timeline, part, parent["id"])
            if found is None:
                break  # the thread stopped there: the caller publishes the rest
            parts.append(_result(found))
            parent = found
        return replace(_result(first), thread=tuple(parts))

    def delete(self, remote_id: str) -> None:
        self._api("DELETE", f"tweets/{remote_id}", write=True, bucket="tweets:delete")

    def like(self, remote_id: str) -> None:
        self._api(
            "POST",
            f"users/{self.account_id}/likes",
            write=True,
            bucket="likes",
            json={"tweet_id": remote_id},
        )

    def _tweet(self, content: PostContent, reply_to: str | None) -> PublishResult:
        text = content.text
        if content.link is not None and content.link.url not in text:
            text = f"{text}\n\n{content.link.url}".strip()
        body: dict[str, Any] = {"text": text}
        if reply_to:
            body["reply"] = {"in_reply_to_tweet_id": reply_to}
        if content.quote_of:
            body["quote_tweet_id"] = content.quote_of
        if content.media:
            body["media"] = {"media_ids": [self._upload(item) for item in content.media]}
        created = self._api("POST", "tweets", write=True, bucket="tweets:create", json=body)
        return _result(created["data"])

    # Media ------------------------------------------------------------------------------
    # An uploaded media that no tweet uses expires unseen: uploads are safe to retry.

    def _upload(self, item: MediaItem) -> str:
        if item.kind is MediaKind.IMAGE:
            uploaded = self._api(
                "POST",
                "media/upload",
                bucket="media",
                data={"media_category": "tweet_image", "media_type": item.mime_type},
                files={"media": ("media", item.read(), item.mime_type)},
            )
            media_id = str(uploaded["data"]["id"])
        else:
            media_id = self._chunked_upload(item)
        if item.alt_text:
            self._api(
                "POST",
                "media/metadata",
                bucket="media",
                json={"id": media_id, "metadata": {"alt_text": {"text": item.alt_text}}},
            )
        return media_id

    def _chunked_upload(self, item: MediaItem) -> str:
        category = "tweet_gif" if item.kind is MediaKind.GIF else "tweet_video"
        started = self._api(
            "POST",
            "media/upload/initialize",
            bucket="media",
            json={
                "media_type": item.mime_type,
                "total_bytes": item.byte_size,
                "media_category": category,
            },
        )
        media_id = str(started["data"]["id"])
        data = item.read()
        for index, start in enumerate(range(0, len(data), _CHUNK_BYTES)):
            self._api(
                "POST",
                f"media/upload/{media_id}/append",
                bucket="media",
                data={"segment_index": str(index)},
                files={"media": ("chunk", data[start : start + _CHUNK_BYTES], item.mime_type)},
            )
        finished = self._api("POST", f"media/upload/{media_id}/finalize", bucket="media")
        self._await_processing(media_id, finished["data"].get("processing_info"))
        return media_id

    def _await_processing(self, media_id: str, info: Mapping[str, Any] | None) -> None:
        while info and info.get("state") in ("pending", "in_progress"):
            self._sleep(float(info.get("check_after_secs") or 1))
            status = self._api(
                "GET",
                "media/upload",
                bucket="media",
                params={"command": "STATUS", "media_id": media_id},
            )
            info = status["data"].get("processing_info")
        if info and info.get("state") == "failed":
            reason = (info.get("error") or {}).get("message") or "processing failed"
            raise InvalidContent(f"X could not process the media: {reason}", network=self.network)

    # Reading ----------------------------------------------------------------------------

    def fetch_notifications(self, cursor: str | None = None) -> Page[Notification]:
        params = self._expanded_params(pagination_token=cursor)
        body = self._api(
            "GET", f"users/{self.account_id}/mentions", bucket="mentions", params=params
        )
        authors = _authors(body)
        items = [_notification(tweet, authors) for tweet in body.get("data", [])]
        return Page(items, (body.get("meta") or {}).get("next_token"))

    def search(self, query: str, cursor: str | None = None) -> Page[RemotePost]:
        params = self._expanded_params(next_token=cursor) | {"query": query}
        body = self._api("GET", "tweets/search/recent", bucket="search", params=params)
        authors = _authors(body)
        posts = [_remote_post(tweet, authors) for tweet in body.get("data", [])]
        return Page(posts, (body.get("meta") or {}).get("next_token"))

    def fetch_post_metrics(self, remote_ids: Sequence[str]) -> dict[str, PostMetrics]:
        metrics: dict[str, PostMetrics] = {}
        for start in range(0, len(remote_ids), 100):  # the lookup takes 100 ids at most
            body = self._api(
                "GET",
                "tweets",
                bucket="lookup",
                params={
                    "ids": ",".join(remote_ids[start : start + 100]),
                    "tweet.fields": "public_metrics",
                },
            )
            # A deleted tweet comes back in "errors", not "data".
            metrics |= {tweet["id"]: _metrics(tweet) for tweet in body.get("data", [])}
        return metrics

    def fetch_account_metrics(self) -> AccountMetrics:
        me = self._api("GET", "users/me", bucket="users", params={"user.fields": "public_metrics"})
        counts = me["data"].get("public_metrics") or {}
        return AccountMetrics(
            followers=int(counts.get("followers_count") or 0),
            following=counts.get("following_count"),
            posts=counts.get("tweet_count"),
        )

    def _own_tweets_since(self, since: datetime) -> list[dict[str, Any]]:
        tweets: list[dict[str, Any]] = []
        token: str | None = None
        for _page in range(_RECONCILE_PAGES):
            params = {
                "start_time": since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "max_results": "100",
                "tweet.fields": "created_at,referenced_tweets",
            }
            if token:
                params["pagination_token"] = token
            body = self._api(
                "GET", f"users/{self.account_id}/tweets", bucket="timeline", params=params
            )
            tweets += body.get("data", [])
            token = (body.get("meta") or {}).get("next_token")
            if not token:
                break
        return tweets

    def _expanded_params(self, **cursor: str | None) -> dict[str, str]:
        params = {
            "max_results": "100",
            "tweet.fields": _TWEET_FIELDS,
            "expansions": "author_id",
            "user.fields": _USER_FIELDS,
        }
        return params | {name: value for name, value in cursor.items() if value}

    # Plumbing ---------------------------------------------------------------------------

    def _api(
        self,
        method: str,
        path: str,
        *,
        write: bool = False,
        bucket: str,
        **request: Any,
    ) -> dict[str, Any]:
        return self._json(method, f"{API_URL}/{path}", write=write, bucket=bucket, **request)

    @property
    def rate_limit_key(self) -> str:
        # Not ``account_id``: reading it may itself be a call.
        return f"x:{self.credentials.extra.get('user_id', '')}"

    def _classify(self, response: httpx.Response) -> NetworkError:
        return x_error(response)


def x_error(response: httpx.Response) -> NetworkError:
    """The typed error of an X API v2 problem (``title``, ``detail``, ``type``, ``errors``)."""
    body = json_body(response)
    details = [
        str(error.get("message"))
        for error in body.get("errors") or []
        if isinstance(error, dict) and error.get("message")
    ]
    message = untrusted_text(
        "; ".join(details) or body.get("detail") or body.get("title") or response.reason_phrase
    )
    status, problem = response.status_code, str(body.get("type") or "")
    if status == 401:
        return AuthError(message, network="x", status=status)
    if status == 429:
        return rate_limited(response, message, "x", _DEFAULT_PAUSE)
    if status >= 500:
        return TransientError(message, network="x", status=status)
    if status == 404:
        return NotFound(message, network="x", status=status)
    if status == 403 and problem.endswith(("client-forbidden", "unsupported-authentication")):
        return AuthError(message, network="x", status=status)
    if status in (400, 403):
        # Duplicate content, a reply the author does not allow, an invalid parameter...
        return InvalidContent(message, network="x", status=status)
    return NetworkError(message, network="x", status=status)


def _matching_tweet(
    timeline: Sequence[Mapping[str, Any]], content: PostContent, reply_to: str | None
) -> Mapping[str, Any] | None:
    wanted = comparable_text(content.text)
    matches = [
        tweet
        for tweet in timeline
        if comparable_text(str(tweet.get("text", ""))) == wanted
        and _referenced(tweet, "replied_to") == reply_to
        and _referenced(tweet, "quoted") == content.quote_of
    ]
    return min(matches, key=lambda tweet: str(tweet.get("created_at", ""))) if matches else None


def _referenced(tweet: Mapping[str, Any], kind: str) -> str | None:
    for reference in tweet.get("referenced_tweets") or []:
        if reference.get("type") == kind:
            return str(reference["id"])
    return None


def _result(tweet: Mapping[str, Any]) -> PublishResult:
    return PublishResult(
        remote_id=str(tweet["id"]),
        remote_url=f"https://x.com/i/web/status/{tweet['id']}",
        published_at=parse_time(str(tweet["created_at"])) if tweet.get("created_at") else None,
    )


def _authors(body: Mapping[str, Any]) -> dict[str, Author]:
    return {
        str(user["id"]): Author(
            handle=str(user.get("username", "")),
            display_name=str(user.get("name") or ""),
            avatar_url=str(user.get("profile_image_url") or ""),
            remote_id=str(user["id"]),
        )
        for user in (body.get("includes") or {}).get("users", [])
    }


def _metrics(tweet: Mapping[str, Any]) -> PostMetrics:
    counts = tweet.get("public_metrics") or {}
    return PostMetrics(
        likes=int(counts.get("like_count") or 0),
        replies=int(counts.get("reply_count") or 0),
        reposts=int(counts.get("retweet_count") or 0),
        quotes=counts.get("quote_count"),
        impressions=counts.get("impression_count"),
        saves=counts.get("bookmark_count"),
    )


def _author_of(tweet: Mapping[str, Any], authors: Mapping[str, Author]) -> Author:
    author_id = str(tweet.get("author_id", ""))
    return authors.get(author_id) or Author(handle="", remote_id=author_id)


def _remote_post(tweet: Mapping[str, Any], authors: Mapping[str, Author]) -> RemotePost:
    author = _author_of(tweet, authors)
    return RemotePost(
        remote_id=str(tweet["id"]),
        remote_url=f"https://x.com/{author.handle or 'i/web'}/status/{tweet['id']}",
        author=author,
        text=str(tweet.get("text", "")),
        created_at=parse_time(str(tweet["created_at"])),
        in_reply_to=_referenced(tweet, "replied_to"),
        metrics=_metrics(tweet),
        raw=dict(tweet),
    )


def _notification(tweet: Mapping[str, Any], authors: Mapping[str, Author]) -> Notification:
    replied_to, quoted = _referenced(tweet, "replied_to"), _referenced(tweet, "quoted")
    kind = (
        NotificationKind.REPLY
        if replied_to
        else NotificationKind.QUOTE
        if quoted
        else NotificationKind.MENTION
    )
    return Notification(
        kind=kind,
        remote_id=str(tweet["id"]),
        author=_author_of(tweet, authors),
        created_at=parse_time(str(tweet["created_at"])),
        text=str(tweet.get("text", "")),
        in_reply_to=replied_to,
        subject_id=quoted,
        raw=dict(tweet),
    )
