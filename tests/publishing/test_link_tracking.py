"""A campaign's link-tracking parameters reach the link of each of its posts, per network."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from chorus.errors import Invalid
from chorus.orgs.access import Actor
from chorus.orgs.roles import Role
from chorus.publishing import ledger, services
from chorus.publishing.models import Campaign
from chorus.publishing.timing import Instant
from chorus.publishing.tracking import tracked
from tests.conftest import make_org, member, owner_of, token_for
from tests.publishing.helpers import offline_channel

pytestmark = pytest.mark.django_db


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def test_parameters_are_added_and_the_authors_own_values_win():
    url = tracked(
        "https://shop.example/menu?utm_medium=email&id=7#summer",
        "utm_source={network}&utm_medium=social&utm_campaign=summer",
        "linkedin",
    )
    assert urlsplit(url).fragment == "summer"
    assert query_of(url) == {
        "id": ["7"],
        "utm_medium": ["email"],
        "utm_source": ["linkedin"],
        "utm_campaign": ["summer"],
    }


@pytest.mark.parametrize("written", ["utm_source", "=social", "a=1&&b", "utm_source="])
def test_parameters_a_link_cannot_carry_are_refused_with_the_field(written):
    org = make_org()
    with pytest.raises(Invalid) as refused:
        services.create_campaign(Actor(owner_of(org)), org, name="Summer", link_tracking=written)
    assert "link_tracking" in refused.value.fields
    assert not Campaign.objects.exists()


def test_a_post_of_the_campaign_goes_out_with_its_tracked_link(network, monkeypatch):
    org = make_org()
    owner = owner_of(org)
    campaign = services.create_campaign(
        Actor(owner), org, name="Summer", link_tracking="utm_source={network}&utm_campaign=summer"
    )
    due = timezone.now() + timedelta(minutes=5)
    services.create_post(
        Actor(owner),
        org,
        text="Our summer menu",
        channels=[offline_channel(org).pk],
        when=Instant(due, "UTC"),
        campaign=campaign,
        link={"url": "https://shop.example/menu", "title": "Menu"},
    )
    sent = []
    publish = network.publish

    def publish_and_keep(content, key):
        sent.append(content)
        return publish(content, key)

    monkeypatch.setattr(network, "publish", publish_and_keep)
    ledger.run_due(now=due)
    assert [query_of(content.link.url) for content in sent] == [
        {"utm_source": ["bluesky"], "utm_campaign": ["summer"]}
    ]


def test_an_editor_sets_the_tracking_on_the_campaign_page_and_a_wrong_one_is_shown_beside_it():
    org = make_org()
    client = Client()
    client.force_login(member(org, Role.EDITOR))
    refused = client.post(
        f"/w/{org.slug}/publish/campaigns/", {"name": "Summer", "link_tracking": "utm_source"}
    )
    assert refused.status_code == 200
    assert "utm_source={network}&amp;utm_medium=social." in refused.content.decode()
    assert not Campaign.objects.exists()
    client.post(
        f"/w/{org.slug}/publish/campaigns/",
        {"name": "Summer", "link_tracking": "utm_source={network}&utm_medium=social"},
    )
    assert Campaign.objects.get().link_tracking == "utm_source={network}&utm_medium=social"


def test_the_api_keeps_the_campaigns_tracking(api):
    org = make_org()
    token = token_for(owner_of(org))
    created = api(
        "post",
        "/campaigns",
        token=token,
        json={"workspace": org.slug, "name": "Summer", "link_tracking": "utm_source={network}"},
    )
    assert created.status_code == 201
    assert created.json()["link_tracking"] == "utm_source={network}"
    refused = api(
        "post",
        "/campaigns",
        token=token,
        json={"workspace": org.slug, "name": "Winter", "link_tracking": "x"},
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["fields"][0]["path"] == "link_tracking"
