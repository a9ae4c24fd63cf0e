"""The account picker in a real headless Chromium: choose, get told when nothing is chosen,
confirm, and find the channel on the Channels page; in English and French."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from chorus.channels.models import PendingConnection
from chorus.networks.base import Author, ConnectableAccount, Credentials
from chorus.orgs.models import User, Workspace
from tests.conftest import make_org, owner_of
from tests.fixtures.browser import log_in, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def held_grant(user: User, workspace: Workspace, token: str) -> str:
    pending = PendingConnection(
        token=token,
        user=user,
        workspace=workspace,
        network="facebook",
        expires_at=timezone.now() + timedelta(minutes=15),
    )
    pending.set_accounts(
        [
            ConnectableAccount(
                Author(handle=handle, display_name=name, remote_id=page_id),
                Credentials(access_token=f"token-{page_id}", extra={"page_id": page_id}),
                kind="page",
            )
            for handle, name, page_id in (
                ("chorusbakery", "Chorus Bakery", "112233445566778"),
                ("223344556677889", "Chorus <Careers>", "223344556677889"),
            )
        ]
    )
    pending.save()
    return f"/w/{workspace.slug}/channels/oauth/pick/{token}/"


def test_picking_the_pages_to_connect(page: Page):
    root = make_org(name="Lumen Group", slug="lumen")
    owner = owner_of(root)
    log_in(page, owner.email)

    page.goto(held_grant(owner, root, "grant-en"))
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Choose the Facebook accounts to connect"
    )
    expect(page.get_by_text("Chorus <Careers>")).to_be_visible()  # shown as text, escaped
    page.get_by_role("button", name="Connect the chosen accounts").click()
    expect(page.get_by_role("alert")).to_contain_text("Choose at least one account")
    screenshot(page, "account-picker-en")

    page.get_by_role("checkbox", name="Chorus Bakery").check()
    page.get_by_role("button", name="Connect the chosen accounts").click()

    expect(page).to_have_url("/w/lumen/channels/")
    expect(page.locator("#channels")).to_contain_text("@chorusbakery")
    expect(page.locator("#channels")).not_to_contain_text("Chorus <Careers>")

    page.get_by_label("Language").select_option("fr")
    expect(page.get_by_role("link", name="Vue d’ensemble")).to_be_visible()
    page.goto(held_grant(owner, root, "grant-fr"))
    expect(page.get_by_role("link", name="Vue d’ensemble")).to_be_visible()
    screenshot(page, "account-picker-fr")
    page.locator("button[name=discard]").click()
    expect(page).to_have_url("/w/lumen/channels/")
    assert not PendingConnection.objects.exists()
