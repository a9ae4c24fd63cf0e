"""LinkedIn members and organisation pages through the versioned REST API (Posts API).

Credentials: a 3-legged token and ``extra["author_urn"]``: ``urn:li:person:…`` for a member,
``urn:li:organization:…`` for a page (its administrator's token, with the
``w_organization_social`` scope). Every call sends ``LinkedIn-Version`` and
``X-Restli-Protocol-Version: 2.0.0``; the id of a created post comes back in ``x-restli-id``.

Job posts shared from a page: the public API cannot create a job (the Job Posting API is open
to approved ATS partners only), and the Posts API has no job content type. What it allows is a
post by the organisation URN with an article pointing at the job's page (``PostContent.link``,
with the job title as the article title); LinkedIn then shows the job's card. That is what
publishing such a ``PostContent`` with an organisation author does.

Connecting: ``connectable_accounts`` offers the member and the organisation pages the member
administers (``organizationAcls``, role ``ADMINISTRATOR``); each chosen one is a channel acting
with the same token under its own author URN.

Reconciling: the Posts API has no idempotency key. ``find_published`` reads the author's recent
posts (the ``author`` finder) and takes the earliest created since the attempt began with the
attempt's commentary. A page's posts are readable with ``r_organization_social``; a member's
need ``r_member_social``, which LinkedIn grants few applications: without it the outcome stays
unconfirmed for a person to check.

LinkedIn sends no rate-limit headers; its limits are daily and reset at midnight UTC, so a 429
without ``Retry-After`` waits until then. Post text is "little text": its reserved characters
are escaped, and hashtags written as LinkedIn's hashtag template.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

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
from chorus.networks.errors import (
    AmbiguousOutcome,
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
    rate_limited,
)

API_URL = "https://api.linkedin.com/rest"
USERINFO_URL = "https://api.linkedin.com/v2/userinfo"
#: The monthly API version (YYYYMM) this connector is written against; each lasts a year.
API_VERSION = "202510"
SCOPES = (
    "openid",
    "profile",
    "w_member_social",
    "w_organization_social",
    "r_organization_social",
    "rw_organization_admin",
)
# "little text" reserved characters: https://learn.microsoft.com/linkedin/.../little-text-format
_RESERVED = re.compile(r"([\\|{}@\[\]()<>#*_~])")
_HASHTAG = re.compile(r"(?<![\w&#])#(\w+)")


class LinkedInOAuthFlow(ScopedCodeFlow):
    network = "linkedin"
    authorization_endpoint = "https://www.linkedin.com/oauth/v2/authorization"
    token_endpoint = "https://www.linkedin.com/oauth/v2/accessToken"  # noqa: S105 (a URL)
    default_scopes = SCOPES
    # The web flow authenticates with the client secret; LinkedIn's PKCE is for native apps.
    use_pkce = False


def little_text(text: str) -> str:
    """``text`` as the Posts API ``commentary``: reserved characters escaped, hashtags kept."""
    parts, position = [], 0
    for match in _HASHTAG.finditer(text):
        parts.append(_escape(text[position : match.start()]))
        parts.append(f"{{hashtag|\\#|{_escape(match.group(1))}}}")
        position = match.end()
    parts.append(_escape(text[position:]))
    return "".join(parts)


def _escape(text: str) -> str:
    return _RESERVED.sub(r"\\\1", text)


class LinkedInConnector(RestConnector):
    network = "linkedin"
    oauth_flow_class = LinkedInOAuthFlow
    capabilities = frozenset(
        {
            Capability.PUBLISH,
            Capability.DELETE,
            Capability.REPLY,
            Capability.LIKE,
            Capability.FETCH_POST_METRICS,
            Capability.FETCH_ACCOUNT_METRICS,
            Capability.FIND_PUBLISHED,
            Capability.OAUTH,
            Capability.ACCOUNT_CHOICE,
            Capability.MEDIA,
            Capability.LINK_CARDS,
            Capability.FIRST_COMMENT,
        }
    )

    def __init__(
        self, credentials: Credentials, *, api_version: str = API_VERSION, **options: Any
    ) -> None:
        super().__init__(credentials, **options)
        self.api_version = api_version

    @property
    def account_id(self) -> str:
        return self.author

    @property
    def rate_limit_key(self) -> str:
        # A fresh grant has no author yet: its first calls are what find it.
        return f"linkedin:{self.credentials.extra.get('author_urn') or 'grant'}"

    def connect(self) -> Author:
        """The organisation page the credentials act for, or else the member behind the token
        (OpenID Connect userinfo; scopes ``openid profile``)."""
        if self.credentials.extra.get("author_urn", "").startswith("urn:li:organization:"):
            return self._organization(self.author)
        member = self._member()
        self._update_credentials(Credentials(extra={"author_urn": member.remote_id}))
        return member

    def connectable_accounts(self) -> list[ConnectableAccount]:
        """The member, then each organisation page the member administers."""
        member = self._member()
        body = self._json(
            "GET",
            f"{API_URL}/organizationAcls",
            write=False,
            params={"q": "roleAssignee", "role": "ADMINISTRATOR", "state": "APPROVED"},
        )
        organizations = [
            str(acl["organization"])
            for acl in body.get("elements", [])
            if isinstance(acl, dict)
            and str(acl.get("organization", "")).startswith("urn:li:organization:")
        ]
        return [ConnectableAccount(member, self._acting_as(member.remote_id), kind="profile")] + [
            ConnectableAccount(
                self._organization(urn), self._acting_as(urn), kind="organisation_page"
            )
            for urn in organizations
        ]

    def _acting_as(self, author_urn: str) -> Credentials:
        return self.credentials.merged_with(Credentials(extra={"author_urn": author_urn}))

    def _member(self) -> Author:
        member = self._json("GET", USERINFO_URL, write=False)
        return Author(
            handle=str(member.get("email") or member["sub"]),
            display_name=str(member.get("name") or ""),
            avatar_url=str(member.get("picture") or ""),
            remote_id=f"urn:li:person:{member['sub']}",
        )

    def _organization(self, urn: str) -> Author:
        organization = self._json(
            "GET", f"{API_URL}/organizations/{urn.rsplit(':', 1)[-1]}", write=False
        )
        return Author(
            handle=str(organization.get("vanityName") or urn),
            display_name=str(organization.get("localizedName") or ""),
            remote_id=urn,
        )

    @property
    def author(self) -> str:
        author = self.credentials.extra.get("author_urn", "")
        if not author.startswith(("urn:li:person:", "urn:li:organization:")):
            raise AuthError(
                "no LinkedIn author in the credentials: reconnect", network=self.network
            )
        return author

    @property
    def is_organization(self) -> bool:
        return self.author.startswith("urn:li:organization:")

    def _auth_headers(self) -> dict[str, str]:
        return super()._auth_headers() | {
            "LinkedIn-Version": self.api_version,
            "X-Restli-Protocol-Version": "2.0.0",
        }

    def _classify(self, response: httpx.Response) -> NetworkError:
        return linkedin_error(response)

    # Publishing --------------------------------------------------------------------------

    def publish(self, content: PostContent, idempotency_key: str) -> PublishResult:
        post: dict[str, Any] = {
            "author": self.author,
            "commentary": little_text(content.text),
            "visibility": "PUBLIC",
            "distribution": {
                "feedDistribution": "MAIN_FEED",
                "targetEntities": [],
                "thirdPartyDistributionChannels": [],
            },
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
        }
        media = self._content(content)
        if media:
            post["content"] = media
        response = self._call("POST", f"{API_URL}/posts", write=True, json=post)
        post_urn = response.headers.get("x-restli-id", "")
        if not post_urn:
            raise NetworkError(
                "LinkedIn created a post without saying its id", network=self.network
            )
        if content.first_comment:
            self._first_comment(post_urn, content.first_comment)
        return PublishResult(remote_id=post_urn, remote_url=post_url(post_urn))

    def find_published(
        self,
        idempotency_key: str,
        *,
        content: PostContent | None = None,
        sent_after: datetime | None = None,
    ) -> PublishResult | None:
        """The author's earliest post since the attempt began with the attempt's commentary."""
        content, since = attempt_to_reconcile(self.network, content, sent_after)
        if not self.is_organization and "r_member_social" not in self.credentials.scopes:
            # Reading a member's own posts takes a scope LinkedIn grants few apps: without it
            # the outcome stays for a person to check, rather than a refusal read as an
            # expired connection.
            raise AmbiguousOutcome(
                "LinkedIn lets this application read no member posts (r_member_social)",
                network=self.network,
            )
        body = self._json(
            "GET",
            f"{API_URL}/posts",
            write=False,
            params={
                "q": "author",
                "author": self.author,
                "count": "50",
                "sortBy": "CREATED",
            },
            headers={"X-RestLi-Method": "FINDER"},
        )
        wanted = comparable_text(little_text(content.text))
        matches = [
            post
            for post in body.get("elements", [])
            if isinstance(post, dict)
            and comparable_text(str(post.get("commentary") or "")) == wanted
            and _epoch_ms(post.get("createdAt")) >= since
        ]
        if not matches:
            return None
        post = min(matches, key=lambda found: _epoch_ms(found.get("createdAt")))
        return PublishResult(
            remote_id=str(post["id"]),
            remote_url=post_url(str(post["id"])),
            published_at=_epoch_ms(post.get("publishedAt") or post.get("createdAt")),
        )

    def reply(self, remote_id: str, content: PostContent, idempotency_key: str) -> PublishResult:
        """A comment on a post (``urn:li:share:…`` or ``urn:li:ugcPost:…``), by the author."""
        comment_urn = self._comment(remote_id, content.text)
        return PublishResult(remote_id=comment_urn, remote_url=post_url(remote_id))

    def delete(self, remote_id: str) -> None:
        self._call("DELETE", f"{API_URL}/posts/{_path(remote_id)}", write=True)

    def like(self, remote_id: str) -> None:
        self._call(
            "POST",
            f"{API_URL}/socialActions/{_path(remote_id)}/likes",
            write=True,
            json={"actor": self.author, "object": remote_id},
        )

    def _content(self, content: PostContent) -> dict[str, Any] | None:
        if len(content.media) == 1:
            item = content.media[0]
            return {"media": {"id": self._upload_image(item), "altText": item.alt_text}}
        if content.media:
            images = [
                {"id": self._upload_image(item), "altText": item.alt_text} for item in content.media
            ]
            return {"multiImage": {"images": images}}
        if content.link is None:
            return None
        article: dict[str, Any] = {"source": content.link.url}
        if content.link.title or content.title:
            article["title"] = content.link.title or content.title
        if content.link.description:
            article["description"] = content.link.description
        if content.link.thumbnail is not None:
            article["thumbnail"] = self._upload_image(content.link.thumbnail)
        return {"article": article}

    def _upload_image(self, item: MediaItem) -> str:
        # An image no post uses is never shown: uploads are safe to retry.
        started = self._json(
            "POST",
            f"{API_URL}/images",
            write=False,
            params={"action": "initializeUpload"},
            json={"initializeUploadRequest": {"owner": self.author}},
        )
        value = started["value"]
        self._call(
            "PUT",
            value["uploadUrl"],
            write=False,
            content=item.read(),
            headers={"Content-Type": "application/octet-stream"},
        )
        return str(value["image"])

    def _comment(self, post_urn: str, text: str) -> str:
        response = self._call(
            "POST",
            f"{API_URL}/socialActions/{_path(post_urn)}/comments",
            write=True,
            json={"actor": self.author, "object": post_urn, "message": {"text": text}},
        )
        body = json_body(response)
        return str(
            response.headers.get("x-restli-id") or body.get("commentUrn") or body.get("id", "")
        )

    # Reading ----------------------------------------------------------------------------

    def fetch_post_metrics(self, remote_ids: Sequence[str]) -> dict[str, PostMetrics]:
        metrics = {}
        for remote_id in remote_ids:
            try:
                summary = self._json(
                    "GET", f"{API_URL}/socialActions/{_path(remote_id)}", write=False
                )
            except NotFound:
                continue
            metrics[remote_id] = _metrics(summary)
        return metrics

    def fetch_account_metrics(self) -> AccountMetrics:
        """An organisation's followers (members' follower counts are not in the public API)."""
        if not self.is_organization:
            raise self._unsupported("follower counts for members")
        body = self._json(
            "GET",
            f"{API_URL}/networkSizes/{_path(self.author)}",
            write=False,
            params={"edgeType": "COMPANY_FOLLOWED_BY_MEMBER"},
        )
        return AccountMetrics(followers=int(body.get("firstDegreeSize") or 0))


def linkedin_error(response: httpx.Response) -> NetworkError:
    """The typed error of a Rest.li error (``status``, ``message``, ``serviceErrorCode``)."""
    body = json_body(response)
    message = untrusted_text(body.get("message") or response.reason_phrase)
    status = response.status_code
    if status == 401:
        return AuthError(message, network="linkedin", status=status)
    if status == 429:
        return rate_limited(response, message, "linkedin", _seconds_to_midnight_utc())
    if status >= 500:
        return TransientError(message, network="linkedin", status=status)
    if status == 404:
        return NotFound(message, network="linkedin", status=status)
    if status == 403:
        # A missing permission or a page the member no longer administers.
        return AuthError(message, network="linkedin", status=status)
    if status in (400, 409, 422):
        return InvalidContent(message, network="linkedin", status=status)
    return NetworkError(message, network="linkedin", status=status)


def post_url(urn: str) -> str:
    return f"https://www.linkedin.com/feed/update/{urn}/"


def _path(urn: str) -> str:
    """A URN as one path segment (its colons and parentheses encoded)."""
    return quote(urn, safe="")


def _metrics(summary: Mapping[str, Any]) -> PostMetrics:
    return PostMetrics(
        likes=int((summary.get("likesSummary") or {}).get("totalLikes") or 0),
        replies=int((summary.get("commentsSummary") or {}).get("aggregatedTotalComments") or 0),
        reposts=0,
    )


def _epoch_ms(value: Any) -> datetime:
    """A Rest.li timestamp (milliseconds since the epoch); the epoch itself when absent."""
    return datetime.fromtimestamp(int(value or 0) / 1000, UTC)


def _seconds_to_midnight_utc() -> float:
    now = datetime.now(UTC)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (midnight - now).total_seconds()
