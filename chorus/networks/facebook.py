"""Facebook Pages through the Graph API.

Credentials: the Page access token and ``extra["page_id"]`` (see ``MetaOAuthFlow.accounts``).
A text or link post goes to ``/{page-id}/feed``; one photo to ``/{page-id}/photos``; several
photos are uploaded unpublished, then attached to one feed post; a video goes to
``/{page-id}/videos``. The Graph API has no idempotency key: a timeout after a publish is an
``AmbiguousOutcome``, reconciled by ``find_published``: the Page's posts published since the
attempt began are read and the one with the attempt's text is the post.

Connecting: Facebook Login gives a user token; ``connectable_accounts`` lists the Pages it
manages (``/me/accounts``) with their Page tokens, and each chosen Page becomes a channel.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from chorus.networks.base import (
    AccountMetrics,
    Author,
    Capability,
    ConnectableAccount,
    Credentials,
    MediaItem,
    Notification,
    NotificationKind,
    Page,
    PostContent,
    PostMetrics,
    PublishResult,
)
from chorus.networks.meta import (
    GRAPH_VERSION,
    GraphConnector,
    MetaOAuthFlow,
    attempt_to_reconcile,
    comparable_text,
    insight_values,
    is_video,
    parse_time,
)

VIDEO_URL = f"https://graph-video.facebook.com/{GRAPH_VERSION}"
_METRIC_FIELDS = (
    "reactions.summary(total_count).limit(0),comments.summary(total_count).limit(0),shares,"
    "insights.metric(post_impressions,post_impressions_unique,post_clicks)"
)
_COMMENT_FIELDS = "id,message,from{id,name},created_time,parent{id}"
_PAGE_FIELDS = "id,name,username,picture{url}"


class FacebookConnector(GraphConnector):
    network = "facebook"
    account_field = "page_id"
    oauth_flow_class = MetaOAuthFlow
    capabilities = frozenset(
        {
            Capability.PUBLISH,
            Capability.DELETE,
            Capability.REPLY,
            Capability.LIKE,
            Capability.FETCH_NOTIFICATIONS,
            Capability.FETCH_POST_METRICS,
            Capability.FETCH_ACCOUNT_METRICS,
            Capability.FIND_PUBLISHED,
            Capability.OAUTH,
            Capability.ACCOUNT_CHOICE,
            Capability.MEDIA,
            Capability.VIDEO,
            Capability.LINK_CARDS,
            Capability.FIRST_COMMENT,
        }
    )

    def connect(self) -> Author:
        """The Page the Page token acts for."""
        return _page_author(self._graph("GET", self.account_id, params={"fields": _PAGE_FIELDS}))

    def connectable_accounts(self) -> list[ConnectableAccount]:
        """The Pages the user's token manages, each with its own Page token."""
        return [
            ConnectableAccount(
                author=_page_author(page),
                credentials=Credentials(
                    access_token=str(page["access_token"]), extra={"page_id": str(page["id"])}
                ),
                kind="page",
            )
            for page in self._managed_pages("username,picture{url}")
        ]

    def find_published(
        self,
        idempotency_key: str,
        *,
        content: PostContent | None = None,
        sent_after: datetime | None = None,
    ) -> PublishResult | None:
        """The Page's earliest post since the attempt began with the attempt's text."""
        content, since = attempt_to_reconcile(self.network, content, sent_after)
        body = self._graph(
            "GET",
            f"{self.account_id}/published_posts",
            params={
                "fields": "id,message,created_time,permalink_url",
                "since": str(int(since.timestamp())),
                "limit": "100",
            },
        )
        wanted = comparable_text(content.text)
        matches = [
            post
            for post in body.get("data", [])
            if isinstance(post, dict)
            and comparable_text(str(post.get("message") or "")) == wanted
            and post.get("created_time")
            and parse_time(str(post["created_time"])) >= since
        ]
        if not matches:
            return None
        post = min(matches, key=lambda found: parse_time(str(found["created_time"])))
        return PublishResult(
            remote_id=str(post["id"]),
            remote_url=str(post.get("permalink_url") or f"https://www.facebook.com/{post['id']}"),
            published_at=parse_time(str(post["created_time"])),
        )

    def publish(self, content: PostContent, idempotency_key: str) -> PublishResult:
        post_id = self._post(content)
        if content.first_comment:
            self._first_comment(post_id, content.first_comment)
        return PublishResult(remote_id=post_id, remote_url=f"https://www.facebook.com/{post_id}")

    def reply(self, remote_id: str, content: PostContent, idempotency_key: str) -> PublishResult:
        """A comment on a post, or an answer to a comment (the Graph API nests one level)."""
        comment_id = self._comment(remote_id, content.text)
        return PublishResult(
            remote_id=comment_id, remote_url=f"https://www.facebook.com/{comment_id}"
        )

    def delete(self, remote_id: str) -> None:
        self._graph("DELETE", remote_id, write=True)

    def like(self, remote_id: str) -> None:
        self._graph("POST", f"{remote_id}/likes", write=True)

    def fetch_notifications(self, cursor: str | None = None) -> Page[Notification]:
        """Comments on the Page's recent posts, newest posts first."""
        params = {
            "fields": f"id,comments.order(reverse_chronological).limit(50){{{_COMMENT_FIELDS}}}",
            "limit": "25",
        }
        if cursor:
            params["after"] = cursor
        body = self._graph("GET", f"{self.account_id}/feed", params=params)
        items = [
            _comment_notification(comment, post["id"])
            for post in body.get("data", [])
            for comment in (post.get("comments") or {}).get("data", [])
            if str((comment.get("from") or {}).get("id", "")) != self.account_id
        ]
        next_cursor = (body.get("paging") or {}).get("cursors", {}).get("after")
        has_next = bool((body.get("paging") or {}).get("next"))
        return Page(items, str(next_cursor) if next_cursor and has_next else None)

    def fetch_post_metrics(self, remote_ids: Sequence[str]) -> dict[str, PostMetrics]:
        return {
            remote_id: _metrics(post)
            for remote_id, post in self._objects(remote_ids, _METRIC_FIELDS).items()
        }

    def fetch_account_metrics(self) -> AccountMetrics:
        page = self._graph("GET", self.account_id, params={"fields": "followers_count,fan_count"})
        return AccountMetrics(
            followers=int(page.get("followers_count") or page.get("fan_count") or 0)
        )

    def _post(self, content: PostContent) -> str:
        text = content.text
        if content.media and is_video(content.media[0]):
            return self._video(content.media[0], content)
        if len(content.media) == 1:
            body = self._photo(content.media[0], caption=text, published=True)
            return str(body.get("post_id") or body["id"])
        fields: dict[str, Any] = {"message": text}
        if content.media:
            photos = [
                self._photo(item, caption="", published=False)["id"] for item in content.media
            ]
            fields["attached_media"] = [{"media_fbid": photo} for photo in photos]
        elif content.link is not None:
            fields["link"] = content.link.url
        return str(self._graph("POST", f"{self.account_id}/feed", write=True, json=fields)["id"])

    def _photo(self, item: MediaItem, *, caption: str, published: bool) -> dict[str, Any]:
        data = {"published": str(published).lower()}
        if caption:
            data["caption"] = caption
        if item.alt_text:
            data["alt_text_custom"] = item.alt_text
        # An unpublished photo shows nowhere until a post attaches it: only a published one
        # makes the outcome of a lost answer ambiguous.
        return self._graph(
            "POST",
            f"{self.account_id}/photos",
            write=published,
            data=data,
            files={"source": ("photo", item.read(), item.mime_type)},
        )

    def _video(self, item: MediaItem, content: PostContent) -> str:
        data = {"description": content.text}
        if content.title:
            data["title"] = content.title
        body = self._json(
            "POST",
            f"{VIDEO_URL}/{self.account_id}/videos",
            write=True,
            data=data,
            files={"source": ("video", item.read(), item.mime_type)},
        )
        return str(body["id"])


