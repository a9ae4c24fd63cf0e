"""Every write and every rule of publishing: posts, approvals, schedules, crisis pauses.

Views, the API and jobs call these functions; each takes the acting ``Actor``, checks the role
matrix through ``chorus.orgs.access``, and writes an audit entry in the same transaction.
The ledger itself (claiming and sending deliveries) lives in ``chorus.publishing.ledger``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from chorus import crypto
from chorus.channels import services as channel_services
from chorus.channels.models import Channel
from chorus.errors import Conflict, Forbidden, Invalid
from chorus.networks import errors as network_errors
from chorus.networks.base import PostContent, ValidationIssue
from chorus.networks.registry import NETWORKS
from chorus.networks.validation import validate as validate_for_network
from chorus.orgs import audit
from chorus.orgs.access import Actor, require
from chorus.orgs.models import Workspace
from chorus.orgs.roles import ROLE_RANK, Action, Role
from chorus.publishing.models import (
    Approval,
    ApprovalRule,
    Campaign,
    CrisisPause,
    Delivery,
    Post,
    Variant,
)
from chorus.publishing.timing import Instant, zone_named

State = Delivery.State
Hold = Delivery.Hold
#: A schedule a little in the past is "now" (the form took a while to send); more is a mistake.
PAST_TOLERANCE = timedelta(minutes=5)
#: States a person can still change before the ledger takes over.
EDITABLE = (State.DRAFT, State.AWAITING_APPROVAL, State.SCHEDULED, State.PAUSED)


@dataclass(frozen=True)
class VariantSpec:
    network: str = ""
    locale: str = ""
    text: str = ""


# Approval rules and crisis pauses ---------------------------------------------------------------


#: Roles that may sign off an approval step (they hold ``APPROVE_CONTENT``).
APPROVER_ROLES = (Role.MANAGER, Role.ADMIN, Role.OWNER)


def approval_rule(workspace: Workspace) -> ApprovalRule | None:
    """The rule of the workspace, or of its nearest ancestor that has one."""
    rules = {
        rule.workspace_id: rule
        for rule in ApprovalRule.objects.filter(workspace_id__in=workspace.ancestor_ids)
    }
    for ws_id in reversed(workspace.ancestor_ids):
        if ws_id in rules:
            return rules[ws_id]
    return None


def approval_required(workspace: Workspace) -> bool:
    rule = approval_rule(workspace)
    return rule is not None and rule.required


def approval_tiers(workspace: Workspace) -> list[str]:
    """The ordered steps of an approval: the weakest role allowed to sign off each one."""
    rule = approval_rule(workspace)
    return list(rule.tiers) if rule is not None and rule.tiers else [Role.MANAGER]


@transaction.atomic
def set_approval_rule(
    actor: Actor, workspace: Workspace, *, required: bool, tiers: Sequence[str] = ()
) -> ApprovalRule:
    require(actor, Action.UPDATE_WORKSPACE, workspace)
    wrong = {
        f"tiers[{index}]": _("Choose one of: %(roles)s.") % {"roles": ", ".join(APPROVER_ROLES)}
        for index, role in enumerate(tiers)
        if role not in APPROVER_ROLES
    }
    if wrong:
        raise Invalid(_("Some approval steps are not valid."), fields=wrong)
    rule, _created = ApprovalRule.objects.update_or_create(
        workspace=workspace,
        defaults={"required": required, "tiers": list(tiers), "updated_at": timezone.now()},
    )
    audit.record(
        actor,
        "publishing.approval_rule",
        workspace=workspace,
        target=rule,
        details={"required": required, "tiers": list(tiers)},
    )
    return rule


def active_pause(workspace: Workspace) -> CrisisPause | None:
    """The crisis pause in force on this workspace (set on it or on an ancestor), if any."""
    return (
        CrisisPause.objects.filter(workspace_id__in=workspace.ancestor_ids, ended_at__isnull=True)
        .select_related("workspace")
        .order_by("workspace__depth")
        .first()
    )


# Posts -------------------------------------------------------------------------------------------


def content_for(variant: Variant) -> PostContent:
    languages = [variant.locale] if variant.locale else []
    return PostContent(text=variant.effective_text, languages=languages)


def pick_variant(variants: Sequence[Variant], channel: Channel) -> Variant:
    """The most specific variant for a channel: its network and its workspace's locale first."""
    locale = channel.workspace.default_locale

    def fit(variant: Variant) -> int:
        if variant.network not in ("", channel.network) or variant.locale not in ("", locale):
            return -1
        return (2 if variant.network else 0) + (1 if variant.locale else 0)

    best = max(variants, key=fit)
    assert fit(best) >= 0  # the base variant (no network, no locale) always fits
    return best


