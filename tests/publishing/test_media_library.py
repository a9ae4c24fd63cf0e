"""The media library: what a file really is, who sees and changes it, and when it may go."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from chorus.orgs import services as org_services
from chorus.orgs.access import Actor
from chorus.orgs.roles import Role
from chorus.publishing import services
from chorus.publishing.models import MediaAsset
from tests.conftest import add_workspace, make_org, member, owner_of, token_for
from tests.publishing.helpers import offline_channel
from tests.publishing.media_helpers import library_image, png_bytes, png_file

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def upload(api, token: str, workspace: str, file: SimpleUploadedFile, alt_text: str = ""):
    return api(
        "post",
        "/media",
        token=token,
        data={"workspace": workspace, "file": file, "alt_text": alt_text},
    )


def test_an_upload_is_typed_by_its_bytes_and_measured(api):
    org = make_org()
    token = token_for(owner_of(org))
    # A PNG whose name says JPEG: the bytes decide.
    response = upload(api, token, org.slug, png_file("photo.jpg", width=40, height=30), "A map")

    assert response.status_code == 201, response.content
    item = response.json()
    assert (item["mime_type"], item["kind"], item["width"], item["height"]) == (
        "image/png",
        "image",
        40,
        30,
    )
    assert item["alt_text"] == "A map" and item["name"] == "photo.jpg"
    stored = MediaAsset.objects.get(pk=item["id"])
    path = Path(settings.MEDIA_ROOT) / "library" / stored.stored_as
    assert path.read_bytes() == png_bytes(40, 30) and path.suffix == ".png"
    assert not str(path).startswith(str(settings.STATIC_ROOT))


def test_a_jpg_that_is_really_text_is_refused_and_nothing_is_kept(api):
    org = make_org()
    fake = SimpleUploadedFile("holiday.jpg", b"just some words, not a picture", "image/jpeg")

    response = upload(api, token_for(owner_of(org)), org.slug, fake)

    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["path"] == "file"
    assert not MediaAsset.objects.exists()
    folder = Path(settings.MEDIA_ROOT) / "library" / str(org.pk)
    assert not folder.exists() or not any(folder.iterdir())


def test_a_file_that_starts_like_a_png_but_is_not_one_is_refused(api):
    org = make_org()
    forged = SimpleUploadedFile("x.png", b"\x89PNG\r\n\x1a\n" + b"garbage" * 10, "image/png")

    response = upload(api, token_for(owner_of(org)), org.slug, forged)

    assert response.status_code == 422
    assert "cannot be read as an image" in response.json()["error"]["message"]


def test_a_market_uses_hqs_library_but_changes_only_its_own(api, client):
    org = make_org()
    france = add_workspace(org)
    hq_image = library_image(org, owner_of(org), alt_text="Logo")
    local_editor = member(france, Role.EDITOR)
    token = token_for(local_editor)
    own = upload(api, token, france.slug, png_file("paris.png"), "Paris").json()

    listed = api("get", f"/media?workspace={france.slug}", token=token).json()["items"]
    assert {item["id"] for item in listed} == {hq_image.pk, own["id"]}
    client.force_login(local_editor)  # HQ's file, served through the market's library
    hq_url = next(item["url"] for item in listed if item["id"] == hq_image.pk)
    assert hq_url.startswith(f"/w/{france.slug}/") and client.get(hq_url).status_code == 200
    assert api("get", f"/media?workspace={org.slug}", token=token).status_code == 404

    refused = api("patch", f"/media/{hq_image.pk}", token=token, json={"alt_text": "Mine"})
    assert refused.status_code == 403
    changed = api("patch", f"/media/{own['id']}", token=token, json={"alt_text": "Paris by night"})
    assert changed.json()["alt_text"] == "Paris by night"


def test_another_organisations_media_answers_404_everywhere(api, client):
    theirs = make_org()
    image = library_image(theirs, owner_of(theirs))
    mine = make_org()
    me = owner_of(mine)
    token = token_for(me)

    assert (
        api("patch", f"/media/{image.pk}", token=token, json={"alt_text": "x"}).status_code == 404
    )
    assert api("delete", f"/media/{image.pk}", token=token).status_code == 404
    channel = offline_channel(mine)
    post = api(
        "post",
        "/posts",
        token=token,
        json={"workspace": mine.slug, "text": "Hi", "channels": [channel.pk], "media": [image.pk]},
    )
    assert post.status_code == 422
    assert post.json()["error"]["fields"][0]["path"] == "media[0]"
    client.force_login(me)
    assert client.get(f"/w/{mine.slug}/publish/media/{image.pk}/file/").status_code == 404
    assert client.get(f"/w/{theirs.slug}/publish/media/{image.pk}/file/").status_code == 404


def test_the_file_is_served_to_signed_in_members_only(client):
    org = make_org()
    image = library_image(org, owner_of(org))
    url = f"/w/{org.slug}/publish/media/{image.pk}/file/"

    assert client.get(url).status_code == 302  # to the login page
    client.force_login(owner_of(org))
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == png_bytes()


def test_an_image_without_alt_text_cannot_go_into_a_post(api):
    org = make_org()
    channel = offline_channel(org)
    image = library_image(org, owner_of(org), alt_text="")
    token = token_for(owner_of(org))
    body = {"workspace": org.slug, "text": "Look", "channels": [channel.pk], "media": [image.pk]}

    refused = api("post", "/posts", token=token, json=body)
    assert refused.status_code == 422
    error = refused.json()["error"]["fields"][0]
    assert error["path"] == "media[0].alt_text" and "dot.png needs alt text" in error["message"]

    api("patch", f"/media/{image.pk}", token=token, json={"alt_text": "A red dot on white"})
    assert api("post", "/posts", token=token, json=body).status_code == 201
    # Once in use, its alt text cannot be emptied again.
    emptied = api("patch", f"/media/{image.pk}", token=token, json={"alt_text": " "})
    assert emptied.status_code == 422


def test_an_item_in_use_stays_and_an_unused_one_is_deleted_with_its_file(
    api, django_capture_on_commit_callbacks
):
    org = make_org()
    channel = offline_channel(org)
    used, unused = library_image(org, owner_of(org)), library_image(org, owner_of(org))
    token = token_for(owner_of(org))
    api(
        "post",
        "/posts",
        token=token,
        json={"workspace": org.slug, "text": "Look", "channels": [channel.pk], "media": [used.pk]},
    )
    unused_path = Path(settings.MEDIA_ROOT) / "library" / unused.stored_as

    assert api("delete", f"/media/{used.pk}", token=token).status_code == 409
    with django_capture_on_commit_callbacks(execute=True):
        assert api("delete", f"/media/{unused.pk}", token=token).status_code == 204
    assert list(MediaAsset.objects.values_list("pk", flat=True)) == [used.pk]
    assert not unused_path.exists()


def test_the_library_page_uploads_edits_alt_text_and_deletes(client):
    org = make_org()
    client.force_login(owner_of(org))
    page = f"/w/{org.slug}/publish/media/"

    client.post(page, {"file": png_file("beach.png"), "alt_text": ""})
    item = MediaAsset.objects.get()
    listing = client.get(page).content.decode()
    assert "beach.png" in listing and "Alt text missing" in listing

    client.post(f"{page}{item.pk}/alt-text/", {"alt_text": "A beach at dawn"})
    item.refresh_from_db()
    assert item.alt_text == "A beach at dawn"
    client.post(f"{page}{item.pk}/delete/")
    assert not MediaAsset.objects.exists()


def test_deleting_a_workspace_takes_its_library_and_the_posts_that_use_it():
    org = make_org()
    france = add_workspace(org)
    boss = owner_of(org)
    image = library_image(france, boss)
    channel = offline_channel(france)
    services.create_post(
        Actor(boss), france, text="Bonjour", channels=[channel.pk], media=[image.pk]
    )

    org_services.delete_workspace(Actor(boss), france)

    assert not MediaAsset.objects.exists()
