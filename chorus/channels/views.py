from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from chorus.channels import selectors, services
from chorus.channels.forms import BlueskyForm, BlueskyOAuthForm, MastodonForm, MastodonInstanceForm
from chorus.channels.oauth_apps import mastodon_app, oauth_app_for
from chorus.errors import ServiceError
from chorus.networks.errors import NetworkError
from chorus.networks.oauth import OAuthApp, PendingAuthorization
from chorus.networks.registry import NETWORKS, oauth_flow_for
from chorus.orgs.access import workspace_for
from chorus.orgs.forms import attach_errors
from chorus.orgs.roles import Action
from chorus.web.shell import actor_of, workspace_page

# Networks connected through their OAuth flow from the Channels page. Those whose grant opens
# several accounts (Facebook Pages, Instagram business accounts, LinkedIn organisation pages,
# the Threads profile to confirm) go through the account picker after the grant.
OAUTH_NETWORKS = ("x", "linkedin", "facebook", "instagram", "threads", "youtube")


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
            "oauth_networks": [
                (info, oauth_app_for(slug) is not None)
                for slug, info in NETWORKS.items()
                if slug in OAUTH_NETWORKS
            ],
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
    instance_form = MastodonInstanceForm() if network == "mastodon" else None
    return render(
        request,
        "channels/connect.html",
        {
            "form": form,
            "instance_form": instance_form,
            "bluesky_oauth_form": BlueskyOAuthForm() if network == "bluesky" else None,
            "network": NETWORKS[network],
        },
    )


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


# OAuth connections ---------------------------------------------------------------------------

SESSION_KEY = "chorus.oauth.{state}"


@workspace_page(Action.UPDATE_WORKSPACE)
def oauth_start(request: HttpRequest, network: str) -> HttpResponse:
    """Sends the browser to the network to grant access; the secrets of the flow stay here."""
    workspace = request.workspace  # type: ignore[attr-defined]
    app = oauth_app_for(network)
    if app is None:
        messages.error(
            request,
            _(
                "No %(network)s application is configured on this server: set CHORUS_%(env)s_CLIENT_ID and CHORUS_%(env)s_CLIENT_SECRET."
            )
            % {"network": NETWORKS[network].display_name, "env": network.upper()},
        )
        return redirect("channels", slug=workspace.slug)
    return _send_to_network(request, network, app, service_url="")


@workspace_page(Action.UPDATE_WORKSPACE)
@require_POST
def mastodon_oauth_start(request: HttpRequest) -> HttpResponse:
    """Signs in on the account's own instance (Chorus registers itself there the first time)."""
    form = MastodonInstanceForm(request.POST)
    if form.is_valid():
        instance_url = form.cleaned_data["instance_url"].rstrip("/")
        try:
            return _send_to_network(
                request, "mastodon", mastodon_app(instance_url), service_url=instance_url
            )
        except (ServiceError, NetworkError) as exc:
            form.add_error(
                "instance_url", exc.message if isinstance(exc, ServiceError) else str(exc)
            )
    return render(
        request,
        "channels/connect.html",
        {"form": MastodonForm(), "instance_form": form, "network": NETWORKS["mastodon"]},
        status=400,
    )


def _send_to_network(
    request: HttpRequest, network: str, app: OAuthApp, *, service_url: str
) -> HttpResponse:
    pending = oauth_flow_for(network, app, service_url=service_url or None).start()
    request.session[SESSION_KEY.format(state=pending.state)] = {
        "network": network,
        "workspace": request.workspace.slug,  # type: ignore[attr-defined]
        "service_url": service_url,
        "pending": {
            "authorization_url": pending.authorization_url,
            "state": pending.state,
            "code_verifier": pending.code_verifier,
            "extra": dict(pending.extra),
        },
    }
    return redirect(pending.authorization_url)


@login_required
def oauth_callback(request: HttpRequest, network: str) -> HttpResponse:
    """Where the network sends the browser back: exchange the code and connect the account."""
    stored = request.session.pop(SESSION_KEY.format(state=request.GET.get("state", "")), None)
    if stored is None or stored["network"] != network:
        return render(
            request,
            "channels/oauth_error.html",
            {"reason": _("This authorization is unknown or was already used. Start again.")},
            status=400,
        )
    actor = actor_of(request)
    try:
        workspace = workspace_for(actor, stored["workspace"], Action.UPDATE_WORKSPACE)
    except ServiceError:
        raise Http404 from None
    service_url = stored.get("service_url", "")
    try:
        app = mastodon_app(service_url) if network == "mastodon" else oauth_app_for(network)
        if app is None:
            raise Http404
        credentials = oauth_flow_for(network, app, service_url=service_url or None).finish(
            PendingAuthorization(**stored["pending"]), request.GET.dict()
        )
        if services.offers_account_choice(network):
            grant = services.hold_grant(
                actor, workspace, network=network, credentials=credentials, service_url=service_url
            )
            return redirect("channel-oauth-pick", slug=workspace.slug, grant=grant.token)
        channel = services.connect(
            actor, workspace, network=network, credentials=credentials, service_url=service_url
        )
    except (NetworkError, ServiceError) as exc:
        reason = exc.message if isinstance(exc, ServiceError) else str(exc)
        return render(request, "channels/oauth_error.html", {"reason": reason}, status=400)
    messages.success(request, _("%(channel)s is connected.") % {"channel": channel})
    return redirect("channel-detail", slug=workspace.slug, channel_id=channel.pk)


@workspace_page(Action.UPDATE_WORKSPACE)
@require_http_methods(["GET", "POST"])
def oauth_pick(request: HttpRequest, grant: str) -> HttpResponse:
    """After a grant that opens several accounts: the user picks which become channels."""
    actor = actor_of(request)
    workspace = request.workspace  # type: ignore[attr-defined]
    pending = selectors.pending_connection(actor, workspace, grant)
    error = ""
    if request.method == "POST":
        if "discard" in request.POST:
            services.discard_grant(actor, pending)
            messages.info(request, _("Nothing was connected."))
            return redirect("channels", slug=workspace.slug)
        try:
            connected = services.connect_chosen(actor, pending, request.POST.getlist("account"))
        except ServiceError as exc:
            error = exc.message
        else:
            messages.success(
                request,
                _("Connected: %(channels)s.")
                % {"channels": ", ".join(str(channel) for channel in connected)},
            )
            return redirect("channels", slug=workspace.slug)
    return render(
        request,
        "channels/pick.html",
        {
            "network": NETWORKS[pending.network],
            "pending": pending,
            "accounts": pending.accounts,
            "error": error,
        },
        status=400 if error else 200,
    )