def describe_issue(issue: ValidationIssue) -> str:
    network = NETWORKS[issue.network].display_name if issue.network in NETWORKS else issue.network
    text = f"{network}: {issue.message}"
    if issue.excess is not None and issue.excess > 0:
        text += " " + _("(%(excess)s over the limit of %(limit)s)") % {
            "excess": f"{issue.excess:g}",
            "limit": f"{issue.limit:g}",
        }
    return text


def validation_issues(channel: Channel, content: PostContent) -> list[ValidationIssue]:
    """The channel's connector's verdict; the network's default limits when it cannot be built
    (credentials unreadable) or cannot ask its server (a Mastodon instance down)."""
    try:
        return channel_services.connector_for(channel).validate(content)
    except (crypto.DecryptionError, network_errors.NetworkError, KeyError, ValueError):
        return validate_for_network(channel.network, content)


def _channels_in(actor: Actor, workspace: Workspace, ids: Sequence[int]) -> list[Channel]:
    if not ids:
        raise Invalid(
            _("Choose at least one channel."), fields={"channels": _("At least one channel.")}
        )
    found = {
        channel.pk: channel
        for channel in Channel.objects.select_related("workspace").filter(
            pk__in=list(ids),
            workspace__path__startswith=workspace.path,
            workspace_id__in=actor.workspace_ids(Action.PROPOSE_CONTENT),
        )
    }
    errors: dict[str, str] = {}
    for index, channel_id in enumerate(ids):
        channel = found.get(channel_id)
        if channel is None:
            errors[f"channels[{index}]"] = _(
                "No channel %(id)s in %(workspace)s or its sub-workspaces."
            ) % {"id": channel_id, "workspace": workspace.name}
        elif channel.status == Channel.Status.DISABLED:
            errors[f"channels[{index}]"] = _("%(channel)s is disconnected.") % {"channel": channel}
    if len(set(ids)) != len(ids):
        errors["channels"] = _("A channel is listed twice.")
    if errors:
        raise Invalid(_("Some channels cannot be used."), fields=errors)
    return [found[channel_id] for channel_id in ids]


def _check_schedule(when: Instant | None, now: datetime) -> None:
    if when is not None and when.utc < now - PAST_TOLERANCE:
        raise Invalid(_("This time is in the past."), fields={"scheduled_at": _("In the past.")})


def needs_approval(actor: Actor, workspace: Workspace) -> bool:
    return not actor.can(Action.WRITE_CONTENT, workspace) or approval_required(workspace)


