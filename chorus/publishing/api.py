"""Posts, deliveries, approvals, schedules and crisis pauses under /api/v1."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import date, datetime

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from chorus.api.auth import actor
from chorus.api.pagination import PageParams, paginate
from chorus.errors import Conflict, Invalid
from chorus.orgs.access import Actor, require, workspace_for
from chorus.orgs.models import Workspace
from chorus.orgs.roles import Action
from chorus.publishing import selectors, services
from chorus.publishing.models import (
    Campaign,
    Comment,
    Delivery,
    IdempotentRequest,
    Post,
    Variant,
)
from chorus.publishing.timing import Instant, parse_when

router = Router(tags=["publishing"])


# Schemas -----------------------------------------------------------------------------------


class LinkIn(Schema):
    url: str = Field("", description="https://…; shown as a card where the network has them")
    title: str = ""
    description: str = ""


class ContentIn(Schema):
    """The overridable fields: on a variant, each one left empty inherits the master's."""

    media: list[int] = Field([], description="ids of media library items, in order")
    link: LinkIn | None = None
    hashtags: list[str] = Field([], description='without "#"; added to the text where missing')
    first_comment: str = Field("", description="posted as the first comment where it exists")
    thread: list[str] = Field(
        [], description="texts of the thread's next parts, on networks with threads"
    )

    def spec(self, network: str = "", locale: str = "", text: str = "") -> services.VariantSpec:
        return services.VariantSpec(
            network=network,
            locale=locale,
            text=text,
            media=self.media,
            link=self.link.dict() if self.link else {},
            hashtags=self.hashtags,
            first_comment=self.first_comment,
            thread=self.thread,
        )


class VariantIn(ContentIn):
    network: str = Field("", description='network slug, or "" for every network')
    locale: str = Field("", max_length=16, description='e.g. "fr", or "" for every locale')
    text: str = Field("", description="empty: the master text")


class VariantPatchIn(ContentIn):
    text: str = Field("", description="empty: the master text")


class PostIn(ContentIn):
    workspace: str = Field(description="slug or id of the workspace the post belongs to")
    text: str
    channels: list[int] = Field(
        description="ids of channels of the workspace or its sub-workspaces"
    )
    scheduled_at: str | None = Field(
        None,
        description="ISO 8601; with an offset it is that instant, without one it is read in "
        "`timezone` (a skipped time is shifted forward, a repeated one is the first). "
        "Omitted: the post stays a draft.",
    )
    timezone: str | None = Field(None, description="IANA zone; default: the workspace's")
    publish_now: bool = Field(
        False,
        description="instead of `scheduled_at`: publish at once (once approved, if it must be)",
    )
    queue: bool = Field(
        False,
        description="instead of `scheduled_at`: each channel's next free posting slot",
    )
    campaign: int | None = None
    variants: list[VariantIn] = []
    labels: list[str] = []
    send_as_is: bool = Field(
        False,
        description="channels of sub-workspaces (markets) take the post's own variants; "
        "by default each market gets a local variant in its locale, to adapt",
    )
    locked_fields: list[str] = Field(
        [],
        description="fields markets' variants must keep as the master has them: "
        + ", ".join(Post.LOCKABLE_FIELDS),
    )
    mandatory_mention: str = Field(
        "", description="a legal mention or brand claim every variant's text must contain"
    )


class ScheduleIn(Schema):
    scheduled_at: str
    timezone: str | None = None


class RejectIn(Schema):
    note: str = ""


class PauseIn(Schema):
    reason: str = ""


class ResumeIn(Schema):
    past_due: str = Field(
        services.PastDue.HOLD,
        description="what to do with deliveries whose time passed during the pause: "
        "hold (default), publish_now or cancel",
    )


class NamedApprovers(Schema):
    members: list[int] = Field(
        description="user ids of the workspace's members (here or on an ancestor, with a role "
        "that may approve) who alone may sign this step"
    )


class ApprovalRuleIn(Schema):
    required: bool
    tiers: list[str | NamedApprovers] = Field(
        [],
        description="1 to 3 ordered approval steps, each the weakest role that may sign it off "
        '(e.g. "manager") or named members, e.g. ["manager", {"members": [12, 15]}]; '
        "empty: one manager",
    )


