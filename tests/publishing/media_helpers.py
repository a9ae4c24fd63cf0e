"""Small builders for media library and variant scenarios."""

from __future__ import annotations

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from chorus.orgs.access import Actor
from chorus.orgs.models import User, Workspace
from chorus.publishing import media, services
from chorus.publishing.models import MediaAsset, Post, Variant
from tests.conftest import add_workspace, make_org, owner_of
from tests.publishing.helpers import offline_channel

MENTION = "Offer subject to conditions."


def png_bytes(width: int = 4, height: int = 3, colour: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, format="PNG")
    return out.getvalue()


def png_file(name: str = "dot.png", width: int = 4, height: int = 3) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png_bytes(width, height), content_type="image/png")


def library_image(
    workspace: Workspace, by: User, alt_text: str = "A red dot", name: str = "dot.png"
) -> MediaAsset:
    """An image uploaded to the workspace's library through the service."""
    return media.upload(Actor(by), workspace, png_file(name), alt_text=alt_text)


def global_post_with_locks() -> tuple[Workspace, Workspace, Post, Variant, MediaAsset]:
    """HQ's post to a French market's channel, its link and media locked, a mention required;
    with the market's local variant and another library image."""
    org = make_org()
    france = add_workspace(org, default_locale="fr")
    boss = owner_of(org)
    logo, other = library_image(org, boss, "Logo"), library_image(org, boss, "Other")
    channel = offline_channel(france)
    post = services.create_post(
        Actor(boss),
        org,
        text=f"Summer sale. {MENTION}",
        channels=[channel.pk],
        media=[logo.pk],
        link={"url": "https://shop.example/summer"},
        locked_fields=["link", "media"],
        mandatory_mention=MENTION,
    )
    local = Variant.objects.get(post=post, workspace=france)
    return org, france, post, local, other
