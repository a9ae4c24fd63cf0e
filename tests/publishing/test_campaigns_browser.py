"""Creating a campaign, then a post in it, from the pages in a real headless Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from chorus.orgs.roles import Role
from chorus.publishing.models import Campaign, Post
from tests.conftest import make_org, member
from tests.fixtures.browser import log_in, screenshot
from tests.publishing.helpers import offline_channel

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_editor_creates_a_campaign_then_a_post_in_it_in_english_and_french(page: Page):
    org = make_org(name="Lumen Group", slug="lumen")
    channel = offline_channel(org)
    log_in(page, member(org, Role.EDITOR).email)
    page.goto("/w/lumen/publish/")
    page.get_by_role("link", name="Campaigns").click()

    page.get_by_label("Name").fill("Spring hiring")
    page.get_by_label("Goal").fill("Fill twelve positions before summer.")
    page.get_by_label("Starts on").fill("2030-05-01")
    page.get_by_label("Ends on").fill("2030-04-01")
    page.get_by_label("Employer brand").check()
    page.get_by_role("button", name="Create the campaign").click()
    expect(page.get_by_text("Before the start.")).to_be_visible()
    page.get_by_label("Ends on").fill("2030-06-30")
    page.get_by_role("button", name="Create the campaign").click()
    expect(page.get_by_text("The campaign is created.")).to_be_visible()
    campaign = Campaign.objects.get()
    assert campaign.labels == ["employer brand"]

    page.goto("/w/lumen/publish/new/")
    page.get_by_label("Text", exact=True).fill("We are hiring in Lyon")
    page.get_by_label(f"@{channel.handle}", exact=False).check()
    page.get_by_label("Campaign").select_option(label="Spring hiring")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("The post is saved.")).to_be_visible()
    assert Post.objects.get().campaign == campaign

    page.goto("/w/lumen/publish/campaigns/")
    expect(page.locator(f"#campaign-{campaign.pk}")).to_contain_text("Draft: 1")
    screenshot(page, "campaigns-en")
    page.get_by_role("link", name="Spring hiring").click()
    expect(page.get_by_text("We are hiring in Lyon")).to_be_visible()
    screenshot(page, "campaign-en")

    page.goto("/w/lumen/publish/campaigns/")
    page.context.add_cookies([{"name": "django_language", "value": "fr", "url": page.url}])
    page.reload()
    expect(page.get_by_role("link", name="Publications", exact=True)).to_be_visible()
    screenshot(page, "campaigns-fr")
    page.goto(f"/w/lumen/publish/campaigns/{campaign.pk}/")
    screenshot(page, "campaign-fr")
