"""What every page of a workspace needs: the actor, the workspace, errors as pages."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render

from chorus.errors import Forbidden, NotFound
from chorus.orgs.access import Actor, workspace_for
from chorus.orgs.models import User
from chorus.orgs.roles import Action

View = Callable[..., HttpResponseBase]


def actor_of(request: HttpRequest) -> Actor:
    cached = getattr(request, "actor", None)
    if cached is None:
        assert isinstance(request.user, User)
        cached = Actor(request.user, ip=request.META.get("REMOTE_ADDR") or None)
        request.actor = cached  # type: ignore[attr-defined]
    return cached


def workspace_page(action: str = Action.VIEW_WORKSPACE) -> Callable[[View], View]:
    """Resolves ``slug`` to ``request.workspace``: 404 out of reach, 403 page when the role says no."""

    def decorate(view: View) -> View:
        @login_required
        @functools.wraps(view)
        def wrapper(request: HttpRequest, slug: str, *args: Any, **kwargs: Any) -> HttpResponseBase:
            actor = actor_of(request)
            try:
                request.workspace = workspace_for(actor, slug)  # type: ignore[attr-defined]
            except NotFound:
                raise Http404 from None
            if not actor.can(action, request.workspace):  # type: ignore[attr-defined]
                return forbidden(request)
            try:
                return view(request, *args, **kwargs)
            except NotFound:
                raise Http404 from None
            except Forbidden:
                return forbidden(request)

        return wrapper

    return decorate


def forbidden(request: HttpRequest) -> HttpResponse:
    return render(request, "web/forbidden.html", status=403)
