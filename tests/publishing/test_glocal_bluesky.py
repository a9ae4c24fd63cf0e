"""The scenario a newcomer must be able to run, on a real local Bluesky network: a campaign on
three Bluesky channels in two workspaces, English and French, approved by a manager, published
on time, found on the PDS, then a crisis pause and resume of a subtree — through the API, and
through the pages with a market adapting HQ's post."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from chorus.orgs.access import Actor
from chorus.orgs.roles import Role
from chorus.publishing import ledger, services
from chorus.publishing.models import Delivery
from chorus.publishing.timing import Instant
from tests.conftest import add_workspace, make_org, member, owner_of, token_for
from tests.fixtures.bluesky import BlueskyNetwork
from tests.fixtures.browser import log_in, screenshot
from tests.publishing.helpers import bluesky_channel, texts_on

State = Delivery.State


def wait_until(moment: datetime) -> None:
    time.sleep(max(0.0, (moment - timezone.now()).total_seconds()))


def published_on_time(post_id: int, due: datetime) -> None:
    """Every delivery went out once, not before its time and within seconds of it."""
    for delivery in Delivery.objects.filter(post_id=post_id):
        assert delivery.state == State.PUBLISHED, (delivery.state, delivery.last_error)
        assert delivery.published_at is not None
        assert due <= delivery.published_at < due + timedelta(seconds=30)
        assert delivery.remote_id.startswith("at://")


@pytest.mark.django_db
def test_the_newcomers_campaign_through_the_api(api, bluesky_network: BlueskyNetwork):
    org = make_org(name="Lumen")
    france = add_workspace(org, name="Lumen France", default_locale="fr")
    boss = token_for(owner_of(org))
    newcomer = token_for(member(org, Role.EDITOR))
    manager = token_for(member(org, Role.MANAGER))
    channel_ids = []
    for workspace in (org, france, france):
        account = bluesky_network.create_account("brand")
        connected = api(
            "post",
            "/channels",
            token=boss,
            json={
                "network": "bluesky",
                "workspace": workspace.slug,
                "handle": account.handle,
                "app_password": account.app_password,
                "service_url": bluesky_network.pds,
            },
        )
        assert connected.status_code == 201, connected.content
        channel_ids.append(connected.json()["id"])
    api("put", f"/workspaces/{org.slug}/approval-rule", token=boss, json={"required": True})

    campaign = api(
        "post", "/campaigns", token=newcomer, json={"workspace": org.slug, "name": "Summer"}
    ).json()
    due = timezone.now() + timedelta(seconds=6)
    created = api(
        "post",
        "/posts",
        token=newcomer,
        json={
            "workspace": org.slug,
            "campaign": campaign["id"],
            "text": "Our summer menu is here",
            "variants": [{"locale": "fr", "text": "Notre menu d'été est là"}],
            "send_as_is": True,
            "channels": channel_ids,
            "scheduled_at": due.isoformat(),
        },
    ).json()
    assert created["states"] == {"awaiting_approval": 3}
    assert api("post", f"/posts/{created['id']}/approve", token=newcomer).status_code == 403
    approved = api("post", f"/posts/{created['id']}/approve", token=manager).json()
    assert approved["states"] == {"scheduled": 3}

    assert ledger.run_due() == {}  # nothing before its time
    wait_until(due)
    ledger.run_due()  # what a worker does at the due time
    published_on_time(created["id"], due)
    hq, fr_1, fr_2 = (
        Delivery.objects.get(post_id=created["id"], channel_id=pk).channel for pk in channel_ids
    )
    assert texts_on(bluesky_network, hq) == ["Our summer menu is here"]
    assert (
        texts_on(bluesky_network, fr_1)
        == texts_on(bluesky_network, fr_2)
        == ["Notre menu d'été est là"]
    )

    later = api(
        "post",
        "/posts",
        token=newcomer,
        json={
            "workspace": org.slug,
            "text": "Our autumn menu",
            "send_as_is": True,
            "channels": channel_ids,
            "scheduled_at": (timezone.now() + timedelta(hours=1)).isoformat(),
        },
    ).json()
    api("post", f"/posts/{later['id']}/approve", token=manager)
    paused = api("post", f"/workspaces/{france.slug}/pause", token=manager, json={"reason": "x"})
    assert paused.json()["paused"] == 2
    assert api("get", f"/posts/{later['id']}", token=newcomer).json()["states"] == {
        "scheduled": 1,
        "paused": 2,
    }
    resumed = api("post", f"/workspaces/{france.slug}/resume", token=manager, json={})
    assert resumed.json()["resumed"] == 2
    assert api("get", f"/posts/{later['id']}", token=newcomer).json()["states"] == {"scheduled": 3}


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_newcomers_campaign_through_the_pages(page: Page, bluesky_network: BlueskyNetwork):
    org = make_org(name="Lumen", slug="lumen")
    france = add_workspace(org, "lumen-fr", name="Lumen France", default_locale="fr")
    boss = owner_of(org)
    hq = bluesky_channel(bluesky_network, org, boss)
    fr_1, fr_2 = (bluesky_channel(bluesky_network, france, boss) for _ in range(2))
    services.set_approval_rule(Actor(boss), org, required=True)  # inherited by France
    newcomer, manager = member(org, Role.EDITOR), member(org, Role.MANAGER)
    french_editor, french_manager = member(france, Role.EDITOR), member(france, Role.MANAGER)

    # HQ's newcomer writes the post in English for the three channels.
    log_in(page, newcomer.email)
    page.goto("/w/lumen/publish/")
    page.get_by_role("link", name="New post").click()
    page.get_by_label("Text", exact=True).fill("Our summer menu is here")
    for channel in (hq, fr_1, fr_2):
        page.get_by_label(f"@{channel.handle}", exact=False).check()
    due = (datetime.now(UTC) + timedelta(minutes=2)).replace(second=0, microsecond=0)
    page.get_by_label("Publish at").fill(due.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Time zone").select_option("UTC")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("The post is saved.")).to_be_visible()
    post_id = Delivery.objects.get(channel=hq).post_id

    # A manager at HQ approves HQ's part (France's copy waits for France's team).
    page.context.clear_cookies()
    log_in(page, manager.email)
    page.goto("/w/lumen/publish/")
    page.locator("#posts").get_by_role("button", name="Approve").click()
    expect(page.get_by_text("Approved.")).to_be_visible()

    # France's team adapts its copy in French, from its "to adapt" queue...
    page.context.clear_cookies()
    log_in(page, french_editor.email)
    page.goto("/w/lumen-fr/publish/")
    page.locator("#to-adapt").get_by_role("link", name="Our summer menu is here").click()
    page.get_by_label("Text in “fr”").fill("Notre menu d'été est là")
    page.get_by_role("button", name="Mark as adapted").click()
    expect(page.locator("#markets tr[data-market=lumen-fr]")).to_contain_text("Adapted")

    # ...and France's manager approves it, by the rule France inherits from HQ.
    page.context.clear_cookies()
    log_in(page, french_manager.email)
    page.goto(f"/w/lumen-fr/publish/posts/{post_id}/markets/")
    page.locator("#markets").get_by_role("button", name="Approve").click()
    expect(page.locator("#markets tr[data-market=lumen-fr]")).to_contain_text("Scheduled")

    wait_until(due)
    ledger.run_due()  # what a worker does at the due time
    published_on_time(post_id, due)
    assert texts_on(bluesky_network, hq) == ["Our summer menu is here"]
    assert (
        texts_on(bluesky_network, fr_1)
        == texts_on(bluesky_network, fr_2)
        == ["Notre menu d'été est là"]
    )
    page.context.clear_cookies()
    log_in(page, boss.email)
    page.goto(f"/w/lumen/publish/posts/{post_id}/markets/")
    expect(page.locator("#markets tbody tr")).to_have_count(2)
    expect(page.locator("#markets .badge.published")).to_have_count(3)
    screenshot(page, "glocal-published")

    # A crisis in France: pause its subtree, then resume.
    autumn_post = services.create_post(
        Actor(newcomer),
        org,
        text="Our autumn menu",
        channels=[hq.pk, fr_1.pk, fr_2.pk],
        when=Instant(timezone.now() + timedelta(hours=1), "UTC"),
        send_as_is=True,
    )
    services.approve(Actor(manager), autumn_post)
    page.goto("/w/lumen-fr/publish/")
    page.get_by_label("Reason").fill("false rumour")
    page.get_by_role("button", name="Pause all publishing here (crisis)").click()
    expect(page.locator("#crisis-banner")).to_contain_text("false rumour")
    autumn = Delivery.objects.filter(post__text="Our autumn menu")
    assert sorted(autumn.values_list("state", flat=True)) == ["paused", "paused", "scheduled"]
    page.get_by_role("button", name="Resume publishing").click()
    expect(page.locator("#crisis-banner")).to_have_count(0)
    assert set(autumn.values_list("state", flat=True)) == {State.SCHEDULED}
