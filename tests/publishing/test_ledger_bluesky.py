"""End to end on a real local Bluesky network: each delivery becomes exactly one record on the
PDS, at its time, through crashes, approvals and crisis pauses."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from chorus.channels.models import Channel
from chorus.channels.services import connect_bluesky, connector_for
from chorus.networks.base import Credentials
from chorus.orgs.access import Actor
from chorus.orgs.roles import Role
from chorus.publishing import ledger, services
from chorus.publishing.models import Delivery, Post
from tests.conftest import add_workspace, make_org, member, owner_of
from tests.publishing.helpers import bluesky_channel, post_to, proposed_post, states, texts_on

pytestmark = [pytest.mark.django_db, pytest.mark.bluesky]
State = Delivery.State


@pytest.fixture
def due():
    return timezone.now() + timedelta(seconds=5)


def test_deliveries_over_several_channels_and_workspaces_are_published_once_at_their_time(
    bluesky_network, due
):
    org = make_org()
    boss = owner_of(org)
    france, spain = add_workspace(org), add_workspace(org)
    hq, fr, es = (bluesky_channel(bluesky_network, ws, boss) for ws in (org, france, spain))
    global_post = post_to(boss, org, [hq, fr, es], due, text="One voice, every market")
    local_post = post_to(member(france, Role.EDITOR), france, [fr], due, text="Bonjour Paris")

    assert ledger.run_due(now=due - timedelta(seconds=1)) == {}
    assert texts_on(bluesky_network, hq) == texts_on(bluesky_network, fr) == []

    for delivery in Delivery.objects.all():
        ledger.run_delivery(delivery.pk, now=due)  # the job queued for its time
    ledger.sweep(now=due + timedelta(minutes=1))  # the sweeper, as if a job had been lost
    ledger.run_due(now=due + timedelta(minutes=2))

    assert texts_on(bluesky_network, hq) == ["One voice, every market"]
    assert texts_on(bluesky_network, fr) == ["Bonjour Paris", "One voice, every market"]
    assert texts_on(bluesky_network, es) == ["One voice, every market"]
    assert states(global_post) == [State.PUBLISHED] * 3
    assert states(local_post) == [State.PUBLISHED]
    for delivery in Delivery.objects.select_related("channel"):
        assert delivery.remote_id.startswith(f"at://{delivery.channel.remote_id}/")
        assert delivery.remote_url.endswith(delivery.remote_id.rsplit("/", 1)[1])
        assert delivery.published_at is not None


def test_a_worker_that_crashes_after_publishing_leaves_exactly_one_post(bluesky_network, due):
    org = make_org()
    channel = bluesky_channel(bluesky_network, org, owner_of(org))
    post = post_to(owner_of(org), org, [channel], due, text="Through the crash")
    ids, dead_workers_claim = ledger.claim(now=due)
    delivery = Delivery.objects.select_related("variant__post").get(pk=ids[0])
    sent = connector_for(channel).publish(
        services.content_for(delivery.variant), delivery.idempotency_key
    )
    # The worker dies here, before recording the remote id; its lease runs out.

    ledger.sweep(now=due + ledger.lease() + timedelta(seconds=1))
    assert ledger.send(delivery.pk, dead_workers_claim) == "lost_claim"  # it wakes up: too late
    ledger.sweep(now=due + ledger.lease() + timedelta(minutes=5))

    assert texts_on(bluesky_network, channel) == ["Through the crash"]
    delivery.refresh_from_db()
    assert (delivery.state, delivery.remote_id) == (State.PUBLISHED, sent.remote_id)
    assert states(post) == [State.PUBLISHED]


def test_a_worker_that_crashes_before_publishing_is_replaced_and_the_post_goes_out_once(
    bluesky_network, due
):
    org = make_org()
    channel = bluesky_channel(bluesky_network, org, owner_of(org))
    post_to(owner_of(org), org, [channel], due, text="Second chance")
    ledger.claim(now=due)  # claimed, then the worker dies before calling the network

    ledger.sweep(now=due + ledger.lease() + timedelta(seconds=1))
    ledger.sweep(now=due + ledger.lease() + timedelta(minutes=1))

    assert texts_on(bluesky_network, channel) == ["Second chance"]
    assert Delivery.objects.get().state == State.PUBLISHED


def test_a_post_awaiting_approval_is_not_published(bluesky_network, due):
    org = make_org()
    channel = bluesky_channel(bluesky_network, org, owner_of(org))
    post = proposed_post(org, channel, due)

    ledger.sweep(now=due + timedelta(minutes=10))

    assert texts_on(bluesky_network, channel) == []
    assert states(post) == [State.AWAITING_APPROVAL]
    assert len(mail.outbox) == 1
    assert ledger.overdue(now=due + timedelta(minutes=10))["awaiting_approval"] == 1


def test_crisis_pause_holds_everything_and_resume_releases_it(bluesky_network):
    org = make_org()
    boss = Actor(owner_of(org))
    france, spain = add_workspace(org), add_workspace(org)
    fr = bluesky_channel(bluesky_network, france, boss.user)
    es = bluesky_channel(bluesky_network, spain, boss.user)
    due = timezone.now() + timedelta(minutes=30)
    post_to(boss.user, org, [fr, es], due, text="Summer sale")

    assert services.pause_subtree(boss, org, "false rumour").paused == 2
    ledger.sweep(now=due + timedelta(minutes=1))
    assert texts_on(bluesky_network, fr) == texts_on(bluesky_network, es) == []

    assert services.resume_subtree(boss, org).resumed == 2
    ledger.run_due(now=due)
    assert texts_on(bluesky_network, fr) == texts_on(bluesky_network, es) == ["Summer sale"]


def test_a_channel_whose_credentials_are_refused_is_held_and_the_others_publish(
    bluesky_network, due
):
    org = make_org()
    broken = bluesky_channel(bluesky_network, org, owner_of(org))
    working = bluesky_channel(bluesky_network, org, owner_of(org))
    broken.set_credentials(
        Credentials(extra={"identifier": broken.handle, "app_password": "revoked-password"})
    )
    broken.save()
    post: Post = post_to(owner_of(org), org, [broken, working], due, text="Still on time")

    ledger.run_due(now=due)

    assert states(post) == [State.PAUSED, State.PUBLISHED]
    assert texts_on(bluesky_network, working) == ["Still on time"]
    broken.refresh_from_db()
    assert broken.status == Channel.Status.RECONNECT_NEEDED


def test_reconnecting_the_account_releases_its_held_posts_at_once(
    bluesky_network, due, django_capture_on_commit_callbacks
):
    org = make_org()
    account = bluesky_network.create_account("brand")
    channel = connect_bluesky(
        Actor(owner_of(org)),
        org,
        handle=account.handle,
        app_password=account.app_password,
        service_url=bluesky_network.pds,
    )
    channel.set_credentials(
        Credentials(extra={"identifier": account.handle, "app_password": "revoked-password"})
    )
    channel.save()
    post: Post = post_to(owner_of(org), org, [channel], due, text="Back online")
    ledger.run_due(now=due)
    assert states(post) == [State.PAUSED]

    with django_capture_on_commit_callbacks(execute=True):
        connect_bluesky(
            Actor(owner_of(org)),
            org,
            handle=account.handle,
            app_password=account.app_password,
            service_url=bluesky_network.pds,
        )

    assert states(post) == [State.SCHEDULED]
    ledger.run_due(now=timezone.now())
    assert texts_on(bluesky_network, channel) == ["Back online"]
