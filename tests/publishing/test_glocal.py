"""The glocal flow: HQ writes once, each market adapts its copy, its own rules approve it, and
only its own deliveries wait for it. Approvals also come from the link in the e-mail."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from chorus.channels.models import Channel
from chorus.orgs.access import Actor
from chorus.orgs.models import AuditEntry, User, Workspace
from chorus.orgs.roles import Role
from chorus.publishing import ledger, services
from chorus.publishing.models import DecisionLink, Delivery, Post, Variant
from chorus.publishing.timing import Instant
from tests.conftest import PASSWORD, add_workspace, make_org, member, owner_of, token_for
from tests.publishing.helpers import offline_channel

pytestmark = pytest.mark.django_db
State = Delivery.State


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """A block whose on-commit work (the approval e-mails) runs at its end, as after a commit."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@dataclass
class Europe:
    """HQ at Europe with France (French) and Britain (English) as markets.

    (A workspace's locale is one of the UI languages, English or French, for now.)"""

    hq: Workspace
    france: Workspace
    britain: Workspace
    boss: User
    fr: Channel
    uk: Channel
    french_editor: User
    french_manager: User
    british_editor: User


def europe() -> Europe:
    hq = make_org(name="Europe")
    france = add_workspace(hq, name="France", default_locale="fr")
    britain = add_workspace(hq, name="Britain", default_locale="en")
    services.set_approval_rule(Actor(owner_of(hq)), france, required=True)
    return Europe(
        hq=hq,
        france=france,
        britain=britain,
        boss=owner_of(hq),
        fr=offline_channel(france),
        uk=offline_channel(britain),
        french_editor=member(france, Role.EDITOR),
        french_manager=member(france, Role.MANAGER),
        british_editor=member(britain, Role.EDITOR),
    )


def global_post(world: Europe, at=None, **extra) -> Post:
    return services.create_post(
        Actor(world.boss),
        world.hq,
        text="Our summer menu is here",
        channels=[world.fr.pk, world.uk.pk],
        when=Instant(at or timezone.now() + timedelta(hours=1), "UTC"),
        **extra,
    )


def states_by_market(post: Post) -> dict[str, str]:
    return {
        d.workspace.slug: d.state
        for d in Delivery.objects.filter(post=post).select_related("workspace")
    }


def test_a_global_post_gives_each_market_its_own_variant_to_adapt(network):
    world = europe()
    post = global_post(world)

    local = Variant.objects.filter(post=post).exclude(workspace=world.hq)
    assert sorted((v.workspace.slug, v.locale, v.text) for v in local) == [
        (world.france.slug, "fr", "Our summer menu is here"),
        (world.britain.slug, "en", "Our summer menu is here"),
    ]
    assert set(states_by_market(post).values()) == {State.AWAITING_ADAPTATION}
    assert ledger.run_due(now=timezone.now() + timedelta(hours=2)) == {}
    assert network.calls == 0


def test_france_adapts_and_approves_while_britain_pending_blocks_only_british_deliveries(
    network, api, committed
):
    world = europe()
    due = timezone.now() + timedelta(hours=1)
    post = global_post(world, at=due)
    french = token_for(world.french_editor)

    with committed():
        adapted = api(
            "put",
            f"/posts/{post.pk}/markets/{world.france.slug}/variant",
            token=french,
            json={"text": "Notre menu d'été est là", "adapted": True},
        )
    assert adapted.status_code == 200, adapted.content
    assert adapted.json()["status"] == "adapted"  # France's rule: a manager approves
    asked = [m for m in mail.outbox if world.french_manager.email in m.to]
    assert len(asked) == 1 and "/approvals/" in asked[0].body
    assert world.french_editor.email not in {to for m in mail.outbox for to in m.to}

    # The editor who adapted it may not approve it, even with a manager's role elsewhere.
    assert (
        api(
            "post", f"/posts/{post.pk}/markets/{world.france.slug}/approve", token=french
        ).status_code
        == 403
    )
    approved = api(
        "post",
        f"/posts/{post.pk}/markets/{world.france.slug}/approve",
        token=token_for(world.french_manager),
    )
    assert approved.json()["status"] == "scheduled", approved.content

    assert ledger.run_due(now=due) == {State.PUBLISHED: 1}
    assert states_by_market(post) == {
        world.france.slug: State.PUBLISHED,
        world.britain.slug: State.AWAITING_ADAPTATION,
    }
    assert [r.remote_id for r in network.published.values()] == ["remote-1"]
    markets = api("get", f"/posts/{post.pk}/markets", token=token_for(world.boss)).json()
    assert [(m["workspace"], m["locale"], m["status"]) for m in markets["items"]] == [
        (world.france.slug, "fr", "published"),
        (world.britain.slug, "en", "to_adapt"),
    ]
    assert markets["items"][0]["text"] == "Notre menu d'été est là"
    assert markets["items"][0]["approvals"] == [world.french_manager.email]
    assert AuditEntry.objects.filter(action="post.adapted", workspace=world.france).exists()
    assert AuditEntry.objects.filter(action="post.approved", workspace=world.france).exists()


