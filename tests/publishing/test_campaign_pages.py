"""The campaigns pages: list, create, edit, a campaign's posts; and the composer's campaign."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.test import Client

from chorus.orgs.access import Actor
from chorus.orgs.models import AuditEntry
from chorus.orgs.roles import Role
from chorus.publishing import services
from chorus.publishing.models import Campaign, Post
from tests.conftest import add_workspace, make_org, member, owner_of
from tests.publishing.helpers import offline_channel, post_to

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_an_editor_creates_a_campaign_from_the_page():
    org = make_org()
    client = logged_in(member(org, Role.EDITOR))
    response = client.post(
        f"/w/{org.slug}/publish/campaigns/",
        {
            "name": "Spring hiring",
            "goal": "Fill twelve positions",
            "starts_on": "2030-03-01",
            "ends_on": "2030-04-30",
            "content_types": ["employer brand", "video"],
            "other_labels": "spring, hiring",
        },
    )
    assert response.status_code == 302
    campaign = Campaign.objects.get(workspace=org)
    assert campaign.name == "Spring hiring"
    assert campaign.ends_on == date(2030, 4, 30)
    assert campaign.labels == ["employer brand", "video", "spring", "hiring"]
    assert AuditEntry.objects.filter(action="campaign.created").exists()
    page = client.get(f"/w/{org.slug}/publish/campaigns/").content.decode()
    assert "Spring hiring" in page and "employer brand, video, spring, hiring" in page


def test_a_campaign_ending_before_it_starts_is_refused_beside_the_field():
    org = make_org()
    client = logged_in(owner_of(org))
    response = client.post(
        f"/w/{org.slug}/publish/campaigns/",
        {"name": "Backwards", "starts_on": "2030-05-01", "ends_on": "2030-04-01"},
    )
    assert response.status_code == 200
    assert "Before the start." in response.content.decode()
    assert not Campaign.objects.exists()
    response = client.post(f"/w/{org.slug}/publish/campaigns/", {"name": ""})
    assert "This field is required." in response.content.decode()


def test_editing_a_campaign_from_its_page():
    org = make_org()
    owner = owner_of(org)
    campaign = services.create_campaign(
        Actor(owner), org, name="Old", starts_on=date(2030, 5, 1), labels=["offer"]
    )
    client = logged_in(owner)
    url = f"/w/{org.slug}/publish/campaigns/{campaign.pk}/"
    form = client.get(url).content.decode()
    assert 'value="Old"' in form and 'value="2030-05-01"' in form
    response = client.post(url, {"name": "New", "content_types": ["customer story"]})
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert (campaign.name, campaign.labels) == ("New", ["customer story"])
    assert AuditEntry.objects.filter(action="campaign.updated").exists()


def test_the_campaign_page_lists_its_posts_and_their_deliveries():
    org = make_org()
    owner = owner_of(org)
    channel = offline_channel(org)
    campaign = services.create_campaign(Actor(owner), org, name="Launch")
    services.create_post(
        Actor(owner),
        org,
        text="In the launch",
        channels=[channel.pk],
        campaign=campaign,
    )
    post_to(owner, org, [channel], datetime(2030, 1, 1, 8, tzinfo=UTC))  # not in it
    client = logged_in(member(org, Role.ANALYST))
    page = client.get(f"/w/{org.slug}/publish/campaigns/{campaign.pk}/").content.decode()
    post = Post.objects.get(text="In the launch")
    assert "In the launch" in page and "Draft" in page
    assert f"/publish/posts/{post.pk}/markets/" in page
    assert f"/publish/calendar/?campaign={campaign.pk}" in page
    assert Post.objects.count() == 2 and page.count('class="card" id="post-') == 1
    listing = client.get(f"/w/{org.slug}/publish/campaigns/").content.decode()
    assert "Draft: 1" in listing


@pytest.mark.parametrize("role", [Role.ANALYST, Role.CONTRIBUTOR])
def test_who_may_not_write_content_sees_campaigns_but_may_not_change_them(role):
    org = make_org()
    campaign = services.create_campaign(Actor(owner_of(org)), org, name="Kept")
    client = logged_in(member(org, role))
    listing = client.get(f"/w/{org.slug}/publish/campaigns/")
    assert listing.status_code == 200 and "New campaign" not in listing.content.decode()
    assert client.post(f"/w/{org.slug}/publish/campaigns/", {"name": "X"}).status_code == 403
    url = f"/w/{org.slug}/publish/campaigns/{campaign.pk}/"
    assert client.post(url, {"name": "Changed"}).status_code == 403
    campaign.refresh_from_db()
    assert campaign.name == "Kept" and Campaign.objects.count() == 1


def test_another_organisations_campaign_is_not_found():
    mine, theirs = make_org(), make_org()
    campaign = services.create_campaign(Actor(owner_of(theirs)), theirs, name="Theirs")
    client = logged_in(owner_of(mine))
    url = f"/w/{mine.slug}/publish/campaigns/{campaign.pk}/"
    assert client.get(url).status_code == 404
    assert client.post(url, {"name": "Mine now"}).status_code == 404
    assert "Theirs" not in client.get(f"/w/{mine.slug}/publish/campaigns/").content.decode()


def test_the_composer_attaches_the_post_to_a_campaign_of_the_workspace_or_its_ancestors():
    org = make_org()
    market = add_workspace(org)
    owner = owner_of(org)
    hq_campaign = services.create_campaign(Actor(owner), org, name="Global launch")
    elsewhere = services.create_campaign(Actor(owner), add_workspace(org), name="Sibling's")
    channel = offline_channel(market)
    client = logged_in(owner)
    form = client.get(f"/w/{market.slug}/publish/new/").content.decode()
    assert "Global launch" in form and "Sibling's" not in form
    fields = {"text": "Bonjour", "channels": [channel.pk], "timezone": "Europe/Paris"}
    refused = client.post(f"/w/{market.slug}/publish/new/", {**fields, "campaign": elsewhere.pk})
    assert refused.status_code == 200 and not Post.objects.exists()
    response = client.post(f"/w/{market.slug}/publish/new/", {**fields, "campaign": hq_campaign.pk})
    assert response.status_code == 302
    assert Post.objects.get().campaign == hq_campaign
    # The HQ campaign is listed in the market, with the market's post.
    listing = logged_in(owner).get(f"/w/{market.slug}/publish/campaigns/").content.decode()
    assert "Global launch" in listing and "Sibling&#x27;s" not in listing
