"""The composer and the Publish page in a real headless Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import make_org, owner_of
from tests.fixtures.browser import log_in, screenshot
from tests.publishing.helpers import offline_channel

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_compose_with_a_live_length_count_then_see_the_post_scheduled(page: Page):
    org = make_org(name="Lumen Group", slug="lumen")
    channel = offline_channel(org)
    log_in(page, owner_of(org).email)
    page.goto("/w/lumen/publish/")
    page.get_by_role("link", name="New post").click()

    page.get_by_label("Text").fill("a" * 301)
    expect(page.locator("#counts tr.over", has_text="Bluesky")).to_contain_text("301 / 300")
    page.get_by_label("Text").fill("Summer is here")
    expect(page.locator("#counts tr", has_text="Bluesky")).to_contain_text("14 / 300")
    page.get_by_label(f"@{channel.handle}", exact=False).check()
    page.get_by_label("Publish at").fill("2030-06-01T09:00")
    page.get_by_label("Time zone").select_option("Europe/Paris")
    screenshot(page, "publish-composer")
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_text("The post is saved.")).to_be_visible()
    expect(page.locator("#posts")).to_contain_text("Summer is here")
    expect(page.locator("#posts .badge")).to_have_text("Scheduled")
    screenshot(page, "publish-list")
