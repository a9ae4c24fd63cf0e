"""The publishing API as a client uses it: create, list, approve, reject, cancel, reschedule,
crisis pause, and safe retries with an Idempotency-Key."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chorus.orgs.models import AuditEntry, Workspace
from chorus.orgs.roles import Role
from chorus.publishing.models import Delivery, Post
from tests.conftest import add_workspace, make_org, member, owner_of, token_for
from tests.publishing.helpers import offline_channel

pytestmark = pytest.mark.django_db
LATER = "2030-06-01T09:00:00+02:00"


def body(workspace: Workspace, channels: list[int], **extra: object) -> dict:
    return {
        "workspace": workspace.slug,
        "text": "Our summer menu is here",
        "channels": channels,
        "scheduled_at": LATER,
        # Markets take HQ's variants as written here; their adaptation is in test_glocal.py.
        "send_as_is": True,
        **extra,
    }


def test_an_editor_schedules_a_post_on_channels_across_the_subtree(api):
    org = make_org()
    market = add_workspace(org)
    here, there = offline_channel(org), offline_channel(market, "mastodon")
    editor = token_for(member(org, Role.EDITOR))

    created = api("post", "/posts", token=editor, json=body(org, [here.pk, there.pk]))
    assert created.status_code == 201, created.content
    post = created.json()
    assert post["states"] == {"scheduled": 2}

    listed = api("get", f"/deliveries?post={post['id']}", token=editor).json()["items"]
    assert [(d["channel"], d["state"]) for d in listed] == [
        (here.pk, "scheduled"),
        (there.pk, "scheduled"),
    ]
    assert listed[0]["scheduled_at"] == "2030-06-01T07:00:00Z"
    assert {"remote_id", "remote_url", "published_at"} <= set(listed[0])


def test_a_local_time_is_read_in_the_given_zone_across_a_dst_change(api):
    org = make_org()
    editor = token_for(owner_of(org))
    created = api(
        "post",
        "/posts",
        token=editor,
        json=body(
            org,
            [offline_channel(org).pk],
            scheduled_at="2030-03-31T02:30",
            timezone="Europe/Paris",
        ),
    )
    delivery = created.json()["deliveries"][0]
    assert delivery["scheduled_at"] == "2030-03-31T01:30:00Z"  # 03:30 CEST: shifted forward
    assert delivery["schedule_zone"] == "Europe/Paris"


def test_a_text_too_long_for_one_network_says_which_rule_and_by_how_much_and_writes_nothing(api):
    org = make_org()
    token = token_for(owner_of(org))
    response = api(
        "post",
        "/posts",
        token=token,
        json=body(
            org, [offline_channel(org, "mastodon").pk, offline_channel(org).pk], text="é" * 320
        ),
    )
    assert response.status_code == 422
    fields = {field["path"]: field["message"] for field in response.json()["error"]["fields"]}
    assert list(fields) == ["channels[1]"]
    assert "Bluesky" in fields["channels[1]"] and "20" in fields["channels[1]"]
    assert Post.objects.count() == Delivery.objects.count() == 0


def test_a_variant_per_network_replaces_the_master_text_there_only(api):
    org = make_org()
    token = token_for(owner_of(org))
    bluesky, mastodon = offline_channel(org), offline_channel(org, "mastodon")
    created = api(
        "post",
        "/posts",
        token=token,
        json=body(
            org,
            [bluesky.pk, mastodon.pk],
            variants=[{"network": "mastodon", "text": "Toot: our summer menu"}],
        ),
    ).json()
    texts = {d["network"]: d["text"] for d in created["deliveries"]}
    assert texts == {"bluesky": "Our summer menu is here", "mastodon": "Toot: our summer menu"}


def test_a_channel_of_another_workspace_is_refused(api):
    org = make_org()
    elsewhere = offline_channel(make_org())
    response = api("post", "/posts", token=token_for(owner_of(org)), json=body(org, [elsewhere.pk]))
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["path"] == "channels[0]"


def test_a_contributors_post_waits_for_another_manager(api):
    org = make_org()
    contributor = member(org, Role.CONTRIBUTOR)
    manager = token_for(member(org, Role.MANAGER))
    post = api(
        "post", "/posts", token=token_for(contributor), json=body(org, [offline_channel(org).pk])
    ).json()
    assert post["states"] == {"awaiting_approval": 1}

    approved = api("post", f"/posts/{post['id']}/approve", token=manager)
    assert approved.status_code == 200
    assert approved.json()["states"] == {"scheduled": 1}
    entry = AuditEntry.objects.get(action="post.approved")
    assert entry.actor_email != contributor.email


def test_nobody_approves_their_own_post(api):
    org = make_org()
    api(
        "put",
        f"/workspaces/{org.slug}/approval-rule",
        token=token_for(owner_of(org)),
        json={"required": True},
    )
    manager = token_for(member(org, Role.MANAGER))
    post = api("post", "/posts", token=manager, json=body(org, [offline_channel(org).pk])).json()
    assert post["states"] == {"awaiting_approval": 1}  # the workspace's rule applies to managers
    refused = api("post", f"/posts/{post['id']}/approve", token=manager)
    assert refused.status_code == 403
    assert "own" in refused.json()["error"]["message"]


def test_a_rejected_post_goes_back_to_draft_with_the_reason(api):
    org = make_org()
    post = api(
        "post",
        "/posts",
        token=token_for(member(org, Role.CONTRIBUTOR)),
        json=body(org, [offline_channel(org).pk]),
    ).json()
    rejected = api(
        "post",
        f"/posts/{post['id']}/reject",
        token=token_for(member(org, Role.MANAGER)),
        json={"note": "Wrong price"},
    ).json()
    assert rejected["deliveries"][0]["state"] == "draft"
    assert rejected["deliveries"][0]["review_note"] == "Wrong price"


def test_cancel_and_reschedule(api):
    org = make_org()
    token = token_for(owner_of(org))
    post = api("post", "/posts", token=token, json=body(org, [offline_channel(org).pk])).json()
    moved = api(
        "post",
        f"/posts/{post['id']}/schedule",
        token=token,
        json={"scheduled_at": "2030-11-03T01:30", "timezone": "America/New_York"},
    ).json()
    assert moved["deliveries"][0]["scheduled_at"] == "2030-11-03T05:30:00Z"  # first 01:30 (EDT)
    cancelled = api("post", f"/posts/{post['id']}/cancel", token=token).json()
    assert cancelled["states"] == {"cancelled": 1}
    assert AuditEntry.objects.filter(action="post.cancelled").exists()


def test_the_same_idempotency_key_and_body_give_the_same_post_once(api):
    org = make_org()
    token = token_for(owner_of(org))
    payload = body(org, [offline_channel(org).pk])
    first = api("post", "/posts", token=token, json=payload, HTTP_IDEMPOTENCY_KEY="k-1")
    again = api("post", "/posts", token=token, json=payload, HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert Post.objects.count() == 1


def test_the_same_idempotency_key_with_another_body_is_a_conflict(api):
    org = make_org()
    token = token_for(owner_of(org))
    payload = body(org, [offline_channel(org).pk])
    api("post", "/posts", token=token, json=payload, HTTP_IDEMPOTENCY_KEY="k-2")
    changed = api(
        "post", "/posts", token=token, json={**payload, "text": "Other"}, HTTP_IDEMPOTENCY_KEY="k-2"
    )
    assert changed.status_code == 409
    assert changed.json()["error"]["code"] == "conflict"
    assert Post.objects.count() == 1


def test_crisis_pause_and_resume_through_the_api(api):
    org = make_org()
    market = add_workspace(org)
    token = token_for(owner_of(org))
    post = api("post", "/posts", token=token, json=body(org, [offline_channel(market).pk])).json()

    paused = api("post", f"/workspaces/{org.slug}/pause", token=token, json={"reason": "rumour"})
    assert paused.json()["paused"] == 1
    assert api("get", f"/posts/{post['id']}", token=token).json()["states"] == {"paused": 1}
    resumed = api("post", f"/workspaces/{org.slug}/resume", token=token, json={})
    assert resumed.json()["resumed"] == 1
    assert api("get", f"/posts/{post['id']}", token=token).json()["states"] == {"scheduled": 1}


def test_campaigns_group_posts(api):
    org = make_org()
    token = token_for(owner_of(org))
    campaign = api(
        "post",
        "/campaigns",
        token=token,
        json={"workspace": org.slug, "name": "Summer", "labels": ["menu"]},
    ).json()
    post = api(
        "post",
        "/posts",
        token=token,
        json=body(org, [offline_channel(org).pk], campaign=campaign["id"]),
    ).json()
    listed = api("get", f"/posts?workspace={org.slug}&campaign={campaign['id']}", token=token)
    assert [p["id"] for p in listed.json()["items"]] == [post["id"]]


def test_ordered_approval_steps_need_a_manager_then_someone_else_with_a_stronger_role(api):
    org = make_org()
    owner = token_for(owner_of(org))
    rule = api(
        "put",
        f"/workspaces/{org.slug}/approval-rule",
        token=owner,
        json={"required": True, "tiers": ["manager", "admin"]},
    )
    assert rule.json()["tiers"] == ["manager", "admin"]
    post = api(
        "post",
        "/posts",
        token=token_for(member(org, Role.EDITOR)),
        json=body(org, [offline_channel(org).pk]),
    ).json()
    manager, other_manager = (token_for(member(org, Role.MANAGER)) for _ in range(2))

    first = api("post", f"/posts/{post['id']}/approve", token=manager).json()
    assert first["states"] == {"awaiting_approval": 1}
    assert len(first["approvals"]) == 1 and first["approval_steps"] == 2
    assert api("post", f"/posts/{post['id']}/approve", token=manager).status_code == 403
    second_step = api("post", f"/posts/{post['id']}/approve", token=other_manager)
    assert second_step.status_code == 403
    assert "Admin" in second_step.json()["error"]["message"]

    done = api("post", f"/posts/{post['id']}/approve", token=owner).json()
    assert done["states"] == {"scheduled": 1}


def test_an_approval_step_must_name_a_role_that_approves(api):
    org = make_org()
    response = api(
        "put",
        f"/workspaces/{org.slug}/approval-rule",
        token=token_for(owner_of(org)),
        json={"required": True, "tiers": ["editor"]},
    )
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["path"] == "tiers[0]"


def test_a_bulk_import_creates_every_line_or_none_and_says_which_line_is_wrong(api):
    org = make_org()
    token = token_for(owner_of(org))
    bluesky, mastodon = offline_channel(org), offline_channel(org, "mastodon")
    good = (
        "text,channels,scheduled_at,timezone\n"
        f"Spring menu,{bluesky.pk} {mastodon.pk},2030-03-31T02:30,Europe/Paris\n"
        f'"Summer, at last",{bluesky.pk},2030-06-01T09:00:00+02:00,\n'
    )
    bad = good + f"{'x' * 301},{bluesky.pk},2030-06-02T09:00,Europe/Paris\n"

    refused = api("post", "/posts/import", token=token, json={"workspace": org.slug, "csv": bad})
    assert refused.status_code == 422
    paths = [field["path"] for field in refused.json()["error"]["fields"]]
    assert paths == ["csv.line[4].channels[0]"]
    assert Post.objects.count() == 0

    created = api("post", "/posts/import", token=token, json={"workspace": org.slug, "csv": good})
    assert created.status_code == 201
    assert len(created.json()["created"]) == 2
    first = Delivery.objects.filter(post__text="Spring menu").first()
    assert first is not None and first.scheduled_at is not None
    assert first.scheduled_at.isoformat() == "2030-03-31T01:30:00+00:00"


def test_the_calendar_cuts_days_in_the_chosen_zone_and_shows_hqs_posts_to_a_market(api):
    org = make_org()
    market = add_workspace(org)
    hq_token = token_for(owner_of(org))
    local_manager = token_for(member(market, Role.MANAGER))
    api(
        "post",
        "/posts",
        token=hq_token,
        json=body(org, [offline_channel(market).pk], scheduled_at="2030-06-01T23:30:00+00:00"),
    )
    days = api(
        "get",
        f"/calendar?workspace={market.slug}&start=2030-06-01&end=2030-06-03&timezone=Europe/Paris",
        token=local_manager,
    ).json()["days"]
    assert [(day["date"], [e["local_time"] for e in day["entries"]]) for day in days] == [
        ("2030-06-02", ["01:30"])
    ]


def test_each_channel_gets_the_variant_of_its_network_and_its_markets_language(api):
    org = make_org()
    france = add_workspace(org, default_locale="fr")
    token = token_for(owner_of(org))
    channels = [offline_channel(org), offline_channel(france), offline_channel(france, "mastodon")]
    created = api(
        "post",
        "/posts",
        token=token,
        json=body(
            org,
            [channel.pk for channel in channels],
            variants=[
                {"locale": "fr", "text": "Notre menu d'été"},
                {"network": "mastodon", "locale": "fr", "text": "Pouet : notre menu d'été"},
            ],
        ),
    ).json()
    assert [d["text"] for d in created["deliveries"]] == [
        "Our summer menu is here",
        "Notre menu d'été",
        "Pouet : notre menu d'été",
    ]


def test_the_same_text_on_the_same_channel_within_30_days_is_flagged_not_blocked(api):
    org = make_org()
    here, elsewhere = offline_channel(org), offline_channel(org)
    token = token_for(owner_of(org))
    api("post", "/posts", token=token, json=body(org, [here.pk]))

    again = api(
        "post",
        "/posts",
        token=token,
        json=body(
            org,
            [here.pk, elsewhere.pk],
            text="  our SUMMER menu   is here",
            scheduled_at="2030-06-20T09:00:00+02:00",
        ),
    )
    assert again.status_code == 201
    warnings = again.json()["warnings"]
    assert len(warnings) == 1 and here.handle in warnings[0]

    far_later = api(
        "post",
        "/posts",
        token=token,
        json=body(org, [here.pk], scheduled_at="2030-08-15T09:00:00+02:00"),
    )
    assert far_later.json()["warnings"] == []


def test_listing_posts_costs_the_same_queries_for_one_post_or_twenty(api):
    org = make_org()
    channels = [offline_channel(org).pk, offline_channel(org).pk]
    token = token_for(owner_of(org))

    def queries_to_list() -> int:
        with CaptureQueriesContext(connection) as listing:
            assert (
                api("get", "/posts", token=token, data={"workspace": org.slug}).status_code == 200
            )
        return len(listing.captured_queries)

    api("post", "/posts", token=token, json=body(org, channels))
    one = queries_to_list()
    for index in range(19):
        api("post", "/posts", token=token, json=body(org, channels, text=f"Menu {index}"))
    assert queries_to_list() == one
