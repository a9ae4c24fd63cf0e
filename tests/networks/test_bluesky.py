"""Scenarios on a real local Bluesky network (PDS, PLC, AppView from @atproto/dev-env)."""

from __future__ import annotations

import base64
import json
import struct
import time
import zlib

import pytest
from atproto import Client, models
from atproto_client.client.session import Session

from chorus.networks.base import (
    Credentials,
    Link,
    MediaItem,
    NotificationKind,
    PostContent,
)
from chorus.networks.bluesky import BlueskyConnector, record_key_for
from chorus.networks.errors import AuthError
from chorus.networks.registry import connector_for
from tests.fixtures.bluesky import BlueskyNetwork
from tests.networks.polling import eventually

pytestmark = pytest.mark.bluesky


def tiny_png(width: int = 2, height: int = 1) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def connector(network: BlueskyNetwork, name: str) -> BlueskyConnector:
    account = network.create_account(name)
    credentials = Credentials(
        extra={"identifier": account.handle, "app_password": account.app_password}
    )
    made = connector_for("bluesky", credentials, service_url=network.pds)
    assert isinstance(made, BlueskyConnector)
    made.connect()
    return made


def read_record(network: BlueskyNetwork, uri: str) -> models.ComAtprotoRepoGetRecord.Response:
    did, collection, rkey = uri.removeprefix("at://").split("/")
    return Client(base_url=network.pds).com.atproto.repo.get_record(
        models.ComAtprotoRepoGetRecord.Params(repo=did, collection=collection, rkey=rkey)
    )


def visible_on_appview(author: BlueskyConnector, uri: str) -> None:
    """The AppView indexes in parallel: wait before answering a post (recipe gotcha 2)."""
    eventually(lambda: author.fetch_post_metrics([uri]), until=lambda found: uri in found)


def test_an_app_password_login_leaves_a_session_that_a_later_connector_reuses(bluesky_network):
    alice = connector(bluesky_network, "alice")
    stored = Credentials.from_dict(alice.credentials.as_dict())
    without_password = Credentials(
        extra={key: value for key, value in stored.extra.items() if key != "app_password"}
    )

    later = BlueskyConnector(without_password, service_url=bluesky_network.pds)
    published = later.publish(PostContent(text="Posted on a resumed session"), "resumed-1")

    assert published.remote_id.startswith(f"at://{alice.did}/app.bsky.feed.post/")


def test_a_post_with_an_image_and_its_alt_text_and_a_thread_lands_on_the_pds(bluesky_network):
    alice = connector(bluesky_network, "alice")
    image = MediaItem(
        mime_type="image/png", data=tiny_png(), alt_text="A red pixel", width=2, height=1
    )
    content = PostContent(
        text="Our new site is open #launch",
        media=[image],
        thread=[PostContent(text="Part two"), PostContent(text="Part three")],
    )

    published = alice.publish(content, "launch-thread")

    first = read_record(bluesky_network, published.remote_id).value
    assert first.embed.images[0].alt == "A red pixel"
    assert first.facets[0].features[0].tag == "launch"
    second, third = (
        read_record(bluesky_network, part.remote_id).value for part in published.thread
    )
    assert (second.text, third.text) == ("Part two", "Part three")
    assert second.reply.parent.uri == published.remote_id
    assert third.reply.parent.uri == published.thread[0].remote_id
    assert third.reply.root.uri == published.remote_id


def test_a_link_card_carries_the_title_and_description_given(bluesky_network):
    alice = connector(bluesky_network, "alice")
    link = Link("https://example.com/jobs", title="We are hiring", description="Ten roles")

    published = alice.publish(PostContent(text="Join us", link=link), "card-1")

    card = read_record(bluesky_network, published.remote_id).value.embed.external
    assert (card.uri, card.title, card.description) == (link.url, "We are hiring", "Ten roles")


def test_publishing_twice_with_one_idempotency_key_makes_one_post(bluesky_network):
    alice = connector(bluesky_network, "alice")

    first = alice.publish(PostContent(text="Only once"), "delivery-42")
    second = alice.publish(PostContent(text="Only once"), "delivery-42")

    records = Client(base_url=bluesky_network.pds).com.atproto.repo.list_records(
        models.ComAtprotoRepoListRecords.Params(repo=alice.did, collection="app.bsky.feed.post")
    )
    assert [record.uri for record in records.records] == [first.remote_id]
    assert second.remote_id == first.remote_id
    assert first.remote_id.endswith(record_key_for("delivery-42"))


def test_an_ambiguous_publish_is_reconciled_by_reading_the_network(bluesky_network):
    alice = connector(bluesky_network, "alice")
    assert alice.find_published("delivery-7") is None

    published = alice.publish(
        PostContent(text="Did it go out?", thread=[PostContent(text="2")]), "delivery-7"
    )

    assert alice.find_published("delivery-7") == published


def test_a_deleted_post_is_no_longer_found(bluesky_network):
    alice = connector(bluesky_network, "alice")
    published = alice.publish(PostContent(text="Oops"), "oops")

    alice.delete(published.remote_id)

    assert alice.find_published("oops") is None


