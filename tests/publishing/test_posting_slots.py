"""Publish now, and channels' queues of weekly posting slots (the composer, the API, the page)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from chorus.orgs.access import Actor
from chorus.orgs.models import AuditEntry
from chorus.orgs.roles import Role
from chorus.publishing import ledger, services, slots
from chorus.publishing.models import Delivery, PostingSlot
from tests.conftest import add_workspace, make_org, member, owner_of, token_for
from tests.publishing.helpers import offline_channel, post_to

pytestmark = pytest.mark.django_db
State = Delivery.State


def queue_post(author, workspace, channels, text="Queued"):
    return services.create_post(
        Actor(author), workspace, text=text, channels=[c.pk for c in channels], queue=True
    )


def slot_in_days(days: int) -> tuple[int, time]:
    """A weekly slot at noon UTC, ``days`` (1 to 6) from today: the next one is unambiguous."""
    return (timezone.now().date() + timedelta(days=days)).weekday(), time(12, 0)


def noon_in(days: int, weeks: int = 0) -> datetime:
    day = timezone.now().date() + timedelta(days=days, weeks=weeks)
    return datetime.combine(day, time(12, 0), tzinfo=UTC)


# Publish now ----------------------------------------------------------------------------------


def test_publish_now_goes_out_on_the_next_ledger_run(network):
    org = make_org()
    post = services.create_post(
        Actor(owner_of(org)),
        org,
        text="Right now",
        channels=[offline_channel(org).pk],
        publish_now=True,
    )
    delivery = post.deliveries.get()
    assert delivery.state == State.SCHEDULED
    assert ledger.run_due() == {State.PUBLISHED: 1}
    assert network.calls == 1


def test_publish_now_waits_for_approval_and_goes_out_when_approved_however_late(network):
    org = make_org()
    channel = offline_channel(org)
    post = services.create_post(
        Actor(member(org, Role.CONTRIBUTOR)),
        org,
        text="Please",
        channels=[channel.pk],
        publish_now=True,
    )
    assert post.deliveries.get().state == State.AWAITING_APPROVAL
    assert ledger.run_due() == {}
    # The manager approves it two hours later: it goes out then, not refused as stale.
    post.deliveries.update(scheduled_at=timezone.now() - timedelta(hours=2))
    services.approve(Actor(member(org, Role.MANAGER)), post)
    approved_at = post.deliveries.get().scheduled_at
    assert approved_at is not None and approved_at > timezone.now() - timedelta(minutes=1)
    assert ledger.run_due() == {State.PUBLISHED: 1}


def test_publish_now_from_the_api_and_never_with_a_time(api):
    org = make_org()
    channel = offline_channel(org)
    token = token_for(owner_of(org))
    body = {"workspace": org.slug, "text": "API now", "channels": [channel.pk]}
    created = api("post", "/posts", token=token, json={**body, "publish_now": True})
    assert created.status_code == 201, created.content
    assert Delivery.objects.get(post_id=created.json()["id"]).state == State.SCHEDULED
    both = {**body, "publish_now": True, "scheduled_at": "2030-01-01T09:00:00+00:00"}
    refused = api("post", "/posts", token=token, json=both)
    assert refused.status_code == 422, refused.content
    assert "scheduled_at" in refused.content.decode()


def test_the_composer_publishes_now(client: Client, network):
    org = make_org()
    channel = offline_channel(org)
    client.force_login(owner_of(org))
    response = client.post(
        f"/w/{org.slug}/publish/new/",
        {"text": "Composer now", "channels": [channel.pk], "timezone": "UTC", "when": "now"},
    )
    assert response.status_code == 302, response.content
    assert ledger.run_due() == {State.PUBLISHED: 1}


# Queues ---------------------------------------------------------------------------------------


def test_each_channel_takes_its_next_free_slot_and_taken_slots_are_skipped():
    org = make_org()
    owner = owner_of(org)
    here, there = offline_channel(org), offline_channel(org)
    day, at = slot_in_days(2)
    slots.add_slots(Actor(owner), here, [day], at, "UTC")
    other_day, _at = slot_in_days(3)
    slots.add_slots(Actor(owner), there, [other_day], at, "UTC")

    first = queue_post(owner, org, [here, there])
    times = {d.channel_id: d.scheduled_at for d in first.deliveries.all()}
    assert times == {here.pk: noon_in(2), there.pk: noon_in(3)}

    second = queue_post(owner, org, [here])
    assert second.deliveries.get().scheduled_at == noon_in(2, weeks=1)
    assert second.deliveries.get().state == State.SCHEDULED


def test_a_cancelled_delivery_frees_its_slot():
    org = make_org()
    owner = owner_of(org)
    channel = offline_channel(org)
    day, at = slot_in_days(4)
    slots.add_slots(Actor(owner), channel, [day], at, "UTC")
    services.cancel(Actor(owner), queue_post(owner, org, [channel]))
    assert queue_post(owner, org, [channel]).deliveries.get().scheduled_at == noon_in(4)


def test_a_post_scheduled_by_hand_at_a_slot_takes_it():
    org = make_org()
    owner = owner_of(org)
    channel = offline_channel(org)
    day, at = slot_in_days(1)
    slots.add_slots(Actor(owner), channel, [day], at, "UTC")
    post_to(owner, org, [channel], noon_in(1))
    assert queue_post(owner, org, [channel]).deliveries.get().scheduled_at == noon_in(1, weeks=1)


def test_a_paris_slot_stays_at_nine_local_across_the_spring_forward():
    org = make_org()
    channel = offline_channel(org)
    slots.add_slots(Actor(owner_of(org)), channel, [6], time(9, 0), "Europe/Paris")  # Sundays
    before = datetime(2027, 3, 20, tzinfo=UTC)  # Clocks go forward on Sunday 28 March 2027.

    first = slots.next_free_slot(channel, before)
    assert first is not None and first.utc == datetime(2027, 3, 21, 8, 0, tzinfo=UTC)  # UTC+1
    post_to(owner_of(org), org, [channel], first.utc)
    spring = slots.next_free_slot(channel, before)
    assert spring is not None and spring.utc == datetime(2027, 3, 28, 7, 0, tzinfo=UTC)  # UTC+2
    assert spring.zone == "Europe/Paris"


def test_queueing_to_a_channel_without_slots_names_it_and_writes_nothing(api):
    org = make_org()
    with_slots, without = offline_channel(org), offline_channel(org)
    day, at = slot_in_days(2)
    slots.add_slots(Actor(owner_of(org)), with_slots, [day], at, "UTC")
    response = api(
        "post",
        "/posts",
        token=token_for(owner_of(org)),
        json={
            "workspace": org.slug,
            "text": "Q",
            "channels": [with_slots.pk, without.pk],
            "queue": True,
        },
    )
    assert response.status_code == 422, response.content
    message = response.json()["error"]["message"]
    assert without.handle in message and with_slots.handle not in message
    assert not Delivery.objects.exists()


def test_the_composer_adds_to_the_queue(client: Client):
    org = make_org()
    channel = offline_channel(org)
    day, at = slot_in_days(5)
    slots.add_slots(Actor(owner_of(org)), channel, [day], at, "UTC")
    client.force_login(owner_of(org))
    response = client.post(
        f"/w/{org.slug}/publish/new/",
        {"text": "To the queue", "channels": [channel.pk], "timezone": "UTC", "when": "queue"},
    )
    assert response.status_code == 302, response.content
    assert Delivery.objects.get().scheduled_at == noon_in(5)


# The queues page ------------------------------------------------------------------------------


def test_an_editor_adds_and_removes_slots_on_the_page_with_audit(client: Client):
    org = make_org()
    channel = offline_channel(org)
    client.force_login(member(org, Role.EDITOR))
    page = f"/w/{org.slug}/publish/queues/"
    assert client.get(page).status_code == 200
    response = client.post(
        page,
        {
            "channel": channel.pk,
            "weekdays": ["0", "1", "2", "3", "4"],
            "time": "17:30",
            "zone": "Europe/Paris",
        },
    )
    assert response.status_code == 302
    assert list(channel.posting_slots.values_list("weekday", flat=True)) == [0, 1, 2, 3, 4]
    assert "Monday" in client.get(page).content.decode()
    client.post(page, {"remove": channel.posting_slots.earliest("weekday").pk})
    assert channel.posting_slots.count() == 4
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"posting_slots.added", "posting_slots.removed"} <= actions


def test_an_unknown_zone_or_no_day_is_refused_on_the_page(client: Client):
    org = make_org()
    channel = offline_channel(org)
    client.force_login(owner_of(org))
    page = f"/w/{org.slug}/publish/queues/"
    bad_zone = client.post(
        page, {"channel": channel.pk, "weekdays": ["0"], "time": "09:00", "zone": "Mars/Base"}
    )
    assert "not an IANA time zone" in bad_zone.content.decode()
    no_day = client.post(page, {"channel": channel.pk, "time": "09:00", "zone": "UTC"})
    assert "at least one day" in no_day.content.decode()
    assert not PostingSlot.objects.exists()


@pytest.mark.parametrize("role", [Role.CONTRIBUTOR, Role.ANALYST])
def test_below_editor_the_page_and_its_form_are_refused(client: Client, role):
    org = make_org()
    channel = offline_channel(org)
    client.force_login(member(org, role))
    page = f"/w/{org.slug}/publish/queues/"
    assert client.get(page).status_code == 403
    post = {"channel": channel.pk, "weekdays": ["0"], "time": "09:00", "zone": "UTC"}
    assert client.post(page, post).status_code == 403
    assert not PostingSlot.objects.exists()


def test_another_organisations_channel_and_slot_answer_404(client: Client):
    mine, theirs = make_org(), make_org()
    their_channel = offline_channel(add_workspace(theirs))
    their_slot = slots.add_slots(Actor(owner_of(theirs)), their_channel, [0], time(9, 0), "UTC")[0]
    client.force_login(owner_of(mine))
    page = f"/w/{mine.slug}/publish/queues/"
    post = {"channel": their_channel.pk, "weekdays": ["1"], "time": "09:00", "zone": "UTC"}
    assert client.post(page, post).status_code == 404
    assert client.post(page, {"remove": their_slot.pk}).status_code == 404
    assert PostingSlot.objects.count() == 1


def test_the_form_needs_a_csrf_token():
    org = make_org()
    channel = offline_channel(org)
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner_of(org))
    post = {"channel": channel.pk, "weekdays": ["0"], "time": "09:00", "zone": "UTC"}
    assert client.post(f"/w/{org.slug}/publish/queues/", post).status_code == 403
    assert not PostingSlot.objects.exists()
