"""Reads of publishing data, scoped through ``chorus.orgs.access``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import NamedTuple

from django.db.models import Prefetch, Q, QuerySet, TextChoices
from django.utils import timezone
from django.utils.translation import gettext as _

from chorus.errors import Forbidden, NotFound
from chorus.orgs.access import Actor, get_scoped, require, scoped
from chorus.orgs.models import Workspace
from chorus.orgs.roles import Action
from chorus.publishing.models import (
    Approval,
    AttachedMedia,
    CalendarFeed,
    Campaign,
    Comment,
    CrisisPause,
    Delivery,
    Post,
    Variant,
)


def _targeting(actor: Actor, workspace: Workspace | None = None) -> QuerySet[Delivery]:
    """Deliveries on channels the actor may read (in ``workspace``'s subtree when given)."""
    found = scoped(actor, Delivery.objects.all(), Action.VIEW_CONTENT)
    return found.filter(workspace__path__startswith=workspace.path) if workspace else found


def posts(actor: Actor, workspace: Workspace) -> QuerySet[Post]:
    """Posts of the workspace's subtree that the actor may read, and posts of higher
    workspaces (HQ) that target the subtree's channels the actor may read."""
    return Post.objects.filter(
        Q(
            workspace_id__in=actor.workspace_ids(Action.VIEW_CONTENT),
            workspace__path__startswith=workspace.path,
        )
        | Q(pk__in=_targeting(actor, workspace).values("post_id"))
    )


def post(actor: Actor, post_id: object, action: str = Action.VIEW_CONTENT) -> Post:
    """404 when out of reach, 403 when visible but the role does not allow ``action``.

    A market's team reaches a post of HQ that targets its channels; the action is then
    checked on the market (services limit what it touches to the market's part)."""
    try:
        found = (
            Post.objects.select_related("workspace", "author")
            .filter(
                Q(workspace_id__in=actor.workspace_ids(Action.VIEW_WORKSPACE))
                | Q(pk__in=_targeting(actor).values("post_id"))
            )
            .get(pk=int(str(post_id)))
        )
    except (Post.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None
    if actor.role_on(found.workspace) is not None:
        require(actor, action, found.workspace)
    elif not any(
        actor.can(action, delivery.workspace)
        for delivery in _targeting(actor).filter(post=found).select_related("workspace")
    ):
        raise Forbidden()
    return found


def variant(actor: Actor, variant_id: object, action: str = Action.VIEW_CONTENT) -> Variant:
    """A variant by id, reached through its own workspace (a market sees its local variant of
    HQ's post): 404 when out of reach, 403 when the role does not allow ``action`` there."""
    found = get_scoped(
        actor,
        Variant.objects.select_related("workspace", "post__workspace").prefetch_related(
            "attached_media"
        ),
        variant_id,
        Action.VIEW_WORKSPACE,
    )
    require(actor, action, found.workspace)
    return found


def detailed(found: QuerySet[Post], actor: Actor | None = None) -> QuerySet[Post]:
    """Posts with their deliveries and approvals, read in a fixed number of queries; for an
    actor, only the deliveries and approvals of workspaces they may read (a market's team
    does not see the other markets of HQ's post)."""
    shown_deliveries = Delivery.objects.select_related("channel__workspace", "variant__post")
    shown_approvals = Approval.objects.select_related("approver")
    shown_variants = Variant.objects.select_related("workspace").prefetch_related("attached_media")
    if actor is not None:
        shown_deliveries = scoped(actor, shown_deliveries, Action.VIEW_CONTENT)
        shown_approvals = scoped(actor, shown_approvals, Action.VIEW_CONTENT)
        shown_variants = scoped(actor, shown_variants, Action.VIEW_CONTENT)
    return found.select_related("workspace", "author").prefetch_related(
        Prefetch("deliveries", queryset=shown_deliveries),
        Prefetch("approvals", queryset=shown_approvals),
        Prefetch("variants", queryset=shown_variants.order_by("pk")),
        Prefetch(
            "attached_media",
            queryset=AttachedMedia.objects.filter(variant=None),
            to_attr="master_media",
        ),
    )


def fresh(of_post: Post, actor: Actor | None = None) -> Post:
    """The post read again with its details, e.g. after a change to its deliveries."""
    return detailed(Post.objects.filter(pk=of_post.pk), actor).get()


def deliveries(actor: Actor, of_post: Post) -> QuerySet[Delivery]:
    return (
        scoped(actor, of_post.deliveries.all(), Action.VIEW_CONTENT)
        .select_related("channel", "variant")
        .order_by("pk")
    )


def campaigns(actor: Actor, workspace: Workspace) -> QuerySet[Campaign]:
    return scoped(actor, Campaign.objects.all(), Action.VIEW_CONTENT).filter(
        workspace__path__startswith=workspace.path
    )


def campaign(actor: Actor, campaign_id: object) -> Campaign:
    return get_scoped(actor, Campaign.objects.select_related("workspace"), campaign_id)


def campaigns_applying_to(workspace: Workspace) -> QuerySet[Campaign]:
    """Campaigns of the workspace and of its ancestors: those its posts may belong to."""
    return Campaign.objects.filter(workspace_id__in=workspace.ancestor_ids).select_related(
        "workspace"
    )


def campaigns_in_view(actor: Actor, workspace: Workspace) -> QuerySet[Campaign]:
    """The campaigns page's: those of the subtree the actor sees, and the ancestors' that apply."""
    return (campaigns(actor, workspace) | campaigns_applying_to(workspace)).select_related(
        "workspace"
    )


def crisis_pause(workspace: Workspace) -> CrisisPause | None:
    from chorus.publishing.services import active_pause

    return active_pause(workspace)


@dataclass(frozen=True)
class CalendarFilter:
    """What a calendar shows, combinable: a sub-workspace of the one viewed, a network, a
    campaign, a label (the post's or its campaign's), a delivery state."""

    workspace: Workspace | None = None
    network: str = ""
    campaign: int | None = None
    label: str = ""
    state: str = ""


def calendar_deliveries(
    actor: Actor,
    workspace: Workspace,
    start: datetime,
    end: datetime,
    filters: CalendarFilter = CalendarFilter(),
) -> list[Delivery]:
    """Deliveries on the subtree's channels whose time is in [start, end), in time order;
    cancelled ones are left out unless asked for."""
    within = filters.workspace or workspace
    if not within.path.startswith(workspace.path):
        within = workspace
    rows = (
        scoped(actor, Delivery.objects.all(), Action.VIEW_CONTENT)
        .filter(
            workspace__path__startswith=within.path, scheduled_at__gte=start, scheduled_at__lt=end
        )
        .select_related("channel__workspace", "variant__post", "post__campaign", "post__workspace")
        .order_by("scheduled_at", "pk")
    )
    if filters.state:
        rows = rows.filter(state=filters.state)
    else:
        rows = rows.exclude(state=Delivery.State.CANCELLED)
    if filters.network:
        rows = rows.filter(channel__network=filters.network)
    if filters.campaign:
        rows = rows.filter(post__campaign_id=filters.campaign)
    found = list(rows)
    if filters.label:
        # Labels are JSON lists, which SQLite cannot search inside: filtered here, within the
        # 93 days a calendar reads at most.
        found = [d for d in found if filters.label in labels_of(d.post)]
    return found


def labels_of(of_post: Post) -> list[str]:
    """The post's labels, then its campaign's (e.g. the content type), without repeats."""
    campaign_labels = of_post.campaign.labels if of_post.campaign else []
    return list(dict.fromkeys([*of_post.labels, *campaign_labels]))


def calendar_labels(actor: Actor, workspace: Workspace) -> list[str]:
    """The labels in use on the subtree's campaigns and recent posts, for the filter."""
    seen: set[str] = set()
    for labels in campaigns(actor, workspace).values_list("labels", flat=True)[:500]:
        seen.update(labels or [])
    for labels in posts(actor, workspace).values_list("labels", flat=True)[:1000]:
        seen.update(labels or [])
    return sorted(seen, key=str.casefold)


def calendar(
    actor: Actor,
    workspace: Workspace,
    start: date,
    end: date,
    zone_name: str,
    filters: CalendarFilter = CalendarFilter(),
) -> list[tuple[date, list[tuple[Delivery, datetime]]]]:
    """Deliveries on the subtree's channels, grouped by local day in the zone."""
    from chorus.errors import Invalid
    from chorus.publishing.timing import zone_named

    zone = zone_named(zone_name)
    if end < start or (end - start).days > 92:
        raise Invalid(
            "end must be on or after start, 93 days at most.",
            fields={"end": "On or after start, within 93 days."},
        )
    first = datetime.combine(start, time(), zone)
    after = datetime.combine(end + timedelta(days=1), time(), zone)
    days: dict[date, list[tuple[Delivery, datetime]]] = {}
    for delivery in calendar_deliveries(actor, workspace, first, after, filters):
        assert delivery.scheduled_at is not None
        local = delivery.scheduled_at.astimezone(zone)
        days.setdefault(local.date(), []).append((delivery, local))
    return sorted(days.items())


def delivery(actor: Actor, delivery_id: object) -> Delivery:
    """One delivery of a channel in reach: 404 when out of reach, 403 when the role does not
    show content."""
    found = get_scoped(
        actor,
        Delivery.objects.select_related("channel__workspace", "post__workspace", "variant__post"),
        delivery_id,
        Action.VIEW_WORKSPACE,
    )
    require(actor, Action.VIEW_CONTENT, found.workspace)
    return found


def feed_deliveries(workspace: Workspace, start: datetime, end: datetime) -> list[Delivery]:
    """What the iCal feed lists: the subtree's deliveries in [start, end), cancelled included
    (a calendar app then removes them). The feed has no viewer: its secret is its permission."""
    return list(
        Delivery.objects.filter(
            workspace__path__startswith=workspace.path,
            scheduled_at__gte=start,
            scheduled_at__lt=end,
        )
        .select_related("channel__workspace", "variant__post")
        .order_by("scheduled_at", "pk")[:5000]
    )


def calendar_feed(workspace: Workspace) -> CalendarFeed | None:
    """The workspace's feed, to say whether it has one (its secret is never stored)."""
    return CalendarFeed.objects.filter(workspace=workspace).select_related("created_by").first()


def feed_workspace(secret: str) -> Workspace | None:
    """The workspace whose calendar feed has this secret, if it is still in force: rotated,
    revoked, or made by someone who may no longer approve content there, it is not."""
    from chorus.publishing.services import feed_secret_hash

    feed = (
        CalendarFeed.objects.select_related("workspace", "created_by")
        .filter(secret_hash=feed_secret_hash(secret))
        .first()
    )
    if feed is None or feed.created_by is None or not feed.created_by.is_active:
        return None
    if not Actor(feed.created_by).can(Action.APPROVE_CONTENT, feed.workspace):
        return None
    return feed.workspace


DUPLICATE_WINDOW = timedelta(days=30)


def _effective_text(delivery: Delivery) -> str:
    """The words that go out on the channel, compared case- and spacing-insensitively."""
    return " ".join((delivery.variant.text or delivery.post.text).split()).casefold()


def duplicate_warnings(of_post: Post) -> list[str]:
    """Channels that already carry the same text within 30 days of this post's time.

    Posting the same words twice to an account is what gets it flagged as spam; the author is
    warned, not stopped (a recurring announcement may be intended).
    """
    mine = list(of_post.deliveries.select_related("variant", "post", "channel"))
    warnings = []
    for delivery in mine:
        moment = delivery.scheduled_at or delivery.created_at
        others = (
            Delivery.objects.filter(channel=delivery.channel)
            .exclude(post=of_post)
            .exclude(state=Delivery.State.CANCELLED)
            .filter(
                scheduled_at__gte=moment - DUPLICATE_WINDOW,
                scheduled_at__lte=moment + DUPLICATE_WINDOW,
            )
            .select_related("variant", "post")
        )
        text = _effective_text(delivery)
        clash = next((other for other in others if _effective_text(other) == text), None)
        if clash is not None:
            warnings.append(
                _("The same text goes to %(channel)s on %(when)s (post %(post)s).")
                % {
                    "channel": delivery.channel,
                    "when": clash.scheduled_at.strftime("%Y-%m-%d %H:%M UTC")
                    if clash.scheduled_at
                    else "",
                    "post": clash.post_id,
                }
            )
    return warnings


# Glocal: one row per market of a post ----------------------------------------------------------


class MarketStatus(TextChoices):
    """Where a market's part of a post stands, read from its variant and its deliveries (the
    least advanced delivery speaks for the market)."""

    TO_ADAPT = "to_adapt", _("To adapt")
    ADAPTED = "adapted", _("Adapted, awaiting approval")
    AWAITING_APPROVAL = "awaiting_approval", _("Awaiting approval")
    DRAFT = "draft", _("Draft")
    APPROVED = "approved", _("Approved, no time yet")
    PAUSED = "paused", _("Paused")
    SCHEDULED = "scheduled", _("Scheduled")
    PUBLISHED = "published", _("Published")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


class Adaptation(TextChoices):
    ORIGINAL = "original", _("Original (the post's own workspace)")
    AS_IS = "as_is", _("Sent as is")
    TO_ADAPT = "to_adapt", _("To adapt")
    ADAPTED = "adapted", _("Adapted")


@dataclass(frozen=True)
class Market:
    workspace: Workspace
    locale: str
    adaptation: str
    #: The market's local variant (None when it takes the post's own variants).
    variant: Variant | None
    status: str
    #: The workspace whose approval rules apply: the market's once adapted, else the post's.
    approval_workspace: Workspace
    approvals: list[Approval]
    approval_steps: int
    #: Whether the approval workspace's rule asks for approval (contributors always need it).
    approval_required: bool
    deliveries: list[Delivery]
    can_adapt: bool
    can_approve: bool

    @property
    def status_label(self) -> str:
        return str(MarketStatus(self.status).label)

    @property
    def adaptation_label(self) -> str:
        return str(Adaptation(self.adaptation).label)

    @property
    def review_note(self) -> str:
        return next((d.review_note for d in self.deliveries if d.review_note), "")


_STATE_ORDER = [
    (Delivery.State.AWAITING_ADAPTATION, MarketStatus.TO_ADAPT),
    (Delivery.State.AWAITING_APPROVAL, MarketStatus.AWAITING_APPROVAL),
    (Delivery.State.DRAFT, MarketStatus.DRAFT),
    (Delivery.State.PAUSED, MarketStatus.PAUSED),
    (Delivery.State.SCHEDULED, MarketStatus.SCHEDULED),
    (Delivery.State.SENDING, MarketStatus.SCHEDULED),
    (Delivery.State.UNCONFIRMED, MarketStatus.SCHEDULED),
    (Delivery.State.FAILED, MarketStatus.FAILED),
    (Delivery.State.PUBLISHED, MarketStatus.PUBLISHED),
]


def _market_status(found: list[Delivery], adapted: bool) -> str:
    states = {delivery.state for delivery in found}
    for state, status in _STATE_ORDER:
        if state in states:
            if status == MarketStatus.AWAITING_APPROVAL and adapted:
                return MarketStatus.ADAPTED
            if status == MarketStatus.DRAFT and any(d.approved_by_id for d in found):
                return MarketStatus.APPROVED
            return status
    return MarketStatus.CANCELLED


def markets(actor: Actor, of_post: Post) -> list[Market]:
    """One row per workspace whose channels the post targets, as far as the actor may see:
    HQ sees every market, a market's team its own row(s) only."""
    from chorus.publishing.services import approval_required, approval_tiers, may_sign

    shown = list(
        deliveries(actor, of_post).select_related(
            "channel__workspace", "variant__workspace", "variant__adapted_by", "workspace"
        )
    )
    by_workspace: dict[int, list[Delivery]] = {}
    for delivery in shown:
        by_workspace.setdefault(delivery.workspace_id, []).append(delivery)
    signed = list(Approval.objects.filter(post=of_post).select_related("approver"))
    rows = []
    for found in by_workspace.values():
        workspace = found[0].workspace
        local = next(
            (
                d.variant
                for d in found
                if d.variant.workspace_id == workspace.pk != of_post.workspace_id
            ),
            None,
        )
        if workspace.pk == of_post.workspace_id:
            adaptation = Adaptation.ORIGINAL
        elif local is None:
            adaptation = Adaptation.AS_IS
        else:
            adaptation = Adaptation.ADAPTED if local.adapted_at else Adaptation.TO_ADAPT
        scope = local.workspace if local is not None else of_post.workspace
        awaiting = any(d.state == Delivery.State.AWAITING_APPROVAL for d in found)
        writers = {of_post.author_id, local.adapted_by_id if local else None}
        approvals = [a for a in signed if a.workspace_id == scope.pk]
        tiers = approval_tiers(scope)
        rows.append(
            Market(
                workspace=workspace,
                locale=local.locale if local else workspace.default_locale,
                adaptation=adaptation,
                variant=local,
                status=_market_status(found, adaptation == Adaptation.ADAPTED),
                approval_workspace=scope,
                approvals=approvals,
                approval_steps=len(tiers),
                approval_required=approval_required(scope),
                deliveries=found,
                can_adapt=adaptation == Adaptation.TO_ADAPT
                and any(d.state == Delivery.State.AWAITING_ADAPTATION for d in found)
                and actor.can(Action.PROPOSE_CONTENT, workspace),
                can_approve=awaiting
                and actor.can(Action.APPROVE_CONTENT, scope)
                and actor.user.pk not in writers
                and may_sign(actor, scope, tiers[min(len(approvals), len(tiers) - 1)]),
            )
        )
    return sorted(rows, key=lambda row: row.workspace.path)


def market(actor: Actor, of_post: Post, workspace_key: str | int) -> Market:
    """One market's row; 404 when the actor may not see it or the post does not target it."""
    for row in markets(actor, of_post):
        if str(workspace_key) in (row.workspace.slug, str(row.workspace.pk)):
            return row
    raise NotFound()


class ToAdapt(NamedTuple):
    """A market's copy of a global post waiting for its team to adapt it."""

    post: Post
    market: Workspace
    #: The earliest time of its deliveries (None: no time yet).
    scheduled_at: datetime | None
    #: Its time passed: it was not published there (its people were told).
    overdue: bool


def to_adapt(actor: Actor, workspace: Workspace, limit: int = 50) -> list[ToAdapt]:
    """HQ's posts waiting for a market of this subtree to adapt them, where the actor may
    adapt: a market's "to adapt" queue."""
    waiting = (
        scoped(
            actor,
            Delivery.objects.filter(
                workspace__path__startswith=workspace.path,
                state=Delivery.State.AWAITING_ADAPTATION,
            ),
            Action.PROPOSE_CONTENT,
        )
        .select_related("post__workspace", "workspace")
        .order_by("-post_id", "workspace__path")
    )
    earliest: dict[tuple[int, int], Delivery] = {}
    for delivery in waiting[: limit * 4]:
        key = (delivery.post_id, delivery.workspace_id)
        kept = earliest.setdefault(key, delivery)
        if kept.scheduled_at is None or (
            delivery.scheduled_at is not None and delivery.scheduled_at < kept.scheduled_at
        ):
            earliest[key] = delivery
    now = timezone.now()
    return [
        ToAdapt(d.post, d.workspace, d.scheduled_at, bool(d.scheduled_at and d.scheduled_at <= now))
        for d in list(earliest.values())[:limit]
    ]


def comments(actor: Actor, of_post: Post) -> QuerySet[Comment]:
    """The post's comments written in workspaces the actor may read."""
    return scoped(actor, of_post.comments.all(), Action.VIEW_CONTENT).select_related(
        "author", "workspace"
    )


def comment_workspace(actor: Actor, of_post: Post, workspace: Workspace) -> Workspace:
    """Where a comment made from ``workspace`` belongs: the post's own workspace, or a market
    the post targets within it. 404 otherwise."""
    if (
        workspace.pk == of_post.workspace_id
        or _targeting(actor, workspace).filter(post=of_post).exists()
    ):
        return workspace
    raise NotFound()
