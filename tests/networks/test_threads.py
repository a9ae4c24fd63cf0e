"""Threads scenarios, replayed from exchanges recorded after the Threads API reference."""

from __future__ import annotations

import pytest

from chorus.networks.base import Credentials, InMemoryStateStore, MediaItem, PostContent
from chorus.networks.errors import InvalidContent, RateLimited
from chorus.networks.meta import PendingContainer
from chorus.networks.oauth import OAuthApp
from chorus.networks.registry import oauth_flow_for
from chorus.networks.threads import ThreadsConnector
from tests.networks.recordings import replay

USER = "1234567890123456"
APP = OAuthApp(
    "threads-app", "threads-secret", "https://chorus.example/channels/oauth/threads/callback/"
)


def profile(
    saved: list[Credentials] | None = None,
    containers: InMemoryStateStore | None = None,
) -> ThreadsConnector:
    served = iter(range(100))
    return ThreadsConnector(
        Credentials(access_token="THQVJold", extra={"threads_user_id": USER}),
        state=containers,
        media_url=lambda item: (
            f"https://media.chorus.example/m/{next(served)}."
            + ("mp4" if item.mime_type == "video/mp4" else "jpg")
        ),
        oauth_app=APP,
        sleep=lambda seconds: None,
        on_credentials_change=saved.append if saved is not None else None,
    )


def test_a_thread_is_published_part_by_part_each_replying_to_the_one_before():
    content = PostContent(
        text="Winter menu thread 🧵", thread=[PostContent(text="Soup of the day: leek")]
    )

    with replay("threads/publish_thread"):
        published = profile().publish(content, "delivery-1")

    assert published.remote_url == "https://www.threads.net/@chorusbakery/post/C9aBcDeFgHi"
    assert [part.remote_id for part in published.thread] == ["18043357063138946"]


def test_a_thread_interrupted_after_its_first_part_resumes_without_repeating_it():
    containers = InMemoryStateStore()
    made = PendingContainer("17889615691921648", "Winter menu thread 🧵")
    containers.put("container:delivery-7", made._asdict())
    content = PostContent(
        text="Winter menu thread 🧵", thread=[PostContent(text="Soup of the day: leek")]
    )

    with replay("threads/thread_resumed_after_its_first_part"):
        published = profile(containers=containers).publish(content, "delivery-7")

    assert published.remote_id == "18043357063138945"
    assert [part.remote_id for part in published.thread] == ["18043357063138946"]
    assert containers.values == {}


def test_two_images_make_a_carousel():
    images = [MediaItem(mime_type="image/jpeg", data=b"\xff\xd8jpeg") for _ in range(2)]

    with replay("threads/publish_image_carousel"):
        published = profile().publish(PostContent(text="Two breads", media=images), "delivery-2")

    assert published.remote_id == "18043357063138947"


def test_a_video_threads_cannot_process_is_invalid_with_its_error_message():
    clip = MediaItem(mime_type="video/mp4", data=b"\0" * 32)

    with replay("threads/video_fails_processing"), pytest.raises(InvalidContent) as raised:
        profile().publish(PostContent(media=[clip]), "delivery-3")

    assert "FAILED_PROCESSING_VIDEO" in raised.value.reason


def test_a_spent_publishing_quota_refuses_before_creating_anything():
    with replay("threads/quota_spent"), pytest.raises(RateLimited) as raised:
        profile().publish(PostContent(text="One too many"), "delivery-4")

    assert "250 of 250" in str(raised.value)


def test_an_expired_token_is_exchanged_for_a_new_one_and_the_call_retried():
    saved: list[Credentials] = []

    with replay("threads/expired_token_refreshed"):
        published = profile(saved).publish(PostContent(text="Still here"), "delivery-5")

    assert published.remote_id == "18043357063138948"
    assert saved[-1].access_token == "THQVJnew"


def test_a_text_over_the_limit_is_refused_with_threads_reason():
    with replay("threads/text_too_long"), pytest.raises(InvalidContent) as raised:
        profile().publish(PostContent(text="x" * 501), "delivery-6")

    assert "at most 500 characters" in raised.value.reason


def test_connecting_exchanges_the_code_then_gets_a_long_lived_token_for_the_user():
    flow = oauth_flow_for("threads", APP)
    pending = flow.start()

    with replay("threads/login"):
        credentials = flow.finish(pending, {"state": pending.state, "code": "AQBthreads"})

    assert credentials.access_token == "THQVJlong"
    assert credentials.extra["threads_user_id"] == USER
    assert credentials.expires_at is not None


def test_post_metrics_come_from_the_posts_insights():
    with replay("threads/post_metrics"):
        metrics = profile().fetch_post_metrics(["18043357063138945"])["18043357063138945"]

    assert (metrics.likes, metrics.replies, metrics.reposts, metrics.quotes) == (44, 5, 3, 1)
    assert metrics.impressions == 980


def test_the_follower_count_comes_from_the_profiles_insights():
    with replay("threads/followers"):
        assert profile().fetch_account_metrics().followers == 2871


def test_a_threads_grant_offers_the_users_own_profile_to_confirm():
    grant = ThreadsConnector(
        Credentials(access_token="THQVJlong", extra={"threads_user_id": USER}), oauth_app=APP
    )

    with replay("threads/me"):
        (own,) = grant.connectable_accounts()

    assert (own.author.remote_id, own.author.handle) == (USER, "chorusbakery")
    assert own.credentials.access_token == "THQVJlong"
    assert own.credentials.extra["threads_user_id"] == USER
