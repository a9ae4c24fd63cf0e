"""Instagram content publishing scenarios, replayed from exchanges recorded after the
Instagram Graph API reference: quota, container, status polling, publishing."""

from __future__ import annotations

import pytest

from chorus.networks.base import Credentials, InMemoryStateStore, MediaItem, PostContent
from chorus.networks.errors import AmbiguousOutcome, InvalidContent, RateLimited
from chorus.networks.instagram import InstagramConnector
from chorus.networks.meta import PendingContainer
from chorus.networks.registry import connector_for
from tests.networks.recordings import replay

IG = "17841405822304914"


def account(containers: InMemoryStateStore | None = None) -> InstagramConnector:
    """An Instagram account whose media are served at media.chorus.example, in order."""
    served = iter(range(100))
    extension = {"image/jpeg": "jpg", "video/mp4": "mp4"}
    return InstagramConnector(
        Credentials(access_token="page-token", extra={"ig_user_id": IG}),
        state=containers,
        media_url=lambda item: (
            f"https://media.chorus.example/m/{next(served)}.{extension[item.mime_type]}"
        ),
        sleep=lambda seconds: None,
    )


def image(alt_text: str = "") -> MediaItem:
    return MediaItem(mime_type="image/jpeg", data=b"\xff\xd8\xff\xe0jpeg", alt_text=alt_text)


def video() -> MediaItem:
    return MediaItem(mime_type="video/mp4", data=b"\0" * 64, duration_seconds=12)


def test_an_image_is_published_once_its_container_has_finished_processing():
    connector = InstagramConnector(
        Credentials(access_token="page-token", extra={"ig_user_id": IG}),
        media_url=lambda item: "https://media.chorus.example/m/croissant.jpg",
        sleep=lambda seconds: None,
    )
    content = PostContent(
        text="Morning batch #croissant", media=[image(alt_text="Croissants on a tray")]
    )

    with replay("instagram/publish_image"):
        published = connector.publish(content, "delivery-1")

    assert published.remote_id == "17920238422030506"
    assert published.remote_url == "https://www.instagram.com/p/DAbCdEfGhIj/"


def test_a_spent_daily_quota_refuses_before_creating_anything():
    with replay("instagram/quota_spent"), pytest.raises(RateLimited) as raised:
        account().publish(PostContent(text="One too many", media=[image()]), "delivery-2")

    assert "100 of 100" in str(raised.value)
    assert 0 < raised.value.retry_after_seconds <= 86400


def test_an_image_and_a_video_make_a_carousel_of_finished_children():
    content = PostContent(text="Behind the counter", media=[image(), video()])

    with replay("instagram/publish_carousel_of_image_and_video"):
        published = account().publish(content, "delivery-3")

    assert published.remote_id == "90010778390276"


def test_a_reel_instagram_cannot_process_is_invalid_with_its_status():
    with replay("instagram/reel_fails_processing"), pytest.raises(InvalidContent) as raised:
        account().publish(PostContent(text="Dough time", media=[video()]), "delivery-4")

    assert "2207026" in raised.value.reason


def test_an_expired_instagram_container_is_a_permanent_error():
    with replay("instagram/container_expired"), pytest.raises(InvalidContent) as raised:
        account().publish(PostContent(text="Too late", media=[image()]), "delivery-5")

    assert "expired" in raised.value.reason


def test_the_daily_limit_reached_at_publishing_time_is_a_rate_limit():
    with replay("instagram/daily_limit_reached_at_publish"), pytest.raises(RateLimited):
        account().publish(PostContent(text="Almost", media=[image()]), "delivery-6")


def test_an_unsupported_aspect_ratio_is_refused_with_instagrams_explanation():
    with replay("instagram/unsupported_aspect_ratio"), pytest.raises(InvalidContent) as raised:
        account().publish(PostContent(text="Tall", media=[image()]), "delivery-7")

    assert "aspect ratio ('0.5')" in raised.value.reason


def test_media_without_a_public_url_cannot_be_published():
    connector = InstagramConnector(Credentials(access_token="t", extra={"ig_user_id": IG}))

    with replay("instagram/quota_available"), pytest.raises(InvalidContent) as raised:
        connector.publish(PostContent(text="Local only", media=[image()]), "delivery-8")

    assert "public URL" in raised.value.reason


def test_a_publish_whose_answer_is_lost_is_reconciled_through_its_container():
    containers = InMemoryStateStore()
    connector = account(containers)

    with replay("instagram/publish_timed_out"), pytest.raises(AmbiguousOutcome):
        connector.publish(PostContent(text="Lunch is served", media=[image()]), "delivery-9")
    with replay("instagram/container_published"):
        found = connector.find_published("delivery-9")

    assert found is not None and found.remote_id == "17920238422030599"
    assert found.remote_url == "https://www.instagram.com/p/DAbCdEfGhIz/"


def test_publishing_again_with_the_same_key_publishes_the_container_already_made():
    containers = InMemoryStateStore()
    made = PendingContainer("17889455560051447", "Lunch is served")
    containers.put("container:delivery-10", made._asdict())

    with replay("instagram/container_still_unpublished"):
        published = account(containers).publish(
            PostContent(text="Lunch is served", media=[image()]), "delivery-10"
        )

    assert published.remote_id == "17920238422030599"
    assert containers.values == {}


def test_media_metrics_include_reach_saves_and_views():
    with replay("instagram/media_metrics"):
        metrics = account().fetch_post_metrics(["17920238422030506"])["17920238422030506"]

    assert (metrics.likes, metrics.replies, metrics.reposts) == (212, 14, 9)
    assert (metrics.reach, metrics.saves, metrics.video_views) == (3801, 41, 5230)


def test_the_business_accounts_of_every_managed_page_are_offered_with_their_page_token():
    grant = connector_for("instagram", Credentials(access_token="EAAlong"))

    with replay("instagram/pages_with_business_accounts"):
        bakery, cafe = grant.connectable_accounts()

    # A Page without an Instagram business account offers nothing; the second page of
    # /me/accounts is read too.
    assert (bakery.author.handle, bakery.author.remote_id) == ("chorus.bakery", IG)
    assert bakery.kind == "business_account"
    assert bakery.credentials.access_token == "EAApage1"
    assert bakery.credentials.extra == {"ig_user_id": IG, "page_id": "112233445566778"}
    assert cafe.credentials.extra["ig_user_id"] == "17841400000000003"
