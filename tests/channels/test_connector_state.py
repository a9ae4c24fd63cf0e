"""A publish in several steps survives the worker that started it: the media container made for
Instagram or Threads, the resumable upload opened on YouTube, are kept with the channel (in the
database, encrypted), so the next worker publishes or finds that container and resumes that
upload instead of making a second post.

Each test runs the first attempt until the recorded exchange where its worker dies
(``WorkerDied``), then a second attempt with a connector built afresh from the channel, as
another process would, replayed from the network's recorded answers.
"""

from __future__ import annotations

from typing import Any

import pytest

from chorus.channels import services
from chorus.channels.models import Channel, ConnectorState
from chorus.channels.state import DatabaseStateStore
from chorus.networks.base import Credentials, MediaItem, PostContent
from chorus.networks.errors import AmbiguousOutcome
from chorus.networks.instagram import InstagramConnector
from chorus.networks.youtube import YouTubeConnector
from chorus.orgs.models import Workspace
from tests.conftest import make_org
from tests.networks.recordings import WorkerDied, replay

pytestmark = pytest.mark.django_db
IG = "17841405822304914"


def channel_on(workspace: Workspace, network: str, remote_id: str, **extra: str) -> Channel:
    channel = Channel(workspace=workspace, network=network, remote_id=remote_id, handle="bakery")
    channel.set_credentials(Credentials(access_token="page-token", extra=extra))
    channel.save()
    return channel


def instagram(channel: Channel) -> InstagramConnector:
    """What a worker process builds for the channel: its state comes from the database."""
    return InstagramConnector(
        channel.credentials,
        state=DatabaseStateStore(channel),
        media_url=lambda item: "https://media.chorus.example/m/0.jpg",
        sleep=lambda seconds: None,
    )


def lunch() -> PostContent:
    return PostContent(
        text="Lunch is served", media=[MediaItem(mime_type="image/jpeg", data=b"\xff\xd8jpeg")]
    )


def test_a_worker_dying_before_publishing_leaves_its_container_to_the_next_one():
    channel = channel_on(make_org(), "instagram", IG, ig_user_id=IG)

    with replay("instagram/worker_dies_before_publishing"), pytest.raises(WorkerDied):
        instagram(channel).publish(lunch(), "delivery-31")
    kept = ConnectorState.objects.get(channel=channel)
    assert kept.key == "container:delivery-31" and "17889455560051447" not in kept.value_ciphertext

    # The next worker checks that container and publishes it: no second one is created.
    with replay("instagram/container_still_unpublished") as exchanges:
        published = instagram(channel).publish(lunch(), "delivery-31")

    assert published.remote_id == "17920238422030599"
    assert all(request.url.path != f"/v23.0/{IG}/media" for request in exchanges.requests)
    assert not ConnectorState.objects.exists()  # done: nothing left to resume


def test_a_publish_whose_answer_was_lost_is_found_by_another_worker():
    channel = channel_on(make_org(), "instagram", IG, ig_user_id=IG)

    with replay("instagram/publish_timed_out"), pytest.raises(AmbiguousOutcome):
        instagram(channel).publish(lunch(), "delivery-32")
    with replay("instagram/container_published"):
        found = instagram(channel).find_published("delivery-32")

    assert found is not None and found.remote_id == "17920238422030599"


def youtube(channel: Channel) -> YouTubeConnector:
    connector = services.connector_for(channel)  # the channel layer's own wiring
    assert isinstance(connector, YouTubeConnector)
    connector.chunk_bytes = 256 * 1024
    return connector


def kneading() -> PostContent:
    video = MediaItem(mime_type="video/mp4", data=bytes(600_000), duration_seconds=300)
    return PostContent(title="How we knead", text="Five minutes of kneading #bread", media=[video])


def test_an_upload_interrupted_by_a_dying_worker_resumes_where_the_session_stands():
    channel = channel_on(
        make_org(), "youtube", "UC_x5XG1OV2P6uZZ5FSM9Ttw", channel_id="UC_x5XG1OV2P6uZZ5FSM9Ttw"
    )

    with replay("youtube/worker_dies_mid_upload"), pytest.raises(WorkerDied):
        youtube(channel).publish(kneading(), "delivery-3")
    session: dict[str, Any] | None = DatabaseStateStore(channel).get("upload:delivery-3")
    assert session is not None and session["size"] == 600_000

    # The next worker asks the same session what it holds and sends only the rest.
    with replay("youtube/session_resumed_with_the_same_key") as exchanges:
        published = youtube(channel).publish(kneading(), "delivery-3")

    assert published.remote_id == "Ks-_Mh1QhMc"
    assert exchanges.sent(1).headers["content-range"] == "bytes 524288-599999/600000"
    assert DatabaseStateStore(channel).get("upload:delivery-3") is None


def test_each_channel_keeps_its_own_state():
    workspace = make_org()
    first = channel_on(workspace, "instagram", IG, ig_user_id=IG)
    second = channel_on(workspace, "instagram", "17841400000000003", ig_user_id="1784")

    DatabaseStateStore(first).put("container:delivery-1", {"container_id": "1", "text": "a"})

    assert DatabaseStateStore(second).get("container:delivery-1") is None
    assert DatabaseStateStore(first).get("container:delivery-1") == {
        "container_id": "1",
        "text": "a",
    }


def test_a_threads_container_made_by_a_dead_worker_is_published_by_the_next_one():
    channel = channel_on(
        make_org(), "threads", "1234567890123456", threads_user_id="1234567890123456"
    )
    winter = PostContent(text="Winter menu thread 🧵")

    with replay("threads/worker_dies_before_publishing"), pytest.raises(WorkerDied):
        services.connector_for(channel).publish(winter, "delivery-41")
    with replay("threads/container_published_by_the_next_worker"):
        published = services.connector_for(channel).publish(winter, "delivery-41")

    assert published.remote_id == "18043357063138945"
    assert not ConnectorState.objects.exists()
