"""YouTube through the YouTube Data API v3.

Credentials: a Google OAuth 2.0 token with its refresh token (asked with ``access_type=offline``)
and ``extra["channel_id"]``. A video is published with a resumable upload: a session is opened
with the video's metadata, then the bytes are sent in chunks to the session URI. After a failed
chunk the session is asked how much it holds (``Content-Range: bytes */N``, answered with a 308
and a ``Range``) and the upload resumes from there.

The session of each idempotency key is kept in the connector's ``state`` (the channel layer's
store outlives the process) from the moment it is opened until the video exists: publishing
again with the same key, in this process or another, resumes the same session instead of
uploading a second video, and ``find_published`` asks the session whether the upload
completed, which is how an ambiguous outcome is reconciled.

Quota: the Data API counts units per project per day, reset at midnight Pacific time; a
``quotaExceeded`` error waits until then.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

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
from chorus.networks.meta import RestConnector, ScopedCodeFlow, json_body, parse_time, rate_limited
from chorus.networks.oauth import PendingAuthorization

API_URL = "https://www.googleapis.com/youtube/v3"
UPLOAD_URL = "https://www.googleapis.com/upload/youtube/v3/videos"
SCOPES = (
    "https://www.googleapis.com/auth/youtube.upload",
    "https://www.googleapis.com/auth/youtube.force-ssl",
    "https://www.googleapis.com/auth/youtube.readonly",
)
_PACIFIC = ZoneInfo("America/Los_Angeles")
_VIDEO_ID = re.compile(r"^[A-Za-z0-9_-]{11}$")
_QUOTA_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded"})
_RATE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
_AUTH_REASONS = frozenset(
    {"authError", "insufficientPermissions", "forbidden", "youtubeSignupRequired"}
)
_RANGE = re.compile(r"bytes=0-(\d+)")


class UploadSession(NamedTuple):
    """A resumable upload: the session URI and the size of the video it receives."""

    uri: str
    size: int


class YouTubeOAuthFlow(ScopedCodeFlow):
    network = "youtube"
    authorization_endpoint = "https://accounts.google.com/o/oauth2/v2/auth"
    token_endpoint = "https://oauth2.googleapis.com/token"  # noqa: S105 (a URL)
    default_scopes = SCOPES

    def start(self, *, login_hint: str | None = None) -> PendingAuthorization:
        pending = super().start(login_hint=login_hint)
        # Google gives a refresh token only for offline access, and again only on consent.
        offline = urlencode({"access_type": "offline", "prompt": "consent"})
        return replace(pending, authorization_url=f"{pending.authorization_url}&{offline}")


def seconds_to_pacific_midnight(now: datetime | None = None) -> float:
    now = (now or datetime.now(_PACIFIC)).astimezone(_PACIFIC)
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), _PACIFIC)
    # In UTC: between two times of one zone Python subtracts wall clocks, blind to DST.
    return (midnight.astimezone(UTC) - now.astimezone(UTC)).total_seconds()


def youtube_error(response: httpx.Response) -> NetworkError:
    """The typed error of a Google API error (``error.code``, ``error.errors[].reason``)."""
    error = json_body(response).get("error")
    error = error if isinstance(error, dict) else {}
    reasons = {
        str(item.get("reason")) for item in error.get("errors") or [] if isinstance(item, dict)
    }
    message = untrusted_text(error.get("message") or response.reason_phrase)
    status = response.status_code
    if reasons & _QUOTA_REASONS:
        return RateLimited(
            message,
            retry_after_seconds=seconds_to_pacific_midnight(),
            network="youtube",
            status=status,
        )
    if "uploadLimitExceeded" in reasons:
        # The channel's upload allowance: a day, YouTube says no more.
        return RateLimited(
            message, retry_after_seconds=24 * 3600.0, network="youtube", status=status
        )
    if reasons & _RATE_REASONS or status == 429:
        return rate_limited(response, message, "youtube", 60.0)
    if status == 401 or reasons & _AUTH_REASONS:
        return AuthError(message, network="youtube", status=status)
    if status >= 500:
        return TransientError(message, network="youtube", status=status)
    if status in (404, 410):
        return NotFound(message, network="youtube", status=status)
    if status in (400, 403):
        return InvalidContent(message, network="youtube", status=status)
    return NetworkError(message, network="youtube", status=status)


class YouTubeConnector(RestConnector):
    network = "youtube"
    oauth_flow_class = YouTubeOAuthFlow
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
            Capability.VIDEO,
        }
    )
    #: Bytes per PUT: a multiple of 256 KiB, as the resumable protocol requires.
    chunk_bytes = 8 * 256 * 1024
    #: Failed chunks retried (after asking the session where it stands) before giving up.
    max_chunk_failures = 5
    privacy_status = "public"

    @property
    def account_id(self) -> str:
        return self.credentials.extra.get("channel_id", "")

    def connect(self) -> Author:
        """The YouTube channel of the signed-in Google account."""
        items = (
            self._api("GET", "channels", params={"part": "snippet", "mine": "true"}).get("items")
            or []
        )
        if not items:
            raise AuthError("this Google account has no YouTube channel", network=self.network)
        channel, snippet = items[0], items[0].get("snippet") or {}
        self._update_credentials(Credentials(extra={"channel_id": str(channel["id"])}))
        thumbnail = ((snippet.get("thumbnails") or {}).get("default") or {}).get("url", "")
        return Author(
            handle=str(snippet.get("customUrl") or channel["id"]),
            display_name=str(snippet.get("title") or ""),
            avatar_url=str(thumbnail),
            remote_id=str(channel["id"]),
        )

    def _classify(self, response: httpx.Response) -> NetworkError:
        return youtube_error(response)

    # Publishing --------------------------------------------------------------------------

    def publish(self, content: PostContent, idempotency_key: str) -> PublishResult:
        videos = [item for item in content.media if item.kind is MediaKind.VIDEO]
        if len(videos) != 1:
            raise InvalidContent("a YouTube post is exactly one video", network=self.network)
        video = videos[0]
        session = self.upload_session(idempotency_key)
        offset: int | dict[str, Any] = 0
        if session is not None:
            try:
                offset = self._session_status(session)
            except NotFound:  # the session expired before any video was made of it
                session = None
        if session is None:
            session = UploadSession(self._open_session(content, video), video.byte_size)
            self.state.put(f"upload:{idempotency_key}", session._asdict())
        uploaded = offset if isinstance(offset, dict) else self._send_bytes(session, video, offset)
        self.state.discard(f"upload:{idempotency_key}")
        return _result(uploaded)

    def upload_session(self, idempotency_key: str) -> UploadSession | None:
        """The resumable upload opened for this key and not yet known to be complete."""
        value = self.state.get(f"upload:{idempotency_key}")
        return UploadSession(str(value["uri"]), int(value["size"])) if value else None

    def find_published(
        self,
        idempotency_key: str,
        *,
        content: PostContent | None = None,
        sent_after: datetime | None = None,
    ) -> PublishResult | None:
        """The video of this key's upload session, if the upload completed."""
        session = self.upload_session(idempotency_key)
        if session is None:
            return None
        try:
            status = self._session_status(session)
        except NotFound:
            return None
        return _result(status) if isinstance(status, dict) else None

    def _open_session(self, content: PostContent, video: MediaItem) -> str:
        snippet: dict[str, Any] = {"title": content.title or "", "description": content.text}
        if content.languages:
            snippet["defaultLanguage"] = content.languages[0]
        response = self._call(
            "POST",
            UPLOAD_URL,
            write=False,  # no video exists until its bytes are all sent
            bucket="upload",
            params={"uploadType": "resumable", "part": "snippet,status"},
            headers={
                "X-Upload-Content-Length": str(video.byte_size),
                "X-Upload-Content-Type": video.mime_type,
            },
            json={
                "snippet": snippet,
                "status": {"privacyStatus": self.privacy_status, "selfDeclaredMadeForKids": False},
            },
        )
        session = response.headers.get("location", "")
        if not session.startswith("https://"):
            raise TransientError("YouTube opened no upload session", network=self.network)
        return session

    def _send_bytes(self, session: UploadSession, video: MediaItem, offset: int) -> dict[str, Any]:
        total, failures = session.size, 0
        while True:
            end = min(offset + self.chunk_bytes, total)
            try:
                response = self._call(
                    "PUT",
                    session.uri,
                    write=True,
                    bucket="upload",
                    accept=(308,),
                    content=_read(video, offset, end),
                    headers={
                        "Content-Type": video.mime_type,
                        "Content-Range": f"bytes {offset}-{end - 1}/{total}",
                    },
                )
            except (TransientError, AmbiguousOutcome) as error:
                failures += 1
                if failures > self.max_chunk_failures:
                    if end == total:  # the last chunk may have completed the video
                        raise AmbiguousOutcome(str(error), network=self.network) from error
                    raise
                self._sleep(min(2.0**failures, 60.0))
                status = self._session_status(session)
                if isinstance(status, dict):
                    return status
                offset = status
                continue
            if response.status_code != 308:
                return json_body(response)
            offset, failures = _next_offset(response), 0

    def _session_status(self, session: UploadSession) -> int | dict[str, Any]:
        """How many bytes the session holds, or the video when the upload is complete."""
        response = self._call(
            "PUT",
            session.uri,
            write=False,
            bucket="upload",
            accept=(308,),
            content=b"",
            headers={"Content-Range": f"bytes */{session.size}"},
        )
        if response.status_code == 308:
            return _next_offset(response)
        return json_body(response)

    # Engagement -------------------------------------------------------------------------

    def reply(self, remote_id: str, content: PostContent, idempotency_key: str) -> PublishResult:
        """A new comment thread on a video, or an answer in a comment thread."""
        if _VIDEO_ID.match(remote_id):
            body = {
                "snippet": {
                    "videoId": remote_id,
                    "topLevelComment": {"snippet": {"textOriginal": content.text}},
                }
            }
            path = "commentThreads"
        else:
            body = {"snippet": {"parentId": remote_id, "textOriginal": content.text}}
            path = "comments"
        created = self._api("POST", path, write=True, params={"part": "snippet"}, json=body)
        return PublishResult(remote_id=str(created["id"]), remote_url="")

    def delete(self, remote_id: str) -> None:
        self._api("DELETE", "videos", write=True, params={"id": remote_id})

    def like(self, remote_id: str) -> None:
        self._api("POST", "videos/rate", write=True, params={"id": remote_id, "rating": "like"})

    # Reading ----------------------------------------------------------------------------

    def fetch_notifications(self, cursor: str | None = None) -> Page[Notification]:
        """New comment threads on the channel's videos, newest first."""
        params = {
            "part": "snippet",
            "allThreadsRelatedToChannelId": self.account_id,
            "order": "time",
            "maxResults": "50",
            "textFormat": "plainText",
        }
        if cursor:
            params["pageToken"] = cursor
        body = self._api("GET", "commentThreads", params=params)
        items = [_comment_notification(thread) for thread in body.get("items", [])]
        return Page(items, body.get("nextPageToken"))

    def fetch_post_metrics(self, remote_ids: Sequence[str]) -> dict[str, PostMetrics]:
        metrics: dict[str, PostMetrics] = {}
        for start in range(0, len(remote_ids), 50):  # videos.list takes 50 ids at most
            ids = ",".join(remote_ids[start : start + 50])
            body = self._api("GET", "videos", params={"part": "statistics", "id": ids})
            metrics |= {
                str(video["id"]): _metrics(video.get("statistics") or {})
                for video in body.get("items", [])
            }
        return metrics

    def fetch_account_metrics(self) -> AccountMetrics:
        body = self._api("GET", "channels", params={"part": "statistics", "mine": "true"})
        items = body.get("items") or []
        if not items:
            raise NotFound("the account has no YouTube channel", network=self.network)
        statistics = items[0].get("statistics") or {}
        return AccountMetrics(
            followers=int(statistics.get("subscriberCount") or 0),
            posts=int(statistics.get("videoCount") or 0),
        )

    def _api(
        self, method: str, path: str, *, write: bool = False, **request: Any
    ) -> dict[str, Any]:
        return self._json(method, f"{API_URL}/{path}", write=write, **request)


