"""End to end on a real local Bluesky network: a post written with a library image and a
thread goes out as an image post with its alt text, followed by its thread as replies."""

from __future__ import annotations

from datetime import timedelta

import pytest
from atproto import Client, models
from django.utils import timezone

from chorus.publishing import ledger
from chorus.publishing.models import Delivery
from tests.conftest import make_org, owner_of, token_for
from tests.publishing.helpers import bluesky_channel
from tests.publishing.media_helpers import png_file

pytestmark = [pytest.mark.django_db, pytest.mark.bluesky]


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_an_image_with_alt_text_and_a_thread_reach_the_pds(bluesky_network, api):
    org = make_org()
    boss = owner_of(org)
    channel = bluesky_channel(bluesky_network, org, boss)
    token = token_for(boss)
    image = api(
        "post",
        "/media",
        token=token,
        data={
            "workspace": org.slug,
            "file": png_file(width=60, height=40),
            "alt_text": "A red flag",
        },
    ).json()
    due = timezone.now() + timedelta(seconds=5)
    created = api(
        "post",
        "/posts",
        token=token,
        json={
            "workspace": org.slug,
            "text": "Our summer opens today",
            "channels": [channel.pk],
            "scheduled_at": due.isoformat(),
            "media": [image["id"]],
            "hashtags": ["summer"],
            "thread": ["Doors open at nine", "See you there"],
        },
    )
    assert created.status_code == 201, created.content

    ledger.run_due(now=due)

    delivery = Delivery.objects.get()
    assert delivery.state == Delivery.State.PUBLISHED, delivery.last_error
    pds = Client(base_url=bluesky_network.pds)
    records = pds.com.atproto.repo.list_records(
        models.ComAtprotoRepoListRecords.Params(
            repo=channel.remote_id, collection="app.bsky.feed.post", limit=10
        )
    ).records
    by_text = {record.value.text: record for record in records}
    assert set(by_text) == {
        "Our summer opens today\n\n#summer",
        "Doors open at nine",
        "See you there",
    }
    first = by_text["Our summer opens today\n\n#summer"]
    assert first.uri == delivery.remote_id
    images = first.value.embed.images
    assert [(i.alt, i.aspect_ratio.width, i.aspect_ratio.height) for i in images] == [
        ("A red flag", 60, 40)
    ]
    second, third = by_text["Doors open at nine"], by_text["See you there"]
    assert (second.value.reply.root.uri, second.value.reply.parent.uri) == (first.uri, first.uri)
    assert (third.value.reply.root.uri, third.value.reply.parent.uri) == (first.uri, second.uri)
