"""Reads of publishing data, scoped through ``chorus.orgs.access``."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext as _

from chorus.orgs.access import Actor, get_scoped, require, scoped
from chorus.orgs.models import Workspace
from chorus.orgs.roles import Action
from chorus.publishing.models import Approval, Campaign, CrisisPause, Delivery, Post


def posts(actor: Actor, workspace: Workspace) -> QuerySet[Post]:
    """Posts of the workspace's subtree that the actor may read."""
    return scoped(actor, Post.objects.all(), Action.VIEW_CONTENT).filter(
        workspace__path__startswith=workspace.path
    )


def post(actor: Actor, post_id: object, action: str = Action.VIEW_CONTENT) -> Post:
    """404 when out of reach, 403 when visible but the role does not allow ``action``."""
    found = get_scoped(
        actor, Post.objects.select_related("workspace", "author"), post_id, Action.VIEW_WORKSPACE
    )
    require(actor, action, found.workspace)
    return found


def detailed(found: QuerySet[Post]) -> QuerySet[Post]:
    """Posts with their deliveries and approvals, read in a fixed number of queries."""
    return found.select_related("workspace", "author").prefetch_related(
        Prefetch(
            "deliveries",
            queryset=Delivery.objects.select_related("channel__workspace", "variant__post"),
        ),
        Prefetch("approvals", queryset=Approval.objects.select_related("approver")),
    )


def fresh(of_post: Post) -> Post:
    """The post read again with its details, e.g. after a change to its deliveries."""
    return detailed(Post.objects.filter(pk=of_post.pk)).get()


def deliveries(actor: Actor, of_post: Post) -> QuerySet[Delivery]:
    return of_post.deliveries.select_related("channel", "variant").order_by("pk")


def campaigns(actor: Actor, workspace: Workspace) -> QuerySet[Campaign]:
    return scoped(actor, Campaign.objects.all(), Action.VIEW_CONTENT).filter(
        workspace__path__startswith=workspace.path
    )


def campaign(actor: Actor, campaign_id: object) -> Campaign:
    return get_scoped(actor, Campaign.objects.select_related("workspace"), campaign_id)


def crisis_pause(workspace: Workspace) -> CrisisPause | None:
    from chorus.publishing.services import active_pause

    return active_pause(workspace)


def calendar(
    actor: Actor, workspace: Workspace, start: date, end: date, zone_name: str
) -> list[tuple[date, list[tuple[Delivery, datetime]]]]:
    """Scheduled deliveries on the subtree's channels, grouped by local day in the zone."""
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
    rows = (
        scoped(actor, Delivery.objects.all(), Action.VIEW_CONTENT)
        .filter(
            workspace__path__startswith=workspace.path,
            scheduled_at__gte=first,
            scheduled_at__lt=after,
        )
        .exclude(state=Delivery.State.CANCELLED)
        .select_related("channel", "variant__post")
        .order_by("scheduled_at", "pk")
    )
    days: dict[date, list[tuple[Delivery, datetime]]] = {}
    for delivery in rows:
        assert delivery.scheduled_at is not None
        local = delivery.scheduled_at.astimezone(zone)
        days.setdefault(local.date(), []).append((delivery, local))
    return sorted(days.items())


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
