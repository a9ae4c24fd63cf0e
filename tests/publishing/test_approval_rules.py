"""Approval rules a workspace sets (none, or 1 to 3 steps, each a role or named members), who
is asked by e-mail and when, and who is told when a post waits past its time."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from chorus.orgs.access import Actor
from chorus.orgs.models import AuditEntry, User, Workspace
from chorus.orgs.roles import Role
from chorus.publishing import ledger, services
from chorus.publishing.models import Delivery, Post
from chorus.publishing.timing import Instant
from tests.conftest import add_workspace, make_org, member, owner_of, token_for
from tests.publishing.helpers import offline_channel, post_to, states

pytestmark = pytest.mark.django_db
State = Delivery.State


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """A block whose on-commit work (the approval e-mails) runs at its end, as after a commit."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def later(hours: int = 1):
    return timezone.now() + timedelta(hours=hours)


def named_rule(workspace: Workspace, *tiers: object) -> None:
    services.set_approval_rule(Actor(owner_of(workspace)), workspace, required=True, tiers=tiers)


def asked(user: User) -> list[str]:
    """Subjects of the approval requests e-mailed to ``user``."""
    return [
        str(m.subject) for m in mail.outbox if user.email in m.to and "Approval needed" in m.subject
    ]


# Named members -----------------------------------------------------------------------------------


def test_a_named_step_is_signed_by_a_named_member_only_and_only_they_are_asked(committed):
    org = make_org()
    named, not_named = member(org, Role.MANAGER), member(org, Role.MANAGER)
    named_rule(org, {"members": [named.pk]}, "admin")
    with committed():
        post = post_to(member(org, Role.EDITOR), org, [offline_channel(org)], later())
    assert [m.to for m in mail.outbox] == [[named.email]]  # only the step's approver

    with pytest.raises(services.Forbidden, match="named approvers"):
        services.approve(Actor(not_named), post)
    with committed():
        services.approve(Actor(named), post)
    assert states(post) == [State.AWAITING_APPROVAL]
    # Step 2 (an admin or stronger) goes to the owner, not to the one who signed step 1.
    assert {tuple(m.to) for m in mail.outbox[1:]} == {(owner_of(org).email,)}
    services.approve(Actor(owner_of(org)), post)
    assert states(post) == [State.SCHEDULED]
    signed = AuditEntry.objects.filter(action="post.approved").order_by("pk")
    assert [e.actor for e in signed] == [named, owner_of(org)]


def test_a_named_author_still_cannot_approve_their_own_post(committed):
    org = make_org()
    author, other = member(org, Role.MANAGER), member(org, Role.MANAGER)
    named_rule(org, {"members": [author.pk, other.pk]})
    with committed():
        post = post_to(author, org, [offline_channel(org)], later())
    assert [m.to for m in mail.outbox] == [[other.email]]
    with pytest.raises(services.Forbidden, match="own"):
        services.approve(Actor(author), post)
    services.approve(Actor(other), post)
    assert states(post) == [State.SCHEDULED]


def test_a_market_inherits_named_approvers_from_hq(committed):
    hq = make_org()
    market = add_workspace(hq)
    boss = member(hq, Role.MANAGER)
    named_rule(hq, {"members": [boss.pk]})
    local_manager = member(market, Role.MANAGER)
    with committed():
        post = post_to(member(market, Role.CONTRIBUTOR), market, [offline_channel(market)], later())
    assert [m.to for m in mail.outbox] == [[boss.email]]
    with pytest.raises(services.Forbidden):
        services.approve(Actor(local_manager), post)
    services.approve(Actor(boss), post)
    assert states(post) == [State.SCHEDULED]


