"""Every write and every rule of publishing: posts, approvals, schedules, crisis pauses.

Views, the API and jobs call these functions; each takes the acting ``Actor``, checks the role
matrix through ``chorus.orgs.access``, and writes an audit entry in the same transaction.
The ledger itself (claiming and sending deliveries) lives in ``chorus.publishing.ledger``.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

import regex
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from chorus import crypto
from chorus.channels import services as channel_services
from chorus.channels.models import Channel
from chorus.errors import Conflict, Forbidden, Invalid, NotFound
from chorus.networks import errors as network_errors
from chorus.networks.base import Capability, Link, PostContent, ValidationIssue
from chorus.networks.registry import NETWORKS
from chorus.networks.text import hashtags as hashtags_in
from chorus.networks.validation import validate as validate_for_network
from chorus.orgs import audit
from chorus.orgs.access import Actor, require
from chorus.orgs.models import Membership, Workspace
from chorus.orgs.roles import ROLE_RANK, Action, Role
from chorus.publishing import decisions, tracking
from chorus.publishing import media as library
from chorus.publishing import slots as posting_slots
from chorus.publishing.models import (
    Approval,
    ApprovalRule,
    AttachedMedia,
    CalendarFeed,
    Campaign,
    Comment,
    CrisisPause,
    Delivery,
    MediaAsset,
    Post,
    Variant,
)
from chorus.publishing.timing import Instant, moved, zone_named

State = Delivery.State
Hold = Delivery.Hold
#: A schedule a little in the past is "now" (the form took a while to send); more is a mistake.
PAST_TOLERANCE = timedelta(minutes=5)
#: States a person can still change before the ledger takes over.
EDITABLE = (
    State.DRAFT,
    State.AWAITING_ADAPTATION,
    State.AWAITING_APPROVAL,
    State.SCHEDULED,
    State.PAUSED,
)


@dataclass(frozen=True)
class VariantSpec:
    """A master or a variant as asked for; a variant's empty field inherits the master's."""

    network: str = ""
    locale: str = ""
    text: str = ""
    #: Ids of media library items, in order.
    media: Sequence[int] = ()
    #: {"url", "title", "description"}; empty: no link (a variant: the master's).
    link: Mapping[str, str] = field(default_factory=dict)
    hashtags: Sequence[str] = ()
    first_comment: str = ""
    #: Texts of the thread's continuation parts.
    thread: Sequence[str] = ()


# Approval rules and crisis pauses ---------------------------------------------------------------


#: Roles that may sign off an approval step (they hold ``APPROVE_CONTENT``).
APPROVER_ROLES = (Role.MANAGER, Role.ADMIN, Role.OWNER)
#: At most this many approval steps: more would stall every post.
MAX_APPROVAL_TIERS = 3
#: An approval step as stored: the weakest role that may sign it off (e.g. "manager"), or
#: ``{"members": [user ids]}``: only these people may sign it off.
Tier = str | dict[str, list[int]]


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


def approval_tiers(workspace: Workspace) -> list[Tier]:
    """The ordered steps of an approval: each a role or named members (see ``Tier``)."""
    rule = approval_rule(workspace)
    return list(rule.tiers) if rule is not None and rule.tiers else [Role.MANAGER]


def tier_members(tier: Tier) -> list[int] | None:
    """The user ids a named-member step is reserved for; None for a role step."""
    return list(tier["members"]) if isinstance(tier, dict) else None


def may_sign(actor: Actor, scope: Workspace, tier: Tier) -> bool:
    """Whether the actor's person may sign this step (being neither a writer of the post nor
    the signer of an earlier step is checked apart)."""
    if isinstance(tier, dict):
        return actor.user.pk in tier["members"]
    return ROLE_RANK[actor.role_on(scope) or Role.AMBASSADOR] >= ROLE_RANK[tier]


def eligible_approvers(workspace: Workspace) -> list[Membership]:
    """Who may be named in an approval step of the workspace: its active members (here or on
    an ancestor) whose role may approve, one row per person (the strongest role)."""
    found: dict[int, Membership] = {}
    for membership in (
        Membership.objects.select_related("user")
        .filter(
            workspace_id__in=workspace.ancestor_ids,
            role__in=APPROVER_ROLES,
            user__is_active=True,
        )
        .order_by("user__email", "user_id")
    ):
        kept = found.get(membership.user_id)
        if kept is None or ROLE_RANK[membership.role] > ROLE_RANK[kept.role]:
            found[membership.user_id] = membership
    return list(found.values())


def _clean_tiers(workspace: Workspace, tiers: Sequence[object]) -> list[Tier]:
    """The steps as stored, or ``Invalid`` naming each wrong one by its path (``tiers[1]``,
    ``tiers[0].members[2]``)."""
    if len(tiers) > MAX_APPROVAL_TIERS:
        raise Invalid(
            _("An approval has at most %(max)s steps.") % {"max": MAX_APPROVAL_TIERS},
            fields={"tiers": _("%(max)s steps at most.") % {"max": MAX_APPROVAL_TIERS}},
        )
    allowed = {m.user_id for m in eligible_approvers(workspace)}
    cleaned: list[Tier] = []
    wrong: dict[str, str] = {}
    for index, tier in enumerate(tiers):
        if isinstance(tier, Mapping) and set(tier) == {"members"}:
            members = tier["members"] if isinstance(tier["members"], list | tuple) else []
            ids = [
                user_id
                for position, user_id in enumerate(members)
                if user_id not in members[:position]
            ]
            if not ids:
                wrong[f"tiers[{index}].members"] = _("Name at least one approver.")
            for position, user_id in enumerate(ids):
                if type(user_id) is not int or user_id not in allowed:
                    wrong[f"tiers[{index}].members[{position}]"] = _(
                        "Not a member of this workspace who may approve (manager, admin or owner)."
                    )
            cleaned.append({"members": sorted(i for i in ids if type(i) is int)})
        elif tier in APPROVER_ROLES:
            cleaned.append(str(tier))
        else:
            wrong[f"tiers[{index}]"] = _(
                'Choose one of: %(roles)s, or {"members": [user ids]}.'
            ) % {"roles": ", ".join(APPROVER_ROLES)}
    if wrong:
        raise Invalid(_("Some approval steps are not valid."), fields=wrong)
    return cleaned


@transaction.atomic
def set_approval_rule(
    actor: Actor, workspace: Workspace, *, required: bool, tiers: Sequence[object] = ()
) -> ApprovalRule:
    """The workspace's approval: not required (contributors still need one manager), or 1 to
    ``MAX_APPROVAL_TIERS`` ordered steps (none given: one manager)."""
    require(actor, Action.UPDATE_WORKSPACE, workspace)
    cleaned = _clean_tiers(workspace, tiers)
    rule, _created = ApprovalRule.objects.update_or_create(
        workspace=workspace,
        defaults={"required": required, "tiers": cleaned, "updated_at": timezone.now()},
    )
    audit.record(
        actor,
        "publishing.approval_rule",
        workspace=workspace,
        target=rule,
        details={"required": required, "tiers": cleaned},
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


#: The fields a variant overrides; each one left empty inherits the master's.
OVERRIDABLE = ("text", "media", "link", "hashtags", "first_comment", "thread")
_HASHTAG = regex.compile(r"^[\p{L}\p{M}\p{N}_]+$")


@dataclass(frozen=True)
class Fields:
    """What a master or a variant says, with its media library items resolved."""

    text: str = ""
    media: tuple[MediaAsset, ...] = ()
    link: Mapping[str, str] = field(default_factory=dict)
    hashtags: tuple[str, ...] = ()
    first_comment: str = ""
    thread: tuple[str, ...] = ()

    def over(self, master: Fields) -> Fields:
        """These fields where they are set, the master's elsewhere."""
        return Fields(
            **{name: getattr(self, name) or getattr(master, name) for name in OVERRIDABLE}
        )


