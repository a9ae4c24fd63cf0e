from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from chorus.jobs.worker import health
from chorus.orgs import selectors
from chorus.publishing.ledger import overdue as publishing_overdue
from chorus.web.shell import actor_of, workspace_page

# The product areas that later issues fill in; each page says what will be there.
AREAS = {
    "publish": (
        _("Publish"),
        _(
            "Campaigns, posts with a variant per network and per language, approvals and the calendar will live here."
        ),
    ),
    "inbox": (
        _("Inbox"),
        _(
            "Every comment, mention and direct message of your accounts in one queue, with assignment and response times."
        ),
    ),
    "listen": (
        _("Listen"),
        _(
            "Listening queries, sentiment and emotions, spikes and rumours spotted early will live here."
        ),
    ),
    "analyse": (
        _("Analyse"),
        _(
            "Engagement per content type, roll-ups across workspaces, ROI and scheduled reports will live here."
        ),
    ),
    "advocacy": (
        _("Advocacy"),
        _(
            "Content for employees and ambassadors to share in one click, and their own statistics, will live here."
        ),
    ),
}


@login_required
def home(request: HttpRequest) -> HttpResponse:
    first = selectors.workspaces(actor_of(request)).first()
    if first is None:
        return render(request, "web/no_workspace.html")
    return redirect("dashboard", slug=first.slug)


@workspace_page()
def dashboard(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    actor = actor_of(request)
    subtree = [ws for ws in selectors.workspaces(actor) if ws.path.startswith(workspace.path)]
    return render(
        request,
        "web/dashboard.html",
        {"subtree": subtree, "areas": [(key, title) for key, (title, _text) in AREAS.items()]},
    )


@workspace_page()
def area(request: HttpRequest, area: str) -> HttpResponse:
    title, text = AREAS[area]
    return render(request, "web/area.html", {"area": area, "title": title, "text": text})


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for monitors: 503 when the database, the queue or the worker is not working."""
    state: dict[str, object] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        state["database"] = {"ok": True, "vendor": connection.vendor}
    except Exception as exc:
        state["database"] = {"ok": False, "error": exc.__class__.__name__}
    if state["database"]["ok"]:  # type: ignore[index]
        state.update(health())
        state["overdue"] = publishing_overdue()
    else:
        state.update({"queue": {"ok": False}, "worker": {"ok": False}, "overdue": {"ok": False}})
    ok = all(part["ok"] for part in state.values())  # type: ignore[index]
    state["status"] = "ok" if ok else "failing"
    return JsonResponse(state, status=200 if ok else 503)
