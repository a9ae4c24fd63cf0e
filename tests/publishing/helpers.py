"""Small builders for publishing scenarios."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import datetime

from atproto import Client, models

from chorus.channels.models import Channel
from chorus.channels.services import connect_bluesky
from chorus.networks.base import PostContent, PublishResult, ValidationIssue
from chorus.networks.validation import validate
from chorus.orgs.access import Actor
from chorus.orgs.models import User, Workspace
from chorus.orgs.roles import Role
from chorus.publishing import services
from chorus.publishing.models import Delivery, Post
from chorus.publishing.timing import Instant
from tests.conftest import member
from tests.fixtures.bluesky import BlueskyNetwork

_numbers = itertools.count(1)


def offline_channel(workspace: Workspace, network: str = "bluesky") -> Channel:
    """A channel whose account is never called (its connector is replaced in the test)."""
    number = next(_numbers)
    return Channel.objects.create(
        workspace=workspace,
        network=network,
        remote_id=f"did:plc:offline{number}",
        handle=f"account{number}.test",
        credentials_ciphertext="",
    )


def bluesky_channel(network: BlueskyNetwork, workspace: Workspace, owner: User) -> Channel:
    account = network.create_account("brand")
    return connect_bluesky(
        Actor(owner),
        workspace,
        handle=account.handle,
        app_password=account.app_password,
        service_url=network.pds,
    )


def texts_on(network: BlueskyNetwork, channel: Channel) -> list[str]:
    """Every post in the account's repository, read from the PDS."""
    listed = Client(base_url=network.pds).com.atproto.repo.list_records(
        models.ComAtprotoRepoListRecords.Params(
            repo=channel.remote_id, collection="app.bsky.feed.post", limit=100
        )
    )
    return sorted(record.value.text for record in listed.records)


def post_to(
    author: User,
    workspace: Workspace,
    channels: Sequence[Channel],
    at: datetime | None,
    text: str = "Hello from Chorus",
    *,
    adapt: bool = False,
) -> Post:
    """A post from ``workspace``; its markets' channels get it as is unless ``adapt``."""
    return services.create_post(
        Actor(author),
        workspace,
        text=text,
        channels=[channel.pk for channel in channels],
        when=Instant(at, "UTC") if at else None,
        send_as_is=not adapt,
    )


def proposed_post(workspace: Workspace, channel: Channel, at: datetime) -> Post:
    """A contributor's post on ``channel``, awaiting a manager's approval."""
    return post_to(member(workspace, Role.CONTRIBUTOR), workspace, [channel], at)


def states(post: Post) -> list[str]:
    return list(Delivery.objects.filter(post=post).order_by("pk").values_list("state", flat=True))


class StubNetwork:
    """Stands in for a network's connector: scripted answers, and a record of what went out."""

    def __init__(self) -> None:
        self.published: dict[str, PublishResult] = {}
        self.calls = 0
        self.failures: list[Exception] = []
        #: Raised *after* the post went out (a timeout on the way back).
        self.fail_after_sending: Exception | None = None

    def validate(self, content: PostContent) -> list[ValidationIssue]:
        return validate("bluesky", content)

    def publish(self, content: object, idempotency_key: str) -> PublishResult:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        result = self.published.setdefault(
            idempotency_key,
            PublishResult(
                remote_id=f"remote-{len(self.published) + 1}",
                remote_url=f"https://example.test/{len(self.published) + 1}",
            ),
        )
        if self.fail_after_sending is not None:
            failure, self.fail_after_sending = self.fail_after_sending, None
            raise failure
        return result

    def find_published(self, idempotency_key: str, **attempt: object) -> PublishResult | None:
        self.reconciled_with = attempt  # the content and start time the ledger passes
        return self.published.get(idempotency_key)