class DeliveryOut(Schema):
    id: int
    post: int
    channel: int
    network: str
    handle: str
    workspace: str
    variant_network: str
    variant_locale: str
    text: str
    state: str
    held_because: str
    scheduled_at: datetime | None
    schedule_zone: str
    next_attempt_at: datetime | None
    attempts: int
    remote_id: str
    remote_url: str
    published_at: datetime | None
    last_error: str
    review_note: str

    @staticmethod
    def build(delivery: Delivery) -> DeliveryOut:
        return DeliveryOut(
            id=delivery.pk,
            post=delivery.post_id,
            channel=delivery.channel_id,
            network=delivery.channel.network,
            handle=delivery.channel.handle,
            workspace=delivery.channel.workspace.slug,
            variant_network=delivery.variant.network,
            variant_locale=delivery.variant.locale,
            text=delivery.variant.effective_text,
            state=delivery.state,
            held_because=delivery.hold,
            scheduled_at=delivery.scheduled_at,
            schedule_zone=delivery.schedule_zone,
            next_attempt_at=delivery.due_at if delivery.state == Delivery.State.SCHEDULED else None,
            attempts=delivery.attempts,
            remote_id=delivery.remote_id,
            remote_url=delivery.remote_url,
            published_at=delivery.published_at,
            last_error=delivery.last_error,
            review_note=delivery.review_note,
        )


class DeliveryList(Schema):
    items: list[DeliveryOut]


class VariantOut(Schema):
    id: int
    workspace: str
    network: str
    locale: str
    text: str = Field(description="its own fields: each empty one shows the master's")
    media: list[int]
    link: dict[str, str]
    hashtags: list[str]
    first_comment: str
    thread: list[str]

    @staticmethod
    def build(variant: Variant) -> VariantOut:
        return VariantOut(
            id=variant.pk,
            workspace=variant.workspace.slug,
            network=variant.network,
            locale=variant.locale,
            text=variant.text,
            media=[attached.asset_id for attached in variant.attached_media.all()],
            link=variant.link,
            hashtags=variant.hashtags,
            first_comment=variant.first_comment,
            thread=variant.thread,
        )


class PostOut(Schema):
    id: int
    workspace: str
    campaign: int | None
    text: str
    labels: list[str]
    media: list[int]
    link: dict[str, str]
    hashtags: list[str]
    first_comment: str
    thread: list[str]
    locked_fields: list[str]
    mandatory_mention: str
    variants: list[VariantOut]
    author: str | None
    timezone: str
    created_at: datetime
    states: dict[str, int] = Field(description="how many deliveries are in each state")
    approvals: list[str] = Field(description="who signed off each approval step so far")
    approval_steps: int
    deliveries: list[DeliveryOut]
    warnings: list[str] = Field(
        [],
        description="set on creation and on GET of one post: e.g. the same text already goes "
        "to one of its channels within 30 days",
    )

    @staticmethod
    def build(
        post: Post, *, approval_steps: int | None = None, with_warnings: bool = False
    ) -> PostOut:
        """From a post read with ``selectors.detailed``; ``approval_steps`` saves the rule's
        lookup when the caller knows it."""
        deliveries = [DeliveryOut.build(d) for d in post.deliveries.all()]
        states: dict[str, int] = {}
        for delivery in deliveries:
            states[delivery.state] = states.get(delivery.state, 0) + 1
        return PostOut(
            id=post.pk,
            workspace=post.workspace.slug,
            campaign=post.campaign_id,
            text=post.text,
            labels=post.labels,
            media=[attached.asset_id for attached in post.master_media],  # type: ignore[attr-defined]
            link=post.link,
            hashtags=post.hashtags,
            first_comment=post.first_comment,
            thread=post.thread,
            locked_fields=post.locked_fields,
            mandatory_mention=post.mandatory_mention,
            variants=[VariantOut.build(variant) for variant in post.variants.all()],
            author=post.author.email if post.author else None,
            timezone=post.author_zone,
            created_at=post.created_at,
            states=states,
            approvals=[
                approval.approver.email if approval.approver else ""
                for approval in post.approvals.all()
            ],
            approval_steps=approval_steps
            if approval_steps is not None
            else len(services.approval_tiers(post.workspace)),
            deliveries=deliveries,
            warnings=selectors.duplicate_warnings(post) if with_warnings else [],
        )


class PostPage(Schema):
    items: list[PostOut]
    next_cursor: str | None


class PostQuery(Schema):
    workspace: str = Field(description="this workspace and its sub-workspaces")
    campaign: int | None = None