def create_post(
    actor: Actor,
    workspace: Workspace,
    *,
    text: str,
    channels: Sequence[int],
    when: Instant | None = None,
    timezone_name: str | None = None,
    campaign: Campaign | None = None,
    variants: Sequence[VariantSpec] = (),
    labels: Sequence[str] = (),
) -> Post:
    """A post and one delivery per channel, validated for every network before anything is
    written. Contributors' posts, and posts of workspaces whose rule says so, await approval."""
    require(actor, Action.PROPOSE_CONTENT, workspace)
    zone = timezone_name or (when.zone if when else workspace.timezone)
    zone_named(zone)
    now = timezone.now()
    errors: dict[str, str] = {}
    if not text.strip():
        errors["text"] = _("The text is required.")
    if campaign is not None and not workspace.path.startswith(campaign.workspace.path):
        errors["campaign"] = _("This campaign belongs to another workspace.")
    seen: set[tuple[str, str]] = set()
    for index, spec in enumerate(variants):
        if spec.network and spec.network not in NETWORKS:
            errors[f"variants[{index}].network"] = _("Unknown network %(network)s.") % {
                "network": spec.network
            }
        if (spec.network, spec.locale) in seen or (spec.network, spec.locale) == ("", ""):
            errors[f"variants[{index}]"] = _("One variant per network and locale.")
        seen.add((spec.network, spec.locale))
    if errors:
        raise Invalid(_("Some fields are not valid."), fields=errors)
    _check_schedule(when, now)
    targets = _channels_in(actor, workspace, channels)

    post = Post(workspace=workspace, campaign=campaign, text=text.strip(), labels=list(labels))
    all_variants = [Variant(workspace=workspace, post=post)] + [
        Variant(
            workspace=workspace, post=post, network=s.network, locale=s.locale, text=s.text.strip()
        )
        for s in variants
    ]
    plan = [(channel, pick_variant(all_variants, channel)) for channel in targets]
    for index, (channel, variant) in enumerate(plan):
        issues = validation_issues(channel, content_for(variant))
        if issues:
            errors[f"channels[{index}]"] = "; ".join(describe_issue(issue) for issue in issues)
    if errors:
        raise Invalid(_("The post breaks the rules of some networks."), fields=errors)

    approval = needs_approval(actor, workspace)
    with transaction.atomic():
        post.author = actor.user
        post.author_zone = zone
        post.save()
        for variant in all_variants:
            variant.post = post
            variant.save()
        deliveries = [
            Delivery(
                workspace=channel.workspace,
                post=post,
                variant=variant,
                channel=channel,
                scheduled_at=when.utc if when else None,
                schedule_zone=zone,
                idempotency_key=f"chorus-{uuid.uuid4().hex}",
                created_at=now,
                updated_at=now,
            )
            for channel, variant in plan
        ]
        for delivery in deliveries:
            _enter(delivery, State.AWAITING_APPROVAL if approval else _ready_state(delivery))
            delivery.save()
        audit.record(
            actor,
            "post.created",
            workspace=workspace,
            target=post,
            details={
                "channels": [channel.pk for channel in targets],
                "scheduled_at": when.utc.isoformat() if when else None,
                "timezone": zone,
                "awaiting_approval": approval,
            },
        )
        _dispatch_on_commit(deliveries)
    return post


def _ready_state(delivery: Delivery) -> str:
    return State.SCHEDULED if delivery.scheduled_at else State.DRAFT


def _enter(delivery: Delivery, state: str) -> None:
    """Sets a delivery's state before the ledger owns it; a crisis pause holds it."""
    delivery.hold = Hold.NONE
    delivery.due_at = None
    if state == State.SCHEDULED:
        if active_pause(delivery.channel.workspace) is not None:
            delivery.state, delivery.hold = State.PAUSED, Hold.CRISIS
            return
        delivery.due_at = delivery.scheduled_at
    delivery.state = state


def _dispatch_on_commit(deliveries: Sequence[Delivery]) -> None:
    from chorus.publishing import ledger

    due = [(d.pk, d.due_at) for d in deliveries if d.state == State.SCHEDULED and d.due_at]
    if due:
        transaction.on_commit(lambda: ledger.dispatch(due))


def _save(delivery: Delivery, now: datetime) -> None:
    delivery.updated_at = now
    delivery.save(
        update_fields=[
            "state",
            "hold",
            "due_at",
            "scheduled_at",
            "schedule_zone",
            "approved_by",
            "review_note",
            "updated_at",
        ]
    )


def _locked(post: Post, states: Sequence[str]) -> list[Delivery]:
    return list(
        Delivery.objects.select_for_update()
        .select_related("channel__workspace")
        .filter(post=post, state__in=list(states))
    )


