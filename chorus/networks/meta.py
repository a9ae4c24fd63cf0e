"""Meta's Graph API (Facebook Pages, Instagram, Threads), and the HTTP plumbing every connector
written directly against a REST API with ``httpx`` shares (X, LinkedIn, YouTube too).

``RestConnector`` is that plumbing: it waits for rate-limit budget before a call, records what
the response headers say after it, turns transport failures into ``TransientError`` or (for a
write that may have reached the network) ``AmbiguousOutcome``, refreshes a token about to expire,
and when the network refuses the token refreshes it once and retries once. Each network only says
how to read its error bodies (``_classify``).

``GraphConnector`` adds the Graph API's error object and Meta's usage headers;
``ContainerConnector`` the two-step publishing of Instagram and Threads (create a media
container, wait until it is ready, publish it) with the account's publishing quota read from
the API before publishing, and the container kept in the connector's ``state`` until it is
published, so another process can finish the publish or find its post.

API calls carry the token in the ``Authorization`` header, never in the URL. Only the token
exchanges Meta documents as GET requests carry secrets in the query; ``httpx`` (which logs URLs
at INFO) is kept at WARNING by the settings.
"""

from __future__ import annotations

import html
import logging
import time
import unicodedata
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, NamedTuple

import httpx

from chorus.networks.base import (
    Connector,
    Credentials,
    MediaItem,
    MediaKind,
    PostContent,
    PublishResult,
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
    AuthorizationCodeFlow,
    OAuthApp,
    OAuthFlow,
    PendingAuthorization,
    check_callback,
    credentials_from_token_response,
    raise_for_oauth_error,
)
from chorus.networks.ratelimit import RateLimitState, wait_for_budget
from chorus.networks.text import url_spans

logger = logging.getLogger(__name__)

GRAPH_VERSION = "v23.0"
GRAPH_URL = f"https://graph.facebook.com/{GRAPH_VERSION}"
FACEBOOK_SCOPES = (
    "pages_show_list",
    "pages_manage_posts",
    "pages_manage_engagement",
    "pages_read_engagement",
    "pages_read_user_content",
    "read_insights",
    "instagram_basic",
    "instagram_content_publish",
    "instagram_manage_comments",
    "instagram_manage_insights",
    "business_management",
)

_TIMEOUT = httpx.Timeout(30, read=120)
# A token this close to its expiry is refreshed before the call rather than after a refusal.
_REFRESH_AHEAD = timedelta(minutes=2)
# A rate limit that says nothing about its end: Meta documents "up to an hour"; LinkedIn none.
DEFAULT_RATE_LIMIT_PAUSE = 300.0

#: Makes media reachable at a public HTTPS URL, for items without their own ``url``
#: (Instagram and Threads fetch media themselves).
MediaUrlResolver = Callable[[MediaItem], str]


# Shared REST plumbing ----------------------------------------------------------------------