def _fields_of(source: Post | Variant, media: Sequence[MediaAsset] = ()) -> Fields:
    return Fields(
        text=source.text,
        media=tuple(media),
        link=dict(source.link or {}),
        hashtags=tuple(source.hashtags or ()),
        first_comment=source.first_comment,
        thread=tuple(source.thread or ()),
    )


def stored_fields(post: Post, variant: Variant | None = None) -> Fields:
    """The master's fields (``variant`` None) or a variant's own, as saved."""
    attached = AttachedMedia.objects.filter(post=post, variant=variant).select_related("asset")
    return _fields_of(variant or post, [attachment.asset for attachment in attached])


def effective_fields(variant: Variant) -> Fields:
    return stored_fields(variant.post, variant).over(stored_fields(variant.post))


def text_with_hashtags(text: str, tags: Sequence[str]) -> str:
    """The text followed by the hashtags it does not already contain."""
    present = {tag.casefold() for tag in hashtags_in(text)}
    missing = [f"#{tag}" for tag in tags if tag.casefold() not in present]
    return f"{text}\n\n{' '.join(missing)}".strip() if missing else text


def build_content(fields: Fields, *, locale: str = "", network: str | None = None) -> PostContent:
    """What goes out. For a given network, thread parts and the first comment are kept only
    where the network has them (HQ writes one thread; LinkedIn gets its first post alone)."""
    info = NETWORKS.get(network) if network else None
    capabilities = info.capabilities if info else None

    def has(capability: Capability) -> bool:
        return capabilities is None or capability in capabilities

    languages = [locale] if locale else []
    link = fields.link
    return PostContent(
        text=text_with_hashtags(fields.text, fields.hashtags),
        media=[
            library.media_item(item, with_public_url=bool(info and info.media_by_url))
            for item in fields.media
        ],
        link=Link(
            url=link["url"], title=link.get("title", ""), description=link.get("description", "")
        )
        if link.get("url")
        else None,
        thread=[PostContent(text=part, languages=languages) for part in fields.thread]
        if has(Capability.THREADS)
        else [],
        first_comment=(fields.first_comment or None) if has(Capability.FIRST_COMMENT) else None,
        languages=languages,
    )


def content_for(variant: Variant, network: str | None = None) -> PostContent:
    """The variant's full content (its own fields over the master's) for ``network`` (the
    channel's; default: the variant's own network, else every field as written)."""
    network = network or variant.network or None
    fields = effective_fields(variant)
    campaign = variant.post.campaign if variant.post.campaign_id else None
    if campaign and campaign.link_tracking and fields.link.get("url"):
        url = tracking.tracked(fields.link["url"], campaign.link_tracking, network or "")
        fields = replace(fields, link={**fields.link, "url": url})
    return build_content(fields, locale=variant.locale, network=network)


