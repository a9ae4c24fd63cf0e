"""The Publish pages: posts with each channel's truth, a composer, approvals, crisis mode."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from chorus.channels.models import Channel
from chorus.channels.selectors import channels as visible_channels
from chorus.errors import ServiceError
from chorus.networks.base import PostContent
from chorus.networks.registry import NETWORKS
from chorus.networks.validation import DEFAULT_LIMITS
from chorus.orgs.access import Actor
from chorus.orgs.roles import Action
from chorus.publishing import selectors, services
from chorus.publishing.forms import ComposeForm
from chorus.publishing.models import Delivery, Post
from chorus.publishing.timing import local_instant
from chorus.web.shell import actor_of, workspace_page


@workspace_page(Action.VIEW_CONTENT)
def publish(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    workspace = request.workspace  # type: ignore[attr-defined]
    posts = list(
        selectors.posts(actor, workspace)
        .select_related("workspace", "author")
        .prefetch_related("deliveries__channel", "deliveries__variant")[:50]
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
                    "open": any(d.state in services.EDITABLE for d in post.deliveries.all()),
                }
                for post in posts
            ],
            "can_write": actor.can(Action.PROPOSE_CONTENT, workspace),
            "can_approve": actor.can(Action.APPROVE_CONTENT, workspace),
            "can_cancel": actor.can(Action.WRITE_CONTENT, workspace),
        },
    )


def _channel_choices(request: HttpRequest) -> list[Channel]:
    actor = actor_of(request)
    workspace = request.workspace  # type: ignore[attr-defined]
    return list(
        visible_channels(actor, workspace)
        .filter(workspace_id__in=actor.workspace_ids(Action.PROPOSE_CONTENT))
        .exclude(status=Channel.Status.DISABLED)
    )


@workspace_page(Action.PROPOSE_CONTENT)
def compose(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    workspace = request.workspace  # type: ignore[attr-defined]
    channels = _channel_choices(request)
    form = ComposeForm(
        request.POST or None,
        channels=[(c.pk, f"{c} · {c.workspace.name}") for c in channels],
        initial={"timezone": workspace.timezone},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            when = (
                local_instant(data["scheduled_at"].replace(tzinfo=None), data["timezone"])
                if data["scheduled_at"]
                else None
            )
            post = services.create_post(
                actor,
                workspace,
                text=data["text"],
                channels=data["channels"],
                when=when,
                timezone_name=data["timezone"],
            )
        except ServiceError as exc:
            form.add_error(None, exc.message)
            for field, message in exc.fields.items():
                form.add_error(None, f"{field}: {message}")
        else:
            messages.success(request, _("The post is saved."))
            for warning in selectors.duplicate_warnings(post):
                messages.warning(request, warning)
            return redirect("publish", slug=workspace.slug)
    return render(
        request,
        "publishing/compose.html",
        {"area": "publish", "form": form, "counts": _counts("")},
    )


def _counts(text: str) -> list[dict[str, object]]:
    """Length of the text counted each network's way, with the rules it breaks."""
    rows = []
    for slug, info in NETWORKS.items():
        limits = DEFAULT_LIMITS[slug]
        issues = [
            services.describe_issue(issue)
            for issue in services.validate_for_network(slug, PostContent(text=text))
            if issue.where == "text"
        ]
        rows.append(
            {
                "network": info.display_name,
                "count": limits.count_text(text),
                "limit": limits.text_length,
                "unit": limits.text_unit,
                "issues": issues if text else [],
            }
        )
    return rows


@workspace_page(Action.PROPOSE_CONTENT)
@require_POST
def check_length(request: HttpRequest) -> HttpResponse:
    return render(
        request, "publishing/_counts.html", {"counts": _counts(request.POST.get("text", ""))}
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
