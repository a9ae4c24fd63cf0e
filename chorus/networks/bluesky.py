"""Bluesky (AT Protocol) through the ``atproto`` SDK.

Credentials: ``extra["identifier"]`` (handle or DID) and ``extra["app_password"]`` for an
app-password connection; the connector keeps the SDK session in ``extra["session"]`` (with
``did`` and ``handle``) and reports every new one through ``on_credentials_change`` so it is
reused instead of logging in again (``createSession`` is rate limited per account).

An OAuth connection (``extra["auth"] == "oauth"``, see ``chorus.networks.bluesky_oauth``) holds
DPoP-bound tokens and the DPoP key instead: every XRPC call to the account's PDS carries the
token and a DPoP proof, and the tokens are refreshed shortly before they expire or once when the
PDS refuses them.

Publishing is idempotent by construction: the record key of a post is a TID derived from the
caller's idempotency key, so a repeated ``createRecord`` is refused by the PDS and the post
already there is returned instead.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import httpx
from atproto import Client, models
from atproto_client import exceptions as sdk
from atproto_client.client.session import Session, SessionEvent
from atproto_client.models.utils import get_model_as_dict
from atproto_client.request import Request, _handle_response
from atproto_client.utils import facet_detection
from atproto_core.uri import AtUri

from chorus.networks.base import (
    AccountMetrics,
    Author,
    Capability,
    Connector,
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
from chorus.networks.bluesky_oauth import OAUTH, DpopClient, DpopKey, refresh_credentials
from chorus.networks.errors import (
    AmbiguousOutcome,
    AuthError,
    InvalidContent,
    NetworkError,
    NotFound,
    RateLimited,
    TransientError,
)
from chorus.networks.ratelimit import RateLimitState

POST = "app.bsky.feed.post"
LIKE = "app.bsky.feed.like"
WEB_URL = "https://bsky.app"

_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
# Derived record keys carry a timestamp inside 2023-2024: plausible, and never in the future.
_TID_EPOCH_MICROS = int(datetime(2023, 1, 1, tzinfo=UTC).timestamp() * 1_000_000)
_TID_SPAN_MICROS = 2 * 365 * 24 * 3600 * 1_000_000

_NOTIFICATION_KINDS = {
    "mention": NotificationKind.MENTION,
    "reply": NotificationKind.REPLY,
    "quote": NotificationKind.QUOTE,
    "like": NotificationKind.LIKE,
    "repost": NotificationKind.REPOST,
    "follow": NotificationKind.FOLLOW,
}
# The SDK refreshes a session this long before its access token expires.
_SESSION_RENEWAL = timedelta(minutes=15)
_AUTH_ERRORS = {"ExpiredToken", "InvalidToken", "AuthenticationRequired", "AccountTakedown"}
_NOT_FOUND_ERRORS = {"RecordNotFound", "NotFound", "ProfileNotFound", "RepoNotFound"}

HandleResolver = Callable[[str], str | None]
# An OAuth access token this close to its expiry is refreshed before the call.
_OAUTH_REFRESH_AHEAD = timedelta(minutes=2)


def record_key_for(idempotency_key: str) -> str:
    """The TID record key that ``idempotency_key`` always maps to."""
    digest = int.from_bytes(hashlib.sha256(idempotency_key.encode()).digest(), "big")
    micros = _TID_EPOCH_MICROS + digest % _TID_SPAN_MICROS
    clock_id = (digest >> 64) % 1024
    value = (micros << 10) | clock_id  # the top bit stays 0, as a TID requires
    return "".join(_TID_ALPHABET[(value >> shift) & 31] for shift in range(60, -1, -5))


def post_url(uri: str, handle: str = "") -> str:
    at_uri = AtUri.from_str(uri)
    return f"{WEB_URL}/profile/{handle or at_uri.host}/post/{at_uri.rkey}"


def facets_for(text: str, resolve_handle: HandleResolver) -> list[models.AppBskyRichtextFacet.Main]:
    """Links, hashtags and mentions of ``text`` with UTF-8 byte offsets, as Bluesky wants them.
    A mention whose handle does not resolve to a DID stays plain text."""
    facets = facet_detection.detect_facets(text)
    for mention in facet_detection.detect_mentions(text):
        did = resolve_handle(mention.handle.lower())
        if did:
            facets.append(
                models.AppBskyRichtextFacet.Main(
                    features=[models.AppBskyRichtextFacet.Mention(did=did)],
                    index=models.AppBskyRichtextFacet.ByteSlice(
                        byte_start=mention.byte_start, byte_end=mention.byte_end
                    ),
                )
            )
    return sorted(facets, key=lambda facet: facet.index.byte_start)


class _MeteredRequest(Request):
    """The SDK's HTTP layer, consulting and feeding the connector's rate-limit store."""

    def __init__(self, connector: BlueskyConnector, http_client: httpx.Client | None) -> None:
        super().__init__(timeout=30)
        if http_client is not None:
            self._client.close()
            self._client: httpx.Client = http_client  # the SDK takes no client from outside
        self._connector = connector

    def _send_request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        self._connector._throttle(self._connector.rate_limit_key)
        response = super()._send_request(method, url, **kwargs)
        self._connector._record_rate_limit(self._connector.rate_limit_key, response.headers)
        return response


class _DpopRequest(_MeteredRequest):
    """The SDK's HTTP layer for OAuth credentials: the DPoP-bound access token and a DPoP proof
    on every call; the token refreshed ahead of its expiry, or once when the PDS refuses it."""

    def __init__(self, connector: BlueskyConnector, http_client: httpx.Client | None) -> None:
        super().__init__(connector, http_client)
        key = DpopKey.from_jwk(connector.credentials.extra["dpop_key"])
        self._dpop = DpopClient(key, self._client)

    def _send_request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        connector = self._connector
        connector._throttle(connector.rate_limit_key)
        headers = self.get_headers(kwargs.pop("headers", None))
        if connector.credentials.expires_within(_OAUTH_REFRESH_AHEAD):
            connector._refresh_oauth(self._dpop)  # if it fails, the call says whether it matters
        response = self._dpop.request(
            method, url, access_token=connector.credentials.access_token, headers=headers, **kwargs
        )
        if response.status_code == 401 and connector._refresh_oauth(self._dpop):
            response = self._dpop.request(
                method,
                url,
                access_token=connector.credentials.access_token,
                headers=headers,
                **kwargs,
            )
        connector._record_rate_limit(connector.rate_limit_key, response.headers)
        return _handle_response(response)  # the SDK's own mapping of statuses to its errors


class BlueskyConnector(Connector):
    network = "bluesky"
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
            Capability.THREADS,
            Capability.MEDIA,
            Capability.VIDEO,
            Capability.LINK_CARDS,
            Capability.QUOTES,
            Capability.IDEMPOTENT_PUBLISH,
            Capability.OAUTH,
        }
    )

    def __init__(
        self,
        credentials: Credentials,
        *,
        resolve_handle: HandleResolver | None = None,
        **options: Any,
    ) -> None:
        super().__init__(credentials, **options)
        # An OAuth grant names the account's PDS, checked against its DID document.
        oauth_pds = credentials.extra.get("pds_url") if self.uses_oauth else None
        self.service_url = oauth_pds or self.service_url or "https://bsky.social"
        self._resolve_handle = resolve_handle or self._resolve_handle_on_network
        self._sdk: Client | None = None

    @property
    def uses_oauth(self) -> bool:
        return self.credentials.extra.get("auth") == OAUTH

    @property
    def rate_limit_key(self) -> str:
        account = self.credentials.extra.get("did") or self.credentials.extra.get("identifier", "")
        return f"bluesky:{self.service_url}:{account}"

    # Session -----------------------------------------------------------------------------

    def connect(self) -> Author:
        """Log in (or resume the stored session, or check the OAuth token) and say who the
        account is."""
        client = self._client()
        if self.uses_oauth:
            with self._errors(write=False):
                session = client.com.atproto.server.get_session()
            if session.did != self.credentials.extra.get("did"):
                raise AuthError("the token opens another account", network=self.network)
            return Author(handle=session.handle, remote_id=session.did)
        assert client.me is not None
        return Author(handle=client.me.handle, remote_id=client.me.did)

    def _client(self) -> Client:
        if self._sdk is not None:
            return self._sdk
        if self.uses_oauth:
            client = Client(base_url=self.service_url, request=_DpopRequest(self, self.http_client))
        else:
            client = self._password_client()
        did, handle = self.credentials.extra["did"], self.credentials.extra["handle"]
        # Not fetched at login: the profile may not exist yet, and not every PDS serves it.
        client.me = models.AppBskyActorDefs.ProfileViewDetailed(did=did, handle=handle)
        self._sdk = client
        return client

    def _password_client(self) -> Client:
        client = Client(base_url=self.service_url, request=_MeteredRequest(self, self.http_client))
        client.on_session_change(self._session_changed)
        session = self.credentials.extra.get("session")
        with self._errors(write=False):
            if session:
                self._resume(client, session)
            else:
                self._log_in_with_password(client)
        return client

    def _resume(self, client: Client, session: str) -> None:
        """Resume the stored session. One about to expire is renewed now (the SDK refreshes it
        before the first call); when its refresh token is refused (expired, revoked), a new
        session is made with the app password, if there is one, rather than asking a person
        to reconnect the account."""
        client.login(session_string=session, fetch_bsky_profile=False)
        expires = Session.decode(session).access_jwt_payload.exp
        if expires and datetime.fromtimestamp(expires, UTC) - _SESSION_RENEWAL > datetime.now(UTC):
            return
        try:
            with self._errors(write=False):
                client.com.atproto.server.get_session()
        except AuthError:
            if not self.credentials.extra.get("app_password"):
                raise
            self._log_in_with_password(client)

    def _log_in_with_password(self, client: Client) -> None:
        identifier = self.credentials.extra.get("identifier")
        password = self.credentials.extra.get("app_password")
        if not identifier or not password:
            raise AuthError(
                "no Bluesky session and no app password: reconnect", network=self.network
            )
        client.login(identifier, password, fetch_bsky_profile=False)

    def _refresh_oauth(self, dpop: DpopClient) -> bool:
        """Renew the OAuth tokens; ``False`` when they cannot be renewed (the refusal stands)."""
        try:
            fresh = refresh_credentials(self.credentials, dpop)
        except NetworkError:
            return False
        self._update_credentials(fresh)
        return True

    def _session_changed(self, event: SessionEvent, session: Session) -> None:
        self._update_credentials(
            Credentials(
                extra={"session": session.export(), "did": session.did, "handle": session.handle}
            )
        )

    @property
    def did(self) -> str:
        client = self._client()
        assert client.me is not None
        return client.me.did

    def _resolve_handle_on_network(self, handle: str) -> str | None:
        try:
            with self._errors(write=False):
                return self._client().resolve_handle(handle).did
        except (NotFound, InvalidContent):
            return None

    # Publishing --------------------------------------------------------------------------

    def publish(self, content: PostContent, idempotency_key: str) -> PublishResult:
        reply_to = self._reply_ref(content.reply_to) if content.reply_to else None
        first = self._create_post(content, idempotency_key, reply_to)
        parent = first.strong_ref
        root = reply_to.root if reply_to is not None else parent
        thread = []
        for index, part in enumerate(content.thread, start=1):
            created = self._create_post(
                part,
                f"{idempotency_key}#{index}",
                models.AppBskyFeedPost.ReplyRef(root=root, parent=parent),
            )
            thread.append(self._result(created))
            parent = created.strong_ref
        return replace(self._result(first), thread=tuple(thread))

    def reply(self, remote_id: str, content: PostContent, idempotency_key: str) -> PublishResult:
        return self.publish(replace(content, reply_to=remote_id), idempotency_key)

    def find_published(
        self,
        idempotency_key: str,
        *,
        content: PostContent | None = None,
        sent_after: datetime | None = None,
    ) -> PublishResult | None:
        """The post whose record key derives from the idempotency key, if it exists."""
        first = self._own_record(POST, record_key_for(idempotency_key))
        if first is None:
            return None
        thread: list[PublishResult] = []
        while part := self._own_record(
            POST, record_key_for(f"{idempotency_key}#{len(thread) + 1}")
        ):
            thread.append(self._result(part))
        return replace(self._result(first), thread=tuple(thread))

    def delete(self, remote_id: str) -> None:
        uri = AtUri.from_str(remote_id)
        with self._errors(write=True):
            self._client().com.atproto.repo.delete_record(
                models.ComAtprotoRepoDeleteRecord.Data(
                    repo=self.did, collection=uri.collection, rkey=uri.rkey
                )
            )

    def like(self, remote_id: str) -> None:
        subject = self._strong_ref(remote_id)
        record = models.AppBskyFeedLike.Record(
            subject=subject, created_at=self._client().get_current_time_iso()
        )
        # One like per post and account: liking twice is refused, which is what we want.
        self._create_record(LIKE, record_key_for(f"like:{remote_id}"), record)

    def _create_post(
        self,
        content: PostContent,
        idempotency_key: str,
        reply_to: models.AppBskyFeedPost.ReplyRef | None,
    ) -> _Record:
        record = models.AppBskyFeedPost.Record(
            text=content.text,
            facets=facets_for(content.text, self._resolve_handle) or None,
            reply=reply_to,
            embed=self._embed(content),
            langs=list(content.languages) or None,
            created_at=self._client().get_current_time_iso(),
        )
        return self._create_record(POST, record_key_for(idempotency_key), record)

    def _create_record(self, collection: str, rkey: str, record: Any) -> _Record:
        """Create the record under ``rkey``; when the PDS refuses because a record with this key
        exists (an earlier attempt went through), that record is the result."""
        data = models.ComAtprotoRepoCreateRecord.Data(
            repo=self.did, collection=collection, rkey=rkey, record=record, validate_=True
        )
        try:
            with self._errors(write=True):
                created = self._client().com.atproto.repo.create_record(data)
        except (InvalidContent, TransientError):
            # The refusal of a duplicate key is not a documented error: read to find out.
            existing = self._own_record(collection, rkey)
            if existing is None:
                raise
            return existing
        return _Record(created.uri, created.cid, getattr(record, "created_at", ""))

    def _own_record(self, collection: str, rkey: str) -> _Record | None:
        try:
            found = self._get_record(f"at://{self.did}/{collection}/{rkey}")
        except NotFound:
            return None
        return _Record(found.uri, found.cid or "", getattr(found.value, "created_at", ""))

    def _result(self, record: _Record) -> PublishResult:
        return PublishResult(
            remote_id=record.uri,
            remote_url=post_url(record.uri, self.credentials.extra.get("handle", "")),
            published_at=_parse_time(record.created_at) if record.created_at else None,
        )

    def _embed(self, content: PostContent) -> Any:
        media = self._media_embed(content.media)
        if content.link is not None and media is None:
            link = content.link
            thumb = self._upload(link.thumbnail) if link.thumbnail else None
            media = models.AppBskyEmbedExternal.Main(
                external=models.AppBskyEmbedExternal.External(
                    uri=link.url, title=link.title, description=link.description, thumb=thumb
                )
            )
        if content.quote_of is None:
            return media
        quoted = models.AppBskyEmbedRecord.Main(record=self._strong_ref(content.quote_of))
        if media is None:
            return quoted
        return models.AppBskyEmbedRecordWithMedia.Main(record=quoted, media=media)

    def _media_embed(self, media: Sequence[MediaItem]) -> Any:
        if not media:
            return None
        if media[0].kind is not MediaKind.IMAGE:
            video = media[0]
            return models.AppBskyEmbedVideo.Main(
                video=self._upload(video), alt=video.alt_text or None, aspect_ratio=_aspect(video)
            )
        return models.AppBskyEmbedImages.Main(
            images=[
                models.AppBskyEmbedImages.Image(
                    alt=item.alt_text, image=self._upload(item), aspect_ratio=_aspect(item)
                )
                for item in media
            ]
        )

    def _upload(self, item: MediaItem) -> models.BlobRef:
        with self._errors(write=False):  # an unreferenced blob is dropped by the PDS: retry-safe
            return self._client().upload_blob(item.read()).blob

    def _get_record(self, remote_id: str) -> models.ComAtprotoRepoGetRecord.Response:
        uri = AtUri.from_str(remote_id)
        with self._errors(write=False):
            return self._client().com.atproto.repo.get_record(
                models.ComAtprotoRepoGetRecord.Params(
                    repo=uri.host, collection=uri.collection, rkey=uri.rkey
                )
            )

    def _strong_ref(self, remote_id: str) -> models.ComAtprotoRepoStrongRef.Main:
        found = self._get_record(remote_id)
        return models.ComAtprotoRepoStrongRef.Main(uri=found.uri, cid=found.cid or "")

    def _reply_ref(self, remote_id: str) -> models.AppBskyFeedPost.ReplyRef:
        found = self._get_record(remote_id)
        parent = models.ComAtprotoRepoStrongRef.Main(uri=found.uri, cid=found.cid or "")
        parent_reply = getattr(found.value, "reply", None)
        root = parent_reply.root if parent_reply is not None else parent
        return models.AppBskyFeedPost.ReplyRef(root=root, parent=parent)

    # Reading ------------------------------------------------------------------------------

    def fetch_notifications(self, cursor: str | None = None) -> Page[Notification]:
        with self._errors(write=False):
            response = self._client().app.bsky.notification.list_notifications(
                models.AppBskyNotificationListNotifications.Params(cursor=cursor, limit=50)
            )
        items = [
            _notification(item)
            for item in response.notifications
            if item.reason in _NOTIFICATION_KINDS
        ]
        return Page(items, response.cursor)

    def search(self, query: str, cursor: str | None = None) -> Page[RemotePost]:
        with self._errors(write=False):
            response = self._client().app.bsky.feed.search_posts(
                models.AppBskyFeedSearchPosts.Params(q=query, cursor=cursor, limit=50)
            )
        return Page([_remote_post(post) for post in response.posts], response.cursor)

    def fetch_post_metrics(self, remote_ids: Sequence[str]) -> dict[str, PostMetrics]:
        metrics: dict[str, PostMetrics] = {}
        for start in range(0, len(remote_ids), 25):  # getPosts takes 25 URIs at most
            with self._errors(write=False):
                posts = self._client().get_posts(list(remote_ids[start : start + 25])).posts
            metrics |= {post.uri: _metrics(post) for post in posts}
        return metrics

    def fetch_account_metrics(self) -> AccountMetrics:
        with self._errors(write=False):
            profile = self._client().app.bsky.actor.get_profile(
                models.AppBskyActorGetProfile.Params(actor=self.did)
            )
        return AccountMetrics(
            followers=profile.followers_count or 0,
            following=profile.follows_count,
            posts=profile.posts_count,
        )

    # Errors -------------------------------------------------------------------------------

    @contextmanager
    def _errors(self, *, write: bool) -> Iterator[None]:
        """SDK and transport errors as typed errors. ``write``: the call changes something,
        so a timeout after sending is ambiguous rather than safe to retry."""
        try:
            yield
        except sdk.RateLimitExceededError as error:
            raise self._rate_limited(error) from error
        except (sdk.UnauthorizedError, sdk.LoginRequiredError) as error:
            raise AuthError(
                _sdk_message(error), network=self.network, status=_status(error)
            ) from error
        except sdk.BadRequestError as error:
            name = _error_name(error)
            message = _sdk_message(error)
            if name in _AUTH_ERRORS:
                raise AuthError(message, network=self.network, status=400) from error
            if name in _NOT_FOUND_ERRORS or "could not locate record" in message.lower():
                raise NotFound(message, network=self.network, status=400) from error
            raise InvalidContent(message, network=self.network) from error
        except sdk.RequestErrorBase as error:
            raise self._failed_request(error, write) from error
        except httpx.TransportError as error:  # not every transport error is wrapped by the SDK
            raise self._transport_failure(error, write) from error

    def _rate_limited(self, error: sdk.RateLimitExceededError) -> RateLimited:
        headers = error.response.headers if error.response else {}
        state = RateLimitState.from_headers(headers)
        if state is not None:
            self.rate_limits.record(self.rate_limit_key, state)
        wait = error.retry_after or (state.wait_seconds() if state else 0) or 60
        return RateLimited(_sdk_message(error), retry_after_seconds=wait, network=self.network)

    def _failed_request(self, error: sdk.RequestErrorBase, write: bool) -> NetworkError:
        if error.response is None:
            cause = error.__cause__
            return self._transport_failure(cause if isinstance(cause, Exception) else error, write)
        status = error.response.status_code
        message = _sdk_message(error)
        if status == 413:
            return InvalidContent(message, network=self.network, status=status)
        if status == 404:
            return NotFound(message, network=self.network, status=status)
        if status >= 500 or status == 409:
            return TransientError(message, network=self.network, status=status)
        return NetworkError(message, network=self.network, status=status)

    def _transport_failure(self, error: Exception, write: bool) -> NetworkError:
        never_sent = isinstance(
            error, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout
        )
        if write and not never_sent:
            return AmbiguousOutcome(
                f"the connection failed after the request was sent: {type(error).__name__}",
                network=self.network,
            )
        return TransientError(f"connection failed: {type(error).__name__}", network=self.network)


class _Record(NamedTuple):
    uri: str
    cid: str
    created_at: str

    @property
    def strong_ref(self) -> models.ComAtprotoRepoStrongRef.Main:
        return models.ComAtprotoRepoStrongRef.Main(uri=self.uri, cid=self.cid)


def _aspect(item: MediaItem) -> models.AppBskyEmbedDefs.AspectRatio | None:
    if item.width and item.height:
        return models.AppBskyEmbedDefs.AspectRatio(width=item.width, height=item.height)
    return None


def _author(profile: Any) -> Author:
    return Author(
        handle=profile.handle,
        display_name=profile.display_name or "",
        avatar_url=profile.avatar or "",
        remote_id=profile.did,
    )


def _notification(item: models.AppBskyNotificationListNotifications.Notification) -> Notification:
    record = item.record
    reply = getattr(record, "reply", None)
    is_post = item.reason in {"mention", "reply", "quote"}
    return Notification(
        kind=_NOTIFICATION_KINDS[item.reason],
        remote_id=item.uri,
        author=_author(item.author),
        created_at=_parse_time(item.indexed_at),
        text=getattr(record, "text", "") if is_post else "",
        in_reply_to=reply.parent.uri if reply is not None else None,
        subject_id=item.reason_subject,
        raw=get_model_as_dict(item),
    )


def _metrics(post: models.AppBskyFeedDefs.PostView) -> PostMetrics:
    return PostMetrics(
        likes=post.like_count or 0,
        replies=post.reply_count or 0,
        reposts=post.repost_count or 0,
        quotes=post.quote_count or 0,
    )


def _remote_post(post: models.AppBskyFeedDefs.PostView) -> RemotePost:
    reply = getattr(post.record, "reply", None)
    return RemotePost(
        remote_id=post.uri,
        remote_url=post_url(post.uri, post.author.handle),
        author=_author(post.author),
        text=getattr(post.record, "text", ""),
        created_at=_parse_time(getattr(post.record, "created_at", None) or post.indexed_at),
        in_reply_to=reply.parent.uri if reply is not None else None,
        metrics=_metrics(post),
        raw=get_model_as_dict(post),
    )


def _parse_time(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _error_name(error: sdk.RequestErrorBase) -> str:
    content = error.response.content if error.response else None
    return getattr(content, "error", "") or ""


def _sdk_message(error: Exception) -> str:
    if isinstance(error, sdk.RequestErrorBase) and error.response is not None:
        content = error.response.content
        message = getattr(content, "message", None) or getattr(content, "error", None)
        if message:
            return str(message)
    return str(error) or type(error).__name__


def _status(error: Exception) -> int | None:
    if isinstance(error, sdk.RequestErrorBase) and error.response is not None:
        return error.response.status_code
    return None
