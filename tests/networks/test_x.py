"""X API v2 scenarios, replayed from exchanges recorded after X's published reference."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest

from chorus.networks.base import Credentials, MediaItem, NotificationKind, PostContent
from chorus.networks.errors import (
    AmbiguousOutcome,
    AuthError,
    InvalidContent,
    RateLimited,
    TransientError,
)
from chorus.networks.meta import comparable_text
from chorus.networks.oauth import OAuthApp
from chorus.networks.registry import oauth_flow_for
from chorus.networks.x import XConnector
from tests.networks.recordings import replay

APP = OAuthApp("chorus-client", "chorus-secret", "https://chorus.example/channels/x/callback")


def account(
    saved: list[Credentials] | None = None, expires_at: datetime | None = None
) -> XConnector:
    credentials = Credentials(
        access_token="access-1",
        refresh_token="refresh-1",
        expires_at=expires_at,
        extra={"user_id": "2244994945"},
    )
    return XConnector(
        credentials,
        oauth_app=APP,
        sleep=lambda seconds: None,
        on_credentials_change=saved.append if saved is not None else None,
    )


def test_connecting_asks_for_offline_access_with_a_pkce_challenge():
    pending = oauth_flow_for("x", APP).start()

    query = parse_qs(urlparse(pending.authorization_url).query)
    assert "offline.access" in query["scope"][0].split()
    assert query["code_challenge_method"] == ["S256"]
    assert pending.code_verifier


def test_the_code_is_exchanged_with_the_client_credentials_in_basic_auth():
    flow = oauth_flow_for("x", APP)
    pending = flow.start()
    code = "VGNibzFWSWREZm01bjN1N3dicWlNUG1oa2xRRVNNdmVHelJGY2hQRXhJS1lSOjE2MjIxNjA4MjIzNzA6MToxOmFjOjE"

    with replay("x/oauth_code_exchange") as exchanges:
        credentials = flow.finish(pending, {"state": pending.state, "code": code})

    assert credentials.refresh_token == "bWVkaWEtcmVmcmVzaC10b2tlbi0x"
    assert "offline.access" in credentials.scopes
    sent = parse_qs(exchanges.sent(0).content.decode())
    assert sent["code_verifier"] == [pending.code_verifier]


def test_a_tweet_with_an_image_and_its_alt_text_is_published():
    image = MediaItem(
        mime_type="image/png", data=b"\x89PNG\r\n\x1a\n", alt_text="The new bakery front"
    )

    with replay("x/publish_with_image"):
        published = account().publish(
            PostContent(text="Our new bakery opens today", media=[image]), "delivery-1"
        )

    assert published.remote_id == "1445880548472328192"
    assert published.remote_url == "https://x.com/i/web/status/1445880548472328192"


def test_a_thread_is_published_as_replies_to_the_part_before():
    content = PostContent(text="1/ How we bake", thread=[PostContent(text="2/ Flour first")])

    with replay("x/publish_thread"):
        published = account().publish(content, "delivery-2")

    assert [part.remote_id for part in published.thread] == ["1445880548472328193"]


def test_a_video_is_uploaded_in_chunks_and_waited_for_until_processed():
    video = MediaItem(mime_type="video/mp4", data=b"\0" * 2048, duration_seconds=4)
    waits: list[float] = []
    connector = XConnector(
        Credentials(access_token="access-1", extra={"user_id": "2244994945"}), sleep=waits.append
    )

    with replay("x/publish_with_video"):
        published = connector.publish(
            PostContent(text="Watch the dough rise", media=[video]), "v-1"
        )

    assert published.remote_id == "1445880548472328195"
    assert waits == [3, 2]  # as X's processing_info asked


def test_a_video_x_cannot_process_is_invalid_content_with_xs_reason():
    video = MediaItem(mime_type="video/mp4", data=b"\0" * 2048)

    with replay("x/video_processing_failed"), pytest.raises(InvalidContent) as raised:
        account().publish(PostContent(text="Broken", media=[video]), "v-2")

    assert "Unsupported video codec" in raised.value.reason


def test_a_401_refreshes_the_token_once_and_retries():
    saved: list[Credentials] = []

    with replay("x/expired_token_refreshed"):
        published = account(saved).publish(PostContent(text="Hello"), "delivery-3")

    assert published.remote_id == "1445880548472328194"
    assert (saved[-1].access_token, saved[-1].refresh_token) == ("access-2", "refresh-2")


def test_a_token_about_to_expire_is_refreshed_before_the_call():
    saved: list[Credentials] = []
    soon = datetime.now(UTC) + timedelta(seconds=30)

    with replay("x/token_refreshed_before_expiry"):
        account(saved, expires_at=soon).publish(PostContent(text="Hello"), "delivery-14")

    assert saved[-1].access_token == "access-2"
    assert saved[-1].expires_at is not None and saved[-1].expires_at > soon


def test_a_refresh_answered_without_a_refresh_token_keeps_the_stored_one():
    saved: list[Credentials] = []

    with replay("x/refresh_without_new_refresh_token"):
        account(saved).publish(PostContent(text="Hello"), "delivery-4")

    assert (saved[-1].access_token, saved[-1].refresh_token) == ("access-2", "refresh-1")


def test_a_token_refused_again_after_refreshing_means_reconnecting():
    with replay("x/unauthorized_after_refresh"), pytest.raises(AuthError):
        account().publish(PostContent(text="Hello"), "delivery-5")


def test_a_429_waits_until_the_reset_x_announced_without_calling_again():
    connector = account()

    with replay("x/rate_limited"), pytest.raises(RateLimited) as raised:
        connector.publish(PostContent(text="Hello"), "delivery-6")
    assert 800 < raised.value.retry_after_seconds <= 900

    with replay(), pytest.raises(RateLimited):  # no exchange: X is not called again
        connector.publish(PostContent(text="Hello"), "delivery-6")


def test_a_503_is_a_transient_error():
    with replay("x/service_unavailable"), pytest.raises(TransientError):
        account().publish(PostContent(text="Hello"), "delivery-7")


def test_duplicate_content_is_refused_permanently_with_xs_reason():
    with replay("x/duplicate_content"), pytest.raises(InvalidContent) as raised:
        account().publish(PostContent(text="Hello"), "delivery-8")

    assert raised.value.reason == "You are not allowed to create a Tweet with duplicate content."


def test_an_invalid_parameter_is_refused_with_the_parameters_message():
    with replay("x/invalid_reply_target"), pytest.raises(InvalidContent) as raised:
        account().reply("12", PostContent(text="Hello"), "delivery-9")

    assert "reply.in_reply_to_tweet_id" in raised.value.reason


def test_a_timeout_after_sending_a_tweet_is_ambiguous_and_reconciled_by_its_text():
    connector = account()
    content = PostContent(text="Fish & chips at noon https://chorus.example/menu")

    with replay("x/tweet_timed_out"), pytest.raises(AmbiguousOutcome):
        connector.publish(content, "delivery-10")
    with replay("x/own_tweets_with_the_lost_one"):
        found = connector.find_published("delivery-10")

    assert found is not None and found.remote_id == "1460323737035677698"


def test_reconciling_in_another_process_uses_the_content_the_ledger_kept():
    content = PostContent(text="Fish & chips at noon https://chorus.example/menu")
    sent_after = datetime(2026, 11, 26, 11, 59, tzinfo=UTC)

    with replay("x/own_tweets_with_the_lost_one") as exchanges:
        found = account().find_published("delivery-11", content=content, sent_after=sent_after)

    assert found is not None and found.remote_id == "1460323737035677698"
    assert exchanges.sent(0).url.params["start_time"] == "2026-11-26T11:57:00Z"


def test_a_tweet_that_never_arrived_is_not_found():
    with replay("x/own_tweets_without_the_lost_one"):
        found = account().find_published("delivery-12", content=PostContent(text="Lost"))

    assert found is None


def test_reconciling_without_knowing_what_was_sent_stays_ambiguous():
    with pytest.raises(AmbiguousOutcome):
        account().find_published("delivery-13")


def test_x_rewrites_links_and_entities_but_the_text_still_compares_equal():
    sent = "Fish & chips <3 at noon: chorus-bakery.fr/menu"
    returned = "Fish &amp; chips &lt;3 at noon: https://t.co/EmN0Qf3Lwl https://t.co/media"

    assert comparable_text(sent) == comparable_text(returned)
    assert comparable_text("Fish & chips tomorrow") != comparable_text(returned)


def test_mentions_are_notifications_paged_with_the_pagination_token():
    connector = account()

    with replay("x/mentions"):
        first = connector.fetch_notifications()
        second = connector.fetch_notifications(first.next_cursor)

    reply, mention = first.items
    assert (reply.kind, reply.in_reply_to) == (NotificationKind.REPLY, "1375152449594523649")
    assert (mention.kind, mention.author.handle) == (NotificationKind.MENTION, "adabaker")
    assert not second.items
    assert second.next_cursor is None


def test_recent_search_gives_posts_with_their_public_metrics():
    with replay("x/recent_search"):
        page = account().search("#croissant -is:retweet")

    post = page.items[0]
    assert post.remote_url == "https://x.com/adabaker/status/1373001119480344583"
    assert post.metrics is not None and (post.metrics.likes, post.metrics.impressions) == (40, 1200)
    assert page.next_cursor == "b26v89c19zqg8o3fosbuf1kj7ip3d1ye2ea1ghbyqc1z1"


def test_metrics_leave_out_a_deleted_tweet():
    with replay("x/metrics_lookup"):
        metrics = account().fetch_post_metrics(["1445880548472328192", "1445880548472328199"])

    assert list(metrics) == ["1445880548472328192"]
    counts = metrics["1445880548472328192"]
    assert (counts.likes, counts.replies, counts.reposts, counts.quotes) == (31, 2, 5, 1)


def test_a_tweet_is_deleted_and_another_liked():
    with replay("x/delete_and_like") as exchanges:
        connector = account()
        connector.delete("1445880548472328192")
        connector.like("1375152598945312767")

    assert len(exchanges.requests) == 2


def test_account_metrics_come_from_the_users_public_metrics():
    with replay("x/account_metrics"):
        metrics = account().fetch_account_metrics()

    assert (metrics.followers, metrics.following, metrics.posts) == (5321, 210, 1830)
