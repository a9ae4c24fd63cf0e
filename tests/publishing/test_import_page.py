"""The bulk CSV import page: every row checked first, a report by row and column, nothing
written unless every row is valid or the person chose to skip the invalid ones."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from chorus.orgs.models import AuditEntry
from chorus.orgs.roles import Role
from chorus.publishing.models import Delivery, Post
from tests.conftest import make_org, member, owner_of
from tests.publishing.helpers import offline_channel
from tests.publishing.media_helpers import library_image

pytestmark = pytest.mark.django_db


def report_rows(html: bytes) -> list[tuple[int, str, str]]:
    """(row, column, message) of the error table."""
    table = html.decode().split('id="import-errors"', 1)[1].split("</table>", 1)[0]
    return [
        (int(row), column, re.sub(r"<[^>]+>", "", message).strip())
        for row, column, message in re.findall(
            r"<tr><td>(\d+)</td><td><code>([^<]*)</code></td><td>(.*?)</td></tr>", table
        )
    ]


@pytest.fixture
def setup(client: Client):
    org = make_org()
    bluesky, mastodon = offline_channel(org), offline_channel(org, "mastodon")
    client.force_login(owner_of(org))
    return org, bluesky, mastodon


def upload(client: Client, org, text: str, **form: str):
    return client.post(
        f"/w/{org.slug}/publish/import/",
        {"file": SimpleUploadedFile("posts.csv", text.encode("utf-8-sig")), **form},
    )


def test_all_valid_rows_are_imported_with_handles_zones_and_labels(client: Client, setup):
    org, bluesky, mastodon = setup
    text = (
        "text,channel,scheduled_at,timezone,labels\n"
        f"Spring menu,@{bluesky.handle},2030-03-31T02:30,Europe/Paris,product;spring\n"
        f'"Summer, at last",{mastodon.pk},2030-11-03 01:30 America/New_York,,\n'
    )
    response = upload(client, org, text, action="import")
    assert response.status_code == 302
    spring = Delivery.objects.get(post__text="Spring menu")
    assert spring.scheduled_at == datetime(2030, 3, 31, 1, 30, tzinfo=UTC)  # 03:30, shifted
    assert spring.post.labels == ["product", "spring"]
    summer = Delivery.objects.get(post__text="Summer, at last")
    assert summer.scheduled_at == datetime(2030, 11, 3, 5, 30, tzinfo=UTC)  # the first 01:30
    assert summer.schedule_zone == "America/New_York"
    assert AuditEntry.objects.filter(action="posts.imported").count() == 1


def test_invalid_rows_are_reported_by_row_and_column_and_nothing_is_written(client: Client, setup):
    org, bluesky, _mastodon = setup
    foreign = offline_channel(make_org())
    text = (
        "text,channels,scheduled_at,timezone,labels\n"
        f"Fine,{bluesky.pk},2030-06-01T09:00,Europe/Paris,\n"
        f"{'x' * 301},{bluesky.pk},2030-06-02T09:00,Europe/Paris,\n"
        f"Elsewhere,{foreign.pk},2030-06-03T09:00,,\n"
        f"Bad time,{bluesky.pk},next tuesday,,\n"
        f"Bad zone,{bluesky.pk},2030-06-04T09:00,Mars/Olympus,\n"
        f"Nobody,@nobody.example,2030-06-04T09:00,,\n"
    )
    response = upload(client, org, text, action="import")
    assert response.status_code == 422
    assert b"Nothing was imported." in response.content
    rows = report_rows(response.content)
    assert [(row, column) for row, column, _message in rows] == [
        (3, "text"),
        (4, "channels"),
        (5, "scheduled_at"),
        (6, "timezone"),
        (7, "channels"),
    ]
    assert "Bluesky" in rows[0][2] and "over the limit of 300" in rows[0][2]
    assert "@nobody.example" in rows[4][2]
    assert Post.objects.count() == 0
    # The CSV is kept in the page, to send again with the invalid rows skipped.
    assert b"Bad zone" in response.content.split(b'id="id_csv"', 1)[1]


def test_skipping_the_invalid_rows_imports_only_the_valid_ones(client: Client, setup):
    org, bluesky, _mastodon = setup
    text = (
        "text,channels,scheduled_at\n"
        f"Kept,{bluesky.pk},2030-06-01T09:00:00+02:00\n"
        f"{'x' * 301},{bluesky.pk},2030-06-02T09:00:00+02:00\n"
        f"Also kept,{bluesky.pk},\n"
    )
    response = client.post(
        f"/w/{org.slug}/publish/import/",
        {"csv": text, "skip_invalid": "on", "action": "import"},
        follow=True,
    )
    assert b"2 posts imported, 1 invalid rows skipped." in response.content
    assert sorted(Post.objects.values_list("text", flat=True)) == ["Also kept", "Kept"]
    assert Delivery.objects.get(post__text="Also kept").state == Delivery.State.DRAFT
    entry = AuditEntry.objects.get(action="posts.imported")
    assert entry.details["skipped_lines"] == [3]


def test_checking_only_writes_nothing(client: Client, setup):
    org, bluesky, _mastodon = setup
    text = f"text,channels\nFine,{bluesky.pk}\n"
    response = client.post(f"/w/{org.slug}/publish/import/", {"csv": text, "action": "check"})
    assert response.status_code == 200
    assert b"1 rows read: 1 valid, 0 invalid." in response.content
    assert Post.objects.count() == 0


def test_a_file_without_the_columns_says_which_are_missing(client: Client, setup):
    org, _bluesky, _mastodon = setup
    response = upload(client, org, "message,when\nHello,2030-01-01\n", action="import")
    assert response.status_code == 422
    assert b"Missing columns: text, channels." in response.content
    assert Post.objects.count() == 0


def test_the_template_lists_the_columns_and_reads_back_as_valid(client: Client, setup):
    org, bluesky, _mastodon = setup
    template = client.get(f"/w/{org.slug}/publish/import/template.csv")
    assert template.status_code == 200 and "attachment" in template["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(template.content.decode())))
    assert list(rows[0]) == ["text", "channels", "scheduled_at", "timezone", "media", "labels"]
    assert rows[0]["channels"] == bluesky.handle
    checked = client.post(
        f"/w/{org.slug}/publish/import/",
        {"csv": template.content.decode(), "action": "check"},
    )
    assert b"2 rows read: 2 valid, 0 invalid." in checked.content


def test_an_analyst_cannot_import(client: Client):
    org = make_org()
    client.force_login(member(org, Role.ANALYST))
    assert client.get(f"/w/{org.slug}/publish/import/").status_code == 403
    assert (
        client.post(f"/w/{org.slug}/publish/import/", {"csv": "text,channels\n"}).status_code == 403
    )


def test_media_come_from_the_library_by_id_or_address(client: Client, setup):
    org, bluesky, _mastodon = setup
    image = library_image(org, owner_of(org))
    elsewhere = make_org()
    foreign = library_image(elsewhere, owner_of(elsewhere))
    address = f"http://127.0.0.1:8000/w/{org.slug}/publish/media/{image.pk}/file/"
    text = (
        "text,channels,media\n"
        f"By id,{bluesky.pk},{image.pk}\n"
        f"By address,{bluesky.pk},{address}\n"
        f"From the web,{bluesky.pk},https://example.com/cat.png\n"
        f"Not ours,{bluesky.pk},{foreign.pk}\n"
    )
    response = client.post(f"/w/{org.slug}/publish/import/", {"csv": text, "action": "check"})
    rows = report_rows(response.content)
    assert [(row, column) for row, column, _message in rows] == [(4, "media"), (5, "media")]
    assert "upload the file to the media library" in rows[0][2]

    client.post(
        f"/w/{org.slug}/publish/import/",
        {"csv": text, "action": "import", "skip_invalid": "on"},
    )
    for title in ("By id", "By address"):
        post = Post.objects.get(text=title)
        assert list(post.attached_media.values_list("asset_id", flat=True)) == [image.pk]
