"""Demo data on a local network: accounts that post, mention, reply, like and follow."""

from __future__ import annotations

import secrets
import time

from atproto import Client, client_utils, models

from chorus.networks.devnet.manager import DevAccount, DevnetError, DevnetUrls, create_account


def logged_in_client(pds_url: str, account: DevAccount) -> Client:
    client = Client(base_url=pds_url)
    # The profile does not exist yet right after the account is created (see the recipe).
    client.login(account.handle, account.app_password, fetch_bsky_profile=False)
    client.me = models.AppBskyActorDefs.ProfileViewDetailed(did=account.did, handle=account.handle)
    return client


def wait_until_indexed(client: Client, uri: str, timeout_seconds: float = 30) -> None:
    """The AppView indexes repositories in parallel: a reply indexed before its parent makes
    no notification, so wait until the parent is visible before answering it."""
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if client.app.bsky.feed.get_posts(models.AppBskyFeedGetPosts.Params(uris=[uri])).posts:
            return
        time.sleep(0.2)
    raise DevnetError(f"{uri} was not indexed by the AppView after {timeout_seconds:.0f} s")


def seed_conversation(urls: DevnetUrls) -> list[DevAccount]:
    suffix = secrets.token_hex(2)
    alice, bob, carol = (
        create_account(urls.pds, f"{name}-{suffix}.test") for name in ("alice", "bob", "carol")
    )
    as_alice, as_bob, as_carol = (
        logged_in_client(urls.pds, account) for account in (alice, bob, carol)
    )
    hello = as_alice.send_post(
        client_utils.TextBuilder().text("Hello from Alice! ").tag("#chorus", "chorus")
    )
    as_bob.send_post(
        client_utils.TextBuilder()
        .mention(f"@{alice.handle}", alice.did)
        .text(" have you tried Chorus yet?")
    )
    wait_until_indexed(as_carol, hello.uri)
    parent = models.create_strong_ref(hello)
    as_carol.send_post(
        "Welcome, Alice!", reply_to=models.AppBskyFeedPost.ReplyRef(root=parent, parent=parent)
    )
    as_bob.like(hello.uri, hello.cid)
    as_alice.follow(bob.did)
    return [alice, bob, carol]
