"""Mastodon (any instance) through Mastodon.py.

Credentials: ``access_token`` and ``extra["client_id"]`` / ``extra["client_secret"]`` of the app
registered on the instance; ``service_url`` is the instance. Publishing sends an
``Idempotency-Key``: the instance answers a repeat within an hour with the status already made.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

import requests
from mastodon import Mastodon, MastodonError
from mastodon import errors as mastodon_errors

from chorus.networks.base import (
    AccountMetrics,
    Author,
    Capability,
    Connector,
    Credentials,
    MediaItem,
    Notification,
    NotificationKind,
    Page,
    PostContent,
    PostMetrics,
    PublishResult,
    RemotePost,
    ValidationIssue,
)
from chorus.networks.errors import (
    AmbiguousOutcome,
    AuthError,
    InvalidContent,
    NetworkError,
    NotFound,
    RateLimited,
    TransientError,
    untrusted_text,
)
from chorus.networks.oauth import (
    OAuthApp,
    OAuthFlow,
    PendingAuthorization,
    check_callback,
    new_state,
)
from chorus.networks.ratelimit import RateLimitState
from chorus.networks.validation import DEFAULT_LIMITS, NetworkLimits, validate

SCOPES = ("read", "write")
_NOTIFICATION_KINDS = {
    "mention": NotificationKind.MENTION,
    "favourite": NotificationKind.LIKE,
    "reblog": NotificationKind.REPOST,
    "follow": NotificationKind.FOLLOW,
    "quote": NotificationKind.QUOTE,
}


def register_app(
    instance_url: str, redirect_uri: str, *, client_name: str = "Chorus", website: str | None = None
) -> OAuthApp:
    """Register Chorus on an instance (once per instance) and return the app to connect with."""
    with _mastodon_errors(write=True):
        client_id, client_secret = Mastodon.create_app(
            client_name,
            scopes=list(SCOPES),
            redirect_uris=redirect_uri,
            website=website,
            api_base_url=instance_url,
        )
    return OAuthApp(client_id, client_secret, redirect_uri, SCOPES)


class MastodonOAuthFlow(OAuthFlow):
    network = "mastodon"

    def _api(self) -> Mastodon:
        return Mastodon(
            client_id=self.app.client_id,
            client_secret=self.app.client_secret,
            api_base_url=self.service_url,
        )

    def start(self, *, login_hint: str | None = None) -> PendingAuthorization:
        state = new_state()
        with _mastodon_errors(write=False):
            url = self._api().auth_request_url(
                redirect_uris=self.app.redirect_uri,
                scopes=list(self.app.scopes or SCOPES),
                state=state,
                allow_http=_is_local(self.service_url),
            )
        return PendingAuthorization(authorization_url=url, state=state)

    def finish(
        self, pending: PendingAuthorization, callback_params: Mapping[str, str]
    ) -> Credentials:
        code = check_callback(pending, callback_params)
        api = self._api()
        with _mastodon_errors(write=True):
            token = api.log_in(
                code=code,
                redirect_uri=self.app.redirect_uri,
                scopes=list(self.app.scopes or SCOPES),
                allow_http=_is_local(self.service_url),
            )
        return Credentials(
            access_token=token,
            scopes=frozenset(self.app.scopes or SCOPES),
            extra={"client_id": self.app.client_id, "client_secret": self.app.client_secret},
        )


class MastodonConnector(Connector):
    network = "mastodon"
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
            Capability.OAUTH,
            Capability.THREADS,
            Capability.MEDIA,
            Capability.VIDEO,
            Capability.IDEMPOTENT_PUBLISH,
        }
    )

    def __init__(self, credentials: Credentials, **options: Any) -> None:
        super().__init__(credentials, **options)
        if not self.service_url:
            raise ValueError("a Mastodon connector needs its instance URL (service_url)")
        self.api = Mastodon(
            access_token=credentials.access_token,
            client_id=credentials.extra.get("client_id"),
            client_secret=credentials.extra.get("client_secret"),
            api_base_url=self.service_url,
            ratelimit_method="throw",  # the shared store decides when to wait
            request_timeout=30,
        )
        self._limits: NetworkLimits | None = None

    @property
    def rate_limit_key(self) -> str:
        return f"mastodon:{self.service_url}:{self.credentials.extra.get('account_id', '')}"

    def instance_limits(self) -> NetworkLimits:
        """The instance's own limits (characters, media), read once from its instance endpoint."""
        if self._limits is None:
            with self._call(write=False):
                configuration = self.api.instance().get("configuration") or {}
            self._limits = limits_from_configuration(configuration)
        return self._limits

    def validate(self, content: PostContent) -> list[ValidationIssue]:
        return validate(self.network, content, self.instance_limits())

    def publish(self, content: PostContent, idempotency_key: str) -> PublishResult:
        first = self._post_status(content, idempotency_key, content.reply_to)
        parent_id, thread = first["id"], []
        for index, part in enumerate(content.thread, start=1):
            status = self._post_status(part, f"{idempotency_key}#{index}", parent_id)
            thread.append(_result(status))
            parent_id = status["id"]
        return replace(_result(first), thread=tuple(thread))

    def reply(self, remote_id: str, content: PostContent, idempotency_key: str) -> PublishResult:
        return self.publish(replace(content, reply_to=remote_id), idempotency_key)

    def delete(self, remote_id: str) -> None:
        with self._call(write=True):
            self.api.status_delete(remote_id)

    def like(self, remote_id: str) -> None:
        with self._call(write=True):
            self.api.status_favourite(remote_id)

    def fetch_notifications(self, cursor: str | None = None) -> Page[Notification]:
        with self._call(write=False):
            found = self.api.notifications(max_id=cursor, limit=40)
        items = [_notification(item) for item in found if item.get("type") in _NOTIFICATION_KINDS]
        return Page(items, str(found[-1]["id"]) if found else None)

    def search(self, query: str, cursor: str | None = None) -> Page[RemotePost]:
        """``#tag`` reads the hashtag's timeline; ``@account`` that account's statuses;
        anything else is a full-text status search (where the instance allows it)."""
        with self._call(write=False):
            if query.startswith("#"):
                statuses = self.api.timeline_hashtag(query[1:], max_id=cursor, limit=40)
            elif query.startswith("@"):
                accounts = self.api.search_v2(query, result_type="accounts", resolve=False)
                accounts = accounts.get("accounts") or []
                statuses = (
                    self.api.account_statuses(accounts[0]["id"], max_id=cursor, limit=40)
                    if accounts
                    else []
                )
            else:
                statuses = self.api.search_v2(
                    query, result_type="statuses", max_id=cursor, limit=40, resolve=False
                ).get("statuses", [])
        posts = [_remote_post(status) for status in statuses]
        return Page(posts, posts[-1].remote_id if posts else None)

    def fetch_post_metrics(self, remote_ids: Sequence[str]) -> dict[str, PostMetrics]:
        metrics: dict[str, PostMetrics] = {}
        for remote_id in remote_ids:
            try:
                with self._call(write=False):
                    status = self.api.status(remote_id)
            except NotFound:
                continue
            metrics[remote_id] = _metrics(status)
        return metrics

    def connect(self) -> Author:
        with self._call(write=False):
            return _author(self.api.account_verify_credentials())

    def fetch_account_metrics(self) -> AccountMetrics:
        with self._call(write=False):
            account = self.api.account_verify_credentials()
        return AccountMetrics(
            followers=account["followers_count"],
            following=account["following_count"],
            posts=account["statuses_count"],
        )

    def _post_status(
        self, content: PostContent, idempotency_key: str, in_reply_to: str | None
    ) -> Any:
        media_ids = [self._upload(item) for item in content.media]
        text = (
            content.text
            if content.link is None or content.link.url in content.text
            else (f"{content.text}\n\n{content.link.url}".strip())
        )
        with self._call(write=True):
            return self.api.status_post(
                text,
                in_reply_to_id=in_reply_to,
                media_ids=media_ids or None,
                language=content.languages[0] if content.languages else None,
                idempotency_key=idempotency_key,
                quote_id=content.quote_of,
            )

    def _upload(self, item: MediaItem) -> Any:
        # An unattached upload is discarded by the instance: safe to retry.
        with self._call(write=False):
            return self.api.media_post(
                io.BytesIO(item.read()),
                mime_type=item.mime_type,
                description=item.alt_text or None,
                file_name=item.path.name if item.path else "upload",
            )

    @contextmanager
    def _call(self, *, write: bool) -> Iterator[None]:
        self._throttle(self.rate_limit_key)
        try:
            with _mastodon_errors(write=write):
                yield
        finally:
            self._record_mastodon_budget()

    def _record_mastodon_budget(self) -> None:
        if self.api.ratelimit_lastcall is None:
            return
        self.rate_limits.record(
            self.rate_limit_key,
            RateLimitState(
                observed_at=datetime.now(UTC),
                limit=int(self.api.ratelimit_limit),
                remaining=int(self.api.ratelimit_remaining),
                reset_at=datetime.fromtimestamp(float(self.api.ratelimit_reset), UTC),
            ),
        )