def resolve_fields(
    actor: Actor,
    workspace: Workspace,
    spec: VariantSpec,
    prefix: str,
    errors: dict[str, str],
    typed_alt_texts: Mapping[int, str] | None = None,
) -> Fields:
    """The fields of ``spec`` checked and cleaned; what is wrong goes to ``errors`` by path.
    Media come from the library usable in ``workspace``; images need alt text (a preview
    passes the alt texts typed but not saved yet as ``typed_alt_texts``)."""
    found = {
        item.pk: item
        for item in library.library(actor, workspace).filter(
            pk__in=[i for i in spec.media if isinstance(i, int)]
        )
    }
    for typed_id, typed in (typed_alt_texts or {}).items():
        if typed_id in found:
            found[typed_id].alt_text = typed.strip()
    items = []
    for index, item_id in enumerate(spec.media):
        item = found.get(item_id)
        if item is None:
            errors[f"{prefix}media[{index}]"] = _(
                "No item %(id)s in the media library of %(workspace)s."
            ) % {"id": item_id, "workspace": workspace.name}
        elif item.kind != MediaAsset.Kind.VIDEO and not item.alt_text.strip():
            errors[f"{prefix}media[{index}].alt_text"] = _(
                "%(name)s needs alt text: describe the image for people who cannot see it."
            ) % {"name": item.name}
        else:
            items.append(item)
    if len(set(spec.media)) != len(spec.media):
        errors[f"{prefix}media"] = _("An item is attached twice.")
    tags = []
    for index, tag in enumerate(spec.hashtags):
        clean = tag.strip().lstrip("#＃")
        if _HASHTAG.match(clean) and not clean.isdigit():
            tags.append(clean)
        else:
            errors[f"{prefix}hashtags[{index}]"] = _(
                "A hashtag is one word of letters, digits or _ (not only digits)."
            )
    link: dict[str, str] = {}
    if any((value or "").strip() for value in spec.link.values()):
        url = (spec.link.get("url") or "").strip()
        try:
            URLValidator(schemes=["http", "https"])(url)
        except ValidationError:
            errors[f"{prefix}link.url"] = _("Give a web address starting with https:// or http://.")
        link = {
            "url": url,
            "title": (spec.link.get("title") or "").strip()[:300],
            "description": (spec.link.get("description") or "").strip()[:1000],
        }
    for index, part in enumerate(spec.thread):
        if not part.strip():
            errors[f"{prefix}thread[{index}]"] = _("This thread part is empty.")
    return Fields(
        text=spec.text.strip(),
        media=tuple(items),
        link=link,
        hashtags=tuple(tags),
        first_comment=spec.first_comment.strip(),
        thread=tuple(part.strip() for part in spec.thread),
    )


def field_label(name: str) -> str:
    return {
        "text": _("The text"),
        "link": _("The link"),
        "media": _("The media"),
        "hashtags": _("The hashtags"),
    }[name]


def bound_by_locks(actor: Actor, post: Post) -> bool:
    """Locks bind whoever is not an editor of the post's own workspace (HQ): its markets."""
    return bool(post.locked_fields) and not actor.can(Action.WRITE_CONTENT, post.workspace)


def lock_errors(actor: Actor, post: Post, own: Fields, prefix: str = "") -> dict[str, str]:
    """A variant's changes to the fields HQ locked, when the actor is bound by the locks."""
    if not bound_by_locks(actor, post):
        return {}
    master = stored_fields(post)
    return {
        prefix + name: _(
            "%(field)s is locked by %(workspace)s: this variant must keep it as it is."
        )
        % {"field": field_label(name), "workspace": post.workspace.name}
        for name in post.locked_fields
        if getattr(own, name) and getattr(own, name) != getattr(master, name)
    }


def mention_errors(mention: str, text: str, path: str) -> dict[str, str]:
    """The mandatory mention (legal notice, brand claim) must be in every text, word for word."""
    if not mention or mention in text:
        return {}
    return {
        path: _("The text must contain the mandatory mention “%(mention)s”, word for word.")
        % {"mention": mention}
    }


def _issue_errors(index: int, issues: Sequence[ValidationIssue]) -> dict[str, str]:
    """A channel's issues by path: ``channels[0]`` for its text, ``channels[0].media[1]``..."""
    found: dict[str, list[str]] = {}
    for issue in issues:
        path = f"channels[{index}]" if issue.where == "text" else f"channels[{index}].{issue.where}"
        found.setdefault(path, []).append(describe_issue(issue))
    return {path: "; ".join(messages) for path, messages in found.items()}


def _attach(post: Post, variant: Variant | None, items: Sequence[MediaAsset]) -> None:
    AttachedMedia.objects.filter(post=post, variant=variant).delete()
    AttachedMedia.objects.bulk_create(
        AttachedMedia(post=post, variant=variant, asset=item, position=position)
        for position, item in enumerate(items)
    )