def test_named_approvers_through_the_api(api):
    org = make_org()
    owner = token_for(owner_of(org))
    named, not_named = member(org, Role.MANAGER), member(org, Role.MANAGER)
    rule = api(
        "put",
        f"/workspaces/{org.slug}/approval-rule",
        token=owner,
        json={"required": True, "tiers": [{"members": [named.pk, named.pk]}]},
    )
    assert rule.status_code == 200
    assert rule.json()["tiers"] == [{"members": [named.pk]}]
    read = api("get", f"/workspaces/{org.slug}/approval-rule", token=token_for(not_named))
    assert read.json() == {
        "workspace": org.slug,
        "required": True,
        "tiers": [{"members": [named.pk]}],
        "set_on": org.slug,
    }
    post = post_to(member(org, Role.CONTRIBUTOR), org, [offline_channel(org)], later())

    refused = api("post", f"/posts/{post.pk}/approve", token=token_for(not_named))
    assert refused.status_code == 403
    assert "named approvers" in refused.json()["error"]["message"]
    approved = api("post", f"/posts/{post.pk}/approve", token=token_for(named))
    assert approved.status_code == 200 and approved.json()["states"] == {"scheduled": 1}


def test_a_market_reads_the_rule_it_inherits(api):
    hq = make_org()
    market = add_workspace(hq)
    named_rule(hq, "manager", "admin")
    read = api("get", f"/workspaces/{market.slug}/approval-rule", token=token_for(owner_of(hq)))
    assert read.json()["tiers"] == ["manager", "admin"] and read.json()["set_on"] == hq.slug
    fresh = make_org()
    nothing = api(
        "get", f"/workspaces/{fresh.slug}/approval-rule", token=token_for(owner_of(fresh))
    )
    assert nothing.json() == {
        "workspace": fresh.slug,
        "required": False,
        "tiers": [],
        "set_on": None,
    }


def test_named_approvers_must_be_members_who_may_approve_and_steps_are_three_at_most(api):
    org = make_org()
    other_org = make_org()
    owner = token_for(owner_of(org))
    manager, editor = member(org, Role.MANAGER), member(org, Role.EDITOR)
    stranger = member(other_org, Role.MANAGER)
    below = member(add_workspace(org), Role.MANAGER)  # manages a sub-workspace only

    wrong = api(
        "put",
        f"/workspaces/{org.slug}/approval-rule",
        token=owner,
        json={
            "required": True,
            "tiers": [
                "manager",
                {"members": [manager.pk, editor.pk, stranger.pk, below.pk]},
                {"members": []},
            ],
        },
    )
    assert wrong.status_code == 422
    paths = {field["path"] for field in wrong.json()["error"]["fields"]}
    assert paths == {
        "tiers[1].members[1]",
        "tiers[1].members[2]",
        "tiers[1].members[3]",
        "tiers[2].members",
    }
    too_many = api(
        "put",
        f"/workspaces/{org.slug}/approval-rule",
        token=owner,
        json={"required": True, "tiers": ["manager"] * 4},
    )
    assert too_many.status_code == 422
    assert too_many.json()["error"]["fields"][0]["path"] == "tiers"
    assert not AuditEntry.objects.filter(action="publishing.approval_rule").exists()


# The page ----------------------------------------------------------------------------------------


def test_an_admin_sets_a_named_step_from_the_page_and_it_is_audited(client):
    org = make_org()
    admin, named = member(org, Role.ADMIN), member(org, Role.MANAGER)
    client.force_login(admin)
    page = client.get(f"/w/{org.slug}/publish/approvals/")
    assert page.status_code == 200
    assert b"No approval required" in page.content
    assert named.email.encode() in page.content and b'name="step-1-kind"' in page.content

    saved = client.post(
        f"/w/{org.slug}/publish/approvals/",
        {
            "required": "yes",
            "step-1-kind": "members",
            "step-1-members": [str(named.pk)],
            "step-2-kind": "owner",
            "step-3-kind": "",
        },
    )
    assert saved.status_code == 302
    assert services.approval_tiers(org) == [{"members": [named.pk]}, "owner"]
    entry = AuditEntry.objects.get(action="publishing.approval_rule")
    assert entry.actor == admin and entry.details["tiers"] == [{"members": [named.pk]}, "owner"]
    shown = client.get(f"/w/{org.slug}/publish/approvals/")
    assert f"Signed off by one of: {named.email}".encode() in shown.content

    client.post(f"/w/{org.slug}/publish/approvals/", {"required": "no"})
    assert not services.approval_required(org)


