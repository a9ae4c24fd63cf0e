"""Connecting a Bluesky account through its server's OAuth sign-in (the app-password form is in
``views.connect``).

The start view resolves the account, pushes the authorization request and keeps the secrets
(PKCE verifier, DPoP key) in the session under the request's state; the callback accepts that
state once, from the same person, within ``PENDING_LIFETIME_SECONDS``. The DPoP key outlives the
flow (the tokens are bound to it), so even the session keeps it only encrypted.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_POST

from chorus import crypto
from chorus.channels import services
from chorus.channels.forms import BlueskyForm, BlueskyOAuthForm
from chorus.channels.oauth_apps import bluesky_app
from chorus.errors import ServiceError
from chorus.networks.bluesky_oauth import BlueskyOAuthFlow, client_metadata
from chorus.networks.errors import NetworkError
from chorus.networks.oauth import PendingAuthorization
from chorus.networks.registry import NETWORKS
from chorus.orgs.access import workspace_for
from chorus.orgs.roles import Action
from chorus.web.shell import actor_of, workspace_page

PENDING_KEY = "chorus.bluesky-oauth.{state}"
#: The server's own request expires sooner (minutes); this bounds a stale tab's callback.
PENDING_LIFETIME_SECONDS = 15 * 60


def _flow(service_url: str | None = None) -> BlueskyOAuthFlow:
    return BlueskyOAuthFlow(
        bluesky_app(),
        service_url=service_url,
        plc_url=settings.BLUESKY_PLC_URL,
        handle_resolver_url=settings.BLUESKY_HANDLE_RESOLVER_URL,
    )


@require_GET
@cache_control(public=True, max_age=3600)
def client_metadata_document(request: HttpRequest) -> JsonResponse:
    """Who Chorus is, for the authorization servers that look its client id up."""
    return JsonResponse(
        client_metadata(bluesky_app(), client_name="Chorus", client_uri=settings.PUBLIC_URL)
    )


@workspace_page(Action.UPDATE_WORKSPACE)
@require_POST
def oauth_start(request: HttpRequest) -> HttpResponse:
    """Finds the account's server and sends the browser there to sign in and grant access."""
    workspace = request.workspace  # type: ignore[attr-defined]
    form = BlueskyOAuthForm(request.POST)
    if form.is_valid():
        account = form.cleaned_data["account"].strip()
        try:
            if account.startswith(("https://", "http://")):
                pending = _flow(service_url=account.rstrip("/")).start()
            else:
                pending = _flow().start(login_hint=account)
        except NetworkError as exc:
            form.add_error("account", str(exc))
        else:
            request.session[PENDING_KEY.format(state=pending.state)] = {
                "user": request.user.pk,
                "workspace": workspace.slug,
                "started_at": time.time(),
                "pending": {
                    "authorization_url": pending.authorization_url,
                    "state": pending.state,
                    "code_verifier": pending.code_verifier,
                    "extra": {
                        **pending.extra,
                        "dpop_key": crypto.encrypt(pending.extra["dpop_key"]),
                    },
                },
            }
            return redirect(pending.authorization_url)
    return render(
        request,
        "channels/connect.html",
        {
            "form": BlueskyForm(),
            "instance_form": None,
            "bluesky_oauth_form": form,
            "network": NETWORKS["bluesky"],
        },
        status=400,
    )


@login_required
def oauth_callback(request: HttpRequest) -> HttpResponse:
    """Where the account's server sends the browser back: exchange the code, connect."""
    stored = request.session.pop(PENDING_KEY.format(state=request.GET.get("state", "")), None)
    if (
        stored is None
        or stored["user"] != request.user.pk
        or time.time() - stored["started_at"] > PENDING_LIFETIME_SECONDS
    ):
        return render(
            request,
            "channels/oauth_error.html",
            {
                "reason": _(
                    "This authorization is unknown, expired or was already used. Start again."
                )
            },
            status=400,
        )
    actor = actor_of(request)
    try:
        workspace = workspace_for(actor, stored["workspace"], Action.UPDATE_WORKSPACE)
    except ServiceError:
        raise Http404 from None
    pending = stored["pending"]
    extra = {**pending["extra"], "dpop_key": crypto.decrypt(pending["extra"]["dpop_key"])}
    try:
        credentials = _flow().finish(
            PendingAuthorization(**{**pending, "extra": extra}), request.GET.dict()
        )
        channel = services.connect_bluesky_oauth(actor, workspace, credentials=credentials)
    except (NetworkError, ServiceError) as exc:
        reason = exc.message if isinstance(exc, ServiceError) else str(exc)
        return render(request, "channels/oauth_error.html", {"reason": reason}, status=400)
    messages.success(request, _("%(channel)s is connected.") % {"channel": channel})
    return redirect("channel-detail", slug=workspace.slug, channel_id=channel.pk)
