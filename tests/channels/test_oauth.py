"""Connecting an X account through OAuth from the pages, and keeping its token fresh.

X is not reachable from here: its token and user endpoints answer as its API reference
documents, replayed with respx.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, parse_qsl, urlsplit

import httpx
import pytest
import respx
from django.core import mail
from django.utils import timezone

from chorus.channels import services
from chorus.channels.models import Channel, InstanceApp
from chorus.networks.base import Credentials
from tests.conftest import add_workspace, make_org, member, owner_of

pytestmark = pytest.mark.django_db
TOKEN_URL = "https://api.x.com/2/oauth2/token"
ME_URL = "https://api.x.com/2/users/me"


@pytest.fixture
def x_app(settings):
    settings.OAUTH_APPS = {
        "x": {"client_id": "chorus-client", "client_secret": "chorus-secret", "scopes": []}
    }
    settings.PUBLIC_URL = "https://chorus.example"


def token_answer(**fields: object) -> httpx.Response:
    body = {
        "token_type": "bearer",
        "expires_in": 7200,
        "scope": "tweet.read tweet.write users.read offline.access",
        **fields,
    }
    return httpx.Response(200, json=body)


@respx.mock
def test_an_admin_connects_an_x_account_through_oauth(client, x_app):
    root = make_org(slug="lumen")
    client.force_login(owner_of(root))

    start = client.get("/w/lumen/channels/oauth/x/")
    assert start.status_code == 302
    authorize = urlsplit(start["Location"])
    params = parse_qs(authorize.query)
    assert authorize.netloc == "x.com"
    assert params["client_id"] == ["chorus-client"]
    assert params["code_challenge_method"] == ["S256"]
    assert params["redirect_uri"] == ["https://chorus.example/channels/oauth/x/callback/"]
    assert "offline.access" in params["scope"][0]

    exchange = respx.post(TOKEN_URL).mock(
        return_value=token_answer(access_token="access-1", refresh_token="refresh-1")
    )
    respx.get(ME_URL).mock(
        return_value=httpx.Response(
            200,
            json={
                "data": {
                    "id": "2244994945",
                    "username": "LumenEnergy",
                    "name": "Lumen <Energy>",
                    "profile_image_url": "https://pbs.twimg.com/a.jpg",
                }
            },
        )
    )
    callback = client.get(
        "/channels/oauth/x/callback/", {"state": params["state"][0], "code": "the-code"}
    )

    channel = Channel.objects.get()
    assert callback["Location"] == f"/w/lumen/channels/{channel.pk}/"
    sent = parse_qs(exchange.calls.last.request.content.decode())
    assert sent["code"] == ["the-code"] and sent["code_verifier"][0]
    assert (channel.handle, channel.remote_id, channel.display_name) == (
        "LumenEnergy",
        "2244994945",
        "Lumen <Energy>",
    )
    assert channel.credentials.refresh_token == "refresh-1"
    assert "offline.access" in channel.scopes and channel.token_expires_at is not None
    page = client.get(f"/w/lumen/channels/{channel.pk}/").content.decode()
    assert "Lumen &lt;Energy&gt;" in page and "access-1" not in page


@respx.mock
def test_a_replayed_or_forged_callback_is_refused(client, x_app):
    root = make_org(slug="lumen")
    client.force_login(owner_of(root))
    client.get("/w/lumen/channels/oauth/x/")
    response = client.get("/channels/oauth/x/callback/", {"state": "forged", "code": "x"})
    assert response.status_code == 400
    assert not Channel.objects.exists()


def test_without_an_application_the_page_says_what_to_configure(client, settings):
    settings.OAUTH_APPS = {}
    root = make_org(slug="lumen")
    client.force_login(owner_of(root))
    response = client.get("/w/lumen/channels/oauth/x/", follow=True)
    assert "CHORUS_X_CLIENT_ID" in response.content.decode()


def x_channel(workspace, *, expires_in: timedelta) -> Channel:
    channel = Channel(
        workspace=workspace, network="x", remote_id="2244994945", handle="LumenEnergy"
    )
    channel.set_credentials(
        Credentials(
            access_token="old-access",
            refresh_token="refresh-1",
            expires_at=timezone.now() + expires_in,
            extra={"user_id": "2244994945"},
        )
    )
    channel.save()
    return channel


@respx.mock
def test_tokens_about_to_expire_are_refreshed_and_the_refresh_token_is_kept(x_app):
    root = make_org(slug="lumen")
    soon, later = (
        x_channel(root, expires_in=timedelta(minutes=20)),
        x_channel(add_workspace(root), expires_in=timedelta(days=1)),
    )
    refresh = respx.post(TOKEN_URL).mock(return_value=token_answer(access_token="new-access"))

    assert services.refresh_expiring() == 1

    assert parse_qs(refresh.calls.last.request.content.decode())["refresh_token"] == ["refresh-1"]
    soon.refresh_from_db()
    assert soon.credentials.access_token == "new-access"
    assert soon.credentials.refresh_token == "refresh-1"  # X answered without one: keep ours
    assert soon.token_expires_at is not None
    assert soon.token_expires_at > timezone.now() + timedelta(hours=1)
    later.refresh_from_db()
    assert later.credentials.access_token == "old-access"


@respx.mock
def test_a_refused_refresh_holds_the_channel_and_tells_its_managers(
    x_app, django_capture_on_commit_callbacks
):
    root = make_org(slug="lumen")
    member(root, "manager", email="manager@example.org")
    channel = x_channel(root, expires_in=timedelta(minutes=5))
    respx.post(TOKEN_URL).mock(
        return_value=httpx.Response(
            400,
            json={
                "error": "invalid_request",
                "error_description": "Value passed for the token was invalid.",
            },
        )
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert services.refresh_expiring() == 0
    channel.refresh_from_db()
    assert channel.status == Channel.Status.RECONNECT_NEEDED
    assert channel.credentials.refresh_token == "refresh-1"
    assert "manager@example.org" in mail.outbox[-1].to


def test_a_mastodon_account_connects_through_its_instance(client, mastodon_server, settings):
    """Against the Mastodon fake: app registration, the instance's authorization page, code exchange."""
    settings.PUBLIC_URL = "https://chorus.example"
    root = make_org(slug="lumen")
    client.force_login(owner_of(root))

    start = client.post("/w/lumen/channels/oauth/mastodon/", {"instance_url": mastodon_server.url})
    assert start.status_code == 302
    authorize = start["Location"]
    assert authorize.startswith(f"{mastodon_server.url}/oauth/authorize")

    # The person picks their account on the instance, which sends the browser back with a code.
    params = {key: values[0] for key, values in parse_qs(urlsplit(authorize).query).items()}
    granted = httpx.post(
        f"{mastodon_server.url}/oauth/authorize",
        data={**params, "username": mastodon_server.username},
        follow_redirects=False,
    )
    back = urlsplit(granted.headers["location"])
    assert back.netloc == "chorus.example"
    callback = client.get(back.path, dict(parse_qsl(back.query)))

    channel = Channel.objects.get()
    assert callback["Location"] == f"/w/lumen/channels/{channel.pk}/"
    assert (channel.network, channel.handle, channel.service_url) == (
        "mastodon",
        mastodon_server.username,
        mastodon_server.url,
    )
    assert channel.credentials.access_token
    # A second connection reuses the app Chorus registered on that instance.
    assert (
        client.post(
            "/w/lumen/channels/oauth/mastodon/", {"instance_url": mastodon_server.url}
        ).status_code
        == 302
    )
    assert InstanceApp.objects.filter(instance_url=mastodon_server.url).count() == 1
