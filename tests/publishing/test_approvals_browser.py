"""The approval rule page and the composer's "send as is" in a real headless Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from chorus.orgs.roles import Role
from chorus.publishing import services
from chorus.publishing.models import Post
from tests.conftest import add_workspace, make_org, member, owner_of
from tests.fixtures.browser import log_in, screenshot
from tests.publishing.helpers import offline_channel, states

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_owner_names_the_approvers_of_a_step(page: Page):
    org = make_org(name="Lumen Group", slug="lumen")
    named = member(org, Role.MANAGER, email="chloe@lumen.test")
    member(org, Role.MANAGER, email="marc@lumen.test")
    log_in(page, owner_of(org).email)
    page.goto("/w/lumen/publish/")
    page.get_by_role("link", name="Approval rule").click()
    expect(page.locator("#current-rule")).to_contain_text("No approval required")

    page.get_by_label("Required, in these steps").check()
    page.locator("#step-1-kind").select_option("members")
    page.locator("#step-1").get_by_label("chloe@lumen.test").check()
    page.locator("#step-2-kind").select_option("admin")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#current-rule")).to_contain_text("Signed off by one of: chloe@lumen.test")
    expect(page.locator("#current-rule")).to_contain_text("Admin or a stronger role")
    assert services.approval_tiers(org) == [{"members": [named.pk]}, "admin"]
    screenshot(page, "approval-rule-en")

    page.get_by_label("Language").select_option("fr")
    expect(page.get_by_role("link", name="Vue d’ensemble")).to_be_visible()
    screenshot(page, "approval-rule-fr")


def test_send_as_is_shows_once_a_markets_channel_is_ticked(page: Page):
    hq = make_org(name="Lumen Group", slug="lumen")
    market = add_workspace(hq, name="France", slug="lumen-fr")
    own, local = offline_channel(hq), offline_channel(market)
    log_in(page, owner_of(hq).email)
    page.goto("/w/lumen/publish/new/")
    send_as_is = page.get_by_label("Send as is to the markets (no local adaptation)")
    page.get_by_label(f"@{own.handle}", exact=False).check()
    expect(send_as_is).to_be_hidden()
    page.get_by_label(f"@{local.handle}", exact=False).check()
    expect(send_as_is).to_be_visible()
    send_as_is.check()
    page.get_by_label("Text", exact=True).fill("Summer is here")
    screenshot(page, "composer-send-as-is")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("The post is saved.")).to_be_visible()
    post = Post.objects.get()
    assert states(post) == ["draft", "draft"]  # no copy to adapt: the markets take it as is
