"""Instagram and Threads fetch a post's media themselves, from a signed, expiring public link
that Chorus serves without login, for items attached to a post only."""

from __future__ import annotations

import io
import os
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from PIL import Image

from chorus.channels.models import Channel
from chorus.networks.base import Credentials
from chorus.orgs.access import Actor
from chorus.orgs.models import User, Workspace
from chorus.publishing import ledger, media, services
from chorus.publishing.models import Delivery, MediaAsset
from chorus.publishing.timing import Instant
from tests.conftest import make_org, owner_of
from tests.networks.recordings import replay
from tests.publishing.helpers import offline_channel
from tests.publishing.media_helpers import library_image, png_bytes

pytestmark = pytest.mark.django_db
IG = "17841405822304914"
PUBLIC = "https://chorus.example.com"


def croissants(workspace: Workspace, by: User) -> MediaAsset:
    """A JPEG (what Instagram takes) in the workspace's library."""
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "orange").save(out, format="JPEG")
    upload = SimpleUploadedFile("Croissants du matin.jpg", out.getvalue())
    return media.upload(Actor(by), workspace, upload, alt_text="Croissants on a tray")


def attached_image() -> MediaAsset:
    """A library image used by a post."""
    org = make_org()
    boss = owner_of(org)
    image = library_image(org, boss)
    services.create_post(
        Actor(boss), org, text="Red dot", channels=[offline_channel(org).pk], media=[image.pk]
    )
    return image


def fetch(url: str):
    """What anyone on the internet gets at ``url``: a client that never logged in."""
    return Client().get(urlsplit(url).path)


def link_made_hours_ago(item: MediaAsset, hours: float, monkeypatch) -> str:
    """A link signed with the clock set ``hours`` back (the signer reads ``time.time``)."""
    now = time.time()
    with monkeypatch.context() as past:
        past.setattr(time, "time", lambda: now - hours * 3600)
        return media.public_url(item)


def test_a_public_link_serves_the_file_without_login(settings):
    settings.PUBLIC_URL = PUBLIC
    image = attached_image()

    url = media.public_url(image)
    response = fetch(url)

    assert url.startswith(f"{PUBLIC}/media/p/") and url.endswith("/dot.png")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == media.path_of(image).read_bytes()
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == "inline"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"].startswith("private")


def test_a_tampered_link_is_not_found():
    image = attached_image()
    other = attached_image()
    url = media.public_url(image)
    token = urlsplit(url).path.split("/")[3]

    assert (
        fetch(url.replace(token, token[:-1] + ("A" if token[-1] != "A" else "B"))).status_code
        == 404
    )
    assert fetch(url.replace(token, f"{other.pk}" + token[len(str(image.pk)) :])).status_code == 404
    assert fetch(url.replace(token, "not-a-token")).status_code == 404


def test_a_link_stops_working_after_the_configured_hours(settings, monkeypatch):
    settings.PUBLIC_MEDIA_LINK_HOURS = 24
    image = attached_image()

    assert fetch(link_made_hours_ago(image, 23, monkeypatch)).status_code == 200
    assert fetch(link_made_hours_ago(image, 25, monkeypatch)).status_code == 404


def test_a_link_to_a_file_since_replaced_is_not_found():
    image = attached_image()
    url = media.public_url(image)
    stored = media.path_of(image)

    stored.write_bytes(png_bytes(8, 6, "blue"))
    os.utime(stored, ns=(time.time_ns(), time.time_ns() + 1_000_000_000))

    assert fetch(url).status_code == 404
    assert fetch(media.public_url(image)).status_code == 200


def test_a_library_item_no_post_uses_is_not_served():
    org = make_org()
    unused = library_image(org, owner_of(org))

    assert fetch(media.public_url(unused)).status_code == 404


def instagram_channel(workspace: Workspace) -> Channel:
    channel = Channel(workspace=workspace, network="instagram", remote_id=IG, handle="bakery")
    channel.set_credentials(Credentials(access_token="page-token", extra={"ig_user_id": IG}))
    channel.save()
    return channel


def instagram_post_due_now() -> Delivery:
    """A post of a library image to an Instagram account, due now."""
    org = make_org()
    boss = owner_of(org)
    image = croissants(org, boss)
    post = services.create_post(
        Actor(boss),
        org,
        text="Morning batch",
        channels=[instagram_channel(org).pk],
        media=[image.pk],
        when=Instant(timezone.now() + timedelta(minutes=1), "UTC"),
    )
    return Delivery.objects.get(post=post)


def test_instagram_fetches_the_library_image_from_its_public_link(settings):
    settings.PUBLIC_URL = PUBLIC
    delivery = instagram_post_due_now()

    with replay("instagram/publish_library_image") as instagram:
        outcome = ledger.run_due(now=delivery.due_at)

    delivery.refresh_from_db()
    assert outcome == {Delivery.State.PUBLISHED: 1}, delivery.last_error
    assert delivery.remote_url == "https://www.instagram.com/p/DAbCdEfGhIj/"
    container = parse_qs(instagram.sent(1).content.decode())
    image_url = container["image_url"][0]
    assert image_url.startswith(f"{PUBLIC}/media/p/")
    assert image_url.endswith("/croissants-du-matin.jpg")
    served = fetch(image_url)
    assert served["Content-Type"] == "image/jpeg"
    assert (
        b"".join(served.streaming_content) == media.path_of(MediaAsset.objects.get()).read_bytes()
    )


@pytest.mark.parametrize(
    "address", ["http://127.0.0.1:8000", "http://localhost:8000", "https://192.168.1.20"]
)
def test_media_for_instagram_fail_at_once_when_meta_cannot_reach_chorus(settings, address):
    settings.PUBLIC_URL = address
    delivery = instagram_post_due_now()

    with replay() as instagram:  # nothing may be sent: no container is created
        outcome = ledger.run_due(now=delivery.due_at)

    delivery.refresh_from_db()
    assert outcome == {Delivery.State.FAILED: 1}
    assert not instagram.requests
    assert f"Meta cannot reach {address}" in delivery.last_error
    assert "CHORUS_PUBLIC_URL" in delivery.last_error