def test_a_mention_and_a_reply_arrive_as_notifications(bluesky_network):
    alice, bob = connector(bluesky_network, "alice"), connector(bluesky_network, "bob")
    alice_handle = alice.credentials.extra["handle"]
    question = alice.publish(PostContent(text="Which feature next?"), "question")
    visible_on_appview(alice, question.remote_id)

    bob.publish(PostContent(text=f"@{alice_handle} look at this"), "mention")
    answer = bob.reply(question.remote_id, PostContent(text="Threads, please"), "answer")

    def kinds(page):
        return {(item.kind, item.author.handle) for item in page.items}

    bob_handle = bob.credentials.extra["handle"]
    page = eventually(
        alice.fetch_notifications,
        until=lambda page: (
            {(NotificationKind.MENTION, bob_handle), (NotificationKind.REPLY, bob_handle)}
            <= kinds(page)
        ),
    )
    reply = next(item for item in page.items if item.kind is NotificationKind.REPLY)
    assert (reply.remote_id, reply.text, reply.in_reply_to) == (
        answer.remote_id,
        "Threads, please",
        question.remote_id,
    )


def test_replies_and_likes_show_in_the_post_counts(bluesky_network):
    alice, bob = connector(bluesky_network, "alice"), connector(bluesky_network, "bob")
    post = alice.publish(PostContent(text="Count me"), "counted")
    visible_on_appview(alice, post.remote_id)

    bob.reply(post.remote_id, PostContent(text="Counted!"), "reply-1")
    bob.like(post.remote_id)
    bob.like(post.remote_id)  # a second like of the same post is the same like

    metrics = eventually(
        lambda: alice.fetch_post_metrics([post.remote_id])[post.remote_id],
        until=lambda metrics: metrics.likes == 1 and metrics.replies == 1,
    )
    assert (metrics.reposts, metrics.quotes) == (0, 0)


def test_search_finds_posts_by_their_words(bluesky_network):
    alice = connector(bluesky_network, "alice")
    post = alice.publish(PostContent(text="Quinoa salad recipe"), "recipe")

    page = eventually(
        lambda: alice.search("Quinoa"),
        until=lambda page: post.remote_id in {found.remote_id for found in page.items},
    )
    assert next(found for found in page.items if found.remote_id == post.remote_id).text == (
        "Quinoa salad recipe"
    )


def test_account_metrics_count_followers_and_posts(bluesky_network):
    alice = connector(bluesky_network, "alice")
    follower = bluesky_network.create_account("fan")
    client = Client(base_url=bluesky_network.pds)
    client.login(follower.handle, follower.app_password, fetch_bsky_profile=False)
    client.com.atproto.repo.create_record(
        models.ComAtprotoRepoCreateRecord.Data(
            repo=follower.did,
            collection="app.bsky.graph.follow",
            record=models.AppBskyGraphFollow.Record(
                subject=alice.did, created_at=client.get_current_time_iso()
            ),
        )
    )
    alice.publish(PostContent(text="Hello followers"), "hello")

    metrics = eventually(
        alice.fetch_account_metrics,
        until=lambda metrics: metrics.followers == 1 and metrics.posts == 1,
    )
    assert metrics.following == 0


def test_a_wrong_app_password_is_an_auth_error(bluesky_network):
    account = bluesky_network.create_account("carol")
    credentials = Credentials(extra={"identifier": account.handle, "app_password": "wrong"})

    with pytest.raises(AuthError, match="Invalid identifier or password"):
        BlueskyConnector(credentials, service_url=bluesky_network.pds).connect()


def expired_and_revoked(network: BlueskyNetwork, session_string: str) -> str:
    """The session as a worker finds it after a long pause: its refresh token revoked on the
    PDS (``deleteSession``) and its access token past its expiry (same claims, ``exp`` moved
    into the past, so the SDK must refresh before any call)."""
    session = Session.decode(session_string)
    revoker = Client(base_url=network.pds)
    revoker.com.atproto.server.delete_session(
        headers={"Authorization": f"Bearer {session.refresh_jwt}"}
    )
    header, payload, signature = session.access_jwt.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["exp"] = int(time.time()) - 60
    expired = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    session.access_jwt = f"{header}.{expired}.{signature}"
    return session.encode()


def test_an_expired_session_is_replaced_by_logging_in_again_with_the_app_password(
    bluesky_network,
):
    alice = connector(bluesky_network, "alice")
    stale = expired_and_revoked(bluesky_network, alice.credentials.extra["session"])
    saved: list[Credentials] = []
    later = BlueskyConnector(
        alice.credentials.merged_with(Credentials(extra={"session": stale})),
        service_url=bluesky_network.pds,
        on_credentials_change=saved.append,
    )

    published = later.publish(PostContent(text="Still here after a long pause"), "pause-1")

    assert published.remote_id.startswith(f"at://{alice.did}/app.bsky.feed.post/")
    fresh = saved[-1].extra["session"]
    assert fresh != stale and Session.decode(fresh).refresh_jwt != Session.decode(stale).refresh_jwt
    # The new session works on its own, with no password needed.
    resumed = BlueskyConnector(
        Credentials(
            extra={key: value for key, value in saved[-1].extra.items() if key != "app_password"}
        ),
        service_url=bluesky_network.pds,
    )
    assert resumed.find_published("pause-1") == published


def test_an_expired_session_without_an_app_password_needs_reconnecting(bluesky_network):
    alice = connector(bluesky_network, "alice")
    stale = expired_and_revoked(bluesky_network, alice.credentials.extra["session"])
    without_password = Credentials(
        extra={"session": stale, "did": alice.did, "handle": alice.credentials.extra["handle"]}
    )

    with pytest.raises(AuthError):
        BlueskyConnector(without_password, service_url=bluesky_network.pds).publish(
            PostContent(text="Never sent"), "pause-2"
        )
