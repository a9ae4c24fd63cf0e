"""Facebook Pages scenarios, replayed from exchanges recorded after the Graph API reference."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chorus.networks.base import Credentials, Link, MediaItem, NotificationKind, PostContent
from chorus.networks.errors import (
    AmbiguousOutcome,
    AuthError,
    InvalidContent,
    RateLimited,
    TransientError,
)
from chorus.networks.facebook import FacebookConnector
from chorus.networks.meta import MetaOAuthFlow
from chorus.networks.oauth import OAuthApp
from chorus.networks.registry import connector_for, oauth_flow_for
from tests.networks.recordings import replay

PAGE = "112233445566778"


def page() -> FacebookConnector:
    made = connector_for(
        "facebook", Credentials(access_token="page-token", extra={"page_id": PAGE})
    )
    assert isinstance(made, FacebookConnector)
    return made


def photo() -> MediaItem:
    return MediaItem(mime_type="image/jpeg", data=b"\xff\xd8\xff\xe0fake-jpeg")


def test_a_link_post_goes_to_the_pages_feed_with_the_page_token():
    content = PostContent(
        text="Our winter menu is out", link=Link("https://chorus-bakery.fr/winter")
    )

    with replay("facebook/link_post"):
        published = page().publish(content, "delivery-1")

    assert published.remote_id == f"{PAGE}_998877665544332"


def test_a_failed_first_comment_does_not_fail_the_published_photo():
    content = PostContent(text="Fresh bread", media=[photo()], first_comment="Recipe in the link")

    with replay("facebook/photo_post_with_first_comment"):
        published = page().publish(content, "delivery-2")

    assert published.remote_id == f"{PAGE}_998877665544333"


def test_several_photos_are_uploaded_unpublished_then_attached_to_one_post():
    content = PostContent(text="Two loaves", media=[photo(), photo()])

    with replay("facebook/several_photos"):
        published = page().publish(content, "delivery-3")

    assert published.remote_id == f"{PAGE}_998877665544334"


def test_an_expired_page_token_asks_for_reconnection():
    # Meta has no refresh token: error 190 cannot be cured by refreshing.
    with replay("facebook/expired_page_token"), pytest.raises(AuthError) as raised:
        page().publish(PostContent(text="Hello"), "delivery-4")

    assert "Session has expired" in str(raised.value)


def test_a_throttled_page_waits_as_long_as_the_usage_header_says():
    connector = page()

    with replay("facebook/throttled"), pytest.raises(RateLimited) as raised:
        connector.publish(PostContent(text="Hello"), "delivery-5")
    assert 16 * 60 < raised.value.retry_after_seconds <= 17 * 60

    with replay(), pytest.raises(RateLimited):  # Meta is not called again meanwhile
        connector.publish(PostContent(text="Hello"), "delivery-5")


def test_an_invalid_parameter_is_refused_with_the_message_meant_for_the_user():
    with replay("facebook/invalid_parameter"), pytest.raises(InvalidContent) as raised:
        page().publish(PostContent(text="Hello", link=Link("htp:/bad")), "delivery-6")

    assert raised.value.reason == "The link you shared is not a valid URL."


def test_an_unexpected_graph_error_is_transient():
    with replay("facebook/service_unavailable"), pytest.raises(TransientError):
        page().publish(PostContent(text="Hello"), "delivery-7")


def test_post_metrics_come_from_reactions_comments_shares_and_insights():
    with replay("facebook/post_metrics"):
        metrics = page().fetch_post_metrics([f"{PAGE}_998877665544332"])

    counts = metrics[f"{PAGE}_998877665544332"]
    assert (counts.likes, counts.replies, counts.reposts) == (57, 6, 4)
    assert (counts.impressions, counts.reach, counts.clicks) == (2310, 1804, 75)


def test_comments_on_the_pages_posts_are_notifications_except_the_pages_own():
    with replay("facebook/page_comments"):
        notifications = page().fetch_notifications()

    (comment,) = notifications.items
    assert comment.kind is NotificationKind.COMMENT
    assert (comment.author.display_name, comment.in_reply_to) == (
        "Ada Baker",
        f"{PAGE}_998877665544332",
    )
    assert notifications.next_cursor == "QVFIUjRy"


def test_the_page_follower_count():
    with replay("facebook/page_followers"):
        assert page().fetch_account_metrics().followers == 15230


def test_facebook_login_gives_a_long_lived_token_then_the_pages_it_manages():
    app = OAuthApp(
        "chorus-app", "chorus-secret", "https://chorus.example/channels/oauth/facebook/callback/"
    )
    flow = oauth_flow_for("facebook", app)
    assert isinstance(flow, MetaOAuthFlow)
    pending = flow.start()

    with replay("facebook/login", "facebook/managed_pages"):
        user = flow.finish(pending, {"state": pending.state, "code": "AQBx-code"})
        bakery, careers = connector_for("facebook", user).connectable_accounts()

    assert user.access_token == "EAAlong"
    assert (bakery.author.handle, bakery.author.display_name) == ("chorusbakery", "Chorus Bakery")
    assert bakery.kind == "page"
    assert bakery.credentials.access_token == "EAApage1"
    assert bakery.credentials.extra == {"page_id": PAGE}
    # A Page without a username is known by its id; names are kept as the network gives them.
    assert (careers.author.handle, careers.author.display_name) == (
        "223344556677889",
        "Chorus <Careers>",
    )
    assert "EAApage1" not in repr(bakery)


def test_connecting_a_page_reads_it_with_its_page_token():
    with replay("facebook/page_profile"):
        author = page().connect()

    assert (author.remote_id, author.handle) == (PAGE, "chorusbakery")
    assert author.avatar_url.endswith("bakery.jpg")


SENT_AFTER = datetime(2025, 11, 28, 10, 2, tzinfo=UTC)
WINTER = PostContent(
    text="Our winter menu is out & ready", link=Link("https://chorus-bakery.fr/winter")
)


def test_an_ambiguous_publish_is_found_among_the_pages_posts_since_the_attempt():
    with replay("facebook/published_posts_with_the_lost_one"):
        found = page().find_published("delivery-9", content=WINTER, sent_after=SENT_AFTER)

    # The earliest post with the attempt's text since it began (links and entities aside).
    assert found is not None and found.remote_id == f"{PAGE}_998877665544339"
    assert found.remote_url == "https://www.facebook.com/chorusbakery/posts/pfbid0winter1"
    assert found.published_at == datetime(2025, 11, 28, 10, 30, 2, tzinfo=UTC)


def test_a_publish_that_never_reached_the_page_is_not_found():
    with replay("facebook/published_posts_without_the_lost_one"):
        assert page().find_published("delivery-10", content=WINTER, sent_after=SENT_AFTER) is None


def test_reconciling_without_the_content_sent_stays_ambiguous():
    with pytest.raises(AmbiguousOutcome):
        page().find_published("delivery-11")