def json_body(response: httpx.Response) -> dict[str, Any]:
    """The response's JSON object, or an empty one when the body is not a JSON object."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def transport_failure(network: str, error: httpx.TransportError, write: bool) -> NetworkError:
    """A failed exchange: safe to retry unless a write may have reached the network."""
    never_sent = isinstance(error, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
    if write and not never_sent:
        return AmbiguousOutcome(
            f"the connection failed after the request was sent ({type(error).__name__})",
            network=network,
        )
    return TransientError(f"connection failed ({type(error).__name__})", network=network)


def rate_limited(
    response: httpx.Response, message: str, network: str, default: float
) -> RateLimited:
    """``RateLimited`` for as long as the headers say (``Retry-After``, reset), else ``default``."""
    state = RateLimitState.from_headers(response.headers)
    wait = state.wait_seconds() if state else 0.0
    return RateLimited(
        message or "rate limited",
        retry_after_seconds=wait or default,
        network=network,
        status=response.status_code,
    )


def comparable_text(text: str) -> str:
    """A tweet's text as X may give it back, reduced to what survives its rewriting: without
    links (wrapped in t.co, media links appended), HTML entities or spacing differences."""
    text = unicodedata.normalize("NFC", html.unescape(text))
    kept, position = [], 0
    for start, end in url_spans(text, bare_domains=True):
        kept.append(text[position:start])
        position = end
    kept.append(text[position:])
    return " ".join("".join(kept).split())


# The machine's clock and the network's may differ this much when matching times.
RECONCILE_CLOCK_SKEW = timedelta(minutes=2)


def attempt_to_reconcile(
    network: str, content: PostContent | None, sent_after: datetime | None
) -> tuple[PostContent, datetime]:
    """For a network without an idempotency key: the content an ambiguous attempt sent and
    the earliest time its post can bear. Without the content nothing can be recognised."""
    if content is None:
        raise AmbiguousOutcome(
            f"{network} has no idempotency key: reconciling needs the content that was sent",
            network=network,
        )
    since = (sent_after or datetime.now(UTC) - timedelta(days=1)) - RECONCILE_CLOCK_SKEW
    return content, since


class RestConnector(Connector):
    """Connector over a JSON REST API with httpx; subclasses say how errors read."""

    #: Refreshes the token (its ``refresh`` raises when the network has no refresh).
    oauth_flow_class: ClassVar[type[OAuthFlow]]

    def __init__(
        self,
        credentials: Credentials,
        *,
        oauth_app: OAuthApp | None = None,
        sleep: Callable[[float], None] = time.sleep,
        **options: Any,
    ) -> None:
        super().__init__(credentials, **options)
        self.http = self.http_client or httpx.Client(timeout=_TIMEOUT)
        self._oauth_app = oauth_app
        self._sleep = sleep

    @property
    def account_id(self) -> str:
        """The account's id on the network, from ``credentials.extra``."""
        raise NotImplementedError

    @property
    def rate_limit_key(self) -> str:
        return f"{self.network}:{self.account_id}"

    def _auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.credentials.access_token}"}

    def _throttle(self, key: str) -> None:
        # As the base class does, but sleeping with the connector's (replaceable) sleep.
        wait_for_budget(
            self.rate_limits,
            key,
            max_wait_seconds=self.max_rate_limit_wait_seconds,
            network=self.network,
            sleep=self._sleep,
        )

    def _classify(self, response: httpx.Response) -> NetworkError:
        """The typed error a failed response stands for."""
        raise NotImplementedError

    def _token_rejected(self, response: httpx.Response) -> bool:
        """Whether the access token itself was refused (expired, revoked), so a refreshed one
        may succeed; a missing permission is not cured by refreshing."""
        return response.status_code == 401 and "Authorization" in response.request.headers

    def _call(
        self,
        method: str,
        url: str,
        *,
        write: bool,
        bucket: str = "",
        accept: Collection[int] = (),
        authenticate: bool = True,
        **request: Any,
    ) -> httpx.Response:
        """One API call. ``write``: it changes something on the network. ``bucket`` names the
        endpoint family when the network budgets them separately. ``accept``: statuses other
        than 2xx that are not failures (YouTube's 308)."""
        key = f"{self.rate_limit_key}:{bucket}" if bucket else self.rate_limit_key
        if authenticate and self.credentials.expires_within(_REFRESH_AHEAD):
            self._refresh_token()  # if it fails, the call tells whether the token still works
        self._throttle(key)
        response = self._send(method, url, key, write, authenticate, request)
        error = self._error_for(response, key, accept)
        if error is not None and self._token_rejected(response) and self._refresh_token():
            response = self._send(method, url, key, write, authenticate, request)
            error = self._error_for(response, key, accept)
        if error is not None:
            raise error
        return response

    def _send(
        self,
        method: str,
        url: str,
        key: str,
        write: bool,
        authenticate: bool,
        request: Mapping[str, Any],
    ) -> httpx.Response:
        headers = {**(self._auth_headers() if authenticate else {}), **request.get("headers", {})}
        options = {name: value for name, value in request.items() if name != "headers"}
        try:
            response = self.http.request(method, url, headers=headers, **options)
        except httpx.TransportError as error:
            raise transport_failure(self.network, error, write) from error
        self._record_rate_limit(key, response.headers)
        return response

    def _error_for(
        self, response: httpx.Response, key: str, accept: Collection[int]
    ) -> NetworkError | None:
        if response.is_success or response.status_code in accept:
            return None
        error = self._classify(response)
        if isinstance(error, RateLimited) and self.rate_limits.wait_time(key) <= 0:
            # The headers said nothing usable: remember the pause so the next calls wait too.
            now = datetime.now(UTC)
            pause = timedelta(seconds=error.retry_after_seconds)
            self.rate_limits.record(
                key, RateLimitState(observed_at=now, remaining=0, reset_at=now + pause)
            )
        return error

    def _refresh_token(self) -> bool:
        """Refresh the access token; ``False`` when it cannot be (the auth error stands)."""
        app = self._oauth_app
        if app is None and self.credentials.extra.get("client_id"):
            app = OAuthApp(
                self.credentials.extra["client_id"],
                self.credentials.extra.get("client_secret", ""),
            )
        if app is None:
            return False
        flow = self.oauth_flow_class(app, http_client=self.http)
        try:
            refreshed = flow.refresh(self.credentials)
        except NetworkError:
            return False
        self._update_credentials(refreshed)
        return True

    def _json(self, method: str, url: str, *, write: bool, **request: Any) -> dict[str, Any]:
        return json_body(self._call(method, url, write=write, **request))

    def _comment(self, post_id: str, text: str) -> str:
        """Comment on a post as the account; the comment's id."""
        raise NotImplementedError

    def _first_comment(self, post_id: str, text: str) -> None:
        # The post exists whatever happens now: a failed comment must not fail the delivery.
        try:
            self._comment(post_id, text)
        except NetworkError as error:
            logger.warning("%s: first comment on %s failed: %s", self.network, post_id, error)