def pick_variant(variants: Sequence[Variant], channel: Channel) -> Variant:
    """The most specific variant for a channel: its market's local variant, then its network
    and its workspace's locale first. Another market's local variant never fits."""
    locale = channel.workspace.default_locale

    def fit(variant: Variant) -> int:
        if variant.workspace_id not in (variant.post.workspace_id, channel.workspace_id):
            return -1
        if variant.network not in ("", channel.network) or variant.locale not in ("", locale):
            return -1
        local = variant.workspace_id == channel.workspace_id != variant.post.workspace_id
        return (4 if local else 0) + (2 if variant.network else 0) + (1 if variant.locale else 0)

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
    send_as_is: bool = False,
    media: Sequence[int] = (),
    link: Mapping[str, str] | None = None,
    hashtags: Sequence[str] = (),
    first_comment: str = "",
    thread: Sequence[str] = (),
    locked_fields: Sequence[str] = (),
    mandatory_mention: str = "",
    publish_now: bool = False,
    queue: bool = False,
) -> Post:
    """A post and one delivery per channel, validated for every network before anything is
    written. Its time is ``when``, now (``publish_now``: once approved, if it must be), or
    each channel's next free posting slot (``queue``); none of them: a draft. Contributors'
    posts, and posts of workspaces whose rule says so, await approval. ``locked_fields``
    (among ``Post.LOCKABLE_FIELDS``) and ``mandatory_mention`` bind the variants its markets
    make.

    Channels of sub-workspaces (markets) get their market's local variant, to be adapted by
    its team (see ``adapt``), unless ``send_as_is`` says they take the post's own variants."""
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
    master = resolve_fields(
        actor,
        workspace,
        VariantSpec(
            text=text,
            media=media,
            link=link or {},
            hashtags=hashtags,
            first_comment=first_comment,
            thread=thread,
        ),
        "",
        errors,
    )
    owns = [
        resolve_fields(actor, workspace, spec, f"variants[{index}].", errors)
        for index, spec in enumerate(variants)
    ]
    for index, name in enumerate(locked_fields):
        if name not in Post.LOCKABLE_FIELDS:
            errors[f"locked_fields[{index}]"] = _("Choose among: %(fields)s.") % {
                "fields": ", ".join(Post.LOCKABLE_FIELDS)
            }
    mention = mandatory_mention.strip()
    errors.update(mention_errors(mention, master.text, "text"))
    for index, own in enumerate(owns):
        errors.update(mention_errors(mention, own.over(master).text, f"variants[{index}].text"))
    if sum((when is not None, publish_now, queue)) > 1:
        errors["scheduled_at"] = _("Give a time, publish now or add to the queue: only one.")
    if errors:
        raise Invalid(_("Some fields are not valid."), fields=errors)
    if publish_now:
        when = Instant(now, zone)
    _check_schedule(when, now)
    targets = _channels_in(actor, workspace, channels)

    post = Post(
        workspace=workspace,
        campaign=campaign,
        text=master.text,
        labels=list(labels),
        link=dict(master.link),
        hashtags=list(master.hashtags),
        first_comment=master.first_comment,
        thread=list(master.thread),
        locked_fields=list(dict.fromkeys(locked_fields)),
        mandatory_mention=mention,
    )
    all_variants = [Variant(workspace=workspace, post=post)] + [
        Variant(
            workspace=workspace,
            post=post,
            network=spec.network,
            locale=spec.locale,
            text=own.text,
            link=dict(own.link),
            hashtags=list(own.hashtags),
            first_comment=own.first_comment,
            thread=list(own.thread),
        )
        for spec, own in zip(variants, owns, strict=True)
    ]
    # Media of the variants asked for; the others (the base, markets' copies) show the master's.
    own_media = {id(v): own.media for v, own in zip(all_variants[1:], owns, strict=True)}
    if not send_as_is:
        all_variants += local_variants(post, all_variants, targets)
    plan = [(channel, pick_variant(all_variants, channel)) for channel in targets]
    for index, (channel, variant) in enumerate(plan):
        own = _fields_of(variant, own_media.get(id(variant), ()))
        content = build_content(own.over(master), locale=variant.locale, network=channel.network)
        errors.update(_issue_errors(index, validation_issues(channel, content)))
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
        _attach(post, None, master.media)
        for variant in all_variants:
            if own_media.get(id(variant)):
                _attach(post, variant, own_media[id(variant)])
        times = posting_slots.queue_times(targets, now) if queue else {}
        if when is not None:
            times = {channel.pk: when for channel in targets}
        deliveries = [
            Delivery(
                workspace=channel.workspace,
                post=post,
                variant=variant,
                channel=channel,
                scheduled_at=times[channel.pk].utc if channel.pk in times else None,
                schedule_zone=times[channel.pk].zone if channel.pk in times else zone,
                publish_now=publish_now,
                idempotency_key=f"chorus-{uuid.uuid4().hex}",
                created_at=now,
                updated_at=now,
            )
            for channel, variant in plan
        ]
        for delivery in deliveries:
            if delivery.variant.workspace_id != workspace.pk:
                _enter(delivery, State.AWAITING_ADAPTATION)
            else:
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
                "publish_now": publish_now,
                "queued": {str(pk): instant.utc.isoformat() for pk, instant in times.items()}
                if queue
                else None,
                "awaiting_approval": approval,
                "send_as_is": send_as_is,
            },
        )
        if any(delivery.state == State.AWAITING_APPROVAL for delivery in deliveries):
            decisions.request_approval(post, workspace)
        _dispatch_on_commit(deliveries)
    return post


def local_variants(
    post: Post, variants: Sequence[Variant], targets: Sequence[Channel]
) -> list[Variant]:
    """One variant per market the post targets (a sub-workspace of the post's), in the
    market's locale, starting from the post's variant for that locale: its team adapts it."""
    markets = {c.workspace_id: c.workspace for c in targets if c.workspace_id != post.workspace_id}
    made = []
    for market in sorted(markets.values(), key=lambda ws: ws.path):
        base = max(
            (v for v in variants if not v.network and v.locale in ("", market.default_locale)),
            key=lambda v: bool(v.locale),
        )
        made.append(
            Variant(
                workspace=market,
                post=post,
                locale=market.default_locale,
                text=base.effective_text,
                link=base.link,
                hashtags=list(base.hashtags),
                first_comment=base.first_comment,
                thread=list(base.thread),
            )
        )
    return made


@transaction.atomic
def update_variant(actor: Actor, variant: Variant, spec: VariantSpec) -> Variant:
    """Replaces a variant's own fields (an empty one inherits the master's), checked against
    HQ's locks and mandatory mention and against the rules of every channel it goes to. Only
    while none of its deliveries is on its way or published."""
    require(actor, Action.WRITE_CONTENT, variant.workspace)
    post = variant.post
    errors: dict[str, str] = {}
    own = resolve_fields(actor, variant.workspace, spec, "", errors)
    errors.update(lock_errors(actor, post, own))
    effective = own.over(stored_fields(post))
    errors.update(mention_errors(post.mandatory_mention, effective.text, "text"))
    if errors:
        raise Invalid(_("Some fields are not valid."), fields=errors)
    deliveries = list(
        Delivery.objects.select_for_update(of=("self",))
        .select_related("channel__workspace")
        .filter(variant=variant)
        .order_by("pk")
    )
    if any(delivery.state not in EDITABLE for delivery in deliveries):
        raise Conflict(_("This variant is on its way or published: it cannot change any more."))
    if variant.workspace_id != post.workspace_id and any(
        delivery.state != State.AWAITING_ADAPTATION for delivery in deliveries
    ):
        # A market's adapted variant changes only through its adaptation, which its rules
        # approve again (a rejection sends it back to be adapted).
        raise Conflict(_("This market's variant is no longer waiting to be adapted."))
    for index, delivery in enumerate(deliveries):
        content = build_content(effective, locale=variant.locale, network=delivery.channel.network)
        errors.update(_issue_errors(index, validation_issues(delivery.channel, content)))
    if errors:
        raise Invalid(_("The variant breaks the rules of some networks."), fields=errors)
    variant.text = own.text
    variant.link = dict(own.link)
    variant.hashtags = list(own.hashtags)
    variant.first_comment = own.first_comment
    variant.thread = list(own.thread)
    variant.save(update_fields=["text", "link", "hashtags", "first_comment", "thread"])
    _attach(post, variant, own.media)
    audit.record(
        actor,
        "variant.updated",
        workspace=variant.workspace,
        target=post,
        details={
            "variant": variant.pk,
            "fields": [name for name in OVERRIDABLE if getattr(own, name)],
        },
    )
    return variant


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
            "publish_now",
            "updated_at",
        ]
    )


