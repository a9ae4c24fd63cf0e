"""Connecting a Bluesky account through its PDS's OAuth sign-in, end to end: the Channels page
sends the browser to the real local PDS (``bluesky_network``), a person signs in and grants
access on the PDS's own pages, and the channel then publishes, reads and refreshes its tokens
with DPoP-bound credentials."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from chorus.channels import services
from chorus.channels.bluesky_views import PENDING_KEY
from chorus.channels.models import Channel
from chorus.networks.base import NotificationKind, PostContent
from chorus.networks.devnet.manager import DevAccount
from chorus.orgs.access import Actor
from chorus.orgs.models import AuditEntry
from tests.conftest import make_org, make_user, member, owner_of
from tests.fixtures.bluesky import BlueskyNetwork
from tests.fixtures.browser import log_in, screenshot
from tests.networks.polling import eventually
from tests.networks.test_bluesky import connector, read_record

pytestmark = [pytest.mark.bluesky, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def chorus_url(live_server, settings, bluesky_network: BlueskyNetwork) -> str:
    """Chorus on 127.0.0.1 (a loopback OAuth client), resolving identities on the local network."""
    url = live_server.url.replace("://localhost", "://127.0.0.1")
    settings.PUBLIC_URL = url
    settings.BLUESKY_PLC_URL = bluesky_network.urls.plc
    settings.BLUESKY_HANDLE_RESOLVER_URL = bluesky_network.pds
    return url


@pytest.fixture
def loopback_page(browser: Browser, chorus_url: str) -> Iterator[Page]:
    context = browser.new_context(base_url=chorus_url, locale="en-GB")
    yield context.new_page()
    context.close()


def grant_on_the_pds(page: Page, account: DevAccount) -> None:
    """Sign in and authorize Chorus on the PDS's own pages (the handle is filled from the hint)."""
    page.get_by_role("textbox", name="Password").fill(account.password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Authorize").click()


@pytest.mark.browser
def test_an_admin_reconnects_a_bluesky_account_through_its_servers_oauth_sign_in(
    loopback_page: Page, bluesky_network: BlueskyNetwork
):
    """An account connected with an app password that needs reconnecting moves to OAuth."""
    page = loopback_page
    account = bluesky_network.create_account("oauth")
    root = make_org(slug="lumen")
    owner = owner_of(root)
    before = services.connect_bluesky(
        Actor(owner),
        root,
        handle=account.handle,
        app_password=account.app_password,
        service_url=bluesky_network.pds,
    )
    services.mark_reconnect_needed(before, "app password revoked")
    log_in(page, owner.email)

    page.goto(f"/w/lumen/channels/{before.pk}/")
    page.get_by_role("link", name="Reconnect").click()
    form = page.locator("#bluesky-oauth-form")
    form.get_by_label("Handle or server").fill(account.handle)
    screenshot(page, "bluesky-oauth-connect")
    form.get_by_role("button", name="Sign in with Bluesky").click()
    assert page.url.startswith(f"{bluesky_network.pds}/oauth/authorize?")
    screenshot(page, "bluesky-oauth-pds-sign-in")
    grant_on_the_pds(page, account)

    expect(page).to_have_url(re.compile(r"/w/lumen/channels/\d+/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"@{account.handle}")
    expect(page.get_by_text(f"Bluesky @{account.handle} is connected.")).to_be_visible()
    channel = Channel.objects.get()
    assert channel.pk == before.pk
    assert (channel.status, channel.remote_id, channel.service_url) == (
        Channel.Status.ACTIVE,
        account.did,
        bluesky_network.pds,
    )
    credentials = channel.credentials
    assert credentials.extra["auth"] == "oauth" and credentials.token_type == "DPoP"
    assert {"atproto", "transition:generic"} <= set(channel.scopes)
    assert credentials.access_token not in channel.credentials_ciphertext
    assert '"d"' in credentials.extra["dpop_key"]  # the private key, kept only encrypted
    entry = AuditEntry.objects.get(action="channel.reconnected")
    assert (entry.actor, entry.details["handle"]) == (owner, account.handle)

    published = services.call(
        channel, lambda bluesky: bluesky.publish(PostContent(text="Hello over OAuth"), "oauth-1")
    )
    assert read_record(bluesky_network, published.remote_id).value.text == "Hello over OAuth"

    fan = connector(bluesky_network, "fan")
    fan.publish(PostContent(text=f"Welcome @{account.handle}!"), "welcome-1")
    mentions = eventually(
        lambda: services.call(channel, lambda bluesky: bluesky.fetch_notifications()).items,
        until=lambda items: any(item.kind is NotificationKind.MENTION for item in items),
    )
    assert mentions[0].author.handle == fan.credentials.extra["handle"]

    page.goto("/w/lumen/channels/connect/bluesky/")
    page.get_by_label("Language").select_option("fr")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.locator("#bluesky-oauth-form")).to_be_visible()
    screenshot(page, "bluesky-oauth-connect-fr")


def connect_through_oauth(page: Page, network: BlueskyNetwork, slug: str) -> Channel:
    account = network.create_account("oauth")
    root = make_org(slug=slug)
    log_in(page, owner_of(root).email)
    page.goto(f"/w/{slug}/channels/connect/bluesky/")
    # A server address instead of a handle: the person names the account on the server.
    page.get_by_label("Handle or server").fill(network.pds)
    page.get_by_role("button", name="Sign in with Bluesky").click()
    page.get_by_role("button", name="Sign in").click()  # on the PDS's welcome page
    page.get_by_role("textbox", name="Username or Email").fill(account.handle)
    grant_on_the_pds(page, account)
    expect(page).to_have_url(re.compile(rf"/w/{slug}/channels/\d+/$"))
    assert AuditEntry.objects.filter(action="channel.connected").count() == 1
    return Channel.objects.get(remote_id=account.did)


@pytest.mark.browser
def test_tokens_are_refreshed_ahead_of_expiry_and_when_already_expired(
    loopback_page: Page, bluesky_network: BlueskyNetwork
):
    channel = connect_through_oauth(loopback_page, bluesky_network, "lumen")
    first = channel.credentials

    # The periodic job: Bluesky's hour-long tokens are renewed 20 minutes ahead.
    Channel.objects.filter(pk=channel.pk).update(
        token_expires_at=timezone.now() + timedelta(minutes=30)
    )
    assert services.refresh_expiring() == 0
    Channel.objects.filter(pk=channel.pk).update(
        token_expires_at=timezone.now() + timedelta(minutes=5)
    )
    assert services.refresh_expiring() == 1
    channel.refresh_from_db()
    second = channel.credentials
    assert second.access_token != first.access_token
    assert second.refresh_token != first.refresh_token  # atproto rotates refresh tokens
    assert channel.token_expires_at is not None
    assert channel.token_expires_at > timezone.now() + timedelta(minutes=50)

    # A token found expired when a call is made is refreshed by the connector, and saved.
    channel.set_credentials(replace(second, expires_at=timezone.now() - timedelta(minutes=1)))
    channel.save()
    published = services.call(
        channel, lambda bluesky: bluesky.publish(PostContent(text="After expiry"), "expired-1")
    )
    assert read_record(bluesky_network, published.remote_id).value.text == "After expiry"
    channel.refresh_from_db()
    assert channel.credentials.access_token not in {first.access_token, second.access_token}
    assert channel.token_expires_at is not None
    assert channel.token_expires_at > timezone.now() + timedelta(minutes=50)
    assert channel.status == Channel.Status.ACTIVE


# The pages around the flow --------------------------------------------------------------------


def test_the_client_metadata_document_describes_chorus(client, settings):
    settings.PUBLIC_URL = "https://chorus.example"
    response = client.get("/channels/oauth/bluesky/client-metadata.json")
    assert response.status_code == 200
    assert response.json() == {
        "client_id": "https://chorus.example/channels/oauth/bluesky/client-metadata.json",
        "client_name": "Chorus",
        "client_uri": "https://chorus.example",
        "redirect_uris": ["https://chorus.example/channels/oauth/bluesky/callback/"],
        "scope": "atproto transition:generic",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        "application_type": "web",
        "dpop_bound_access_tokens": True,
    }


def test_an_unknown_handle_is_said_on_the_form(client, chorus_url):
    root = make_org(slug="lumen")
    client.force_login(owner_of(root))
    response = client.post("/w/lumen/channels/oauth/bluesky/", {"account": "nobody.test"})
    assert response.status_code == 400
    assert "@nobody.test is unknown" in response.content.decode()


def test_only_people_who_manage_the_workspace_may_start(client, chorus_url):
    root = make_org(slug="lumen")
    client.force_login(member(root, "editor"))
    response = client.post("/w/lumen/channels/oauth/bluesky/", {"account": "someone.test"})
    assert response.status_code == 403
    client.force_login(make_user())
    response = client.post("/w/lumen/channels/oauth/bluesky/", {"account": "someone.test"})
    assert response.status_code == 404


def pending_in_session(client, *, user, started_at: float) -> None:
    session = client.session
    session[PENDING_KEY.format(state="the-state")] = {
        "user": user.pk,
        "workspace": "lumen",
        "started_at": started_at,
        "pending": {"authorization_url": "", "state": "the-state", "extra": {}},
    }
    session.save()


@pytest.mark.parametrize(("whose", "age_seconds"), [("forged", 0), ("other", 0), ("own", 16 * 60)])
def test_a_forged_foreign_or_stale_callback_connects_nothing(client, whose, age_seconds):
    root = make_org(slug="lumen")
    owner = owner_of(root)
    client.force_login(owner)
    pending_in_session(
        client,
        user=make_user() if whose == "other" else owner,
        started_at=time.time() - age_seconds,
    )
    state = "forged" if whose == "forged" else "the-state"
    response = client.get(
        "/channels/oauth/bluesky/callback/", {"state": state, "code": "cod-1", "iss": "x"}
    )
    assert response.status_code == 400
    assert not Channel.objects.exists()
    if whose != "forged":  # the state was spent, whatever the outcome
        assert PENDING_KEY.format(state="the-state") not in client.session
