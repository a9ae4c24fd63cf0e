"""API authentication: a bearer token, or the browser session (with CSRF) for the docs page."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth

from chorus.orgs.access import Actor
from chorus.orgs.models import ApiToken, User
from chorus.orgs.services import authenticate_token


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        return authenticate_token(token)


class BrowserSession(SessionAuth):
    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        return user if user is not None and user.is_active else None


def client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def actor(request: HttpRequest) -> Actor:
    """The acting user (and token) of an authenticated API request, built once per request."""
    cached = getattr(request, "_chorus_actor", None)
    if cached is not None:
        return cached
    auth = request.auth  # type: ignore[attr-defined]
    if isinstance(auth, ApiToken):
        built = Actor(auth.user, token=auth, ip=client_ip(request))
    elif isinstance(auth, User):
        built = Actor(auth, ip=client_ip(request))
    else:  # pragma: no cover - ninja never calls an operation unauthenticated
        raise RuntimeError("unauthenticated request reached an operation")
    request._chorus_actor = built  # type: ignore[attr-defined]
    return built


api_auth = [BearerToken(), BrowserSession()]
