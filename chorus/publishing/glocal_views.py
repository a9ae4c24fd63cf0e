"""Pages of the glocal flow: a post's markets, a market's adaptation, the e-mail decision link."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from chorus.errors import Conflict, Invalid, NotFound, ServiceError
from chorus.orgs.roles import Action
from chorus.publishing import decisions, selectors, services
from chorus.publishing.models import Post
from chorus.web.shell import actor_of, forbidden, workspace_page


def _visible_post(request: HttpRequest, post_id: int) -> Post:
    """The post, if the actor sees it from the current workspace's subtree."""
    actor = actor_of(request)
    workspace = request.workspace  # type: ignore[attr-defined]
    found = selectors.post(actor, post_id)
    if not selectors.posts(actor, workspace).filter(pk=found.pk).exists():
        raise NotFound()
    return found


@workspace_page(Action.VIEW_CONTENT)
def markets(request: HttpRequest, post_id: int) -> HttpResponse:
    """One row per market of the post: HQ sees them all, a market's team its own."""
    actor = actor_of(request)
    post = _visible_post(request, post_id)
    workspace = request.workspace  # type: ignore[attr-defined]
    rows = [
        row
        for row in selectors.markets(actor, post)
        if row.workspace.path.startswith(workspace.path)
    ]
    return render(
        request,
        "publishing/markets.html",
        {
            "area": "publish",
            "post": post,
            "rows": rows,
            "comments": selectors.comments(actor, post).filter(
                workspace__path__startswith=workspace.path
            )
            | selectors.comments(actor, post).filter(workspace_id__in=workspace.ancestor_ids),
            "can_comment": actor.can(Action.PROPOSE_CONTENT, workspace),
        },
    )


@workspace_page(Action.PROPOSE_CONTENT)
@require_POST
def comment(request: HttpRequest, post_id: int) -> HttpResponse:
    """A comment on the post, from the current workspace."""
    actor = actor_of(request)
    workspace = request.workspace  # type: ignore[attr-defined]
    post = _visible_post(request, post_id)
    try:
        services.comment(
            actor,
            post,
            selectors.comment_workspace(actor, post, workspace),
            request.POST.get("text", ""),
        )
    except Invalid as exc:
        messages.error(request, exc.message)
    return redirect("post-markets", slug=workspace.slug, post_id=post.pk)


@workspace_page(Action.VIEW_CONTENT)
@require_POST
def market_decision(request: HttpRequest, post_id: int) -> HttpResponse:
    """Approve or reject one market's part of the post (the ``market`` field names it)."""
    actor = actor_of(request)
    workspace = request.workspace  # type: ignore[attr-defined]
    post = _visible_post(request, post_id)
    row = selectors.market(actor, post, request.POST.get("market", ""))
    try:
        if request.POST.get("decision") == decisions.Decision.APPROVE:
            services.approve(actor, post, row.approval_workspace)
            messages.success(request, _("Approved."))
        else:
            services.reject(actor, post, request.POST.get("note", ""), row.approval_workspace)
            messages.success(request, _("Sent back with your note."))
    except ServiceError as exc:
        if exc.status == 404:
            raise
        messages.error(request, exc.message)
    return redirect("post-markets", slug=workspace.slug, post_id=post.pk)


@workspace_page(Action.PROPOSE_CONTENT)
def adapt(request: HttpRequest, post_id: int) -> HttpResponse:
    """The market's local variant of a global post, to translate or adjust, then mark adapted."""
    actor = actor_of(request)
    workspace = request.workspace  # type: ignore[attr-defined]
    post = _visible_post(request, post_id)
    row = selectors.market(actor, post, workspace.pk)
    if row.variant is None:
        raise NotFound()
    text = row.variant.effective_text
    errors: dict[str, str] = {}
    if request.method == "POST":
        text = request.POST.get("text", "")
        done = "adapted" in request.POST
        try:
            services.adapt(actor, post, workspace, text=text, done=done)
        except ServiceError as exc:
            if exc.status == 404:
                raise
            messages.error(request, exc.message)
            errors = exc.fields
        else:
            messages.success(request, _("Adapted.") if done else _("Saved as a draft."))
            return redirect("post-markets", slug=workspace.slug, post_id=post.pk)
    return render(
        request,
        "publishing/adapt.html",
        {
            "area": "publish",
            "post": post,
            "row": row,
            "text": text,
            "errors": errors,
            "locked": [services.field_label(name) for name in post.locked_fields],
        },
    )


@login_required
def approval_link(request: HttpRequest, token: str) -> HttpResponse:
    """The landing page of an approval e-mail's link: shows what is asked (GET changes
    nothing); the decision is a POST with the CSRF token, by the link's approver, logged in."""
    actor = actor_of(request)
    try:
        opened = decisions.open_link(actor, token)
    except NotFound:
        raise Http404 from None
    except Conflict as exc:
        return render(
            request, "publishing/approval_link.html", {"refused": exc.message}, status=410
        )
    decision = request.POST.get("decision") or request.GET.get("decision", "")
    if request.method == "POST":
        try:
            decisions.decide(actor, token, decision, request.POST.get("note", ""))
        except ServiceError as exc:
            if exc.status == 404:
                raise Http404 from None
            if exc.status == 403:
                return forbidden(request)
            messages.error(request, exc.message)
        else:
            messages.success(
                request,
                _("Approved.") if decision == decisions.Decision.APPROVE else _("Sent back."),
            )
        link = opened.link
        return redirect("post-markets", slug=link.workspace.slug, post_id=link.post_id)
    return render(
        request,
        "publishing/approval_link.html",
        {
            "link": opened.link,
            "text": opened.text,
            "decision": decision
            if decision in decisions.Decision.CHOICES
            else decisions.Decision.APPROVE,
        },
    )