class CampaignIn(Schema):
    workspace: str
    name: str = Field(min_length=1, max_length=200)
    goal: str = ""
    starts_on: date | None = None
    ends_on: date | None = None
    labels: list[str] = []
    link_tracking: str = Field(
        "", max_length=500, description="added to each post's link, e.g. utm_source={network}"
    )


class CampaignOut(Schema):
    id: int
    workspace: str
    name: str
    goal: str
    starts_on: date | None
    ends_on: date | None
    labels: list[str]
    link_tracking: str

    @staticmethod
    def build(campaign: Campaign) -> CampaignOut:
        return CampaignOut(
            id=campaign.pk,
            workspace=campaign.workspace.slug,
            name=campaign.name,
            goal=campaign.goal,
            starts_on=campaign.starts_on,
            ends_on=campaign.ends_on,
            labels=campaign.labels,
            link_tracking=campaign.link_tracking,
        )


class CampaignPage(Schema):
    items: list[CampaignOut]
    next_cursor: str | None


class PauseOut(Schema):
    workspace: str
    paused: int
    still_sending: int


class ResumeOut(Schema):
    workspace: str
    resumed: int
    past_due: int
    still_paused_above: int


class ApprovalRuleOut(Schema):
    workspace: str
    required: bool
    tiers: list[str | NamedApprovers]
    set_on: str | None = Field(
        None, description="slug of the workspace whose rule applies (itself or an ancestor)"
    )


# Idempotency-Key ----------------------------------------------------------------------------


def _idempotent(
    request: HttpRequest, scope: str, payload: Schema, create: Callable[[], int]
) -> int:
    """Runs ``create`` once per ``Idempotency-Key``: the same key with the same body gives the
    object made the first time; with another body, 409. Returns the object's id."""
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        return create()
    if len(key) > 200:
        raise Invalid(
            "The Idempotency-Key is too long (200 characters at most).",
            fields={"Idempotency-Key": "At most 200 characters."},
        )
    who = actor(request)
    body_hash = hashlib.sha256(
        json.dumps(payload.dict(), sort_keys=True, default=str).encode()
    ).hexdigest()
    try:
        with transaction.atomic():
            earlier = IdempotentRequest.objects.filter(user=who.user, scope=scope, key=key).first()
            if earlier is None:
                object_id = create()
                IdempotentRequest.objects.create(
                    user=who.user,
                    scope=scope,
                    key=key,
                    body_hash=body_hash,
                    status=201,
                    response={"id": object_id},
                )
                return object_id
    except IntegrityError:
        # The same key raced in from another request: it won; answer like a replay.
        earlier = IdempotentRequest.objects.filter(user=who.user, scope=scope, key=key).first()
        if earlier is None:
            raise
    if earlier.body_hash != body_hash:
        raise Conflict(
            "This Idempotency-Key was used with another request body: use a new key.",
            fields={"Idempotency-Key": "Already used with another body."},
        )
    return int(earlier.response["id"])


def _when(text: str | None, zone: str | None, fallback_zone: str) -> Instant | None:
    if text is None:
        return None
    return parse_when(text, zone or fallback_zone)


# Posts -------------------------------------------------------------------------------------


@router.get("/posts", response=PostPage)
def list_posts(request: HttpRequest, query: Query[PostQuery], page: Query[PageParams]) -> dict:
    who = actor(request)
    workspace = workspace_for(who, query.workspace, Action.VIEW_CONTENT)
    found = selectors.detailed(selectors.posts(who, workspace), who)
    if query.campaign is not None:
        found = found.filter(campaign_id=query.campaign)
    result = paginate(found, page, newest_first=True)
    steps: dict[int, int] = {}  # one approval-rule lookup per workspace, not per post
    for post in result["items"]:
        if post.workspace_id not in steps:
            steps[post.workspace_id] = len(services.approval_tiers(post.workspace))
    result["items"] = [
        PostOut.build(post, approval_steps=steps[post.workspace_id]) for post in result["items"]
    ]
    return result


