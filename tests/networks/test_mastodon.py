"""Scenarios against mastodon-mock, a stateful fake of the Mastodon API."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from chorus.networks.base import Credentials, MediaItem, PostContent
from chorus.networks.mastodon import MastodonConnector, MastodonOAuthFlow, register_app
from chorus.networks.registry import connector_for


def connector(server) -> MastodonConnector:
    made = connector_for("mastodon", Credentials(access_token=server.token), service_url=server.url)
    assert isinstance(made, MastodonConnector)
    return made


def test_connecting_registers_the_app_and_sends_the_user_to_the_instance(mastodon_server):
    app = register_app(mastodon_server.url, "http://localhost:8000/channels/callback")
    flow = MastodonOAuthFlow(app, service_url=mastodon_server.url)

    pending = flow.start()

    query = parse_qs(urlparse(pending.authorization_url).query)
    assert query["client_id"] == [app.client_id]
    assert query["state"] == [pending.state]
    assert query["redirect_uri"] == ["http://localhost:8000/channels/callback"]


def test_a_status_with_an_image_and_a_thread_is_published(mastodon_server):
    account = connector(mastodon_server)
    image = MediaItem(mime_type="image/png", data=b"\x89PNG\r\n\x1a\n", alt_text="Our logo")

    published = account.publish(
        PostContent(
            text="We are live #launch", media=[image], thread=[PostContent(text="More soon")]
        ),
        "launch-1",
    )

    status = account.api.status(published.remote_id)
    assert status["media_attachments"][0]["description"] == "Our logo"
    follow_up = account.api.status(published.thread[0].remote_id)
    assert str(follow_up["in_reply_to_id"]) == published.remote_id


def test_one_idempotency_key_makes_one_status(mastodon_server):
    account = connector(mastodon_server)

    first = account.publish(PostContent(text="Exactly once"), "delivery-9")
    second = account.publish(PostContent(text="Exactly once"), "delivery-9")

    assert second.remote_id == first.remote_id


def test_replies_and_favourites_show_in_the_counts(mastodon_server):
    account = connector(mastodon_server)
    post = account.publish(PostContent(text="Count me"), "counted-1")

    account.reply(post.remote_id, PostContent(text="Counted"), "counted-reply")
    account.like(post.remote_id)

    metrics = account.fetch_post_metrics([post.remote_id])[post.remote_id]
    assert (metrics.likes, metrics.replies) == (1, 1)


def test_a_hashtag_search_finds_the_tagged_status(mastodon_server):
    account = connector(mastodon_server)
    post = account.publish(PostContent(text="Fresh bread #bakery"), "bakery-1")

    page = account.search("#bakery")

    assert post.remote_id in {found.remote_id for found in page.items}


def test_the_instance_character_limit_drives_validation(mastodon_server):
    account = connector(mastodon_server)
    limit = account.instance_limits().text_length

    issues = account.validate(PostContent(text="x" * (limit + 3)))

    assert [(issue.rule, issue.limit, issue.actual) for issue in issues] == [
        ("text_length", limit, limit + 3)
    ]


def test_account_metrics_come_from_the_account(mastodon_server):
    account = connector(mastodon_server)
    before = account.fetch_account_metrics().posts or 0

    account.publish(PostContent(text="One more"), "one-more")

    assert account.fetch_account_metrics().posts == before + 1
