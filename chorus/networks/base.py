"""The one interface every network connector implements, and the plain data it speaks.

A connector is built for one connected account (its ``Credentials``) and exposes the operations
its network allows, declared in ``capabilities``. An operation a network lacks raises
``Unsupported``; every failure is one of the typed errors of ``chorus.networks.errors``.

Everything here is plain data (frozen dataclasses): no Django, no database. Strings that come
from a network (post text, names, URLs) are untrusted: escape them when rendering.
"""

from __future__ import annotations

import enum
import mimetypes
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

import httpx

from chorus.networks.errors import Unsupported
from chorus.networks.ratelimit import (
    InMemoryRateLimitStore,
    RateLimitState,
    RateLimitStore,
    wait_for_budget,
)


class Capability(enum.StrEnum):
    PUBLISH = "publish"
    DELETE = "delete"
    REPLY = "reply"
    LIKE = "like"
    FETCH_NOTIFICATIONS = "fetch_notifications"
    SEARCH = "search"
    FETCH_POST_METRICS = "fetch_post_metrics"
    FETCH_ACCOUNT_METRICS = "fetch_account_metrics"
    FIND_PUBLISHED = "find_published"
    OAUTH = "oauth"
    #: Publishes ``PostContent.thread`` as a chain of replies to the first post.
    THREADS = "threads"
    MEDIA = "media"
    VIDEO = "video"
    LINK_CARDS = "link_cards"
    QUOTES = "quotes"
    FIRST_COMMENT = "first_comment"
    #: The network itself refuses a second publish with the same idempotency key.
    IDEMPOTENT_PUBLISH = "idempotent_publish"
    #: One grant opens several accounts (Pages, organisation pages...): after OAuth the user
    #: picks which to connect among ``connectable_accounts()``.
    ACCOUNT_CHOICE = "account_choice"


# The method that implements each operation capability: a connector must override exactly
# the methods of the capabilities it declares (checked when the class is defined).
OPERATION_METHODS: Mapping[Capability, str] = {
    Capability.PUBLISH: "publish",
    Capability.DELETE: "delete",
    Capability.REPLY: "reply",
    Capability.LIKE: "like",
    Capability.FETCH_NOTIFICATIONS: "fetch_notifications",
    Capability.SEARCH: "search",
    Capability.FETCH_POST_METRICS: "fetch_post_metrics",
    Capability.FETCH_ACCOUNT_METRICS: "fetch_account_metrics",
    Capability.FIND_PUBLISHED: "find_published",
    Capability.ACCOUNT_CHOICE: "connectable_accounts",
}


class MediaKind(enum.StrEnum):
    IMAGE = "image"
    GIF = "gif"
    VIDEO = "video"


@dataclass(frozen=True)
class MediaItem:
    """One image or video: its bytes (``data``) or a file (``path``), and what is known of it."""

    mime_type: str
    data: bytes | None = None
    path: Path | None = None
    alt_text: str = ""
    #: Bytes; computed from ``data`` or ``path`` when not given.
    size: int | None = None
    width: int | None = None
    height: int | None = None
    duration_seconds: float | None = None
    #: Where the network can fetch the file, for connectors that take media by URL
    #: (``Connector.media_by_url``); empty otherwise.
    url: str = ""

    def __post_init__(self) -> None:
        if (self.data is None) == (self.path is None):
            raise ValueError("a MediaItem needs exactly one of data or path")
        if self.size is None:
            size = len(self.data) if self.data is not None else Path(str(self.path)).stat().st_size
            object.__setattr__(self, "size", size)

    @classmethod
    def from_path(cls, path: Path | str, **fields: Any) -> MediaItem:
        path = Path(path)
        mime_type = fields.pop("mime_type", None) or mimetypes.guess_type(path.name)[0]
        if not mime_type:
            raise ValueError(f"cannot tell the media type of {path.name}; pass mime_type")
        return cls(mime_type=mime_type, path=path, **fields)

    @property
    def kind(self) -> MediaKind:
        if self.mime_type == "image/gif":
            return MediaKind.GIF
        return MediaKind.VIDEO if self.mime_type.startswith("video/") else MediaKind.IMAGE

    @property
    def byte_size(self) -> int:
        assert self.size is not None  # set in __post_init__
        return self.size

    def read(self) -> bytes:
        return self.data if self.data is not None else Path(str(self.path)).read_bytes()


