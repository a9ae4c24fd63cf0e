"""The web shell driven in a real headless Chromium (Debian's build, through Playwright)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core import mail
from playwright.sync_api import Page, expect

from chorus.orgs.models import Invitation, Workspace
from tests.conftest import add_workspace, make_org, make_user, owner_of, token_for
from tests.fixtures.browser import log_in, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


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


def test_build_a_workspace_tree_from_the_settings_page(page: Page):
    root = make_org(name="Lumen Group", slug="lumen")
    log_in(page, owner_of(root).email)
    page.goto("/w/lumen/settings/")
    for parent, name, slug in [("Lumen Group", "Europe", "europe"), ("Europe", "France", "france")]:
        form = page.locator("#new-workspace")
        form.get_by_label("Inside").select_option(label=parent)
        form.get_by_label("Name").fill(name)
        form.get_by_label("Slug").fill(slug)
        form.get_by_label("Time zone").select_option("Europe/Paris")
        form.get_by_role("button", name="Create").click()
        expect(page.get_by_text(f"Workspace {name} created.")).to_be_visible()

    page.goto("/w/lumen/settings/")
    tree = page.locator("#workspace-tree")
    expect(tree).to_contain_text("Europe")
    expect(tree).to_contain_text("France")
    france = Workspace.objects.get(slug="france")
    assert france.parent is not None
    assert (france.parent.slug, france.timezone, france.depth) == ("europe", "Europe/Paris", 2)
    screenshot(page, "workspace-tree")