class ScopedCodeFlow(AuthorizationCodeFlow):
    """An authorization code flow asking for the network's usual scopes when the app names none."""

    default_scopes: ClassVar[tuple[str, ...]] = ()

    def __init__(self, app: OAuthApp, **options: Any) -> None:
        super().__init__(app if app.scopes else replace(app, scopes=self.default_scopes), **options)


# Graph API --------------------------------------------------------------------------------

# https://developers.facebook.com/docs/graph-api/guides/error-handling
_EXPIRED_TOKEN_CODE = 190
_AUTH_CODES = frozenset({102, _EXPIRED_TOKEN_CODE, 10})
_RATE_LIMIT_CODES = frozenset({4, 17, 32, 613, *range(80001, 80015)})
_TRANSIENT_CODES = frozenset({1, 2})
# Instagram: "the account has reached its limit of published posts in 24 hours".
_PUBLISHING_LIMIT_SUBCODES = frozenset({2207042})
# Pages of /me/accounts read (100 Pages each) when offering a grant's Pages.
_MANAGED_PAGES_PAGES = 10


def graph_error(response: httpx.Response, network: str) -> NetworkError:
    """The typed error of a Graph API ``error`` object (Facebook, Instagram, Threads)."""
    error = json_body(response).get("error")
    error = error if isinstance(error, dict) else {}
    code, subcode = error.get("code"), error.get("error_subcode")
    message = untrusted_text(
        error.get("error_user_msg") or error.get("message") or response.reason_phrase
    )
    status = response.status_code
    if code in _AUTH_CODES or (isinstance(code, int) and 200 <= code <= 299) or status == 401:
        return AuthError(message, network=network, status=status)
    if code in _RATE_LIMIT_CODES or subcode in _PUBLISHING_LIMIT_SUBCODES or status == 429:
        return rate_limited(response, message, network, DEFAULT_RATE_LIMIT_PAUSE)
    if code in _TRANSIENT_CODES or error.get("is_transient") or status >= 500:
        return TransientError(message, network=network, status=status)
    if (code == 100 and subcode == 33) or status == 404:
        return NotFound(message, network=network, status=status)
    if status in (400, 403):
        return InvalidContent(message, network=network, status=status)
    return NetworkError(message, network=network, status=status)


