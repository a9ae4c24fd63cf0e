"""YouTube Data API v3 scenarios, replayed from exchanges recorded after Google's reference:
resumable uploads, quota errors, token refresh, comments and statistics."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

import pytest

from chorus.networks.base import (
    Credentials,
    InMemoryStateStore,
    MediaItem,
    NotificationKind,
    PostContent,
)
from chorus.networks.errors import InvalidContent, RateLimited
from chorus.networks.oauth import OAuthApp
from chorus.networks.registry import oauth_flow_for
from chorus.networks.youtube import UploadSession, YouTubeConnector, seconds_to_pacific_midnight
from tests.networks.recordings import replay

CHANNEL = "UC_x5XG1OV2P6uZZ5FSM9Ttw"
SESSION = (
    "https://www.googleapis.com/upload/youtube/v3/videos"
    "?uploadType=resumable&part=snippet,status&upload_id=ABgVH8_resumable-session-1"
)
APP = OAuthApp("yt-app.apps.googleusercontent.com", "yt-secret", "https://chorus.example/yt/cb")


def sessions_of(key: str, session: UploadSession) -> InMemoryStateStore:
    """A state store holding the upload session opened for ``key``."""
    store = InMemoryStateStore()
    store.put(f"upload:{key}", session._asdict())
    return store


def channel(
    sessions: InMemoryStateStore | None = None,
    saved: list[Credentials] | None = None,
    chunk_bytes: int = 256 * 1024,
) -> YouTubeConnector:
    connector = YouTubeConnector(
        Credentials(
            access_token="ya29.old", refresh_token="1//0g-refresh", extra={"channel_id": CHANNEL}
        ),
        state=sessions,
        oauth_app=APP,
        sleep=lambda seconds: None,
        on_credentials_change=saved.append if saved is not None else None,
    )
    connector.chunk_bytes = chunk_bytes
    return connector


def kneading() -> PostContent:
    video = MediaItem(mime_type="video/mp4", data=bytes(600_000), duration_seconds=300)
    return PostContent(title="How we knead", text="Five minutes of kneading #bread", media=[video])


def test_a_video_is_uploaded_in_chunks_through_a_resumable_session():
    sessions = InMemoryStateStore()

    with replay("youtube/upload_in_chunks"):
        published = channel(sessions).publish(kneading(), "delivery-1")

    assert published.remote_url == "https://www.youtube.com/watch?v=Ks-_Mh1QhMc"
    assert sessions.values == {}  # done: nothing left to resume


def test_a_failed_chunk_resumes_from_what_the_session_says_it_holds():
    with replay("youtube/upload_resumed_after_a_failed_chunk") as exchanges:
        published = channel().publish(kneading(), "delivery-2")

    assert published.remote_id == "Ks-_Mh1QhMc"
    assert exchanges.sent(3).headers["content-range"] == "bytes 131072-393215/600000"


def test_publishing_again_with_the_same_key_resumes_the_same_upload():
    sessions = sessions_of("delivery-3", UploadSession(SESSION, 600_000))

    with replay("youtube/session_resumed_with_the_same_key"):
        published = channel(sessions).publish(kneading(), "delivery-3")

    assert published.remote_id == "Ks-_Mh1QhMc"


def test_an_ambiguous_upload_is_reconciled_by_asking_its_session():
    sessions = sessions_of("delivery-4", UploadSession(SESSION, 600_000))

    with replay("youtube/completed_session"):
        found = channel(sessions).find_published("delivery-4")

    assert found is not None and found.remote_id == "Ks-_Mh1QhMc"


def test_an_unfinished_upload_is_not_published():
    sessions = sessions_of("delivery-5", UploadSession(SESSION, 600_000))

    with replay("youtube/incomplete_session"):
        assert channel(sessions).find_published("delivery-5") is None
    assert channel().find_published("never-sent") is None


def test_an_exhausted_quota_waits_until_midnight_pacific():
    with replay("youtube/quota_exceeded"), pytest.raises(RateLimited) as raised:
        channel().publish(kneading(), "delivery-6")

    assert 0 < raised.value.retry_after_seconds <= 25 * 3600


def test_midnight_pacific_follows_daylight_saving_time():
    pacific = ZoneInfo("America/Los_Angeles")

    # 8 March 2026: clocks spring forward, the day lasts 23 hours.
    assert seconds_to_pacific_midnight(datetime(2026, 3, 8, tzinfo=pacific)) == 23 * 3600
    assert seconds_to_pacific_midnight(datetime(2026, 11, 26, 23, tzinfo=pacific)) == 3600


def test_a_channel_over_its_upload_limit_is_rate_limited_for_a_day():
    with replay("youtube/upload_limit_exceeded"), pytest.raises(RateLimited) as raised:
        channel().publish(kneading(), "delivery-7")

    assert raised.value.retry_after_seconds == 24 * 3600


def test_an_invalid_title_is_refused_with_youtubes_reason():
    with replay("youtube/invalid_title"), pytest.raises(InvalidContent) as raised:
        channel().publish(kneading(), "delivery-8")

    assert "invalid or empty video title" in raised.value.reason


def test_a_401_refreshes_the_google_token_once_and_keeps_the_refresh_token():
    saved: list[Credentials] = []

    with replay("youtube/expired_token_refreshed"):
        channel(saved=saved, chunk_bytes=8 * 256 * 1024).publish(kneading(), "delivery-9")

    assert (saved[-1].access_token, saved[-1].refresh_token) == ("ya29.new", "1//0g-refresh")


def test_replies_open_a_comment_thread_on_a_video_or_answer_within_one():
    connector = channel()

    with replay("youtube/comment_thread_reply"):
        thread = connector.reply("Ks-_Mh1QhMc", PostContent(text="Thanks for watching!"), "r-1")
        answer = connector.reply(
            thread.remote_id, PostContent(text="And the recipe is in the description"), "r-2"
        )

    assert answer.remote_id == "UgzDE2tasfmrYLyNkGt4AaABAg.9xYz1234567"


def test_video_and_channel_statistics_are_read_as_numbers():
    connector = channel()

    with replay("youtube/statistics"):
        metrics = connector.fetch_post_metrics(["Ks-_Mh1QhMc", "deletedVid1"])
        account = connector.fetch_account_metrics()

    assert list(metrics) == ["Ks-_Mh1QhMc"]
    video = metrics["Ks-_Mh1QhMc"]
    assert (video.video_views, video.likes, video.replies) == (15234, 812, 57)
    assert (account.followers, account.posts) == (24100, 212)


def test_new_comment_threads_on_the_channel_are_notifications():
    with replay("youtube/channel_comments"):
        page = channel().fetch_notifications()

    (comment,) = page.items
    assert (comment.kind, comment.in_reply_to) == (NotificationKind.COMMENT, "Ks-_Mh1QhMc")
    assert comment.author.remote_id == "UCa1b2c3d4e5f6g7h8i9j0k1"
    assert page.next_cursor == "QURTSl9pMlQ"


def test_connecting_asks_google_for_offline_access_and_consent():
    pending = oauth_flow_for("youtube", APP).start()

    query = parse_qs(urlparse(pending.authorization_url).query)
    assert (query["access_type"], query["prompt"]) == (["offline"], ["consent"])
    assert "https://www.googleapis.com/auth/youtube.upload" in query["scope"][0].split()
