"""Connecting Facebook Pages, Instagram business accounts, Threads profiles and LinkedIn pages:
after the OAuth grant the user picks which accounts become channels.

The networks answer as their API references document, replayed from the recordings of
``tests/networks/recordings`` (Facebook Login, /me/accounts, Threads /me, LinkedIn ACLs).
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from chorus.channels import services
from chorus.channels.models import Channel, PendingConnection
from chorus.networks.base import Author, ConnectableAccount, Credentials
from chorus.orgs.access import Actor
from chorus.orgs.models import AuditEntry, Workspace
from chorus.orgs.roles import Role
from tests.conftest import add_workspace, make_org, member, owner_of
from tests.networks.recordings import replay

pytestmark = pytest.mark.django_db
PAGE = "112233445566778"


@pytest.fixture
def apps(settings):
    settings.OAUTH_APPS = {
        "facebook": {"client_id": "chorus-app", "client_secret": "chorus-secret", "scopes": []},
        "threads": {"client_id": "threads-app", "client_secret": "threads-secret", "scopes": []},
    }
    settings.PUBLIC_URL = "https://chorus.example"


def granted(client: Client, network: str, code: str, *recordings: str) -> str:
    """Goes to the network and back with ``code``; where the callback sends the browser."""
    start = client.get(f"/w/lumen/channels/oauth/{network}/")
    assert start.status_code == 302
    state = parse_qs(urlsplit(start["Location"]).query)["state"][0]
    with replay(*recordings):
        callback = client.get(
            f"/channels/oauth/{network}/callback/", {"state": state, "code": code}
        )
    assert callback.status_code == 302, callback.content.decode()
    return callback["Location"]


def held(user, workspace: Workspace, *, expires_in: timedelta = timedelta(minutes=10)) -> str:
    """A Facebook grant held for ``user`` in ``workspace`` (as the callback leaves it)."""
    pending = PendingConnection(
        token=f"grant-{PendingConnection.objects.count()}",
        user=user,
        workspace=workspace,
        network="facebook",
        expires_at=timezone.now() + expires_in,
    )
    pending.set_accounts(
        [
            ConnectableAccount(
                Author(handle="chorusbakery", display_name="Chorus Bakery", remote_id=PAGE),
                Credentials(access_token="EAApage1", extra={"page_id": PAGE}),
                kind="page",
            )
        ]
    )
    pending.save()
    return f"/w/{workspace.slug}/channels/oauth/pick/{pending.token}/"


def test_facebook_pages_become_channels_only_once_chosen(client, apps):
    root = make_org(slug="lumen")
    client.force_login(owner_of(root))

    picker = granted(client, "facebook", "AQBx-code", "facebook/login", "facebook/managed_pages")

    assert picker.startswith("/w/lumen/channels/oauth/pick/")
    assert not Channel.objects.exists()
    grant = PendingConnection.objects.get()
    assert "EAApage1" not in grant.accounts_ciphertext  # held encrypted
    page = client.get(picker).content.decode()
    assert "Chorus Bakery" in page and "Chorus &lt;Careers&gt;" in page
    assert "EAApage1" not in page and "EAAlong" not in page

    response = client.post(picker, {"account": [PAGE]})

    assert response["Location"] == "/w/lumen/channels/"
    channel = Channel.objects.get()
    assert (channel.network, channel.remote_id, channel.handle, channel.kind) == (
        "facebook",
        PAGE,
        "chorusbakery",
        Channel.Kind.PAGE,
    )
    assert channel.credentials.access_token == "EAApage1"
    assert channel.credentials.extra["page_id"] == PAGE
    assert "EAApage1" not in channel.credentials_ciphertext
    assert not PendingConnection.objects.exists()
    actions = list(AuditEntry.objects.order_by("id").values_list("action", flat=True))
    assert actions[-2:] == ["channel.grant_received", "channel.connected"]
    assert client.get(picker).status_code == 404  # used up


def test_a_grant_whose_pages_cannot_be_listed_holds_nothing_and_says_why(client, apps):
    root = make_org(slug="lumen")
    client.force_login(owner_of(root))
    start = client.get("/w/lumen/channels/oauth/facebook/")
    state = parse_qs(urlsplit(start["Location"]).query)["state"][0]

    with replay("facebook/login", "facebook/managed_pages_throttled"):
        callback = client.get(
            "/channels/oauth/facebook/callback/", {"state": state, "code": "AQBx-code"}
        )

    assert callback.status_code == 400
    assert "Application request limit reached" in callback.content.decode()
    assert not PendingConnection.objects.exists() and not Channel.objects.exists()


def test_a_threads_grant_confirms_the_users_own_profile(client, apps):
    root = make_org(slug="lumen")
    client.force_login(owner_of(root))

    picker = granted(client, "threads", "AQBthreads", "threads/login", "threads/me")
    page = client.get(picker).content.decode()
    assert "chorusbakery" in page and "checked" in page  # the only account, ticked
    client.post(picker, {"account": ["1234567890123456"]})

    channel = Channel.objects.get()
    assert (channel.network, channel.handle) == ("threads", "chorusbakery")
    assert channel.credentials.access_token == "THQVJlong"
    assert channel.credentials.extra["threads_user_id"] == "1234567890123456"
    assert channel.token_expires_at is not None


def test_instagram_business_accounts_are_offered_from_the_users_pages():
    root = make_org(slug="lumen")
    actor = Actor(owner_of(root))

    with replay("instagram/pages_with_business_accounts"):
        grant = services.hold_grant(
            actor, root, network="instagram", credentials=Credentials(access_token="EAAlong")
        )
    (channel,) = services.connect_chosen(actor, grant, ["17841405822304914"])

    assert (channel.network, channel.handle, channel.kind) == (
        "instagram",
        "chorus.bakery",
        Channel.Kind.BUSINESS_ACCOUNT,
    )
    assert channel.credentials.extra == {"ig_user_id": "17841405822304914", "page_id": PAGE}


def test_a_linkedin_member_connects_the_organisation_page_they_administer():
    root = make_org(slug="lumen")
    actor = Actor(owner_of(root))

    with replay("linkedin/member_and_administered_pages"):
        grant = services.hold_grant(
            actor, root, network="linkedin", credentials=Credentials(access_token="li-access-1")
        )
    (channel,) = services.connect_chosen(actor, grant, ["urn:li:organization:2414183"])

    assert (channel.handle, channel.kind) == ("chorus-bakery", Channel.Kind.ORGANISATION_PAGE)
    assert channel.credentials.extra["author_urn"] == "urn:li:organization:2414183"


def test_choosing_nothing_connects_nothing_and_says_so(client):
    root = make_org(slug="lumen")
    owner = owner_of(root)
    client.force_login(owner)
    picker = held(owner, root)

    response = client.post(picker, {"account": ["999-not-offered"]})

    assert response.status_code == 400
    assert "Choose at least one account" in response.content.decode()
    assert not Channel.objects.exists() and PendingConnection.objects.exists()


def test_connecting_none_forgets_the_grant(client):
    root = make_org(slug="lumen")
    owner = owner_of(root)
    client.force_login(owner)
    picker = held(owner, root)

    response = client.post(picker, {"discard": ""})

    assert response["Location"] == "/w/lumen/channels/"
    assert not Channel.objects.exists() and not PendingConnection.objects.exists()
    assert AuditEntry.objects.filter(action="channel.grant_discarded").exists()


def test_a_grant_is_only_for_its_user_its_workspace_and_a_short_while(client):
    root = make_org(slug="lumen")
    owner = owner_of(root)
    picker = held(owner, root)
    other_admin = member(root, Role.ADMIN)
    sibling = add_workspace(root, slug="lumen-fr")

    client.force_login(other_admin)
    assert client.get(picker).status_code == 404
    assert client.post(picker, {"account": [PAGE]}).status_code == 404

    client.force_login(owner)
    elsewhere = picker.replace("/w/lumen/", f"/w/{sibling.slug}/")
    assert client.post(elsewhere, {"account": [PAGE]}).status_code == 404
    expired = held(owner, root, expires_in=timedelta(seconds=-1))
    assert client.get(expired).status_code == 404

    theirs = make_org(slug="umbra")
    assert client.get(held(owner_of(theirs), theirs)).status_code == 404
    assert not Channel.objects.exists()


def test_only_those_who_manage_the_workspace_may_pick(client):
    root = make_org(slug="lumen")
    editor = member(root, Role.EDITOR)
    picker = held(editor, root)
    client.force_login(editor)

    assert client.post(picker, {"account": [PAGE]}).status_code == 403
    assert not Channel.objects.exists()


def test_the_choice_is_refused_without_its_csrf_token():
    root = make_org(slug="lumen")
    owner = owner_of(root)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(owner)

    response = browser.post(held(owner, root), {"account": [PAGE]})

    assert response.status_code == 403
    assert not Channel.objects.exists()


def test_the_channels_page_offers_the_networks_with_a_picker(client, apps):
    root = make_org(slug="lumen")
    client.force_login(owner_of(root))

    page = client.get("/w/lumen/channels/").content.decode()

    assert 'href="/w/lumen/channels/oauth/facebook/"' in page
    assert 'href="/w/lumen/channels/oauth/threads/"' in page
    assert "CHORUS_INSTAGRAM_CLIENT_ID" in page  # not configured here: says what to set