class GraphConnector(RestConnector):
    """A Graph API node (a Page, an Instagram or Threads user) the credentials act for."""

    graph_url: ClassVar[str] = GRAPH_URL
    #: The ``credentials.extra`` entry holding the node's id.
    account_field: ClassVar[str]

    @property
    def account_id(self) -> str:
        try:
            return self.credentials.extra[self.account_field]
        except KeyError:
            raise AuthError(
                f"no {self.account_field} in the credentials: reconnect", network=self.network
            ) from None

    @property
    def rate_limit_key(self) -> str:
        # A user's grant, before any of its accounts is chosen, has no node id yet.
        return f"{self.network}:{self.credentials.extra.get(self.account_field) or 'grant'}"

    def _classify(self, response: httpx.Response) -> NetworkError:
        return graph_error(response, self.network)

    def _managed_pages(self, fields: str) -> list[dict[str, Any]]:
        """The Pages a user's token manages (``/me/accounts``), each with its Page token."""
        pages: list[dict[str, Any]] = []
        params = {"fields": f"id,name,access_token,{fields}", "limit": "100"}
        for _page in range(_MANAGED_PAGES_PAGES):
            body = self._graph("GET", "me/accounts", params=params)
            pages += [page for page in body.get("data", []) if isinstance(page, dict)]
            paging = body.get("paging") or {}
            after = (paging.get("cursors") or {}).get("after")
            if not paging.get("next") or not after:
                break
            params = params | {"after": str(after)}
        return [page for page in pages if page.get("id") and page.get("access_token")]

    def _token_rejected(self, response: httpx.Response) -> bool:
        error = json_body(response).get("error")
        return isinstance(error, dict) and error.get("code") == _EXPIRED_TOKEN_CODE

    def _graph(
        self, method: str, path: str, *, write: bool = False, **request: Any
    ) -> dict[str, Any]:
        return self._json(method, f"{self.graph_url}/{path.lstrip('/')}", write=write, **request)

    def _comment(self, post_id: str, text: str) -> str:
        body = self._graph("POST", f"{post_id}/comments", write=True, data={"message": text})
        return str(body["id"])

    def _objects(self, ids: Sequence[str], fields: str) -> dict[str, dict[str, Any]]:
        """Several nodes in one call (``?ids=``), 50 at a time; a deleted one is left out."""
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), 50):
            chunk = ids[start : start + 50]
            try:
                body = self._graph("GET", "", params={"ids": ",".join(chunk), "fields": fields})
            except NotFound:
                # One missing id fails the whole batch: fall back to one call each.
                body = {}
                for remote_id in chunk:
                    try:
                        body[remote_id] = self._graph("GET", remote_id, params={"fields": fields})
                    except NotFound:
                        continue
            found |= {key: value for key, value in body.items() if isinstance(value, dict)}
        return found


@dataclass(frozen=True)
class PublishingQuota:
    """What ``content_publishing_limit`` / ``threads_publishing_limit`` says."""

    used: int
    total: int
    window_seconds: int

    @property
    def exhausted(self) -> bool:
        return self.used >= self.total


class PendingContainer(NamedTuple):
    """The container made for an idempotency key, and the text it publishes."""

    container_id: str
    text: str