@router.post("/posts", response={201: PostOut})
def create_post(request: HttpRequest, payload: PostIn) -> Status[PostOut]:
    """Creates the post and one delivery per channel. Send an `Idempotency-Key` header to make
    a retried request safe."""
    who = actor(request)

    def create() -> int:
        workspace = workspace_for(who, payload.workspace, Action.PROPOSE_CONTENT)
        campaign = selectors.campaign(who, payload.campaign) if payload.campaign else None
        post = services.create_post(
            who,
            workspace,
            text=payload.text,
            channels=payload.channels,
            when=_when(payload.scheduled_at, payload.timezone, workspace.timezone),
            timezone_name=payload.timezone,
            campaign=campaign,
            variants=[v.spec(v.network, v.locale, v.text) for v in payload.variants],
            labels=payload.labels,
            send_as_is=payload.send_as_is,
            media=payload.media,
            link=payload.link.dict() if payload.link else None,
            hashtags=payload.hashtags,
            first_comment=payload.first_comment,
            thread=payload.thread,
            locked_fields=payload.locked_fields,
            mandatory_mention=payload.mandatory_mention,
            publish_now=payload.publish_now,
            queue=payload.queue,
        )
        return post.pk

    post_id = _idempotent(request, "posts", payload, create)
    return Status(
        201, PostOut.build(selectors.fresh(selectors.post(who, post_id), who), with_warnings=True)
    )


class ImportIn(Schema):
    workspace: str
    csv: str = Field(
        description="text,channels,scheduled_at,timezone (channel ids separated by spaces)"
    )


class ImportOut(Schema):
    created: list[int]


@router.post("/posts/import", response={201: ImportOut})
def import_posts(request: HttpRequest, payload: ImportIn) -> Status[ImportOut]:
    """Bulk import from CSV: every line or none, errors by line and column."""
    who = actor(request)
    workspace = workspace_for(who, payload.workspace, Action.PROPOSE_CONTENT)
    posts = services.import_posts(who, workspace, payload.csv)
    return Status(201, ImportOut(created=[post.pk for post in posts]))


class CalendarQuery(Schema):
    workspace: str = Field(description="deliveries on the channels of this subtree")
    start: date
    end: date = Field(description="inclusive")
    timezone: str | None = Field(
        None, description="days are cut in this zone; default: the workspace's"
    )


class CalendarEntry(Schema):
    delivery: int
    post: int
    channel: int
    network: str
    handle: str
    state: str
    scheduled_at: datetime
    local_time: str
    text: str


class CalendarDay(Schema):
    date: date
    entries: list[CalendarEntry]


class CalendarOut(Schema):
    timezone: str
    days: list[CalendarDay]


@router.get("/calendar", response=CalendarOut)
def calendar(request: HttpRequest, query: Query[CalendarQuery]) -> CalendarOut:
    """Deliveries by local day: what goes out on every channel of a subtree, HQ's posts included."""
    who = actor(request)
    workspace = workspace_for(who, query.workspace, Action.VIEW_CONTENT)
    zone_name = query.timezone or workspace.timezone
    days = selectors.calendar(who, workspace, query.start, query.end, zone_name)
    return CalendarOut(
        timezone=zone_name,
        days=[
            CalendarDay(
                date=day,
                entries=[
                    CalendarEntry(
                        delivery=d.pk,
                        post=d.post_id,
                        channel=d.channel_id,
                        network=d.channel.network,
                        handle=d.channel.handle,
                        state=d.state,
                        scheduled_at=local,
                        local_time=local.strftime("%H:%M"),
                        text=d.variant.effective_text,
                    )
                    for d, local in entries
                ],
            )
            for day, entries in days
        ],
    )


@router.get("/posts/{post_id}", response=PostOut)
def get_post(request: HttpRequest, post_id: int) -> PostOut:
    who = actor(request)
    return PostOut.build(selectors.fresh(selectors.post(who, post_id), who), with_warnings=True)


def _act(
    request: HttpRequest, post_id: int, action: str, change: Callable[[Actor, Post], object]
) -> PostOut:
    who = actor(request)
    post = selectors.post(who, post_id, action)
    change(who, post)
    return PostOut.build(selectors.fresh(post, who))


@router.post("/posts/{post_id}/approve", response=PostOut)
def approve_post(request: HttpRequest, post_id: int) -> PostOut:
    return _act(request, post_id, Action.APPROVE_CONTENT, services.approve)


@router.post("/posts/{post_id}/reject", response=PostOut)
def reject_post(request: HttpRequest, post_id: int, payload: RejectIn) -> PostOut:
    return _act(
        request,
        post_id,
        Action.APPROVE_CONTENT,
        lambda who, post: services.reject(who, post, payload.note),
    )


