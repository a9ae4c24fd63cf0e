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
    Credentials,
    MediaItem,
    PostContent,
    PostMetrics,
    PublishResult,
)
from chorus.networks.errors import (
    AuthError,
    InvalidContent,
    NetworkError,
    NotFound,
    TransientError,
    untrusted_text,
)
from chorus.networks.meta import RestConnector, ScopedCodeFlow, json_body, rate_limited

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
            Capability.OAUTH,
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

    def connect(self) -> Author:
        """The member behind the token (OpenID Connect userinfo; scopes ``openid profile``)."""
        member = self._json("GET", USERINFO_URL, write=False)
        self._update_credentials(
            Credentials(extra={"author_urn": f"urn:li:person:{member['sub']}"})
        )
        return Author(
            handle=str(member.get("email") or member["sub"]),
            display_name=str(member.get("name") or ""),
            avatar_url=str(member.get("picture") or ""),
            remote_id=f"urn:li:person:{member['sub']}",
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


def _seconds_to_midnight_utc() -> float:
    now = datetime.now(UTC)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (midnight - now).total_seconds()