class ContainerConnector(GraphConnector):
    """Instagram and Threads: a media container is created, processed, then published.

    A container is published at most once: the network refuses to publish it again. The
    container of each idempotency key is kept in the connector's ``state`` until the publish is
    over (the channel layer's store outlives the process), so publishing again with the same
    key reuses it, and ``find_published`` asks it whether it was published. Its post is then
    found among the account's recent posts by its text, the API giving no way from container
    to post.
    """

    #: The container fields holding its state and the detail of an error.
    status_fields: ClassVar[tuple[str, str]]
    container_edge: ClassVar[str]
    publish_edge: ClassVar[str]
    limit_edge: ClassVar[str]
    #: The edge listing the account's posts, and the field holding a post's text.
    posts_edge: ClassVar[str]
    text_field: ClassVar[str]
    #: Processing is polled at this interval, this many times at most.
    poll_interval_seconds: ClassVar[float] = 5.0
    max_polls: ClassVar[int] = 60
    media_by_url = True

    def __init__(
        self,
        credentials: Credentials,
        *,
        media_url: MediaUrlResolver | None = None,
        **options: Any,
    ) -> None:
        super().__init__(credentials, **options)
        self._media_url = media_url

    def find_published(
        self,
        idempotency_key: str,
        *,
        content: PostContent | None = None,
        sent_after: datetime | None = None,
    ) -> PublishResult | None:
        """The post of this key's container, if it was published (and its thread's parts)."""
        first = self._published_post(idempotency_key)
        if first is None:
            return None
        parts: list[PublishResult] = []
        while part := self._published_post(f"{idempotency_key}#{len(parts) + 1}"):
            parts.append(part)
        return replace(first, thread=tuple(parts))

    def pending_container(self, key: str) -> PendingContainer | None:
        """The container made for ``key`` and not yet known to be published."""
        value = self.state.get(f"container:{key}")
        if value is None:
            return None
        return PendingContainer(str(value["container_id"]), str(value.get("text", "")))

    def _publish_once(
        self, key: str, text: str, make_container: Callable[[], str]
    ) -> PublishResult:
        """Publish the container of ``key``: the one already made for it while it is still
        publishable (or its post, when it was published), else a new one from
        ``make_container``. Call ``_forget`` once the whole publish is over."""
        pending = self.pending_container(key)
        state = self._container_state(pending.container_id) if pending else ""
        if pending is not None and state == "PUBLISHED":
            return self._post_of(pending)
        if pending is None or state != "FINISHED":
            pending = PendingContainer(make_container(), text)
            # Kept before publishing: a worker dying from here on leaves its successor the
            # container to publish or to find published, never a second one to make.
            self.state.put(f"container:{key}", pending._asdict())
        media_id = self._publish_container(pending.container_id)
        post = self._graph("GET", media_id, params={"fields": "permalink,timestamp"})
        return _post_result({**post, "id": media_id})

    def _forget(self, *keys: str) -> None:
        for key in keys:
            self.state.discard(f"container:{key}")

    def _published_post(self, key: str) -> PublishResult | None:
        pending = self.pending_container(key)
        if pending is None or self._container_state(pending.container_id) != "PUBLISHED":
            return None
        return self._post_of(pending)

    def _post_of(self, pending: PendingContainer) -> PublishResult:
        """The recent post of a published container, found by its text."""
        wanted = comparable_text(pending.text)
        body = self._graph(
            "GET",
            f"{self.account_id}/{self.posts_edge}",
            params={"fields": f"id,{self.text_field},permalink,timestamp", "limit": "25"},
        )
        for post in body.get("data", []):
            if comparable_text(str(post.get(self.text_field) or "")) == wanted:
                return _post_result(post)
        raise AmbiguousOutcome(
            "the container was published but its post is not among the recent ones",
            network=self.network,
        )

    def _container_state(self, container_id: str) -> str:
        state_field = self.status_fields[0]
        body = self._graph("GET", container_id, params={"fields": state_field})
        return str(body.get(state_field) or "")

    def publishing_quota(self, usage_field: str, config_field: str) -> PublishingQuota:
        body = self._graph(
            "GET",
            f"{self.account_id}/{self.limit_edge}",
            params={"fields": f"{usage_field},{config_field}"},
        )
        entries = body.get("data") or [{}]
        entry = entries[0] if isinstance(entries[0], dict) else {}
        config = entry.get(config_field) or {}
        return PublishingQuota(
            used=int(entry.get(usage_field) or 0),
            total=int(config.get("quota_total") or 0),
            window_seconds=int(config.get("quota_duration") or 86400),
        )

    def _ensure_quota(self, usage_field: str = "quota_usage", config_field: str = "config") -> None:
        quota = self.publishing_quota(usage_field, config_field)
        if quota.total and quota.exhausted:
            # The window rolls: a slot frees when the oldest post leaves it, which the API does
            # not say. Retry within the hour rather than a whole window later.
            raise RateLimited(
                f"{quota.used} of {quota.total} posts published in the last "
                f"{quota.window_seconds // 3600} hours",
                retry_after_seconds=min(3600, quota.window_seconds),
                network=self.network,
                status=None,
            )

    def _public_url(self, item: MediaItem) -> str:
        """Where the network fetches the item: its own ``url``, else the one ``media_url``
        makes."""
        if item.url:
            return item.url
        if self._media_url is None:
            raise InvalidContent(
                f"{self.network} fetches media from a public URL and none can be made here",
                network=self.network,
                status=None,
            )
        return self._media_url(item)

    def _create_container(self, fields: Mapping[str, str]) -> str:
        # An unpublished container is discarded by the network after 24 hours: retry-safe.
        body = self._graph("POST", f"{self.account_id}/{self.container_edge}", data=dict(fields))
        return str(body["id"])

    def _await_container(self, container_id: str) -> None:
        """Wait until the container is ready to publish; typed errors when it never will be."""
        state_field, detail_field = self.status_fields
        for attempt in range(self.max_polls):
            body = self._graph(
                "GET", container_id, params={"fields": f"{state_field},{detail_field}"}
            )
            state = str(body.get(state_field) or "")
            detail = untrusted_text(body.get(detail_field) or state)
            if state in ("FINISHED", "PUBLISHED"):
                return
            if state == "ERROR":
                raise InvalidContent(
                    f"the media could not be processed: {detail}", network=self.network
                )
            if state == "EXPIRED":
                raise InvalidContent(
                    "the media container expired before it was published", network=self.network
                )
            if attempt + 1 < self.max_polls:
                self._sleep(self.poll_interval_seconds)
        raise TransientError("the media is still being processed", network=self.network)

    def _publish_container(self, container_id: str) -> str:
        body = self._graph(
            "POST",
            f"{self.account_id}/{self.publish_edge}",
            write=True,
            data={"creation_id": container_id},
        )
        return str(body["id"])

    def _container_fields(self, item: MediaItem, *, carousel: bool) -> dict[str, str]:
        """The fields of a container for one image or video, alone or in a carousel."""
        raise NotImplementedError

    def _media_container(self, media: Sequence[MediaItem], fields: Mapping[str, str]) -> str:
        """The container of a post's media (a carousel when there are several), ready."""
        if len(media) == 1:
            item_fields = self._container_fields(media[0], carousel=False)
            container = self._create_container({**fields, **item_fields})
        else:
            children = [
                self._create_container(
                    {**self._container_fields(item, carousel=True), "is_carousel_item": "true"}
                )
                for item in media
            ]
            for child in children:
                self._await_container(child)
            container = self._create_container(
                {**fields, "media_type": "CAROUSEL", "children": ",".join(children)}
            )
        self._await_container(container)
        return container