@transaction.atomic
def approve(actor: Actor, post: Post) -> list[Delivery]:
    """Signs off the next approval step; the last step schedules the post. Each step is
    signed by a different person, never the author, whose role is at least the step's."""
    require(actor, Action.APPROVE_CONTENT, post.workspace)
    if post.author_id == actor.user.pk:
        raise Forbidden(_("Nobody approves their own post: ask another manager."))
    deliveries = _locked(post, [State.AWAITING_APPROVAL])
    if not deliveries:
        raise Conflict(_("Nothing of this post is awaiting approval."))
    now = timezone.now()
    if any(d.scheduled_at and d.scheduled_at < now - PAST_TOLERANCE for d in deliveries):
        # Approving stale content must not publish it by surprise: a person picks a new time.
        raise Conflict(
            _("The time of this post has passed: give it a new time, then approve it."),
            fields={"scheduled_at": _("In the past.")},
        )
    tiers = approval_tiers(post.workspace)
    signed = list(Approval.objects.select_for_update().filter(post=post))
    step = len(signed)
    if any(approval.approver_id == actor.user.pk for approval in signed):
        raise Forbidden(_("You signed off an earlier step: the next one needs someone else."))
    needed = tiers[min(step, len(tiers) - 1)]
    if ROLE_RANK[actor.role_on(post.workspace) or Role.AMBASSADOR] < ROLE_RANK[needed]:
        raise Forbidden(
            _("Step %(step)s of %(steps)s needs a %(role)s.")
            % {"step": step + 1, "steps": len(tiers), "role": Role(needed).label}
        )
    Approval.objects.create(workspace=post.workspace, post=post, tier=step, approver=actor.user)
    if step + 1 < len(tiers):
        audit.record(
            actor,
            "post.approved",
            workspace=post.workspace,
            target=post,
            details={"step": step + 1, "steps": len(tiers)},
        )
        return deliveries
    for delivery in deliveries:
        _enter(delivery, _ready_state(delivery))
        delivery.approved_by = actor.user
        delivery.review_note = ""
        _save(delivery, now)
    audit.record(
        actor,
        "post.approved",
        workspace=post.workspace,
        target=post,
        details={"step": step + 1, "steps": len(tiers), "deliveries": [d.pk for d in deliveries]},
    )
    _dispatch_on_commit(deliveries)
    return deliveries


@transaction.atomic
def reject(actor: Actor, post: Post, note: str = "") -> list[Delivery]:
    """Sends the post back to its author as a draft, with the reason."""
    require(actor, Action.APPROVE_CONTENT, post.workspace)
    if post.author_id == actor.user.pk:
        raise Forbidden(_("Nobody reviews their own post: ask another manager."))
    deliveries = _locked(post, [State.AWAITING_APPROVAL])
    if not deliveries:
        raise Conflict(_("Nothing of this post is awaiting approval."))
    now = timezone.now()
    Approval.objects.filter(post=post).delete()
    for delivery in deliveries:
        _enter(delivery, State.DRAFT)
        delivery.review_note = note.strip()[:2000]
        _save(delivery, now)
    audit.record(
        actor, "post.rejected", workspace=post.workspace, target=post, details={"note": note[:300]}
    )
    return deliveries


@transaction.atomic
def cancel(actor: Actor, post: Post) -> list[Delivery]:
    """Stops whatever has not gone out yet; what is published or on its way stays as it is."""
    require(actor, Action.WRITE_CONTENT, post.workspace)
    deliveries = _locked(post, EDITABLE)
    now = timezone.now()
    for delivery in deliveries:
        delivery.state, delivery.hold, delivery.due_at = State.CANCELLED, Hold.NONE, None
        _save(delivery, now)
    audit.record(
        actor,
        "post.cancelled",
        workspace=post.workspace,
        target=post,
        details={"deliveries": [d.pk for d in deliveries]},
    )
    return deliveries


@transaction.atomic
def reschedule(actor: Actor, post: Post, when: Instant) -> list[Delivery]:
    """A new time for everything of the post not yet sent. Approved deliveries stay approved;
    drafts that need approval go to the approvers."""
    require(actor, Action.WRITE_CONTENT, post.workspace)
    now = timezone.now()
    _check_schedule(when, now)
    approval = needs_approval(actor, post.workspace)
    deliveries = _locked(post, EDITABLE)
    if not deliveries:
        raise Conflict(_("Nothing of this post can be rescheduled."))
    for delivery in deliveries:
        delivery.scheduled_at, delivery.schedule_zone = when.utc, when.zone
        if delivery.state == State.AWAITING_APPROVAL or (
            delivery.state == State.DRAFT and approval
        ):
            _enter(delivery, State.AWAITING_APPROVAL)
        elif delivery.hold != Hold.RECONNECT:
            _enter(delivery, State.SCHEDULED)
        _save(delivery, now)
    audit.record(
        actor,
        "post.rescheduled",
        workspace=post.workspace,
        target=post,
        details={"scheduled_at": when.utc.isoformat(), "timezone": when.zone},
    )
    _dispatch_on_commit(deliveries)
    return deliveries