@router.post("/posts/{post_id}/cancel", response=PostOut)
def cancel_post(request: HttpRequest, post_id: int) -> PostOut:
    return _act(request, post_id, Action.WRITE_CONTENT, services.cancel)


@router.post("/posts/{post_id}/schedule", response=PostOut)
def schedule_post(request: HttpRequest, post_id: int, payload: ScheduleIn) -> PostOut:
    """Reschedules everything of the post that has not gone out yet."""

    def change(who: Actor, post: Post) -> object:
        when = _when(payload.scheduled_at, payload.timezone, post.author_zone)
        assert when is not None
        return services.reschedule(who, post, when)

    return _act(request, post_id, Action.WRITE_CONTENT, change)


@router.get("/deliveries", response=DeliveryList)
def list_deliveries(request: HttpRequest, post: int) -> DeliveryList:
    """Each channel's truth for one post: state, remote id and URL, publication time, error."""
    who = actor(request)
    found = selectors.post(who, post)
    return DeliveryList(
        items=[
            DeliveryOut.build(d)
            for d in selectors.deliveries(who, found).select_related(
                "channel__workspace", "variant__post"
            )
        ]
    )


class DeliveryScheduleIn(Schema):
    scheduled_at: str | None = Field(
        None, description="ISO 8601; without an offset it is read in `timezone`"
    )
    timezone: str | None = Field(None, description="IANA zone; default: the delivery's")
    day: date | None = Field(
        None,
        description="instead of `scheduled_at`: move to this day, keeping the time of day in "
        "the delivery's zone (09:00 in Paris stays 09:00 across a DST change)",
    )


@router.post("/deliveries/{delivery_id}/schedule", response=DeliveryOut)
def schedule_delivery(
    request: HttpRequest, delivery_id: int, payload: DeliveryScheduleIn
) -> DeliveryOut:
    """Reschedules one channel of a post (draft, awaiting approval, scheduled or paused)."""
    who = actor(request)
    found = selectors.delivery(who, delivery_id)
    if payload.day is not None:
        zone = payload.timezone or found.schedule_zone
        moved = services.move_delivery(who, found, payload.day, zone)
    else:
        when = _when(payload.scheduled_at, payload.timezone, found.schedule_zone)
        if when is None:
            raise Invalid(
                "Give scheduled_at or day.", fields={"scheduled_at": "scheduled_at or day."}
            )
        moved = services.reschedule_delivery(who, found, when)
    return DeliveryOut.build(selectors.delivery(who, moved.pk))


# Campaigns ---------------------------------------------------------------------------------


@router.get("/campaigns", response=CampaignPage)
def list_campaigns(request: HttpRequest, workspace: str, page: Query[PageParams]) -> dict:
    who = actor(request)
    found = selectors.campaigns(who, workspace_for(who, workspace, Action.VIEW_CONTENT))
    result = paginate(found.select_related("workspace"), page, newest_first=True)
    result["items"] = [CampaignOut.build(c) for c in result["items"]]
    return result


@router.post("/campaigns", response={201: CampaignOut})
def create_campaign(request: HttpRequest, payload: CampaignIn) -> Status[CampaignOut]:
    who = actor(request)

    def create() -> int:
        return services.create_campaign(
            who,
            workspace_for(who, payload.workspace, Action.WRITE_CONTENT),
            name=payload.name,
            goal=payload.goal,
            starts_on=payload.starts_on,
            ends_on=payload.ends_on,
            labels=payload.labels,
            link_tracking=payload.link_tracking,
        ).pk

    campaign_id = _idempotent(request, "campaigns", payload, create)
    return Status(201, CampaignOut.build(selectors.campaign(who, campaign_id)))


# Workspace rules and crisis mode ----------------------------------------------------------


@router.get("/workspaces/{workspace}/approval-rule", response=ApprovalRuleOut)
def get_approval_rule(request: HttpRequest, workspace: str) -> ApprovalRuleOut:
    """The rule that applies here: the workspace's own or its nearest ancestor's (none: not
    required, contributors still need one manager)."""
    found = workspace_for(actor(request), workspace, Action.VIEW_CONTENT)
    rule = services.approval_rule(found)
    if rule is None:
        return ApprovalRuleOut(workspace=found.slug, required=False, tiers=[], set_on=None)
    return ApprovalRuleOut(
        workspace=found.slug, required=rule.required, tiers=rule.tiers, set_on=rule.workspace.slug
    )