def _post_result(post: Mapping[str, Any]) -> PublishResult:
    return PublishResult(
        remote_id=str(post["id"]),
        remote_url=str(post.get("permalink") or ""),
        published_at=parse_time(str(post["timestamp"])) if post.get("timestamp") else None,
    )


def is_video(item: MediaItem) -> bool:
    return item.kind is MediaKind.VIDEO


def insight_values(node: Mapping[str, Any]) -> dict[str, Any]:
    """A node's expanded ``insights`` field as {metric: value}: a lifetime value or a total."""
    values: dict[str, Any] = {}
    for entry in (node.get("insights") or {}).get("data", []):
        if not isinstance(entry, dict):
            continue
        total = (entry.get("total_value") or {}).get("value")
        values[str(entry.get("name"))] = (
            total if total is not None else ((entry.get("values") or [{}])[0].get("value"))
        )
    return values


# Facebook Login ---------------------------------------------------------------------------


class MetaOAuthFlow(ScopedCodeFlow):
    """Facebook Login for Business, for Facebook Pages and Instagram business accounts.

    ``finish`` exchanges the code for a user token, then for a long-lived one (60 days). The
    Page tokens read with it (``connectable_accounts`` of the Facebook and Instagram connectors)
    do not expire; Meta has no refresh token, so an expired or revoked token means reconnecting.
    """

    network = "facebook"
    authorization_endpoint = f"https://www.facebook.com/{GRAPH_VERSION}/dialog/oauth"
    token_endpoint = f"{GRAPH_URL}/oauth/access_token"
    scope_separator = ","
    use_pkce = False
    default_scopes = FACEBOOK_SCOPES

    def finish(
        self, pending: PendingAuthorization, callback_params: Mapping[str, str]
    ) -> Credentials:
        code = check_callback(pending, callback_params)
        short_lived = self._token(
            {
                "client_id": self.app.client_id,
                "client_secret": self.app.client_secret,
                "redirect_uri": self.app.redirect_uri,
                "code": code,
            }
        )
        return self._token(
            {
                "grant_type": "fb_exchange_token",
                "client_id": self.app.client_id,
                "client_secret": self.app.client_secret,
                "fb_exchange_token": short_lived.access_token,
            }
        )

    def refresh(self, credentials: Credentials) -> Credentials:
        raise AuthError("Meta tokens cannot be refreshed: reconnect", network=self.network)

    def _token(self, params: Mapping[str, str]) -> Credentials:
        response = self._get(self.token_endpoint, params)
        try:
            return credentials_from_token_response(response.json())
        except (ValueError, TypeError) as error:
            raise NetworkError("unreadable token response", network=self.network) from error

    def _get(self, url: str, params: Mapping[str, str], token: str = "") -> httpx.Response:
        # The token exchange is a GET with the secret in the query (as documented): never log it.
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            response = self.http.get(url, params=params, headers=headers)
        except httpx.TransportError as error:
            raise TransientError(
                f"token request failed ({type(error).__name__})", network=self.network
            ) from error
        if response.is_success:
            return response
        if json_body(response).get("error"):
            raise graph_error(response, self.network)
        raise_for_oauth_error(response, self.network)
        return response


def parse_time(value: str) -> datetime:
    """A network's timestamp (ISO 8601 with ``Z`` or Graph's ``+0000``) as an aware datetime."""
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
