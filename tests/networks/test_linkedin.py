"""LinkedIn scenarios, replayed from exchanges recorded after the Posts API reference."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chorus.networks.base import Credentials, Link, MediaItem, PostContent
from chorus.networks.errors import (
    AmbiguousOutcome,
    AuthError,
    InvalidContent,
    RateLimited,
    TransientError,
    Unsupported,
)
from chorus.networks.linkedin import LinkedInConnector, little_text
from chorus.networks.registry import connector_for
from tests.networks.recordings import replay

ORG = "urn:li:organization:2414183"


def page(author: str = ORG, saved: list[Credentials] | None = None) -> LinkedInConnector:
    credentials = Credentials(
        access_token="li-access-1",
        refresh_token="li-refresh-1",
        extra={"author_urn": author, "client_id": "li-app", "client_secret": "li-secret"},
    )
    made = connector_for(
        "linkedin", credentials, on_credentials_change=saved.append if saved is not None else None
    )
    assert isinstance(made, LinkedInConnector)
    return made


def test_an_organisation_post_is_created_and_its_id_read_from_the_restli_header():
    with replay("linkedin/organization_post"):
        published = page().publish(
            PostContent(text="We are hiring bakers #jobs (Lyon)"), "delivery-1"
        )

    assert published.remote_id == "urn:li:share:6844785523593134080"
    assert published.remote_url.endswith("/feed/update/urn:li:share:6844785523593134080/")


def test_an_image_is_uploaded_to_the_url_linkedin_gives_then_posted():
    image = MediaItem(
        mime_type="image/png", data=b"\x89PNG\r\n\x1a\nabcd", alt_text="Our Lyon team"
    )

    with replay("linkedin/image_post"):
        published = page().publish(PostContent(text="Meet the team", media=[image]), "delivery-2")

    assert published.remote_id == "urn:li:share:6844785523593134081"


def test_a_job_shared_from_a_page_is_an_article_post_by_the_organisation():
    job = Link(
        "https://www.linkedin.com/jobs/view/3912345678/",
        title="Head Baker – Lyon",
        description="Full time, from January",
    )

    with replay("linkedin/job_shared_from_page"):
        published = page().publish(
            PostContent(text="Join our Lyon bakery team", link=job), "delivery-3"
        )

    assert published.remote_id == "urn:li:share:6844785523593134082"


def test_a_401_refreshes_the_token_once_and_retries():
    saved: list[Credentials] = []

    with replay("linkedin/expired_token_refreshed"):
        page(saved=saved).publish(PostContent(text="Hello"), "delivery-4")

    assert (saved[-1].access_token, saved[-1].refresh_token) == ("li-access-2", "li-refresh-1")


def test_a_daily_throttle_without_retry_after_waits_until_midnight_utc():
    with replay("linkedin/throttled"), pytest.raises(RateLimited) as raised:
        page().publish(PostContent(text="Hello"), "delivery-5")

    assert 0 < raised.value.retry_after_seconds <= 24 * 3600


def test_a_duplicate_post_is_refused_permanently_with_linkedins_message():
    with replay("linkedin/duplicate_post"), pytest.raises(InvalidContent) as raised:
        page().publish(PostContent(text="Hello"), "delivery-6")

    assert raised.value.reason == "Content is a duplicate of urn:li:share:6844785523593134080"


def test_a_gateway_timeout_is_transient():
    with replay("linkedin/server_error"), pytest.raises(TransientError):
        page().publish(PostContent(text="Hello"), "delivery-7")


def test_a_member_who_no_longer_administers_the_page_must_reconnect():
    with replay("linkedin/not_an_admin"), pytest.raises(AuthError):
        page().publish(PostContent(text="Hello"), "delivery-8")


def test_a_post_is_commented_liked_and_deleted_by_its_urn():
    share = "urn:li:share:6844785523593134080"

    with replay("linkedin/comment_like_delete"):
        connector = page()
        comment = connector.reply(share, PostContent(text="Thanks for applying!"), "reply-1")
        connector.like(share)
        connector.delete(share)

    assert comment.remote_id.startswith("urn:li:comment:(urn:li:activity:")


def test_post_metrics_leave_out_a_post_that_no_longer_exists():
    with replay("linkedin/social_metrics"):
        metrics = page().fetch_post_metrics(["urn:li:share:6844785523593134080", "urn:li:share:1"])

    assert list(metrics) == ["urn:li:share:6844785523593134080"]
    assert (
        metrics["urn:li:share:6844785523593134080"].likes,
        metrics["urn:li:share:6844785523593134080"].replies,
    ) == (93, 7)


def test_an_organisation_reports_its_followers_and_a_member_cannot():
    with replay("linkedin/organization_followers"):
        assert page().fetch_account_metrics().followers == 48213

    with pytest.raises(Unsupported):
        page(author="urn:li:person:8675309").fetch_account_metrics()


def test_little_text_escapes_reserved_characters_and_keeps_hashtags():
    assert little_text("Hi @all [draft] #launch_day *now*") == (
        "Hi \\@all \\[draft\\] {hashtag|\\#|launch\\_day} \\*now\\*"
    )


def test_a_member_is_offered_with_the_organisation_pages_they_administer():
    with replay("linkedin/member_and_administered_pages"):
        member, bakery = page(author="").connectable_accounts()

    assert (member.author.remote_id, member.kind) == ("urn:li:person:782bbtaQ", "profile")
    assert member.credentials.extra["author_urn"] == "urn:li:person:782bbtaQ"
    assert (bakery.author.remote_id, bakery.kind) == (ORG, "organisation_page")
    assert (bakery.author.handle, bakery.author.display_name) == (
        "chorus-bakery",
        "Chorus Bakery <Lyon>",
    )
    # Same token, acting as the page.
    assert bakery.credentials.access_token == "li-access-1"
    assert bakery.credentials.extra["author_urn"] == ORG


def test_connecting_an_organisation_page_reads_the_organisation_not_the_member():
    with replay("linkedin/organization_profile"):
        author = page().connect()

    assert (author.remote_id, author.handle) == (ORG, "chorus-bakery")


SENT_AFTER = datetime(2025, 11, 28, 10, 2, tzinfo=UTC)
HIRING = PostContent(text="We are hiring bakers #jobs (Lyon)")


def test_an_ambiguous_publish_is_found_among_the_authors_posts_since_the_attempt():
    with replay("linkedin/recent_posts_with_the_lost_one"):
        found = page().find_published("delivery-20", content=HIRING, sent_after=SENT_AFTER)

    # The same words posted before the attempt began are another post.
    assert found is not None and found.remote_id == "urn:li:share:6844785523593134099"
    assert (
        found.remote_url == "https://www.linkedin.com/feed/update/urn:li:share:6844785523593134099/"
    )


def test_a_linkedin_publish_that_never_arrived_is_not_found():
    with replay("linkedin/recent_posts_without_the_lost_one"):
        assert page().find_published("delivery-21", content=HIRING, sent_after=SENT_AFTER) is None


def test_a_members_posts_cannot_be_read_without_the_scope_so_the_outcome_stays_open():
    with pytest.raises(AmbiguousOutcome):
        page(author="urn:li:person:782bbtaQ").find_published(
            "delivery-22", content=HIRING, sent_after=SENT_AFTER
        )
