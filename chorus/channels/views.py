from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from chorus.channels import selectors, services
from chorus.channels.forms import BlueskyForm, MastodonForm
from chorus.errors import ServiceError
from chorus.networks.registry import NETWORKS
from chorus.orgs.forms import attach_errors
from chorus.orgs.roles import Action
from chorus.web.shell import actor_of, workspace_page


@workspace_page()
def channel_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    workspace = request.workspace  # type: ignore[attr-defined]
    return render(
        request,
        "channels/list.html",
        {
            "channels": selectors.channels(actor, workspace),
            "can_connect": actor.can(Action.UPDATE_WORKSPACE, workspace),
            "networks": NETWORKS.values(),
        },
    )


@workspace_page(Action.UPDATE_WORKSPACE)
@require_http_methods(["GET", "POST"])
def connect(request: HttpRequest, network: str) -> HttpResponse:
    actor = actor_of(request)
    workspace = request.workspace  # type: ignore[attr-defined]
    form_class = {"bluesky": BlueskyForm, "mastodon": MastodonForm}[network]
    form = form_class(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            if network == "bluesky":
                channel = services.connect_bluesky(actor, workspace, **form.cleaned_data)
            else:
                channel = services.connect_mastodon(actor, workspace, **form.cleaned_data)
        except ServiceError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, _("%(channel)s is connected.") % {"channel": channel})
            return redirect("channel-detail", slug=workspace.slug, channel_id=channel.pk)
    return render(request, "channels/connect.html", {"form": form, "network": NETWORKS[network]})


@workspace_page()
def channel_detail(request: HttpRequest, channel_id: int) -> HttpResponse:
    actor = actor_of(request)
    channel = selectors.channel(actor, channel_id)
    return render(
        request,
        "channels/detail.html",
        {
            "channel": channel,
            "errors": selectors.recent_errors(channel),
            "budgets": selectors.rate_limit_budgets(channel),
            "can_manage": actor.can(Action.UPDATE_WORKSPACE, channel.workspace),
            "reconnect_network": channel.network
            if channel.network in {"bluesky", "mastodon"}
            else None,
        },
    )


@workspace_page(Action.UPDATE_WORKSPACE)
@require_POST
def disconnect(request: HttpRequest, channel_id: int) -> HttpResponse:
    actor = actor_of(request)
    channel = services.disconnect(actor, selectors.channel(actor, channel_id))
    messages.success(request, _("%(channel)s is disconnected.") % {"channel": channel})
    return redirect("channels", slug=request.workspace.slug)  # type: ignore[attr-defined]