def limits_from_configuration(configuration: Mapping[str, Any]) -> NetworkLimits:
    """Mastodon's default limits replaced by what an instance's configuration says."""
    default = DEFAULT_LIMITS["mastodon"]
    statuses = configuration.get("statuses") or {}
    media = configuration.get("media_attachments") or {}
    supported = frozenset(media.get("supported_mime_types") or ())
    return replace(
        default,
        text_length=int(statuses.get("max_characters") or default.text_length),
        max_media=int(statuses.get("max_media_attachments") or default.max_media),
        max_image_bytes=int(media.get("image_size_limit") or default.max_image_bytes or 0),
        max_video_bytes=int(media.get("video_size_limit") or default.max_video_bytes or 0),
        image_types=frozenset(t for t in supported if t.startswith("image/"))
        or default.image_types,
        video_types=frozenset(t for t in supported if t.startswith("video/"))
        or default.video_types,
    )


@contextmanager
def _mastodon_errors(*, write: bool) -> Iterator[None]:
    try:
        yield
    except mastodon_errors.MastodonRatelimitError as error:
        raise RateLimited(_message(error), retry_after_seconds=60, network="mastodon") from error
    except mastodon_errors.MastodonUnauthorizedError as error:
        raise AuthError(_message(error), network="mastodon", status=401) from error
    except mastodon_errors.MastodonNotFoundError as error:
        raise NotFound(_message(error), network="mastodon", status=404) from error
    except mastodon_errors.MastodonServerError as error:
        raise TransientError(_message(error), network="mastodon", status=_status(error)) from error
    except mastodon_errors.MastodonNetworkError as error:
        raise _network_failure(error, write) from error
    except mastodon_errors.MastodonAPIError as error:
        status = _status(error)
        if status == 422:
            raise InvalidContent(_message(error), network="mastodon", status=422) from error
        if status == 403:
            raise AuthError(_message(error), network="mastodon", status=403) from error
        raise NetworkError(_message(error), network="mastodon", status=status) from error
    except MastodonError as error:
        raise NetworkError(_message(error), network="mastodon") from error


