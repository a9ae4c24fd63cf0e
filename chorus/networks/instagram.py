"""Instagram business and creator accounts through the Instagram Graph API (Facebook Login).

Credentials: a Page access token and ``extra["ig_user_id"]``: after Facebook Login,
``connectable_accounts`` lists the Instagram business accounts of the Pages the user manages.
Publishing follows the Content Publishing API: the account's quota is read from
``content_publishing_limit`` first (and publishing refused with ``RateLimited`` when it is
spent), a container is created from media at public URLs (each ``MediaItem.url``), polled
until ``FINISHED``, then published with ``media_publish`` (at most once: see
``ContainerConnector``). A single video is published as a
reel; several items make a carousel. Instagram has no media deletion in its API.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

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
from chorus.networks.meta import (
    ContainerConnector,
    MetaOAuthFlow,
    insight_values,
    is_video,
)

_METRIC_FIELDS = "like_count,comments_count,insights.metric(reach,saved,views,shares)"
_PROFILE_FIELDS = "id,username,name,profile_picture_url"


class InstagramConnector(ContainerConnector):
    network = "instagram"
    account_field = "ig_user_id"
    oauth_flow_class = MetaOAuthFlow
    status_fields = ("status_code", "status")
    container_edge = "media"
    publish_edge = "media_publish"
    limit_edge = "content_publishing_limit"
    posts_edge = "media"
    text_field = "caption"
    capabilities = frozenset(
        {
            Capability.PUBLISH,
            Capability.REPLY,
            Capability.FETCH_POST_METRICS,
            Capability.FETCH_ACCOUNT_METRICS,
            Capability.FIND_PUBLISHED,
            Capability.OAUTH,
            Capability.ACCOUNT_CHOICE,
            Capability.MEDIA,
            Capability.VIDEO,
            Capability.FIRST_COMMENT,
        }
    )

    def connect(self) -> Author:
        """The Instagram business account the credentials act for."""
        return _author(self._graph("GET", self.account_id, params={"fields": _PROFILE_FIELDS}))

    def connectable_accounts(self) -> list[ConnectableAccount]:
        """The Instagram business accounts of the Pages the user's token manages, each acting
        with its Page's token (a Page without one is left out)."""
        return [
            ConnectableAccount(
                author=_author(page["instagram_business_account"]),
                credentials=Credentials(
                    access_token=str(page["access_token"]),
                    extra={
                        "ig_user_id": str(page["instagram_business_account"]["id"]),
                        "page_id": str(page["id"]),
                    },
                ),
                kind="business_account",
            )
            for page in self._managed_pages(f"instagram_business_account{{{_PROFILE_FIELDS}}}")
            if (page.get("instagram_business_account") or {}).get("id")
        ]

    def publish(self, content: PostContent, idempotency_key: str) -> PublishResult:
        if not content.media:
            raise self._unsupported("posts without media")

        def new_container() -> str:
            self._ensure_quota()
            return self._media_container(content.media, {"caption": content.text})

        published = self._publish_once(idempotency_key, content.text, new_container)
        self._forget(idempotency_key)
        if content.first_comment:
            self._first_comment(published.remote_id, content.first_comment)
        return published

    def reply(self, remote_id: str, content: PostContent, idempotency_key: str) -> PublishResult:
        """A comment on one of the account's media."""
        comment_id = self._comment(remote_id, content.text)
        return PublishResult(remote_id=comment_id, remote_url="")

    def fetch_post_metrics(self, remote_ids: Sequence[str]) -> dict[str, PostMetrics]:
        return {
            remote_id: _metrics(media)
            for remote_id, media in self._objects(remote_ids, _METRIC_FIELDS).items()
        }

    def fetch_account_metrics(self) -> AccountMetrics:
        user = self._graph(
            "GET", self.account_id, params={"fields": "followers_count,follows_count,media_count"}
        )
        return AccountMetrics(
            followers=int(user.get("followers_count") or 0),
            following=user.get("follows_count"),
            posts=user.get("media_count"),
        )

    def _container_fields(self, item: MediaItem, *, carousel: bool) -> dict[str, str]:
        if is_video(item):
            # A video alone is a reel; in a carousel, a carousel video.
            media_type = "VIDEO" if carousel else "REELS"
            return {"media_type": media_type, "video_url": self._public_url(item)}
        fields = {"image_url": self._public_url(item)}
        if item.alt_text:
            fields["alt_text"] = item.alt_text
        return fields


def _author(user: Mapping[str, Any]) -> Author:
    return Author(
        handle=str(user.get("username") or user["id"]),
        display_name=str(user.get("name") or ""),
        avatar_url=str(user.get("profile_picture_url") or ""),
        remote_id=str(user["id"]),
    )


def _metrics(media: Mapping[str, Any]) -> PostMetrics:
    insights = insight_values(media)
    return PostMetrics(
        likes=int(media.get("like_count") or 0),
        replies=int(media.get("comments_count") or 0),
        reposts=int(insights.get("shares") or 0),
        reach=insights.get("reach"),
        saves=insights.get("saved"),
        video_views=insights.get("views"),
    )
