"""The web shell driven in a real headless Chromium (Debian's build, through Playwright)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from playwright.sync_api import Browser, Page, expect, sync_playwright

from chorus.orgs.models import Invitation
from tests.conftest import PASSWORD, add_workspace, make_org, make_user, owner_of, token_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
# Chromium flags for a closed network: no background calls home that would be refused.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Playwright's sync API runs an event loop in this thread; Django's ORM calls from the
    # test body are still synchronous, so allow them.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, live_server) -> Iterator[Page]:
    context = browser.new_context(base_url=live_server.url, locale="en-GB")
    opened = context.new_page()
    yield opened
    context.close()


def screenshot(page: Page, name: str) -> None:
    folder = Path(settings.VAR_DIR) / "screenshots"
    folder.mkdir(exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def log_in(page: Page, email: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_log_in_switch_workspace_and_language(page: Page):
    root = make_org(name="Lumen Group", slug="lumen")
    add_workspace(root, slug="france", name="Lumen France")
    owner = owner_of(root)

    page.goto("/")
    expect(page).to_have_url("/accounts/login/?next=/")
    log_in(page, owner.email)
    expect(page.get_by_role("heading", level=1)).to_have_text("Lumen Group")
    screenshot(page, "dashboard-en")

    page.get_by_label("Workspace").select_option(label="\u00a0\u00a0Lumen France")
    expect(page).to_have_url("/w/france/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Lumen France")

    page.get_by_label("Language").select_option("fr")
    expect(page.get_by_role("link", name="Vue d’ensemble")).to_be_visible()
    expect(
        page.get_by_role("link", name="Réglages").or_(page.get_by_text("Réglages"))
    ).to_be_visible()
    expect(page).to_have_url("/w/france/")
    screenshot(page, "dashboard-fr")


def test_invite_a_member(page: Page):
    root = make_org(name="Lumen Group", slug="lumen")
    log_in(page, owner_of(root).email)
    page.goto("/w/lumen/settings/members/")
    form = page.locator("#invite-form")
    form.get_by_label("E-mail address").fill("new.hire@example.org")
    form.get_by_label("Role").select_option("contributor")
    form.get_by_role("button", name="Send the invitation").click()

    expect(page.get_by_text("Invitation sent to new.hire@example.org.")).to_be_visible()
    row = page.locator("#invitations tr", has_text="new.hire@example.org")
    expect(row).to_contain_text("Contributor")
    expect(row).to_contain_text("Pending")
    assert Invitation.objects.get(email="new.hire@example.org").role == "contributor"
    screenshot(page, "members")


def test_accept_an_invitation_as_a_newcomer(page: Page):
    from chorus.orgs import services
    from chorus.orgs.access import Actor

    root = make_org(name="Lumen Group", slug="lumen")
    services.invite(Actor(owner_of(root)), root, email="newcomer@example.org", role="editor")
    link = mail.outbox[-1].body.split("invitation: ")[1].split()[0]
    page.goto(link.replace(settings.PUBLIC_URL, ""))
    page.get_by_label("Your name").fill("Nora Newcomer")
    page.get_by_label("Choose a password").fill("a-long-and-fine-passphrase")
    page.get_by_role("button", name="Create my account and join").click()
    expect(page.get_by_text("Welcome to Lumen Group.")).to_be_visible()
    expect(page).to_have_url("/w/lumen/")


def test_create_and_revoke_a_token(page: Page):
    user = make_user()
    make_org(owner=user, slug="lumen")
    token_for(user)  # an older token stays active when another is revoked
    log_in(page, user.email)
    page.goto("/account/tokens/")
    page.get_by_label("Name").fill("Looker export")
    page.get_by_role("button", name="Create the token").click()
    secret = page.locator("#token-secret").inner_text()
    assert secret.startswith("chorus_")

    row = page.locator("#tokens tr", has_text="Looker export")
    row.get_by_role("button", name="Revoke").click()
    expect(page.locator("#tokens tr", has_text="Looker export")).to_contain_text("Revoked")
    expect(
        page.locator("#tokens tr", has_text="test").get_by_role("button", name="Revoke")
    ).to_be_visible()
    screenshot(page, "tokens")

    from chorus.orgs.services import authenticate_token

    assert authenticate_token(secret) is None
