"""An admin connects a Bluesky account of the local network from the pages and sees it healthy."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from chorus.channels.models import Channel
from tests.conftest import make_org, owner_of
from tests.fixtures.browser import log_in, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_connect_a_bluesky_account_from_the_pages(page: Page, bluesky_network):
    account = bluesky_network.create_account("brand")
    root = make_org(name="Lumen Group", slug="lumen")
    log_in(page, owner_of(root).email)

    page.goto("/w/lumen/channels/")
    expect(page.locator("#channels")).to_contain_text("No account connected yet.")
    page.locator("#connect").get_by_role("link", name="Bluesky").click()
    form = page.locator("#connect-form")
    form.get_by_label("Handle").fill(account.handle)
    form.get_by_label("App password").fill(account.app_password)
    form.get_by_label("Server (PDS)").fill(bluesky_network.pds)
    form.get_by_role("button", name="Connect").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text(f"@{account.handle}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Active")
    expect(page.get_by_text(account.did)).to_be_visible()
    assert account.app_password not in page.content()
    screenshot(page, "channel-detail")

    page.goto("/w/lumen/channels/")
    expect(page.locator("#channels tr", has_text=account.handle)).to_contain_text("Active")
    assert Channel.objects.get().status == Channel.Status.ACTIVE


def test_a_wrong_app_password_is_shown_beside_the_form(page: Page, bluesky_network):
    account = bluesky_network.create_account("brand")
    root = make_org(slug="lumen")
    log_in(page, owner_of(root).email)
    page.goto("/w/lumen/channels/connect/bluesky/")
    form = page.locator("#connect-form")
    form.get_by_label("Handle").fill(account.handle)
    form.get_by_label("App password").fill("not-the-password")
    form.get_by_label("Server (PDS)").fill(bluesky_network.pds)
    form.get_by_role("button", name="Connect").click()
    expect(page.locator(".errorlist")).to_contain_text("refused")
    assert not Channel.objects.exists()