def _locked(post: Post, states: Sequence[str]) -> list[Delivery]:
    return list(
        Delivery.objects.select_for_update()
        .select_related("channel__workspace")
        .filter(post=post, state__in=list(states))
    )


def _awaiting_by_scope(post: Post) -> dict[Workspace, list[Delivery]]:
    """The post's deliveries awaiting approval, locked, by the workspace whose rules approve
    them: the post's own, or a market's for its adapted local variant."""
    found: dict[Workspace, list[Delivery]] = {}
    for delivery in (
        Delivery.objects.select_for_update(of=("self",))
        .select_related("channel__workspace", "variant__workspace")
        .filter(post=post, state=State.AWAITING_APPROVAL)
        .order_by("pk")
    ):
        found.setdefault(delivery.variant.workspace, []).append(delivery)
    return found


def _scopes_to_decide(
    actor: Actor, post: Post, workspace: Workspace | None
) -> dict[Workspace, list[Delivery]]:
    """What a decision covers: the given workspace's part of the post, or every part awaiting
    approval that the actor may approve."""
    awaiting = _awaiting_by_scope(post)
    if workspace is not None:
        require(actor, Action.APPROVE_CONTENT, workspace)
        if workspace not in awaiting:
            raise Conflict(_("Nothing of this post is awaiting approval here."))
        return {workspace: awaiting[workspace]}
    mine = {
        scope: found
        for scope, found in awaiting.items()
        if actor.can(Action.APPROVE_CONTENT, scope)
    }
    if not mine:
        if not any(actor.can(Action.APPROVE_CONTENT, ws) for ws in [post.workspace, *awaiting]):
            raise Forbidden()
        raise Conflict(_("Nothing of this post is awaiting approval."))
    return mine


def _check_not_own(actor: Actor, post: Post, deliveries: Sequence[Delivery]) -> None:
    """Nobody approves or reviews words they wrote: the post's, or a market's adaptation."""
    writers = {post.author_id} | {
        d.variant.adapted_by_id for d in deliveries if d.variant.adapted_by_id
    }
    if actor.user.pk in writers:
        raise Forbidden(_("Nobody approves their own post: ask another manager."))


@transaction.atomic
def approve(actor: Actor, post: Post, workspace: Workspace | None = None) -> list[Delivery]:
    """Signs off the next approval step of the post in ``workspace`` (default: wherever the
    actor may approve it); the last step schedules those deliveries. Each step follows the
    workspace's rule and is signed by a different person, never one who wrote the words,
    whose role is at least the step's."""
    released: list[Delivery] = []
    for scope, deliveries in _scopes_to_decide(actor, post, workspace).items():
        released += _sign(actor, post, scope, deliveries)
    _dispatch_on_commit(released)
    return released


def _sign(actor: Actor, post: Post, scope: Workspace, deliveries: list[Delivery]) -> list[Delivery]:
    _check_not_own(actor, post, deliveries)
    now = timezone.now()
    if any(
        d.scheduled_at and d.scheduled_at < now - PAST_TOLERANCE and not d.publish_now
        for d in deliveries
    ):
        # Approving stale content must not publish it by surprise: a person picks a new time.
        raise Conflict(
            _("The time of this post has passed: give it a new time, then approve it."),
            fields={"scheduled_at": _("In the past.")},
        )
    tiers = approval_tiers(scope)
    signed = list(Approval.objects.select_for_update().filter(post=post, workspace=scope))
    step = len(signed)
    if any(approval.approver_id == actor.user.pk for approval in signed):
        raise Forbidden(_("You signed off an earlier step: the next one needs someone else."))
    needed = tiers[min(step, len(tiers) - 1)]
    if not may_sign(actor, scope, needed):
        if tier_members(needed) is not None:
            raise Forbidden(
                _("Step %(step)s of %(steps)s is for named approvers only.")
                % {"step": step + 1, "steps": len(tiers)}
            )
        raise Forbidden(
            _("Step %(step)s of %(steps)s needs a %(role)s.")
            % {"step": step + 1, "steps": len(tiers), "role": Role(str(needed)).label}
        )
    Approval.objects.create(workspace=scope, post=post, tier=step, approver=actor.user)
    details: dict[str, object] = {"step": step + 1, "steps": len(tiers)}
    if scope != post.workspace:
        details["market"] = scope.slug
    if step + 1 < len(tiers):
        audit.record(actor, "post.approved", workspace=scope, target=post, details=details)
        decisions.request_approval(post, scope)
        return []
    for delivery in deliveries:
        if delivery.publish_now:
            delivery.scheduled_at = now  # asked to go out at once: that is now
        _enter(delivery, _ready_state(delivery))
        delivery.approved_by = actor.user
        delivery.review_note = ""
        _save(delivery, now)
    details["deliveries"] = [d.pk for d in deliveries]
    audit.record(actor, "post.approved", workspace=scope, target=post, details=details)
    decisions.close_links(post, scope)
    return deliveries


@transaction.atomic
def reject(
    actor: Actor, post: Post, note: str = "", workspace: Workspace | None = None
) -> list[Delivery]:
    """Sends the post back with the reason: to its author as a draft, or, for a market's
    adapted variant, back to that market's team to adapt again."""
    returned: list[Delivery] = []
    now = timezone.now()
    for scope, deliveries in _scopes_to_decide(actor, post, workspace).items():
        _check_not_own(actor, post, deliveries)
        Approval.objects.filter(post=post, workspace=scope).delete()
        local = scope != post.workspace
        if local:
            Variant.objects.filter(post=post, workspace=scope).update(
                adapted_by=None, adapted_at=None
            )
        for delivery in deliveries:
            _enter(delivery, State.AWAITING_ADAPTATION if local else State.DRAFT)
            delivery.review_note = note.strip()[:2000]
            _save(delivery, now)
        details: dict[str, object] = {"note": note[:300]}
        if local:
            details["market"] = scope.slug
        audit.record(actor, "post.rejected", workspace=scope, target=post, details=details)
        decisions.close_links(post, scope)
        returned += deliveries
    return returned


