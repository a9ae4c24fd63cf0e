"""Variants override text, media, link, hashtags, first comment and thread, and inherit the rest;
what HQ locks, its markets keep."""

from __future__ import annotations

import pytest

from chorus.errors import Invalid
from chorus.orgs.access import Actor
from chorus.orgs.roles import Role
from chorus.publishing import services
from chorus.publishing.models import Delivery
from tests.conftest import make_org, member, owner_of, token_for
from tests.publishing.helpers import offline_channel
from tests.publishing.media_helpers import MENTION, global_post_with_locks, library_image

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def content_on(channel):
    delivery = Delivery.objects.select_related("variant__post").get(channel=channel)
    return services.content_for(delivery.variant, channel.network)


def test_each_network_gets_its_overrides_and_inherits_the_rest():
    org = make_org()
    boss = owner_of(org)
    beach, logo = library_image(org, boss, "A beach"), library_image(org, boss, "Our logo")
    bluesky, linkedin, mastodon = (
        offline_channel(org, n) for n in ("bluesky", "linkedin", "mastodon")
    )

    services.create_post(
        Actor(boss),
        org,
        text="Summer sale",
        channels=[bluesky.pk, linkedin.pk, mastodon.pk],
        media=[beach.pk],
        link={"url": "https://shop.example/summer", "title": "Summer"},
        hashtags=["summer"],
        first_comment="Details on our site",
        thread=["Every shop, every day"],
        variants=[
            services.VariantSpec(
                network="bluesky", text="Summer sale, Bluesky!", hashtags=["bsky"]
            ),
            services.VariantSpec(network="linkedin", media=[logo.pk]),
        ],
    )

    on_bluesky = content_on(bluesky)
    assert on_bluesky.text == "Summer sale, Bluesky!\n\n#bsky"
    assert [(m.alt_text, m.width) for m in on_bluesky.media] == [("A beach", 4)]
    assert on_bluesky.link is not None and on_bluesky.link.url == "https://shop.example/summer"
    assert [part.text for part in on_bluesky.thread] == ["Every shop, every day"]
    assert on_bluesky.first_comment is None  # Bluesky has no first comment

    on_linkedin = content_on(linkedin)
    assert on_linkedin.text == "Summer sale\n\n#summer"
    assert [m.alt_text for m in on_linkedin.media] == ["Our logo"]
    assert on_linkedin.thread == ()  # no threads on LinkedIn: the first post goes alone
    assert on_linkedin.first_comment == "Details on our site"

    on_mastodon = content_on(mastodon)
    assert (on_mastodon.text, [m.alt_text for m in on_mastodon.media]) == (
        "Summer sale\n\n#summer",
        ["A beach"],
    )


def test_a_hashtag_already_in_the_text_is_not_added_twice():
    assert (
        services.text_with_hashtags("Hello #Summer", ["summer", "sea"]) == "Hello #Summer\n\n#sea"
    )


def test_a_market_cannot_change_what_hq_locked_nor_drop_the_mandatory_mention():
    _org, france, _post, local, other = global_post_with_locks()
    market = Actor(member(france, Role.EDITOR))

    with pytest.raises(Invalid) as refused:
        services.update_variant(
            market,
            local,
            services.VariantSpec(
                text=f"Soldes d'été. {MENTION}",
                link={"url": "https://shop.example/fr"},
                media=[other.pk],
            ),
        )
    assert set(refused.value.fields) == {"link", "media"}
    assert "The link is locked by" in refused.value.fields["link"]
    with pytest.raises(Invalid) as refused:
        services.update_variant(market, local, services.VariantSpec(text="Soldes d'été !"))
    assert "mandatory mention" in refused.value.fields["text"]

    services.update_variant(
        market, local, services.VariantSpec(text=f"Soldes d'été. {MENTION}", hashtags=["soldes"])
    )
    local.refresh_from_db()
    assert (local.text, local.hashtags) == (f"Soldes d'été. {MENTION}", ["soldes"])


def test_hq_may_change_a_locked_field_of_a_markets_variant():
    org, _france, _post, local, other = global_post_with_locks()

    services.update_variant(
        Actor(owner_of(org)),
        local,
        services.VariantSpec(text=f"Soldes. {MENTION}", media=[other.pk]),
    )

    content = services.content_for(local, "bluesky")
    assert [item.alt_text for item in content.media] == ["Other"]


def test_the_api_refuses_a_locked_field_from_a_market_with_its_path(api):
    _org, france, _post, local, _other = global_post_with_locks()
    token = token_for(member(france, Role.EDITOR))

    response = api(
        "patch",
        f"/variants/{local.pk}",
        token=token,
        json={"text": f"Soldes. {MENTION}", "link": {"url": "https://elsewhere.example"}},
    )

    assert response.status_code == 422
    assert [f["path"] for f in response.json()["error"]["fields"]] == ["link"]


def test_every_wrong_field_of_a_post_is_reported_with_its_path(api):
    org = make_org()
    channel = offline_channel(org)
    response = api(
        "post",
        "/posts",
        token=token_for(owner_of(org)),
        json={
            "workspace": org.slug,
            "text": "Hello",
            "channels": [channel.pk],
            "link": {"url": "ftp://files.example"},
            "thread": ["Next", "  "],
            "locked_fields": ["colour"],
            "mandatory_mention": "Terms apply.",
            "variants": [{"network": "bluesky", "media": [999999], "hashtags": ["two words"]}],
        },
    )

    assert response.status_code == 422
    paths = {field["path"] for field in response.json()["error"]["fields"]}
    assert paths == {
        "link.url",
        "thread[1]",
        "locked_fields[0]",
        "text",
        "variants[0].media[0]",
        "variants[0].hashtags[0]",
        "variants[0].text",
    }


def test_a_thread_part_too_long_for_a_network_says_which_part(api):
    org = make_org()
    channel = offline_channel(org)
    response = api(
        "post",
        "/posts",
        token=token_for(owner_of(org)),
        json={
            "workspace": org.slug,
            "text": "Hello",
            "channels": [channel.pk],
            "thread": ["Fine", "x" * 301],
        },
    )

    assert response.status_code == 422
    fields = response.json()["error"]["fields"]
    assert fields[0]["path"] == "channels[0].thread[1].text"
    assert "301" in fields[0]["message"]


def test_the_api_shows_the_master_and_each_variants_own_fields(api):
    org = make_org()
    boss = owner_of(org)
    image = library_image(org, boss)
    channel = offline_channel(org)
    created = api(
        "post",
        "/posts",
        token=token_for(boss),
        json={
            "workspace": org.slug,
            "text": "Hello",
            "channels": [channel.pk],
            "media": [image.pk],
            "hashtags": ["#hello"],
            "variants": [{"network": "bluesky", "thread": ["More"]}],
        },
    ).json()

    assert (created["media"], created["hashtags"]) == ([image.pk], ["hello"])
    bluesky = next(v for v in created["variants"] if v["network"] == "bluesky")
    assert (bluesky["thread"], bluesky["media"], bluesky["text"]) == (["More"], [], "")