def test_a_rejected_adaptation_goes_back_to_the_market_with_the_note(api):
    world = europe()
    post = global_post(world)
    services.adapt(Actor(world.french_editor), post, world.france, text="Menu d'été", done=True)

    api(
        "post",
        f"/posts/{post.pk}/markets/{world.france.slug}/reject",
        token=token_for(world.french_manager),
        json={"note": "Dites « estival »"},
    )

    france = api("get", f"/posts/{post.pk}/markets", token=token_for(world.french_editor)).json()
    assert [(m["status"], m["review_note"]) for m in france["items"]] == [
        ("to_adapt", "Dites « estival »")
    ]


def test_send_as_is_skips_adaptation_and_follows_hqs_rules(network):
    world = europe()
    post = global_post(world, send_as_is=True)
    assert Variant.objects.filter(post=post).exclude(workspace=world.hq).count() == 0
    assert set(states_by_market(post).values()) == {State.SCHEDULED}


def test_a_market_team_sees_only_its_own_part_of_hqs_post(api, client):
    world = europe()
    post = global_post(world)
    british = token_for(world.british_editor)

    listed = api("get", f"/posts?workspace={world.britain.slug}", token=british).json()["items"]
    assert [p["id"] for p in listed] == [post.pk]  # HQ's post, visible to the market
    assert [d["workspace"] for d in listed[0]["deliveries"]] == [world.britain.slug]
    one = api("get", f"/posts/{post.pk}", token=british).json()
    assert [d["handle"] for d in one["deliveries"]] == [world.uk.handle]
    markets = api("get", f"/posts/{post.pk}/markets", token=british).json()["items"]
    assert [m["workspace"] for m in markets] == [world.britain.slug]

    touched = api(
        "put",
        f"/posts/{post.pk}/markets/{world.france.slug}/variant",
        token=british,
        json={"text": "Our summer menu, innit", "adapted": True},
    )
    assert touched.status_code == 404
    assert (
        api(
            "post", f"/posts/{post.pk}/markets/{world.france.slug}/approve", token=british
        ).status_code
        == 404
    )
    assert Variant.objects.get(post=post, workspace=world.france).adapted_at is None
    # Nor through the pages.
    client.force_login(world.british_editor)
    page = client.get(f"/w/{world.britain.slug}/publish/").content.decode()
    assert world.uk.handle in page and world.fr.handle not in page
    assert "To adapt" in page
    assert client.get(f"/w/{world.france.slug}/publish/posts/{post.pk}/adapt/").status_code == 404
    screen = client.get(f"/w/{world.britain.slug}/publish/posts/{post.pk}/markets/").content
    assert world.uk.handle.encode() in screen and world.fr.handle.encode() not in screen
    # Outside the organisation, the post does not exist.
    stranger = token_for(owner_of(make_org()))
    assert api("get", f"/posts/{post.pk}/markets", token=stranger).status_code == 404


def test_a_local_editor_adapts_from_the_page_and_the_post_goes_to_the_markets_manager(client):
    world = europe()
    post = global_post(world)
    client.force_login(world.french_editor)
    form = client.get(f"/w/{world.france.slug}/publish/posts/{post.pk}/adapt/")
    assert b"Our summer menu is here" in form.content

    done = client.post(
        f"/w/{world.france.slug}/publish/posts/{post.pk}/adapt/",
        {"text": "Notre menu d'été", "adapted": "1"},
    )
    assert done.status_code == 302
    assert states_by_market(post)[world.france.slug] == State.AWAITING_APPROVAL

    client.force_login(world.french_manager)
    client.post(
        f"/w/{world.france.slug}/publish/posts/{post.pk}/markets/decide/",
        {"market": world.france.slug, "decision": "approve"},
    )
    assert states_by_market(post)[world.france.slug] == State.SCHEDULED


# The e-mail link -----------------------------------------------------------------------------


def link_in(message) -> str:
    """The approve link of an approval e-mail, as a path."""
    found = re.search(r"https?://[^/\s]+(/approvals/[^/\s]+/)\?decision=approve", message.body)
    assert found, message.body
    return found.group(1)


def adapted_in_france(world: Europe, committed) -> tuple[Post, str]:
    post = global_post(world)
    with committed():
        services.adapt(Actor(world.french_editor), post, world.france, text="Menu d'été", done=True)
    message = next(m for m in mail.outbox if world.french_manager.email in m.to)
    return post, link_in(message)


