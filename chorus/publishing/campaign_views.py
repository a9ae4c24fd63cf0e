"""The campaigns pages: the workspace's campaigns (and its ancestors' that apply to it) with their
posts' deliveries by state; create and edit them where the role allows writing content."""

from __future__ import annotations

from collections import Counter, defaultdict

from django.contrib import messages
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from chorus.errors import ServiceError
from chorus.orgs.access import Actor
from chorus.orgs.models import Workspace
from chorus.orgs.roles import Action
from chorus.publishing import selectors, services
from chorus.publishing.forms import CampaignForm
from chorus.publishing.models import Campaign, Delivery, Post
from chorus.web.shell import actor_of, workspace_page


def _save(
    request: HttpRequest, actor: Actor, form: CampaignForm, campaign: Campaign | None
) -> Campaign | None:
    """Creates or updates from a valid form; a refusal of the rules goes beside its field."""
    if not form.is_valid():
        return None
    workspace = request.workspace  # type: ignore[attr-defined]
    try:
        if campaign is None:
            return services.create_campaign(actor, workspace, **form.campaign_fields())
        return services.update_campaign(actor, campaign, **form.campaign_fields())
    except ServiceError as exc:
        if exc.status in (403, 404):
            raise
        form.add_service_errors(exc)
        return None


def _delivery_states(workspace: Workspace, campaigns: list[Campaign]) -> dict[int, list]:
    """Per campaign, how many of the subtree's deliveries are in each state."""
    counts: dict[int, Counter[str]] = defaultdict(Counter)
    rows = (
        Delivery.objects.filter(
            post__campaign__in=campaigns, workspace__path__startswith=workspace.path
        )
        .values_list("post__campaign_id", "state")
        .annotate(number=Count("id"))
    )
    for campaign_id, state, number in rows:
        counts[campaign_id][state] += number
    labels = dict(Delivery.State.choices)
    return {
        campaign_id: [(labels.get(state, state), number) for state, number in sorted(found.items())]
        for campaign_id, found in counts.items()
    }


@workspace_page(Action.VIEW_CONTENT)
@require_http_methods(["GET", "POST"])
def campaigns(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    workspace = request.workspace  # type: ignore[attr-defined]
    form = CampaignForm(request.POST or None)
    if request.method == "POST" and _save(request, actor, form, None):
        messages.success(request, _("The campaign is created."))
        return redirect("publish-campaigns", slug=workspace.slug)
    found = list(selectors.campaigns_in_view(actor, workspace).order_by("-starts_on", "name"))
    posts = dict(
        Post.objects.filter(campaign__in=found, workspace__path__startswith=workspace.path)
        .values_list("campaign_id")
        .annotate(number=Count("id"))
    )
    states = _delivery_states(workspace, found)
    return render(
        request,
        "publishing/campaigns.html",
        {
            "area": "publish",
            "section": "campaigns",
            "form": form,
            "may_write": actor.can(Action.WRITE_CONTENT, workspace),
            "rows": [
                {"campaign": c, "posts": posts.get(c.pk, 0), "states": states.get(c.pk, [])}
                for c in found
            ],
        },
    )


@workspace_page(Action.VIEW_CONTENT)
@require_http_methods(["GET", "POST"])
def campaign_detail(request: HttpRequest, campaign_id: int) -> HttpResponse:
    actor = actor_of(request)
    workspace = request.workspace  # type: ignore[attr-defined]
    campaign = selectors.campaigns_in_view(actor, workspace).filter(pk=campaign_id).first()
    if campaign is None:
        raise Http404
    form = CampaignForm(request.POST or None, instance=campaign)
    if request.method == "POST" and _save(request, actor, form, campaign):
        messages.success(request, _("The campaign is saved."))
        return redirect("publish-campaign", slug=workspace.slug, campaign_id=campaign.pk)
    posts = (
        Post.objects.filter(campaign=campaign, workspace__path__startswith=workspace.path)
        .select_related("workspace")
        .prefetch_related("deliveries__channel")
        .order_by("-id")
    )
    return render(
        request,
        "publishing/campaign.html",
        {
            "area": "publish",
            "section": "campaigns",
            "campaign": campaign,
            "form": form,
            "may_write": actor.can(Action.WRITE_CONTENT, campaign.workspace),
            "posts": posts,
        },
    )