def _network_failure(error: Exception, write: bool) -> NetworkError:
    cause = error.__context__
    never_sent = isinstance(cause, requests.ConnectionError) and not isinstance(
        cause, requests.ReadTimeout
    )
    if write and not never_sent:
        return AmbiguousOutcome(
            "the connection failed after the request was sent", network="mastodon"
        )
    return TransientError("connection to the instance failed", network="mastodon")


def _status(error: Exception) -> int | None:
    args: tuple[Any, ...] = getattr(error, "args", ())
    return args[1] if len(args) > 1 and isinstance(args[1], int) else None


def _message(error: Exception) -> str:
    # Mastodon.py's arguments are ("Mastodon API returned error", status, reason, detail).
    args = [str(arg) for arg in getattr(error, "args", ()) if arg is not None]
    return untrusted_text(args[-1] if args else type(error).__name__)


def _is_local(url: str | None) -> bool:
    return bool(url) and any(
        host in str(url) for host in ("://localhost", "://127.0.0.1", "://[::1]")
    )


def _time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _author(account: Mapping[str, Any]) -> Author:
    return Author(
        handle=str(account.get("acct", "")),
        display_name=str(account.get("display_name") or ""),
        avatar_url=str(account.get("avatar") or ""),
        remote_id=str(account.get("id", "")),
    )


def _result(status: Mapping[str, Any]) -> PublishResult:
    return PublishResult(
        remote_id=str(status["id"]),
        remote_url=str(status.get("url") or status.get("uri") or ""),
        published_at=_time(status["created_at"]) if status.get("created_at") else None,
    )


def _metrics(status: Mapping[str, Any]) -> PostMetrics:
    return PostMetrics(
        likes=int(status.get("favourites_count") or 0),
        replies=int(status.get("replies_count") or 0),
        reposts=int(status.get("reblogs_count") or 0),
        quotes=status.get("quotes_count"),
    )


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in {"br", "p"} and self.parts:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _plain_text(html: str) -> str:
    """Mastodon sends HTML; only its text is kept, never the markup."""
    collector = _TextCollector()
    collector.feed(html)
    return "".join(collector.parts).strip()


def _remote_post(status: Mapping[str, Any]) -> RemotePost:
    return RemotePost(
        remote_id=str(status["id"]),
        remote_url=str(status.get("url") or status.get("uri") or ""),
        author=_author(status.get("account") or {}),
        text=_plain_text(str(status.get("content") or "")),
        created_at=_time(status["created_at"]),
        in_reply_to=str(status["in_reply_to_id"]) if status.get("in_reply_to_id") else None,
        metrics=_metrics(status),
        raw=dict(status),
    )


def _notification(item: Mapping[str, Any]) -> Notification:
    status = item.get("status") or {}
    kind = _NOTIFICATION_KINDS[item["type"]]
    if kind is NotificationKind.MENTION and status.get("in_reply_to_id"):
        kind = NotificationKind.REPLY
    is_post = kind in {NotificationKind.MENTION, NotificationKind.REPLY, NotificationKind.QUOTE}
    return Notification(
        kind=kind,
        remote_id=str(status["id"]) if is_post and status else str(item["id"]),
        author=_author(item.get("account") or {}),
        created_at=_time(item["created_at"]),
        text=_plain_text(str(status.get("content") or "")) if is_post else "",
        in_reply_to=str(status["in_reply_to_id"]) if status.get("in_reply_to_id") else None,
        subject_id=None if is_post or not status else str(status["id"]),
        raw=dict(item),
    )