def log_in(client: Client, user: User) -> None:
    assert client.login(email=user.email, password=PASSWORD)


def test_the_email_link_approves_once_after_logging_in(client, committed):
    world = europe()
    post, link = adapted_in_france(world, committed)

    assert client.get(link).url.startswith("/accounts/login/")  # not logged in: log in first
    log_in(client, world.french_manager)
    confirmation = client.get(link + "?decision=approve")
    assert (
        confirmation.status_code == 200 and b"Menu d&#x27;\xc3\xa9t\xc3\xa9" in confirmation.content
    )
    assert states_by_market(post)[world.france.slug] == State.AWAITING_APPROVAL  # GET: no change

    decided = client.post(link, {"decision": "approve"})
    assert decided.status_code == 302
    assert states_by_market(post)[world.france.slug] == State.SCHEDULED
    entry = AuditEntry.objects.get(action="post.decided_by_email")
    assert (entry.actor, entry.workspace, entry.details["decision"]) == (
        world.french_manager,
        world.france,
        "approve",
    )

    replay = client.post(link, {"decision": "approve"})
    assert replay.status_code == 410
    assert AuditEntry.objects.filter(action="post.approved").count() == 1


def test_an_expired_link_or_someone_elses_link_is_refused(client, committed):
    world = europe()
    post, link = adapted_in_france(world, committed)
    log_in(client, world.french_editor)  # the link is the manager's, not theirs
    assert client.post(link, {"decision": "approve"}).status_code == 404

    DecisionLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    log_in(client, world.french_manager)
    assert client.post(link, {"decision": "approve"}).status_code == 410
    assert states_by_market(post)[world.france.slug] == State.AWAITING_APPROVAL


def test_a_link_cannot_approve_ones_own_words(client, committed):
    world = europe()
    post, _link = adapted_in_france(world, committed)
    # Even a link somehow issued to the person who adapted the post is refused.
    forged = "forged-secret"
    DecisionLink.objects.create(
        workspace=world.france,
        post=post,
        approver=world.french_editor,
        secret_hash=hashlib.sha256(forged.encode()).hexdigest(),
        expires_at=timezone.now() + timedelta(days=1),
    )
    log_in(client, world.french_editor)
    assert client.post(f"/approvals/{forged}/", {"decision": "approve"}).status_code == 403
    assert states_by_market(post)[world.france.slug] == State.AWAITING_APPROVAL


def test_the_next_tier_gets_new_links_once_the_first_is_signed(client, committed):
    world = europe()
    services.set_approval_rule(
        Actor(world.boss), world.france, required=True, tiers=["manager", "admin"]
    )
    france_admin = member(world.france, Role.ADMIN)
    post, link = adapted_in_france(world, committed)
    log_in(client, world.french_manager)
    with committed():
        client.post(link, {"decision": "approve"})
    assert states_by_market(post)[world.france.slug] == State.AWAITING_APPROVAL  # step 2 to go

    to_admin = [m for m in mail.outbox if france_admin.email in m.to]
    assert len(to_admin) == 2  # asked for step 1 (admins may sign it), then for step 2
    log_in(client, france_admin)
    assert client.post(link_in(to_admin[0]), {"decision": "approve"}).status_code == 410
    client.post(link_in(to_admin[1]), {"decision": "approve"})
    assert states_by_market(post)[world.france.slug] == State.SCHEDULED


def test_comments_on_a_draft_stay_with_the_market_they_were_written_in(api, client):
    world = europe()
    post = global_post(world)
    french = token_for(world.french_editor)
    made = api(
        "post",
        f"/posts/{post.pk}/comments",
        token=french,
        json={"text": "On dit « menu estival » ?", "workspace": world.france.slug},
    )
    assert made.status_code == 201, made.content
    assert AuditEntry.objects.filter(action="post.commented", workspace=world.france).exists()

    def seen_by(user: User) -> list[str]:
        found = api("get", f"/posts/{post.pk}/comments", token=token_for(user))
        return [c["text"] for c in found.json()["items"]]

    assert seen_by(world.boss) == seen_by(world.french_manager) == ["On dit « menu estival » ?"]
    assert seen_by(world.british_editor) == []
    elsewhere = api(
        "post",
        f"/posts/{post.pk}/comments",
        token=token_for(world.british_editor),
        json={"text": "Hi France", "workspace": world.france.slug},
    )
    assert elsewhere.status_code == 404

    client.force_login(world.french_manager)
    client.post(f"/w/{world.france.slug}/publish/posts/{post.pk}/comments/", {"text": "D'accord"})
    page = client.get(f"/w/{world.france.slug}/publish/posts/{post.pk}/markets/")
    assert "D&#x27;accord" in page.content.decode()