@router.put("/workspaces/{workspace}/approval-rule", response=ApprovalRuleOut)
def set_approval_rule(
    request: HttpRequest, workspace: str, payload: ApprovalRuleIn
) -> ApprovalRuleOut:
    who = actor(request)
    found = workspace_for(who, workspace, Action.UPDATE_WORKSPACE)
    tiers = [tier if isinstance(tier, str) else tier.dict() for tier in payload.tiers]
    rule = services.set_approval_rule(who, found, required=payload.required, tiers=tiers)
    return ApprovalRuleOut(
        workspace=found.slug, required=rule.required, tiers=rule.tiers, set_on=found.slug
    )


@router.post("/workspaces/{workspace}/pause", response=PauseOut)
def pause(request: HttpRequest, workspace: str, payload: PauseIn) -> PauseOut:
    """Crisis mode: holds every scheduled delivery of the workspace and its sub-workspaces."""
    who = actor(request)
    found = workspace_for(who, workspace, Action.APPROVE_CONTENT)
    outcome = services.pause_subtree(who, found, payload.reason)
    return PauseOut(
        workspace=found.slug, paused=outcome.paused, still_sending=outcome.still_sending
    )


@router.post("/workspaces/{workspace}/resume", response=ResumeOut)
def resume(request: HttpRequest, workspace: str, payload: ResumeIn) -> ResumeOut:
    who = actor(request)
    found = workspace_for(who, workspace, Action.APPROVE_CONTENT)
    outcome = services.resume_subtree(who, found, payload.past_due)
    return ResumeOut(
        workspace=found.slug,
        resumed=outcome.resumed,
        past_due=outcome.past_due,
        still_paused_above=outcome.still_paused_above,
    )


# Glocal: markets of a post -------------------------------------------------------------------


class MarketDeliveryOut(Schema):
    id: int
    channel: int
    network: str
    handle: str
    state: str
    held_because: str
    scheduled_at: datetime | None
    schedule_zone: str
    published_at: datetime | None
    remote_url: str


class MarketOut(Schema):
    workspace: str
    name: str
    locale: str
    adaptation: str = Field(description="original, as_is, to_adapt or adapted")
    status: str = Field(
        description="the least advanced of its deliveries: to_adapt, adapted, "
        "awaiting_approval, draft, approved, paused, scheduled, published, failed, cancelled"
    )
    text: str = Field(description="what goes out in this market (its local variant once adapted)")
    adapted_by: str | None
    adapted_at: datetime | None
    approval_workspace: str = Field(description="whose approval rules apply")
    approvals: list[str] = Field(description="who signed each approval step so far")
    approval_steps: int
    review_note: str
    deliveries: list[MarketDeliveryOut]

    @staticmethod
    def build(market: selectors.Market) -> MarketOut:
        variant = market.variant
        return MarketOut(
            workspace=market.workspace.slug,
            name=market.workspace.name,
            locale=market.locale,
            adaptation=market.adaptation,
            status=market.status,
            text=(variant or market.deliveries[0].variant).effective_text,
            adapted_by=variant.adapted_by.email if variant and variant.adapted_by else None,
            adapted_at=variant.adapted_at if variant else None,
            approval_workspace=market.approval_workspace.slug,
            approvals=[a.approver.email if a.approver else "" for a in market.approvals],
            approval_steps=market.approval_steps,
            review_note=market.review_note,
            deliveries=[
                MarketDeliveryOut(
                    id=d.pk,
                    channel=d.channel_id,
                    network=d.channel.network,
                    handle=d.channel.handle,
                    state=d.state,
                    held_because=d.hold,
                    scheduled_at=d.scheduled_at,
                    schedule_zone=d.schedule_zone,
                    published_at=d.published_at,
                    remote_url=d.remote_url,
                )
                for d in market.deliveries
            ],
        )


class MarketList(Schema):
    items: list[MarketOut]


class AdaptIn(Schema):
    text: str = Field(description="the market's text, in its locale")
    adapted: bool = Field(
        False,
        description="true: the adaptation is done; the deliveries then follow the market's "
        "approval rules (or go on schedule)",
    )


