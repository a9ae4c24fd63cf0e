"""The ledger's rules, against a stub network whose answers each test scripts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from chorus.channels.models import Channel
from chorus.jobs.models import WorkerHeartbeat
from chorus.networks import errors as network_errors
from chorus.orgs.access import Actor
from chorus.orgs.models import AuditEntry
from chorus.orgs.roles import Role
from chorus.publishing import ledger, services
from chorus.publishing.models import Delivery
from tests.conftest import add_workspace, make_org, member, owner_of
from tests.publishing.helpers import offline_channel, post_to, proposed_post, states

pytestmark = pytest.mark.django_db
State = Delivery.State


@pytest.fixture
def soon():
    return timezone.now() + timedelta(minutes=10)


def test_nothing_goes_out_before_its_time_and_everything_once_at_its_time(network, soon):
    org = make_org()
    post = post_to(owner_of(org), org, [offline_channel(org), offline_channel(org)], soon)
    assert states(post) == [State.SCHEDULED, State.SCHEDULED]

    assert ledger.run_due(now=soon - timedelta(seconds=1)) == {}
    assert ledger.run_due(now=soon) == {State.PUBLISHED: 2}
    assert ledger.sweep(now=soon + timedelta(minutes=1)).published == {}

    assert network.calls == 2
    assert sorted(Delivery.objects.values_list("remote_id", flat=True)) == ["remote-1", "remote-2"]
    assert AuditEntry.objects.filter(action="delivery.published").count() == 2


def test_a_claimed_delivery_cannot_be_claimed_again(network, soon):
    org = make_org()
    post_to(owner_of(org), org, [offline_channel(org)], soon)
    first, _token = ledger.claim(now=soon)
    second, _other = ledger.claim(now=soon)
    assert len(first) == 1
    assert second == []


def test_invalid_content_fails_that_channel_only(network, soon):
    org = make_org()
    post = post_to(owner_of(org), org, [offline_channel(org), offline_channel(org)], soon)
    network.failures = [network_errors.InvalidContent("Record/text must not be <b>bold</b>")]
    ledger.run_due(now=soon)
    assert states(post) == [State.FAILED, State.PUBLISHED]
    failed = Delivery.objects.get(state=State.FAILED)
    assert failed.last_error == "Record/text must not be <b>bold</b>"


def test_a_rate_limit_puts_the_delivery_back_with_a_retry_time_a_bounded_number_of_times(
    network, soon
):
    org = make_org()
    post = post_to(owner_of(org), org, [offline_channel(org)], soon)
    network.failures = [
        network_errors.RateLimited("slow down", retry_after_seconds=120)
        for _ in range(ledger.MAX_ATTEMPTS)
    ]
    ledger.run_due(now=soon)
    delivery = Delivery.objects.get(post=post)
    assert delivery.state == State.SCHEDULED
    assert delivery.due_at is not None and delivery.due_at >= soon + timedelta(seconds=120)
    assert delivery.scheduled_at == soon  # the time asked for is kept

    for _attempt in range(ledger.MAX_ATTEMPTS - 1):
        delivery.refresh_from_db()
        assert delivery.due_at is not None
        ledger.run_due(now=delivery.due_at)
    delivery.refresh_from_db()
    assert delivery.state == State.FAILED
    assert delivery.attempts == ledger.MAX_ATTEMPTS
    assert "slow down" in delivery.last_error


def test_a_transient_error_is_retried_and_then_publishes(network, soon):
    org = make_org()
    post = post_to(owner_of(org), org, [offline_channel(org)], soon)
    network.failures = [network_errors.TransientError("502 Bad Gateway")]
    ledger.run_due(now=soon)
    delivery = Delivery.objects.get(post=post)
    assert (delivery.state, delivery.last_error) == (State.SCHEDULED, "502 Bad Gateway")
    assert delivery.due_at is not None
    ledger.run_due(now=delivery.due_at)
    assert states(post) == [State.PUBLISHED]


def test_an_ambiguous_outcome_is_reconciled_by_reading_the_network_not_by_publishing_again(
    network, soon
):
    org = make_org()
    post = post_to(owner_of(org), org, [offline_channel(org)], soon)
    network.fail_after_sending = network_errors.AmbiguousOutcome("read timed out")
    ledger.run_due(now=soon)
    assert states(post) == [State.UNCONFIRMED]

    ledger.sweep(now=soon + timedelta(minutes=1))
    delivery = Delivery.objects.get(post=post)
    assert (delivery.state, delivery.remote_id) == (State.PUBLISHED, "remote-1")
    assert network.calls == 1  # found on the network: never sent twice


def test_a_worker_that_dies_mid_call_leaves_an_unconfirmed_delivery_that_is_reconciled(
    network, soon
):
    org = make_org()
    post = post_to(owner_of(org), org, [offline_channel(org)], soon)
    ids, token = ledger.claim(now=soon)
    delivery = Delivery.objects.get(pk=ids[0])
    network.publish(services.content_for(delivery.variant), delivery.idempotency_key)
    # ... and the worker dies before recording anything.

    report = ledger.sweep(now=soon + ledger.lease() + timedelta(seconds=1))
    assert report.expired_leases == 1
    assert states(post) == [State.PUBLISHED]
    assert network.calls == 1
    # The dead worker's claim is worthless if it ever wakes up.
    assert ledger.send(delivery.pk, token) == "lost_claim"


def test_refused_credentials_hold_the_delivery_until_the_channel_is_reconnected(network, soon):
    org = make_org()
    channel = offline_channel(org)
    post = post_to(owner_of(org), org, [channel, offline_channel(org)], soon)
    network.failures = [network_errors.AuthError("ExpiredToken")]
    ledger.run_due(now=soon)
    assert states(post) == [State.PAUSED, State.PUBLISHED]
    channel.refresh_from_db()
    assert channel.status == Channel.Status.RECONNECT_NEEDED
    assert Delivery.objects.get(channel=channel).hold == Delivery.Hold.RECONNECT

    Channel.objects.filter(pk=channel.pk).update(status=Channel.Status.ACTIVE)
    ledger.sweep(now=soon + timedelta(minutes=2))
    assert states(post) == [State.PUBLISHED, State.PUBLISHED]


def test_a_post_awaiting_approval_at_its_time_is_not_published_and_people_are_told(network, soon):
    org = make_org()
    approver = member(org, Role.MANAGER)
    post = proposed_post(org, offline_channel(org), soon)
    report = ledger.sweep(now=soon + timedelta(minutes=1))
    assert report.approvals_overdue == 1
    assert states(post) == [State.AWAITING_APPROVAL]
    assert network.calls == 0
    assert len(mail.outbox) == 1
    assert post.author is not None
    assert {post.author.email, approver.email} <= set(mail.outbox[0].to)
    ledger.sweep(now=soon + timedelta(minutes=2))
    assert len(mail.outbox) == 1  # told once


def test_crisis_pause_holds_the_subtree_and_resume_releases_it(network, soon):
    org = make_org()
    france, spain = add_workspace(org), add_workspace(org)
    boss = Actor(owner_of(org))
    in_france = post_to(boss.user, org, [offline_channel(france)], soon)
    in_spain = post_to(boss.user, org, [offline_channel(spain)], soon)

    outcome = services.pause_subtree(boss, france, "rumour about a recall")
    assert outcome.paused == 1
    later = post_to(boss.user, france, [offline_channel(france)], soon)
    assert states(later) == [State.PAUSED]  # scheduled during the crisis: held too
    ledger.run_due(now=soon)
    assert (states(in_france), states(in_spain)) == ([State.PAUSED], [State.PUBLISHED])

    after_the_crisis = soon + timedelta(hours=1)
    # Their time passed during the pause: they wait for a decision...
    assert services.resume_subtree(boss, france, now=after_the_crisis).resumed == 0
    assert states(in_france) == [State.PAUSED]
    # ...which can be "publish now".
    services.resume_subtree(boss, france, services.PastDue.PUBLISH_NOW, now=after_the_crisis)
    ledger.run_due(now=after_the_crisis)
    assert states(in_france) == states(later) == [State.PUBLISHED]
    assert (
        AuditEntry.objects.filter(action__in=["publishing.paused", "publishing.resumed"]).count()
        == 3
    )


def test_resume_puts_deliveries_still_ahead_back_on_their_schedule(network, soon):
    org = make_org()
    boss = Actor(owner_of(org))
    post = post_to(boss.user, org, [offline_channel(org)], soon)
    services.pause_subtree(boss, org)
    assert services.resume_subtree(boss, org).resumed == 1
    delivery = Delivery.objects.get(post=post)
    assert (delivery.state, delivery.due_at) == (State.SCHEDULED, soon)


def test_healthz_answers_503_when_a_delivery_is_more_than_5_minutes_late(client, network):
    WorkerHeartbeat.objects.create(worker_id="w", hostname="h", pid=1)
    org = make_org()
    post = post_to(owner_of(org), org, [offline_channel(org)], timezone.now())
    assert client.get("/healthz").status_code == 200

    Delivery.objects.filter(post=post).update(due_at=timezone.now() - timedelta(minutes=6))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["overdue"]["late_over_5_minutes"] == 1
    assert response.json()["overdue"]["oldest_seconds"] >= 360


@pytest.mark.django_db(transaction=True)
def test_a_post_due_now_is_queued_at_commit_and_published_by_its_job(network):
    org = make_org()
    post = post_to(owner_of(org), org, [offline_channel(org)], timezone.now())
    assert states(post) == [State.PUBLISHED]  # the queue runs jobs inline in tests
    assert network.calls == 1
