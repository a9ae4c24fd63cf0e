"""The Publish pages: posts with each channel's truth, approvals, crisis mode (the composer is
in ``chorus.publishing.composer``)."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from chorus.errors import ServiceError
from chorus.orgs.access import Actor, scoped
from chorus.orgs.roles import Action
from chorus.publishing import selectors, services
from chorus.publishing.models import Delivery, Post
from chorus.web.shell import actor_of, workspace_page


@workspace_page(Action.VIEW_CONTENT)
def publish(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    workspace = request.workspace  # type: ignore[attr-defined]
    # Only the deliveries of this subtree that the actor may read: a market's team sees its
    # own part of HQ's posts, not the other markets'.
    shown = scoped(
        actor, Delivery.objects.filter(workspace__path__startswith=workspace.path)
    ).select_related("channel", "variant")
    posts = list(
        selectors.posts(actor, workspace)
        .select_related("workspace", "author")
        .prefetch_related(Prefetch("deliveries", queryset=shown))[:50]
    )
    return render(
        request,
        "publishing/publish.html",
        {
            "area": "publish",
            "rows": [
                {
                    "post": post,
                    "awaiting": any(
                        d.state == Delivery.State.AWAITING_APPROVAL for d in post.deliveries.all()
                    ),
                    "open": actor.can(Action.WRITE_CONTENT, post.workspace)
                    and any(d.state in services.EDITABLE for d in post.deliveries.all()),
                }
                for post in posts
            ],
            "to_adapt": selectors.to_adapt(actor, workspace),
            "can_write": actor.can(Action.PROPOSE_CONTENT, workspace),
            "can_approve": actor.can(Action.APPROVE_CONTENT, workspace),
            "can_cancel": actor.can(Action.WRITE_CONTENT, workspace),
            # Where a variant can be edited (its deliveries not sent yet): the variant page.
            "writable_workspaces": actor.workspace_ids(Action.WRITE_CONTENT),
            "editable_states": services.EDITABLE,
            # Still waiting for a person at their time: not published, shown as overdue.
            "waiting_states": (
                Delivery.State.AWAITING_ADAPTATION,
                Delivery.State.AWAITING_APPROVAL,
            ),
            "now": timezone.now(),
        },
    )


def _act(
    request: HttpRequest,
    post_id: int,
    action: str,
    done: str,
    change: Callable[[Actor, Post], object],
) -> HttpResponse:
    actor = actor_of(request)
    workspace = request.workspace  # type: ignore[attr-defined]
    post = selectors.post(actor, post_id, action)
    try:
        change(actor, post)
    except ServiceError as exc:
        if exc.status == 404:
            raise
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return redirect("publish", slug=workspace.slug)


@workspace_page(Action.VIEW_CONTENT)
@require_POST
def approve(request: HttpRequest, post_id: int) -> HttpResponse:
    return _act(request, post_id, Action.APPROVE_CONTENT, _("Approved."), services.approve)


@workspace_page(Action.VIEW_CONTENT)
@require_POST
def reject(request: HttpRequest, post_id: int) -> HttpResponse:
    note = request.POST.get("note", "")
    return _act(
        request,
        post_id,
        Action.APPROVE_CONTENT,
        _("Sent back to its author."),
        lambda actor, post: services.reject(actor, post, note),
    )


@workspace_page(Action.VIEW_CONTENT)
@require_POST
def cancel(request: HttpRequest, post_id: int) -> HttpResponse:
    return _act(request, post_id, Action.WRITE_CONTENT, _("Cancelled."), services.cancel)


@workspace_page(Action.APPROVE_CONTENT)
@require_POST
def pause(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    outcome = services.pause_subtree(actor_of(request), workspace, request.POST.get("reason", ""))
    messages.warning(
        request,
        _("Crisis pause: %(n)s scheduled deliveries are held.") % {"n": outcome.paused},
    )
    return redirect("publish", slug=workspace.slug)


@workspace_page(Action.APPROVE_CONTENT)
@require_POST
def resume(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    outcome = services.resume_subtree(
        actor_of(request), workspace, request.POST.get("past_due", services.PastDue.HOLD)
    )
    messages.success(
        request,
        _(
            "Resumed: %(resumed)s back on schedule, %(past)s past their time and held for a decision."
        )
        % {"resumed": outcome.resumed, "past": outcome.past_due},
    )
    return redirect("publish", slug=workspace.slug)