@transaction.atomic
def create_campaign(
    actor: Actor,
    workspace: Workspace,
    *,
    name: str,
    goal: str = "",
    starts_on: date | None = None,
    ends_on: date | None = None,
    labels: Sequence[str] = (),
) -> Campaign:
    require(actor, Action.WRITE_CONTENT, workspace)
    if not name.strip():
        raise Invalid(_("A name is required."), fields={"name": _("Required.")})
    if starts_on and ends_on and ends_on < starts_on:
        raise Invalid(
            _("The campaign ends before it starts."), fields={"ends_on": _("Before the start.")}
        )
    campaign = Campaign.objects.create(
        workspace=workspace,
        name=name.strip(),
        goal=goal,
        starts_on=starts_on,
        ends_on=ends_on,
        labels=list(labels),
        created_by=actor.user,
    )
    audit.record(actor, "campaign.created", workspace=workspace, target=campaign)
    return campaign


# Crisis mode -------------------------------------------------------------------------------------


def _subtree(queryset: QuerySet[Delivery], workspace: Workspace) -> QuerySet[Delivery]:
    return queryset.filter(workspace__path__startswith=workspace.path)


@dataclass(frozen=True)
class PauseOutcome:
    pause: CrisisPause | None
    paused: int
    still_sending: int


@transaction.atomic
def pause_subtree(actor: Actor, workspace: Workspace, reason: str = "") -> PauseOutcome:
    """Crisis mode: every scheduled delivery of the subtree is held, and so is anything
    scheduled there until it is resumed. Deliveries already on their way cannot be stopped."""
    require(actor, Action.APPROVE_CONTENT, workspace)
    pause = CrisisPause.objects.filter(workspace=workspace, ended_at__isnull=True).first()
    if pause is None:
        pause = CrisisPause.objects.create(
            workspace=workspace, reason=reason.strip()[:300], started_by=actor.user
        )
    now = timezone.now()
    paused = _subtree(Delivery.objects.filter(state=State.SCHEDULED), workspace).update(
        state=State.PAUSED, hold=Hold.CRISIS, updated_at=now
    )
    sending = _subtree(Delivery.objects.filter(state=State.SENDING), workspace).count()
    audit.record(
        actor,
        "publishing.paused",
        workspace=workspace,
        target=pause,
        details={"reason": reason[:300], "paused": paused, "still_sending": sending},
    )
    return PauseOutcome(pause, paused, sending)


class PastDue:
    HOLD = "hold"
    PUBLISH_NOW = "publish_now"
    CANCEL = "cancel"
    CHOICES = (HOLD, PUBLISH_NOW, CANCEL)


@dataclass(frozen=True)
class ResumeOutcome:
    resumed: int
    past_due: int
    still_paused_above: int


