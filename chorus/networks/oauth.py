"""Connecting an account with OAuth 2.0: the interface, and the plain authorization-code flow
with PKCE that most networks speak (subclass ``AuthorizationCodeFlow`` and set its endpoints).

The flow is two calls around a browser redirect:

1. ``start()`` returns a ``PendingAuthorization``: send the user to its ``authorization_url`` and
   keep the rest server-side (it holds the PKCE verifier and any proof-of-possession key).
2. ``finish(pending, callback_params)`` checks the callback (state, issuer, error) and exchanges
   the code for ``Credentials``.

``refresh(credentials)`` renews an access token; the result is meant for
``Credentials.merged_with`` so a refresh answered without a new refresh token keeps the old one.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import urlencode

import httpx

from chorus.networks.base import Credentials
from chorus.networks.errors import (
    AuthError,
    NetworkError,
    RateLimited,
    TransientError,
    untrusted_text,
)
from chorus.networks.ratelimit import RateLimitState


@dataclass(frozen=True)
class OAuthApp:
    """The application as registered with the network (or, on Mastodon, with one instance)."""

    client_id: str
    client_secret: str = ""
    redirect_uri: str = ""
    scopes: Sequence[str] = ()

    def __repr__(self) -> str:
        return f"OAuthApp(client_id={self.client_id!r}, redirect_uri={self.redirect_uri!r})"


@dataclass(frozen=True)
class PendingAuthorization:
    """Between ``start`` and ``finish``. Secret (PKCE verifier, keys): keep it server-side."""

    authorization_url: str
    state: str
    code_verifier: str = ""
    #: Network-specific values the exchange needs (issuer, token endpoint, DPoP key...).
    extra: Mapping[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"PendingAuthorization(authorization_url={self.authorization_url!r})"


def new_state() -> str:
    return secrets.token_urlsafe(24)


def pkce_pair() -> tuple[str, str]:
    """A PKCE code verifier and its S256 challenge (RFC 7636)."""
    verifier = secrets.token_urlsafe(48)
    return verifier, _b64url(hashlib.sha256(verifier.encode()).digest())


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def check_callback(pending: PendingAuthorization, params: Mapping[str, str]) -> str:
    """The authorization code of a callback, once its state matches and it carries no error."""
    if "error" in params:
        description = params.get("error_description") or params["error"]
        raise AuthError(f"authorization refused: {untrusted_text(description)}")
    if not secrets.compare_digest(params.get("state", ""), pending.state):
        raise AuthError("authorization callback with a wrong state")
    code = params.get("code", "")
    if not code:
        raise AuthError("authorization callback without a code")
    return code


def credentials_from_token_response(
    payload: Mapping[str, Any], now: datetime | None = None, **extra: str
) -> Credentials:
    """Credentials from an RFC 6749 token response."""
    expires_in = payload.get("expires_in")
    scope = payload.get("scope") or ""
    return Credentials(
        access_token=str(payload.get("access_token", "")),
        refresh_token=str(payload.get("refresh_token") or ""),
        expires_at=(now or datetime.now(UTC)) + timedelta(seconds=float(expires_in))
        if expires_in
        else None,
        token_type=str(payload.get("token_type") or "Bearer"),
        scopes=frozenset(str(scope).replace(",", " ").split()),
        extra=extra,
    )


def raise_for_oauth_error(response: httpx.Response, network: str) -> None:
    """Typed error for a failed token or authorization-server call."""
    if response.is_success:
        return
    try:
        body = response.json()
        detail = body.get("error_description") or body.get("error") or response.text
    except ValueError:
        detail = response.text
    if response.status_code == 429:
        state = RateLimitState.from_headers(response.headers)
        raise RateLimited(
            detail, retry_after_seconds=state.wait_seconds() if state else 60, network=network
        )
    if response.status_code >= 500:
        raise TransientError(detail, network=network, status=response.status_code)
    if response.status_code in (400, 401, 403):
        raise AuthError(detail, network=network, status=response.status_code)
    raise NetworkError(detail, network=network, status=response.status_code)


class OAuthFlow(ABC):
    network: ClassVar[str]

    def __init__(
        self,
        app: OAuthApp,
        *,
        service_url: str | None = None,
        http_client: httpx.Client | None = None,
    ) -> None:
        self.app = app
        self.service_url = service_url
        self.http = http_client or httpx.Client(timeout=30)

    @abstractmethod
    def start(self, *, login_hint: str | None = None) -> PendingAuthorization: ...

    @abstractmethod
    def finish(
        self, pending: PendingAuthorization, callback_params: Mapping[str, str]
    ) -> Credentials: ...

    def refresh(self, credentials: Credentials) -> Credentials:
        raise AuthError(
            f"{self.network} tokens cannot be refreshed: reconnect", network=self.network
        )


class AuthorizationCodeFlow(OAuthFlow):
    """RFC 6749 authorization code with PKCE (RFC 7636), client secret in the token request."""

    authorization_endpoint: ClassVar[str]
    token_endpoint: ClassVar[str]
    #: Some networks (Meta) want the scopes joined by commas.
    scope_separator: ClassVar[str] = " "
    #: "basic": client id and secret in the Authorization header; "body": in the form.
    client_authentication: ClassVar[str] = "body"
    use_pkce: ClassVar[bool] = True

    def start(self, *, login_hint: str | None = None) -> PendingAuthorization:
        state = new_state()
        params = {
            "response_type": "code",
            "client_id": self.app.client_id,
            "redirect_uri": self.app.redirect_uri,
            "scope": self.scope_separator.join(self.app.scopes),
            "state": state,
        }
        verifier = ""
        if self.use_pkce:
            verifier, challenge = pkce_pair()
            params |= {"code_challenge": challenge, "code_challenge_method": "S256"}
        if login_hint:
            params["login_hint"] = login_hint
        return PendingAuthorization(
            authorization_url=f"{self.authorization_endpoint}?{urlencode(params)}",
            state=state,
            code_verifier=verifier,
        )

    def finish(
        self, pending: PendingAuthorization, callback_params: Mapping[str, str]
    ) -> Credentials:
        code = check_callback(pending, callback_params)
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.app.redirect_uri,
        }
        if pending.code_verifier:
            form["code_verifier"] = pending.code_verifier
        return self._token_request(form)

    def refresh(self, credentials: Credentials) -> Credentials:
        if not credentials.refresh_token:
            return super().refresh(credentials)
        refreshed = self._token_request(
            {"grant_type": "refresh_token", "refresh_token": credentials.refresh_token}
        )
        return credentials.merged_with(refreshed)

    def _token_request(self, form: dict[str, str]) -> Credentials:
        try:
            if self.client_authentication == "basic":
                auth = httpx.BasicAuth(self.app.client_id, self.app.client_secret)
                response = self.http.post(self.token_endpoint, data=form, auth=auth)
            else:
                form = form | {"client_id": self.app.client_id}
                if self.app.client_secret:
                    form["client_secret"] = self.app.client_secret
                response = self.http.post(self.token_endpoint, data=form)
        except httpx.TransportError as error:
            raise TransientError(f"token request failed: {error}", network=self.network) from error
        raise_for_oauth_error(response, self.network)
        try:
            return credentials_from_token_response(response.json())
        except (ValueError, TypeError) as error:
            raise NetworkError("unreadable token response", network=self.network) from error