# Glocal: markets adapt a global post -------------------------------------------------------------


@transaction.atomic
def adapt(actor: Actor, post: Post, market: Workspace, *, text: str, done: bool = False) -> Variant:
    """Saves a market's local variant of a global post; ``done`` marks it adapted: its
    deliveries then follow the market's approval rules (or go on schedule when none apply).
    Only the parts the post leaves unlocked can change."""
    require(actor, Action.PROPOSE_CONTENT, market)
    variant = (
        Variant.objects.select_for_update()
        .filter(post=post, workspace=market)
        .exclude(workspace=post.workspace)
        .first()
    )
    if variant is None:
        raise NotFound()
    deliveries = list(
        Delivery.objects.select_for_update(of=("self",))
        .select_related("channel__workspace")
        .filter(variant=variant, state=State.AWAITING_ADAPTATION)
    )
    if not deliveries:
        raise Conflict(_("This market's variant is no longer waiting to be adapted."))
    text = text.strip()
    if not text:
        raise Invalid(_("The text is required."), fields={"text": _("Required.")})
    variant.text = text
    errors = lock_errors(actor, post, stored_fields(post, variant))
    errors.update(mention_errors(post.mandatory_mention, text, "text"))
    for index, delivery in enumerate(deliveries):
        content = content_for(variant, delivery.channel.network)
        errors.update(_issue_errors(index, validation_issues(delivery.channel, content)))
    if errors:
        raise Invalid(_("The adaptation breaks some rules."), fields=errors)
    now = timezone.now()
    approval = False
    if done:
        if any(d.scheduled_at and d.scheduled_at < now - PAST_TOLERANCE for d in deliveries):
            raise Conflict(
                _("The time of this post has passed: ask its author for a new time."),
                fields={"scheduled_at": _("In the past.")},
            )
        variant.adapted_by, variant.adapted_at = actor.user, now
        approval = needs_approval(actor, market)
        for delivery in deliveries:
            _enter(delivery, State.AWAITING_APPROVAL if approval else _ready_state(delivery))
            delivery.review_note = ""
            _save(delivery, now)
    variant.save(update_fields=["text", "adapted_by", "adapted_at"])
    audit.record(
        actor,
        "post.adapted" if done else "post.adaptation_saved",
        workspace=market,
        target=post,
        details={"variant": variant.pk, "awaiting_approval": approval}
        if done
        else {"variant": variant.pk},
    )
    if approval:
        decisions.request_approval(post, market)
    if done:
        _dispatch_on_commit(deliveries)
    return variant


@transaction.atomic
def comment(actor: Actor, post: Post, workspace: Workspace, text: str) -> Comment:
    """A remark on the post from ``workspace`` (HQ's or one of the markets it targets)."""
    require(actor, Action.PROPOSE_CONTENT, workspace)
    text = text.strip()
    if not text:
        raise Invalid(_("The comment is empty."), fields={"text": _("Required.")})
    if len(text) > 5000:
        raise Invalid(_("The comment is too long."), fields={"text": _("5000 characters at most.")})
    comment = Comment.objects.create(workspace=workspace, post=post, author=actor.user, text=text)
    audit.record(
        actor, "post.commented", workspace=workspace, target=post, details={"comment": comment.pk}
    )
    return comment


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
    submitted = [delivery for delivery in deliveries if _set_time(delivery, when, approval, now)]
    audit.record(
        actor,
        "post.rescheduled",
        workspace=post.workspace,
        target=post,
        details={"scheduled_at": when.utc.isoformat(), "timezone": when.zone},
    )
    _request_approvals(post, submitted)
    _dispatch_on_commit(deliveries)
    return deliveries


def _set_time(delivery: Delivery, when: Instant, approval: bool, now: datetime) -> bool:
    """Approved deliveries stay approved; drafts that need approval go to the approvers.
    Returns whether the delivery was just submitted for approval (a draft until now)."""
    delivery.scheduled_at, delivery.schedule_zone = when.utc, when.zone
    delivery.publish_now = False  # a person gave it a time: it keeps it
    submitted = False
    if delivery.state == State.AWAITING_ADAPTATION:
        pass  # the market's team still adapts it: it only gets its new time
    elif delivery.state == State.AWAITING_APPROVAL or (delivery.state == State.DRAFT and approval):
        submitted = delivery.state == State.DRAFT
        _enter(delivery, State.AWAITING_APPROVAL)
    elif delivery.hold != Hold.RECONNECT:
        _enter(delivery, State.SCHEDULED)
    _save(delivery, now)
    return submitted


def _request_approvals(post: Post, submitted: Sequence[Delivery]) -> None:
    """E-mails the approvers of each workspace whose part of the post was just submitted,
    as creating the post does."""
    for scope in {delivery.variant.workspace for delivery in submitted}:
        decisions.request_approval(post, scope)


@transaction.atomic
def reschedule_delivery(actor: Actor, delivery: Delivery, when: Instant) -> Delivery:
    """A new time for one delivery (one channel of a post), e.g. a chip dragged on the
    calendar. What is sent, on its way or cancelled keeps its time."""
    post = delivery.post
    require(actor, Action.WRITE_CONTENT, post.workspace)
    now = timezone.now()
    _check_schedule(when, now)
    locked = (
        Delivery.objects.select_for_update()
        .select_related("channel__workspace")
        .get(pk=delivery.pk)
    )
    if locked.state not in EDITABLE:
        raise Conflict(
            _("This delivery is %(state)s: it can no longer be moved.")
            % {"state": locked.get_state_display().lower()}
        )
    before = locked.scheduled_at
    if _set_time(locked, when, needs_approval(actor, post.workspace), now):
        _request_approvals(post, [locked])
    audit.record(
        actor,
        "delivery.rescheduled",
        workspace=locked.channel.workspace,
        target=locked,
        details={
            "post": post.pk,
            "from": before.isoformat() if before else None,
            "scheduled_at": when.utc.isoformat(),
            "timezone": when.zone,
        },
    )
    _dispatch_on_commit([locked])
    return locked