def test_the_page_shows_a_wrong_step_beside_it(client):
    org = make_org()
    editor = member(org, Role.EDITOR)  # not offered: sent by a tampered or outdated form
    client.force_login(owner_of(org))
    refused = client.post(
        f"/w/{org.slug}/publish/approvals/",
        {
            "required": "yes",
            "step-1-kind": "members",
            "step-2-kind": "members",
            "step-2-members": [str(editor.pk)],
        },
    )
    assert refused.status_code == 200

    def step(number: int) -> bytes:
        found = re.search(
            rf'<fieldset id="step-{number}">.*?</fieldset>'.encode(), refused.content, re.S
        )
        assert found is not None
        return found.group(0)

    assert b"Name at least one approver." in step(1)
    assert b"Not a member of this workspace who may approve" in step(2)
    assert not services.approval_required(org)


def test_a_manager_reads_the_rule_but_cannot_change_it_and_a_post_needs_its_csrf_token():
    org = make_org()
    named_rule(org, "manager", "admin")
    manager = member(org, Role.MANAGER)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(manager)
    page = browser.get(f"/w/{org.slug}/publish/approvals/")
    assert page.status_code == 200 and b"Signed off by: Manager or a stronger role" in page.content
    assert b'id="approval-rule"' not in page.content
    assert browser.post(f"/w/{org.slug}/publish/approvals/", {"required": "no"}).status_code == 403

    browser.force_login(owner_of(org))
    assert browser.post(f"/w/{org.slug}/publish/approvals/", {"required": "no"}).status_code == 403
    assert services.approval_required(org)  # no CSRF token: nothing changed
    editor = Client()
    editor.force_login(member(org, Role.EDITOR))
    assert editor.get(f"/w/{org.slug}/publish/approvals/").status_code == 403
    outsider = Client()
    outsider.force_login(owner_of(make_org()))
    assert outsider.get(f"/w/{org.slug}/publish/approvals/").status_code == 404


# Rescheduling a draft ----------------------------------------------------------------------------


def test_rescheduling_a_draft_that_needs_approval_asks_the_approvers(committed):
    org = make_org()
    named_rule(org, "manager")
    approver, editor = member(org, Role.MANAGER), member(org, Role.EDITOR)
    post = post_to(editor, org, [offline_channel(org), offline_channel(org)], later())
    services.reject(Actor(approver), post, "Fix the price")
    assert states(post) == [State.DRAFT, State.DRAFT]
    mail.outbox.clear()

    with committed():
        services.reschedule(Actor(editor), post, Instant(later(), "UTC"))
    assert states(post) == [State.AWAITING_APPROVAL] * 2
    assert len(asked(approver)) == 1  # one request for the post, not one per channel


def test_moving_one_draft_delivery_asks_the_approvers_too(committed):
    org = make_org()
    named_rule(org, "manager")
    approver, editor = member(org, Role.MANAGER), member(org, Role.EDITOR)
    post = post_to(editor, org, [offline_channel(org)], later())
    services.reject(Actor(approver), post, "Not now")
    delivery = Delivery.objects.get(post=post)
    mail.outbox.clear()
    with committed():
        services.reschedule_delivery(Actor(editor), delivery, Instant(later(), "UTC"))
    assert len(asked(approver)) == 1
    with committed():  # already awaiting approval: a new time asks nobody again
        services.reschedule_delivery(Actor(editor), delivery, Instant(later(2), "UTC"))
    assert len(asked(approver)) == 1


# Overdue -----------------------------------------------------------------------------------------


def market_world():
    hq = make_org()
    market = add_workspace(hq, default_locale="fr")
    return (
        hq,
        market,
        member(hq, Role.MANAGER),
        member(market, Role.MANAGER),
        member(market, Role.EDITOR),
        offline_channel(market),
    )


