"""Connecting real accounts on the local Bluesky network and the Mastodon fake, and their health."""

from __future__ import annotations

import io

import pytest
from django.core import mail
from django.core.management import CommandError, call_command

from chorus.channels import services
from chorus.channels.models import Channel
from chorus.errors import Forbidden, Invalid
from chorus.networks import errors as network_errors
from chorus.networks.base import AccountMetrics, Credentials
from chorus.orgs.access import Actor
from chorus.orgs.roles import Role
from tests.conftest import add_workspace, make_org, member, owner_of, token_for
from tests.networks.polling import eventually

pytestmark = pytest.mark.django_db


def test_an_admin_connects_a_bluesky_account_with_an_app_password(bluesky_network):
    account = bluesky_network.create_account("lumen")
    root = make_org(slug="lumen")
    channel = services.connect_bluesky(
        Actor(owner_of(root)),
        root,
        handle=account.handle,
        app_password=account.app_password,
        service_url=bluesky_network.pds,
    )
    assert (channel.network, channel.handle, channel.remote_id) == (
        "bluesky",
        account.handle,
        account.did,
    )
    assert channel.status == Channel.Status.ACTIVE
    # The secret is stored encrypted, and the stored session lets later calls skip the login.
    assert account.app_password not in channel.credentials_ciphertext
    assert channel.credentials.extra["session"]
    # The AppView indexes a new account's profile a moment after its creation.
    metrics = eventually(
        lambda: _metrics_or_none(channel), until=lambda metrics: metrics is not None, timeout=20
    )
    assert metrics is not None and metrics.followers == 0


def _metrics_or_none(channel: Channel) -> AccountMetrics | None:
    try:
        return services.call(channel, lambda connector: connector.fetch_account_metrics())
    except network_errors.NetworkError:
        return None


def test_a_wrong_app_password_is_refused_and_nothing_is_stored(bluesky_network):
    account = bluesky_network.create_account("lumen")
    root = make_org()
    with pytest.raises(Invalid) as refused:
        services.connect_bluesky(
            Actor(owner_of(root)),
            root,
            handle=account.handle,
            app_password="wrong-pass-word",
            service_url=bluesky_network.pds,
        )
    assert "credentials" in refused.value.fields
    assert not Channel.objects.exists()


def test_connecting_needs_an_admin_role(bluesky_network):
    account = bluesky_network.create_account("lumen")
    root = make_org()
    editor = member(root, Role.EDITOR)
    with pytest.raises(Forbidden):
        services.connect_bluesky(
            Actor(editor),
            root,
            handle=account.handle,
            app_password=account.app_password,
            service_url=bluesky_network.pds,
        )


def test_the_command_line_connects_and_prints_the_channel_id(bluesky_network):
    account = bluesky_network.create_account("cli")
    root = make_org(slug="group")
    add_workspace(root, slug="france")
    out = io.StringIO()
    call_command(
        "channels",
        "add",
        "bluesky",
        "--workspace",
        "france",
        "--handle",
        account.handle,
        "--app-password",
        account.app_password,
        "--service-url",
        bluesky_network.pds,
        stdout=out,
    )
    channel = Channel.objects.get(pk=int(out.getvalue()))
    assert channel.workspace.slug == "france" and channel.handle == account.handle
    with pytest.raises(CommandError, match="refused"):
        call_command(
            "channels",
            "add",
            "bluesky",
            "--workspace",
            "france",
            "--handle",
            account.handle,
            "--app-password",
            "nope",
            "--service-url",
            bluesky_network.pds,
        )


def test_the_api_connects_a_mastodon_account_and_never_returns_its_token(api, mastodon_server):
    root = make_org(slug="group")
    token = token_for(owner_of(root))
    response = api(
        "post",
        "/channels",
        token=token,
        json={
            "network": "mastodon",
            "workspace": "group",
            "instance_url": mastodon_server.url,
            "access_token": mastodon_server.token,
        },
    )
    assert response.status_code == 201, response.content
    assert mastodon_server.token not in response.content.decode()
    assert response.json()["handle"] == mastodon_server.username
    listed = api("get", "/channels", token=token, data={"workspace": "group"}).json()["items"]
    assert [item["network"] for item in listed] == ["mastodon"]
    assert all(mastodon_server.token not in str(item) for item in listed)


def test_a_refused_credential_marks_the_channel_and_tells_the_managers(
    django_capture_on_commit_callbacks,
):
    root = make_org(slug="group")
    site = add_workspace(root, slug="site")
    member(root, Role.MANAGER, email="manager@example.org")
    member(site, Role.EDITOR, email="editor@example.org")
    channel = Channel.objects.create(
        workspace=site,
        network="mastodon",
        service_url="https://mastodon.example",
        remote_id="42",
        handle="lumen",
        credentials_ciphertext="",
    )
    channel.set_credentials(Credentials(access_token="expired"))
    channel.save()

    def refused(connector):
        raise network_errors.AuthError("token revoked by the user", network="mastodon")

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(network_errors.AuthError):
        services.call(channel, refused)
    channel.refresh_from_db()
    assert channel.status == Channel.Status.RECONNECT_NEEDED
    assert channel.errors.get().kind == "AuthError"
    assert set(mail.outbox[-1].to) == {owner_of(root).email, "manager@example.org"}
    assert "/w/site/channels/" in mail.outbox[-1].body


def test_the_channel_pages_show_health_and_escape_what_the_network_says(client):
    root = make_org(slug="group")
    client.force_login(owner_of(root))
    channel = Channel.objects.create(
        workspace=root,
        network="bluesky",
        remote_id="did:plc:x",
        handle="<script>alert(1)</script>",
        status=Channel.Status.RECONNECT_NEEDED,
        credentials_ciphertext="",
        last_error="<b>expired</b>",
    )
    listing = client.get("/w/group/channels/").content.decode()
    assert "&lt;script&gt;" in listing and "<script>alert" not in listing
    assert "1 account needs reconnecting" in listing
    detail = client.get(f"/w/group/channels/{channel.pk}/").content.decode()
    assert "Reconnect needed" in detail