def _read(video: MediaItem, start: int, end: int) -> bytes:
    """Bytes ``start`` to ``end`` of the video, without reading a whole file into memory."""
    if video.data is not None:
        return video.data[start:end]
    assert video.path is not None
    with video.path.open("rb") as file:
        file.seek(start)
        return file.read(end - start)


def _next_offset(response: httpx.Response) -> int:
    """The first byte the session still needs, from a 308's ``Range: bytes=0-N``."""
    match = _RANGE.fullmatch(response.headers.get("range", "").strip())
    return int(match.group(1)) + 1 if match else 0


def _result(video: Mapping[str, Any]) -> PublishResult:
    published = (video.get("snippet") or {}).get("publishedAt")
    return PublishResult(
        remote_id=str(video["id"]),
        remote_url=f"https://www.youtube.com/watch?v={video['id']}",
        published_at=parse_time(str(published)) if published else None,
    )


def _metrics(statistics: Mapping[str, Any]) -> PostMetrics:
    # The Data API gives counts as strings.
    return PostMetrics(
        likes=int(statistics.get("likeCount") or 0),
        replies=int(statistics.get("commentCount") or 0),
        reposts=0,
        video_views=int(statistics.get("viewCount") or 0),
    )


def _comment_notification(thread: Mapping[str, Any]) -> Notification:
    snippet = thread.get("snippet") or {}
    comment = (snippet.get("topLevelComment") or {}).get("snippet") or {}
    return Notification(
        kind=NotificationKind.COMMENT,
        remote_id=str(thread["id"]),
        author=Author(
            handle=str(comment.get("authorDisplayName") or ""),
            display_name=str(comment.get("authorDisplayName") or ""),
            avatar_url=str(comment.get("authorProfileImageUrl") or ""),
            remote_id=str((comment.get("authorChannelId") or {}).get("value", "")),
        ),
        created_at=parse_time(str(comment["publishedAt"])),
        text=str(comment.get("textOriginal") or comment.get("textDisplay") or ""),
        in_reply_to=str(snippet.get("videoId") or ""),
        raw=dict(thread),
    )