@dataclass(frozen=True)
class Link:
    """A link shown as a card. Fetching the page is the caller's business: give what it says."""

    url: str
    title: str = ""
    description: str = ""
    thumbnail: MediaItem | None = None


@dataclass(frozen=True)
class PostContent:
    """What to publish, as adapted for one network.

    ``thread`` holds the continuation parts of a thread (each published as a reply to the one
    before it); ``reply_to`` and ``quote_of`` are remote ids on the same network.
    """

    text: str = ""
    media: Sequence[MediaItem] = ()
    link: Link | None = None
    reply_to: str | None = None
    quote_of: str | None = None
    thread: Sequence[PostContent] = ()
    first_comment: str | None = None
    #: Title where the network has one (YouTube video title, LinkedIn article).
    title: str | None = None
    #: BCP 47 language tags of the text, where the network records them.
    languages: Sequence[str] = ()

    def __post_init__(self) -> None:
        # Stored as tuples so a PostContent really is immutable, whatever sequence was given.
        for name in ("media", "thread", "languages"):
            object.__setattr__(self, name, tuple(getattr(self, name)))


_WEB_ADDRESS = re.compile(r"^https?://[^\s\x00-\x1f\x7f]+$")


def web_address(value: str) -> str:
    """``value`` when it is a plain http(s) address, else empty. A network's URL is untrusted:
    a ``javascript:`` link in a page would run in the session of whoever clicks it."""
    return value if _WEB_ADDRESS.match(value or "") else ""


@dataclass(frozen=True)
class PublishResult:
    remote_id: str
    remote_url: str
    published_at: datetime | None = None
    #: Results of the thread's continuation parts, in order.
    thread: Sequence[PublishResult] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "remote_url", web_address(self.remote_url))


class NotificationKind(enum.StrEnum):
    MENTION = "mention"
    REPLY = "reply"
    QUOTE = "quote"
    COMMENT = "comment"
    LIKE = "like"
    REPOST = "repost"
    FOLLOW = "follow"
    DM = "dm"


@dataclass(frozen=True)
class Author:
    handle: str
    display_name: str = ""
    avatar_url: str = ""
    #: The network's stable id of the account (a DID on Bluesky, a numeric id elsewhere).
    remote_id: str = ""


@dataclass(frozen=True)
class Notification:
    kind: NotificationKind
    #: Id of the notification's own object: the reply or mention post, the like record...
    remote_id: str
    author: Author
    created_at: datetime
    text: str = ""
    #: For a reply or comment: the post answered.
    in_reply_to: str | None = None
    #: For a like, repost or quote: the post it is about.
    subject_id: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class PostMetrics:
    """Counts as the network reports them; ``None`` means the network does not report it."""

    likes: int = 0
    replies: int = 0
    reposts: int = 0
    quotes: int | None = None
    impressions: int | None = None
    reach: int | None = None
    video_views: int | None = None
    saves: int | None = None
    clicks: int | None = None


@dataclass(frozen=True)
class RemotePost:
    remote_id: str
    remote_url: str
    author: Author
    text: str
    created_at: datetime
    in_reply_to: str | None = None
    metrics: PostMetrics | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class AccountMetrics:
    followers: int
    following: int | None = None
    posts: int | None = None


T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    #: Pass to the next call to continue; ``None`` when there is nothing more.
    next_cursor: str | None = None


