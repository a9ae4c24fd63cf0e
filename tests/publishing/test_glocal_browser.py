"""The glocal flow in a real headless Chromium: a market adapts HQ's post from its "to adapt"
queue, and HQ follows every market on one screen, in English and in French."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from chorus.orgs.access import Actor
from chorus.orgs.roles import Role
from chorus.publishing import services
from chorus.publishing.timing import Instant
from tests.conftest import add_workspace, make_org, member, owner_of
from tests.fixtures.browser import log_in, screenshot
from tests.publishing.helpers import offline_channel

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_market_adapts_hqs_post_and_hq_sees_every_market(page: Page):
    hq = make_org(name="Lumen Europe", slug="lumen-europe")
    france = add_workspace(hq, "lumen-france", name="Lumen France", default_locale="fr")
    britain = add_workspace(hq, "lumen-uk", name="Lumen UK", default_locale="en")
    services.set_approval_rule(Actor(owner_of(hq)), france, required=True)
    fr, uk = offline_channel(france), offline_channel(britain)
    editor, manager = member(france, Role.EDITOR), member(france, Role.MANAGER)
    post = services.create_post(
        Actor(owner_of(hq)),
        hq,
        text="Our summer menu is here",
        channels=[fr.pk, uk.pk],
        when=Instant(timezone.now() + timedelta(days=2), "Europe/Paris"),
    )

    log_in(page, editor.email)
    page.goto("/w/lumen-france/publish/")
    expect(page.locator("#posts")).not_to_contain_text(uk.handle)  # the other market's part
    page.locator("#to-adapt").get_by_role("link", name="Our summer menu is here").click()
    page.get_by_label("Text in “fr”").fill("Notre menu d'été est là")
    page.get_by_role("button", name="Mark as adapted").click()
    row = page.locator("#markets tr[data-market=lumen-france]")
    expect(row).to_contain_text("Adapted, awaiting approval")
    expect(page.locator("#markets")).not_to_contain_text("Lumen UK")

    page.context.clear_cookies()
    log_in(page, manager.email)
    page.goto(f"/w/lumen-france/publish/posts/{post.pk}/markets/")
    page.locator("#markets").get_by_role("button", name="Approve").click()
    expect(row).to_contain_text("Scheduled")

    page.context.clear_cookies()
    log_in(page, owner_of(hq).email)
    page.goto(f"/w/lumen-europe/publish/posts/{post.pk}/markets/")
    expect(page.locator("#markets tbody tr")).to_have_count(2)
    expect(row).to_contain_text("Notre menu d'été est là")
    expect(page.locator("#markets tr[data-market=lumen-uk]")).to_contain_text("To adapt")
    screenshot(page, "glocal-markets-en")

    page.get_by_label("Language").select_option("fr")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.locator("#markets tbody tr")).to_have_count(2)
    screenshot(page, "glocal-markets-fr")