@router.get("/posts/{post_id}/markets", response=MarketList)
def list_markets(request: HttpRequest, post_id: int) -> MarketList:
    """One row per market (workspace) the post targets: its locale, adaptation, approval and
    deliveries. HQ sees every market; a market's team sees its own."""
    who = actor(request)
    found = selectors.post(who, post_id)
    return MarketList(items=[MarketOut.build(m) for m in selectors.markets(who, found)])


def _market_act(
    request: HttpRequest,
    post_id: int,
    workspace: str,
    action: str,
    change: Callable[[Actor, Post, Workspace], object],
) -> MarketOut:
    who = actor(request)
    found = selectors.post(who, post_id)
    market = selectors.market(who, found, workspace)
    require(who, action, market.workspace)
    change(who, found, market.workspace)
    return MarketOut.build(selectors.market(who, found, workspace))


@router.put("/posts/{post_id}/markets/{workspace}/variant", response=MarketOut)
def adapt_market(request: HttpRequest, post_id: int, workspace: str, payload: AdaptIn) -> MarketOut:
    """Saves the market's local variant; `adapted: true` marks the adaptation done."""
    return _market_act(
        request,
        post_id,
        workspace,
        Action.PROPOSE_CONTENT,
        lambda who, post, ws: services.adapt(
            who, post, ws, text=payload.text, done=payload.adapted
        ),
    )


@router.post("/posts/{post_id}/markets/{workspace}/approve", response=MarketOut)
def approve_market(request: HttpRequest, post_id: int, workspace: str) -> MarketOut:
    """Signs the next approval step of the market's part of the post, by its rules."""
    return _market_act(
        request,
        post_id,
        workspace,
        Action.APPROVE_CONTENT,
        lambda who, post, ws: services.approve(who, post, _approval_workspace(who, post, ws)),
    )


@router.post("/posts/{post_id}/markets/{workspace}/reject", response=MarketOut)
def reject_market(
    request: HttpRequest, post_id: int, workspace: str, payload: RejectIn
) -> MarketOut:
    """Sends the market's part back: an adaptation to its team, else to the author."""
    return _market_act(
        request,
        post_id,
        workspace,
        Action.APPROVE_CONTENT,
        lambda who, post, ws: services.reject(
            who, post, payload.note, _approval_workspace(who, post, ws)
        ),
    )


def _approval_workspace(who: Actor, post: Post, workspace: Workspace) -> Workspace:
    return selectors.market(who, post, workspace.pk).approval_workspace


# Variants ----------------------------------------------------------------------------------


@router.patch("/variants/{variant_id}", response=VariantOut)
def update_variant(request: HttpRequest, variant_id: int, payload: VariantPatchIn) -> VariantOut:
    """Replaces a variant's own fields (each empty one inherits the master's). Fields HQ locked
    cannot change from a market; every text must keep the post's mandatory mention."""
    who = actor(request)
    variant = selectors.variant(who, variant_id, Action.WRITE_CONTENT)
    services.update_variant(who, variant, payload.spec(text=payload.text))
    return VariantOut.build(selectors.variant(who, variant_id))


class CommentIn(Schema):
    text: str
    workspace: str | None = Field(
        None,
        description="the workspace it is written from: the post's, or a market the post "
        "targets; default: the post's",
    )


class CommentOut(Schema):
    id: int
    workspace: str
    author: str | None
    text: str
    created_at: datetime


class CommentList(Schema):
    items: list[CommentOut]


def _comment_out(comment: Comment) -> CommentOut:
    return CommentOut(
        id=comment.pk,
        workspace=comment.workspace.slug,
        author=comment.author.email if comment.author else None,
        text=comment.text,
        created_at=comment.created_at,
    )


@router.get("/posts/{post_id}/comments", response=CommentList)
def list_comments(request: HttpRequest, post_id: int) -> CommentList:
    """Comments and remarks on the post, from the workspaces the caller may read."""
    who = actor(request)
    found = selectors.post(who, post_id)
    return CommentList(items=[_comment_out(c) for c in selectors.comments(who, found)])


@router.post("/posts/{post_id}/comments", response={201: CommentOut})
def add_comment(request: HttpRequest, post_id: int, payload: CommentIn) -> Status[CommentOut]:
    who = actor(request)
    found = selectors.post(who, post_id)
    where = workspace_for(who, payload.workspace) if payload.workspace else found.workspace
    made = services.comment(
        who, found, selectors.comment_workspace(who, found, where), payload.text
    )
    return Status(201, _comment_out(made))