def move_delivery(
    actor: Actor, delivery: Delivery, day: date, view_zone: str, hour: int | None = None
) -> Delivery:
    """A delivery dropped on another day (keeping its time of day in its own zone) or on an
    hour slot of a calendar shown in ``view_zone``."""
    if delivery.scheduled_at is None:
        raise Conflict(_("This delivery has no time yet: give it one with the form."))
    if hour is not None and not 0 <= hour <= 23:
        raise Invalid(_("The hour must be between 0 and 23."), fields={"hour": _("0 to 23.")})
    when = moved(delivery.scheduled_at, delivery.schedule_zone, day, view_zone, hour)
    return reschedule_delivery(actor, delivery, when)


# Calendar feed ---------------------------------------------------------------------------------


def feed_secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def rotate_calendar_feed(actor: Actor, workspace: Workspace) -> str:
    """Makes (or replaces) the secret address of the workspace's iCal feed and returns its
    secret, which is shown once: only its hash is kept, and the previous address stops working."""
    require(actor, Action.APPROVE_CONTENT, workspace)
    secret = secrets.token_urlsafe(32)
    feed, created = CalendarFeed.objects.update_or_create(
        workspace=workspace,
        defaults={
            "secret_hash": feed_secret_hash(secret),
            "created_by": actor.user,
            "created_at": timezone.now(),
        },
    )
    audit.record(
        actor,
        "calendar_feed.created" if created else "calendar_feed.rotated",
        workspace=workspace,
        target=feed,
    )
    return secret


@transaction.atomic
def revoke_calendar_feed(actor: Actor, workspace: Workspace) -> None:
    require(actor, Action.APPROVE_CONTENT, workspace)
    feed = CalendarFeed.objects.filter(workspace=workspace).first()
    if feed is None:
        raise Conflict(_("This workspace has no calendar feed."))
    audit.record(actor, "calendar_feed.revoked", workspace=workspace, target=feed)
    feed.delete()


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
    link_tracking: str = "",
) -> Campaign:
    require(actor, Action.WRITE_CONTENT, workspace)
    _check_campaign(name, starts_on, ends_on, link_tracking)
    campaign = Campaign.objects.create(
        workspace=workspace,
        name=name.strip(),
        goal=goal,
        starts_on=starts_on,
        ends_on=ends_on,
        labels=list(labels),
        link_tracking=link_tracking.strip(),
        created_by=actor.user,
    )
    audit.record(actor, "campaign.created", workspace=workspace, target=campaign)
    return campaign


@transaction.atomic
def update_campaign(
    actor: Actor,
    campaign: Campaign,
    *,
    name: str,
    goal: str = "",
    starts_on: date | None = None,
    ends_on: date | None = None,
    labels: Sequence[str] = (),
    link_tracking: str = "",
) -> Campaign:
    require(actor, Action.WRITE_CONTENT, campaign.workspace)
    _check_campaign(name, starts_on, ends_on, link_tracking)
    campaign.name, campaign.goal, campaign.labels = name.strip(), goal, list(labels)
    campaign.starts_on, campaign.ends_on = starts_on, ends_on
    campaign.link_tracking = link_tracking.strip()
    campaign.save(update_fields=["name", "goal", "labels", "starts_on", "ends_on", "link_tracking"])
    audit.record(actor, "campaign.updated", workspace=campaign.workspace, target=campaign)
    return campaign


def _check_campaign(
    name: str, starts_on: date | None, ends_on: date | None, link_tracking: str
) -> None:
    tracking.parse(link_tracking)
    if not name.strip():
        raise Invalid(_("A name is required."), fields={"name": _("Required.")})
    if starts_on and ends_on and ends_on < starts_on:
        raise Invalid(
            _("The campaign ends before it starts."), fields={"ends_on": _("Before the start.")}
        )


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

IMPORT_COLUMNS = ("text", "channels", "scheduled_at", "timezone", "media", "labels")
MAX_IMPORT_ROWS = 1000
MAX_LABELS = 20
MAX_LABEL_LENGTH = 50


@dataclass(frozen=True)
class RowError:
    """What is wrong in one cell of an import: ``field`` is the path the rules use
    (``channels[1]``), ``column`` the CSV column to fix."""

    line: int
    field: str
    message: str
    column: str


def _row_errors(line: int, exc: Invalid) -> list[RowError]:
    # A network's rule refusing the content is reported on the channel (``channels[1]``, or
    # ``channels[1].media[0]``): in a CSV row it is the text or the media to change.
    refused_content = exc.message == _("The post breaks the rules of some networks.")
    errors = []
    for path, message in (exc.fields or {"": exc.message}).items():
        column = path.split("[", 1)[0].split(".", 1)[0]
        if refused_content and path.startswith("channels["):
            column = "media" if ".media" in path else "text"
        errors.append(RowError(line, path, message, column))
    return errors


@dataclass
class ImportReport:
    """Every row checked: the lines that are valid, what is wrong with the others, and the
    posts written (none unless every row is valid or the invalid ones were skipped)."""

    rows: int
    valid_lines: list[int]
    errors: list[RowError]
    created: list[Post]

    @property
    def invalid_lines(self) -> list[int]:
        return sorted({error.line for error in self.errors})