def _page_author(page: Mapping[str, Any]) -> Author:
    picture = ((page.get("picture") or {}).get("data") or {}).get("url", "")
    return Author(
        handle=str(page.get("username") or page["id"]),
        display_name=str(page.get("name") or ""),
        avatar_url=str(picture),
        remote_id=str(page["id"]),
    )


def _metrics(post: Mapping[str, Any]) -> PostMetrics:
    insights = insight_values(post)
    return PostMetrics(
        likes=int((post.get("reactions") or {}).get("summary", {}).get("total_count") or 0),
        replies=int((post.get("comments") or {}).get("summary", {}).get("total_count") or 0),
        reposts=int((post.get("shares") or {}).get("count") or 0),
        impressions=insights.get("post_impressions"),
        reach=insights.get("post_impressions_unique"),
        clicks=insights.get("post_clicks"),
    )


def _comment_notification(comment: Mapping[str, Any], post_id: str) -> Notification:
    author = comment.get("from") or {}
    parent = (comment.get("parent") or {}).get("id")
    return Notification(
        kind=NotificationKind.COMMENT,
        remote_id=str(comment["id"]),
        author=Author(
            handle=str(author.get("name", "")),
            display_name=str(author.get("name", "")),
            remote_id=str(author.get("id", "")),
        ),
        created_at=parse_time(str(comment["created_time"])),
        text=str(comment.get("message") or ""),
        in_reply_to=str(parent or post_id),
        raw=dict(comment),
    )