@transaction.atomic
def resume_subtree(
    actor: Actor,
    workspace: Workspace,
    past_due: str = PastDue.HOLD,
    *,
    now: datetime | None = None,
) -> ResumeOutcome:
    """Ends the crisis pauses of the subtree. Deliveries whose time is still ahead go back to
    the schedule; those whose time passed during the pause are held for a decision (or
    published now, or cancelled, as asked). A pause set higher up keeps holding its part."""
    require(actor, Action.APPROVE_CONTENT, workspace)
    if past_due not in PastDue.CHOICES:
        raise Invalid(
            _("past_due must be one of: %(choices)s.") % {"choices": ", ".join(PastDue.CHOICES)},
            fields={"past_due": _("Unknown choice.")},
        )
    now = now or timezone.now()
    ended = CrisisPause.objects.filter(
        workspace__path__startswith=workspace.path, ended_at__isnull=True
    )
    ended_ids = list(ended.values_list("pk", flat=True))
    ended.update(ended_at=now, ended_by=actor.user)
    held = list(
        _subtree(Delivery.objects.select_for_update(), workspace)
        .filter(state=State.PAUSED, hold__in=[Hold.CRISIS, Hold.CRISIS_PAST_DUE])
        .select_related("channel__workspace")
    )
    resumed = overdue = above = 0
    released: list[Delivery] = []
    for delivery in held:
        if active_pause(delivery.channel.workspace) is not None:
            above += 1
            continue
        assert delivery.scheduled_at is not None
        if delivery.scheduled_at >= now - PAST_TOLERANCE:
            delivery.state, delivery.hold, delivery.due_at = (
                State.SCHEDULED,
                Hold.NONE,
                delivery.scheduled_at,
            )
            resumed += 1
            released.append(delivery)
        elif past_due == PastDue.PUBLISH_NOW:
            delivery.state, delivery.hold, delivery.due_at = State.SCHEDULED, Hold.NONE, now
            resumed += 1
            released.append(delivery)
        elif past_due == PastDue.CANCEL:
            delivery.state, delivery.hold, delivery.due_at = State.CANCELLED, Hold.NONE, None
            overdue += 1
        else:
            delivery.hold = Hold.CRISIS_PAST_DUE
            overdue += 1
        _save(delivery, now)
    audit.record(
        actor,
        "publishing.resumed",
        workspace=workspace,
        details={
            "pauses": ended_ids,
            "resumed": resumed,
            "past_due": overdue,
            "past_due_choice": past_due,
            "still_paused_above": above,
        },
    )
    _dispatch_on_commit(released)
    return ResumeOutcome(resumed, overdue, above)


# Bulk import ------------------------------------------------------------------------------------

IMPORT_COLUMNS = ("text", "channels", "scheduled_at", "timezone")
MAX_IMPORT_ROWS = 1000


def import_posts(actor: Actor, workspace: Workspace, csv_text: str) -> list[Post]:
    """Posts from a CSV (``text,channels,scheduled_at,timezone``; channel ids separated by
    spaces or semicolons; a local time is read in the row's zone, else the workspace's). All
    rows or none: every error is reported with its row and column, and nothing is written."""
    import csv
    import io

    from chorus.publishing.timing import parse_when

    require(actor, Action.PROPOSE_CONTENT, workspace)
    reader = csv.DictReader(io.StringIO(csv_text.strip()))
    missing = [column for column in ("text", "channels") if column not in (reader.fieldnames or [])]
    if missing:
        raise Invalid(
            _("The first line must name the columns: %(columns)s.")
            % {"columns": ", ".join(IMPORT_COLUMNS)},
            fields={"csv": _("Missing columns: %(missing)s.") % {"missing": ", ".join(missing)}},
        )
    rows = list(reader)
    if not rows or len(rows) > MAX_IMPORT_ROWS:
        raise Invalid(
            _("Import between 1 and %(max)s posts at a time.") % {"max": MAX_IMPORT_ROWS},
            fields={"csv": _("%(n)s rows.") % {"n": len(rows)}},
        )
    errors: dict[str, str] = {}
    posts: list[Post] = []
    with transaction.atomic():
        for number, row in enumerate(rows, start=2):  # line 1 names the columns
            where = f"csv.line[{number}]"
            try:
                ids = [int(part) for part in (row.get("channels") or "").replace(";", " ").split()]
            except ValueError:
                errors[f"{where}.channels"] = _("Give channel ids separated by spaces.")
                continue
            zone = (row.get("timezone") or "").strip() or workspace.timezone
            try:
                when_text = (row.get("scheduled_at") or "").strip()
                posts.append(
                    create_post(
                        actor,
                        workspace,
                        text=row.get("text") or "",
                        channels=ids,
                        when=parse_when(when_text, zone) if when_text else None,
                        timezone_name=zone,
                    )
                )
            except Invalid as exc:
                for field, message in (exc.fields or {"": exc.message}).items():
                    errors[f"{where}.{field}".rstrip(".")] = message
        if errors:
            transaction.set_rollback(True)
    if errors:
        raise Invalid(_("Nothing was imported: some lines are not valid."), fields=errors)
    return posts