def _import_channel_ids(actor: Actor, workspace: Workspace, cell: str) -> list[int]:
    """Channel ids from a cell of ids or handles (``@brand.bsky.social``), separated by spaces
    or semicolons; a handle is looked up among the channels the actor can post to here."""
    ids: list[int] = []
    for index, part in enumerate(cell.replace(";", " ").split()):
        if part.isdigit():
            ids.append(int(part))
            continue
        matches = list(
            Channel.objects.filter(
                handle__iexact=part.removeprefix("@"),
                workspace__path__startswith=workspace.path,
                workspace_id__in=actor.workspace_ids(Action.PROPOSE_CONTENT),
            ).values_list("pk", flat=True)
        )
        if len(matches) != 1:
            raise Invalid(
                _("Unknown channel."),
                fields={
                    f"channels[{index}]": (
                        _("No channel %(handle)s in %(workspace)s or its sub-workspaces.")
                        if not matches
                        else _("%(handle)s names several channels: give the channel id.")
                    )
                    % {"handle": part, "workspace": workspace.name}
                },
            )
        ids.extend(matches)
    return ids


def _import_when(cell: str, zone: str) -> Instant | None:
    """``2030-03-29T09:00+02:00``, or a local time read in the zone; the zone may also follow
    the time after a space (``2030-03-29 09:00 Europe/Paris``)."""
    from chorus.publishing.timing import parse_when

    cell = cell.strip()
    if not cell:
        return None
    when_text, _space, last = cell.rpartition(" ")
    if when_text and ("/" in last or last == "UTC"):
        zone_named(last, "scheduled_at")
        return parse_when(when_text, last)
    return parse_when(cell, zone)


def _library_id(reference: str) -> int | None:
    """The media library item an address of this Chorus points at (``…/publish/media/12/file/``)."""
    from urllib.parse import urlsplit

    from django.conf import settings
    from django.urls import Resolver404, resolve

    address = urlsplit(reference)
    if address.netloc and address.netloc != urlsplit(settings.PUBLIC_URL).netloc:
        return None
    try:
        match = resolve(address.path)
    except Resolver404:
        return None
    media_id = match.kwargs.get("media_id")
    return media_id if match.url_name == "media-file" and isinstance(media_id, int) else None


def _import_media(cell: str) -> list[int]:
    """Media library items by id or by their address here, separated by spaces or semicolons.
    Files elsewhere on the web are not fetched: they go through the library's upload first,
    which checks what they really are."""
    ids: list[int] = []
    for index, part in enumerate(cell.replace(";", " ").split()):
        media_id = int(part) if part.isdigit() else _library_id(part)
        if media_id is None:
            raise Invalid(
                _("Unknown media."),
                fields={
                    f"media[{index}]": _(
                        "%(value)s is not a media library item: upload the file to the media "
                        "library, then give its id or its address."
                    )
                    % {"value": part[:200]}
                },
            )
        ids.append(media_id)
    return ids


def _import_labels(cell: str) -> list[str]:
    labels = [label.strip() for label in cell.split(";") if label.strip()]
    if len(labels) > MAX_LABELS or any(len(label) > MAX_LABEL_LENGTH for label in labels):
        raise Invalid(
            _("Too many or too long labels."),
            fields={
                "labels": _("At most %(count)s labels of %(length)s characters, separated by ;.")
                % {"count": MAX_LABELS, "length": MAX_LABEL_LENGTH}
            },
        )
    return labels


def run_import(
    actor: Actor,
    workspace: Workspace,
    csv_text: str,
    *,
    skip_invalid: bool = False,
    dry_run: bool = False,
) -> ImportReport:
    """Posts from a CSV, one row per post (``text,channels,scheduled_at,timezone,media,labels``;
    ``channel`` may stand for ``channels``). Every row is checked by the same rules as a post
    written by hand (channels in reach, time and zone, each network's limits). Nothing is
    written when a row is invalid, unless ``skip_invalid`` says to import the valid rows
    only; ``dry_run`` checks without writing. Everything happens in one transaction."""
    import csv
    import io

    require(actor, Action.PROPOSE_CONTENT, workspace)
    reader = csv.DictReader(io.StringIO(csv_text.strip().lstrip("\ufeff")))
    columns = [name.strip() for name in reader.fieldnames or []]
    reader.fieldnames = columns
    channel_column = "channel" if "channel" in columns and "channels" not in columns else "channels"
    missing = [column for column in ("text", channel_column) if column not in columns]
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
    report = ImportReport(rows=len(rows), valid_lines=[], errors=[], created=[])
    with transaction.atomic():
        for number, row in enumerate(rows, start=2):  # line 1 names the columns
            try:
                with transaction.atomic():  # a savepoint: an invalid row leaves nothing behind
                    zone = (row.get("timezone") or "").strip() or workspace.timezone
                    when = _import_when(row.get("scheduled_at") or "", zone)
                    post = create_post(
                        actor,
                        workspace,
                        text=row.get("text") or "",
                        channels=_import_channel_ids(
                            actor, workspace, row.get(channel_column) or ""
                        ),
                        when=when,
                        timezone_name=when.zone if when else zone,
                        labels=_import_labels(row.get("labels") or ""),
                        media=_import_media(row.get("media") or ""),
                    )
            except Invalid as exc:
                report.errors += _row_errors(number, exc)
            else:
                report.valid_lines.append(number)
                report.created.append(post)
        if dry_run or (report.errors and not skip_invalid) or not report.created:
            transaction.set_rollback(True)
            report.created = []
        else:
            audit.record(
                actor,
                "posts.imported",
                workspace=workspace,
                details={
                    "posts": [post.pk for post in report.created],
                    "skipped_lines": report.invalid_lines,
                },
            )
    return report


def import_posts(actor: Actor, workspace: Workspace, csv_text: str) -> list[Post]:
    """All rows or none: every error is reported with its row and column."""
    report = run_import(actor, workspace, csv_text)
    if report.errors:
        raise Invalid(
            _("Nothing was imported: some lines are not valid."),
            fields={
                f"csv.line[{error.line}].{error.field}".rstrip("."): error.message
                for error in report.errors
            },
        )
    return report.created