def global_post(hq: Workspace, channel, at) -> Post:
    return services.create_post(
        Actor(owner_of(hq)),
        hq,
        text="Summer menu",
        channels=[channel.pk],
        when=Instant(at, "UTC"),
    )


def test_an_overdue_adaptation_awaiting_approval_tells_the_markets_approvers(network):
    hq, market, hq_manager, market_manager, market_editor, channel = market_world()
    services.set_approval_rule(Actor(owner_of(hq)), market, required=True)
    due = later()
    post = global_post(hq, channel, due)
    services.adapt(Actor(market_editor), post, market, text="Menu d'été", done=True)
    mail.outbox.clear()

    report = ledger.sweep(now=due + timedelta(minutes=1))
    assert report.approvals_overdue == 1 and network.calls == 0
    (message,) = mail.outbox
    assert set(message.to) == {market_manager.email, market_editor.email, owner_of(hq).email}
    assert hq_manager.email not in message.to
    assert "Menu d'été" in message.body
    ledger.sweep(now=due + timedelta(minutes=2))
    assert len(mail.outbox) == 1


def test_an_overdue_copy_to_adapt_is_told_once_and_shows_on_the_publish_page(network, client):
    hq, market, hq_manager, market_manager, market_editor, channel = market_world()
    due = later()
    post = global_post(hq, channel, due)
    mail.outbox.clear()

    report = ledger.sweep(now=due + timedelta(minutes=1))
    assert report.adaptations_overdue == 1 and network.calls == 0
    assert states(post) == [State.AWAITING_ADAPTATION]
    (message,) = mail.outbox
    assert set(message.to) == {market_manager.email, market_editor.email, owner_of(hq).email}
    assert "adapt" in message.subject and hq_manager.email not in message.to
    assert ledger.sweep(now=due + timedelta(minutes=2)).adaptations_overdue == 0
    assert len(mail.outbox) == 1

    Delivery.objects.filter(post=post).update(scheduled_at=timezone.now() - timedelta(minutes=1))
    client.force_login(market_editor)
    page = client.get(f"/w/{market.slug}/publish/")
    to_adapt = re.search(rb'<section class="card" id="to-adapt">.*?</section>', page.content, re.S)
    assert to_adapt is not None and b"Overdue: not published there" in to_adapt.group(0)


# The composer's "send as is" -----------------------------------------------------------------


def test_the_composer_sends_a_post_as_is_to_the_markets_when_ticked(client):
    hq = make_org()
    market = add_workspace(hq)
    own, local = offline_channel(hq), offline_channel(market)
    client.force_login(owner_of(hq))
    page = client.get(f"/w/{hq.slug}/publish/new/")
    assert b"Send as is to the markets" in page.content

    def compose(**extra: str) -> Post:
        fields = {"text": "Summer menu", "channels": [own.pk, local.pk], "timezone": "UTC"}
        response = client.post(f"/w/{hq.slug}/publish/new/", {**fields, **extra})
        assert response.status_code == 302
        return Post.objects.latest("pk")

    as_is = compose(send_as_is="on")
    assert states(as_is) == [State.DRAFT, State.DRAFT]
    adapted = compose()
    assert sorted(states(adapted)) == [State.AWAITING_ADAPTATION, State.DRAFT]


def test_the_composer_offers_send_as_is_only_with_market_channels(client):
    org = make_org()
    offline_channel(org)
    client.force_login(owner_of(org))
    assert b"Send as is" not in client.get(f"/w/{org.slug}/publish/new/").content


def test_the_markets_page_offers_the_decision_to_the_named_approver_only(client):
    org = make_org()
    named, not_named = member(org, Role.MANAGER), member(org, Role.MANAGER)
    named_rule(org, {"members": [named.pk]})
    post = post_to(member(org, Role.CONTRIBUTOR), org, [offline_channel(org)], later())
    markets = f"/w/{org.slug}/publish/posts/{post.pk}/markets/"
    client.force_login(not_named)
    assert b'name="decision" value="approve"' not in client.get(markets).content
    client.force_login(named)
    assert b'name="decision" value="approve"' in client.get(markets).content