@dataclass(frozen=True)
class Credentials:
    """What a connector needs to act for one account. Secret: store encrypted, never log.

    ``extra`` holds network-specific strings (a Bluesky session, a Mastodon app's client id...).
    """

    access_token: str = ""
    refresh_token: str = ""
    expires_at: datetime | None = None
    token_type: str = "Bearer"  # noqa: S105 (a token type, not a secret)
    scopes: frozenset[str] = frozenset()
    extra: Mapping[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        # Never print secrets, even by accident in a traceback or a log line.
        return f"Credentials(token_type={self.token_type!r}, expires_at={self.expires_at!r}, …)"

    def merged_with(self, new: Credentials) -> Credentials:
        """These credentials updated by a refresh: what ``new`` leaves empty is kept.

        Networks often answer a refresh without a new refresh token; the stored one stays valid
        and must not be replaced by an empty string.
        """
        return Credentials(
            access_token=new.access_token or self.access_token,
            refresh_token=new.refresh_token or self.refresh_token,
            expires_at=new.expires_at if new.access_token else self.expires_at,
            token_type=new.token_type or self.token_type,
            scopes=new.scopes or self.scopes,
            extra={**self.extra, **{key: value for key, value in new.extra.items() if value}},
        )

    def expires_within(self, delay: timedelta, now: datetime | None = None) -> bool:
        if self.expires_at is None:
            return False
        return self.expires_at - delay <= (now or datetime.now(UTC))

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready form to store (encrypted); ``from_dict`` reads it back."""
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "token_type": self.token_type,
            "scopes": sorted(self.scopes),
            "extra": dict(self.extra),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Credentials:
        expires_at = data.get("expires_at")
        return cls(
            access_token=data.get("access_token", ""),
            refresh_token=data.get("refresh_token", ""),
            expires_at=datetime.fromisoformat(expires_at) if expires_at else None,
            token_type=data.get("token_type", "Bearer"),
            scopes=frozenset(data.get("scopes", ())),
            extra=dict(data.get("extra", {})),
        )


@dataclass(frozen=True)
class ValidationIssue:
    """One rule broken: which rule, on which network, by how much (``actual`` vs ``limit``)."""

    network: str
    rule: str
    message: str
    limit: float | None = None
    actual: float | None = None
    #: Which part of the content: "text", "media[2]", "thread[1].text", "title"...
    where: str = "text"

    @property
    def excess(self) -> float | None:
        if self.limit is None or self.actual is None:
            return None
        return self.actual - self.limit


@dataclass(frozen=True)
class ConnectableAccount:
    """An account a grant opens, with the credentials that act for it alone. Secret."""

    author: Author
    credentials: Credentials = field(repr=False)
    #: "profile", "page", "organisation_page" or "business_account" (the channel kinds).
    kind: str = "profile"


class StateStore(ABC):
    """Where a connector keeps what must outlive its process between the steps of one publish
    (a media container made, an upload session opened), by key. Values are JSON objects.

    The default keeps them in memory; the channel layer gives one backed by the database, so
    a worker that dies between two steps leaves its successor able to go on.
    """

    @abstractmethod
    def get(self, key: str) -> dict[str, Any] | None: ...

    @abstractmethod
    def put(self, key: str, value: Mapping[str, Any]) -> None: ...

    @abstractmethod
    def discard(self, key: str) -> None: ...


class InMemoryStateStore(StateStore):
    def __init__(self) -> None:
        self.values: dict[str, dict[str, Any]] = {}

    def get(self, key: str) -> dict[str, Any] | None:
        value = self.values.get(key)
        return dict(value) if value is not None else None

    def put(self, key: str, value: Mapping[str, Any]) -> None:
        self.values[key] = dict(value)

    def discard(self, key: str) -> None:
        self.values.pop(key, None)


CredentialsListener = Callable[[Credentials], None]


class Connector(ABC):
    """One connected account on one network.

    Subclasses set ``network`` and ``capabilities`` and override the methods of the operation
    capabilities they declare (see ``OPERATION_METHODS``); the others raise ``Unsupported``.
    ``credentials`` may change during the connector's life (a session or token refresh): pass
    ``on_credentials_change`` to persist the new ones. Pass a ``state`` store shared by every
    process so a publish in several steps survives the process that began it.
    """

    network: ClassVar[str]
    capabilities: ClassVar[frozenset[Capability]]
    #: A call waits this long at most for rate-limit budget, then raises ``RateLimited``.
    max_rate_limit_wait_seconds: ClassVar[float] = 10.0
    #: The network fetches each media file itself from ``MediaItem.url`` (a public address)
    #: instead of receiving its bytes.
    media_by_url: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "network" not in cls.__dict__:
            return  # an intermediate base class
        for capability, method in OPERATION_METHODS.items():
            overridden = getattr(cls, method) is not getattr(Connector, method)
            if overridden != (capability in cls.capabilities):
                raise TypeError(
                    f"{cls.__name__}: {method}() must be overridden exactly when "
                    f"{capability.name} is declared"
                )

    def __init__(
        self,
        credentials: Credentials,
        *,
        service_url: str | None = None,
        rate_limits: RateLimitStore | None = None,
        http_client: httpx.Client | None = None,
        on_credentials_change: CredentialsListener | None = None,
        state: StateStore | None = None,
    ) -> None:
        self._credentials = credentials
        self.service_url = service_url
        self.rate_limits: RateLimitStore = rate_limits or InMemoryRateLimitStore()
        self.state: StateStore = state or InMemoryStateStore()
        self.http_client = http_client
        self._on_credentials_change = on_credentials_change

    @property
    def credentials(self) -> Credentials:
        return self._credentials

    def _update_credentials(self, new: Credentials) -> None:
        merged = self._credentials.merged_with(new)
        if merged == self._credentials:
            return
        self._credentials = merged
        if self._on_credentials_change is not None:
            self._on_credentials_change(merged)

    def _throttle(self, key: str) -> None:
        """Before a call: wait while ``key``'s budget is spent (``RateLimited`` past the bound)."""
        wait_for_budget(
            self.rate_limits,
            key,
            max_wait_seconds=self.max_rate_limit_wait_seconds,
            network=self.network,
        )

    def _record_rate_limit(self, key: str, headers: Mapping[str, str]) -> None:
        """After a call: remember what the network said about ``key``'s budget."""
        state = RateLimitState.from_headers(headers)
        if state is not None:
            self.rate_limits.record(key, state)

    def supports(self, capability: Capability) -> bool:
        return capability in self.capabilities

    def _unsupported(self, operation: str) -> Unsupported:
        return Unsupported(f"{self.network} has no {operation}", network=self.network)

    def connect(self) -> Author:
        """Checks the credentials with the network and says whose account they open."""
        raise self._unsupported("connect")

    def connectable_accounts(self) -> list[ConnectableAccount]:
        """The accounts the (user's) credentials open, each with its own credentials; nothing
        is connected until one is chosen. Networks with ``ACCOUNT_CHOICE`` only."""
        raise self._unsupported("account choice")

    def validate(self, content: PostContent) -> list[ValidationIssue]:
        """Every rule of the network the content breaks; empty when it can be published."""
        from chorus.networks.validation import validate

        return validate(self.network, content)

    def publish(self, content: PostContent, idempotency_key: str) -> PublishResult:
        """Publish ``content`` (and its thread). The same key never makes a second post where
        the network allows it; elsewhere an ``AmbiguousOutcome`` must be reconciled with
        ``find_published`` before any retry."""
        raise self._unsupported("publish")

    def delete(self, remote_id: str) -> None:
        raise self._unsupported("delete")

    def reply(self, remote_id: str, content: PostContent, idempotency_key: str) -> PublishResult:
        raise self._unsupported("reply")

    def like(self, remote_id: str) -> None:
        raise self._unsupported("like")

    def fetch_notifications(self, cursor: str | None = None) -> Page[Notification]:
        """Newest first; pass ``next_cursor`` back for older ones."""
        raise self._unsupported("fetch_notifications")

    def search(self, query: str, cursor: str | None = None) -> Page[RemotePost]:
        raise self._unsupported("search")

    def fetch_post_metrics(self, remote_ids: Sequence[str]) -> dict[str, PostMetrics]:
        """Metrics of the posts that still exist; a deleted post is absent from the result."""
        raise self._unsupported("fetch_post_metrics")

    def fetch_account_metrics(self) -> AccountMetrics:
        raise self._unsupported("fetch_account_metrics")

    def find_published(
        self,
        idempotency_key: str,
        *,
        content: PostContent | None = None,
        sent_after: datetime | None = None,
    ) -> PublishResult | None:
        """The post published earlier with this key, read from the network, or ``None``.

        ``content`` is what that attempt sent and ``sent_after`` a time before it started:
        networks without an idempotency key recognise their post by them."""
        raise self._unsupported("find_published")
