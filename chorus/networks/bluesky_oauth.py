"""Connecting a Bluesky account through its PDS's OAuth server (atproto OAuth profile).

atproto OAuth is OAuth 2.1 with every optional hardening made mandatory:

- the account is found first: handle → DID → DID document → PDS → the PDS's protected-resource
  metadata names its authorization server, whose metadata names the endpoints;
- the authorization request is pushed (PAR), with PKCE S256, and only its ``request_uri`` goes
  through the browser;
- every token request, and every call made with the tokens, carries a DPoP proof signed with a
  key of this connection only (ES256), so a stolen access token is useless without the key;
  servers ask for a fresh nonce with ``use_dpop_nonce`` and the request is sent once more;
- the callback's ``iss`` must be the server the request was pushed to, and the token's ``sub``
  DID must resolve to a PDS whose authorization server is that same issuer.

Chorus is a public client: its ``client_id`` is the URL of its client metadata, or, on a
loopback address, the ``http://localhost?redirect_uri=…&scope=…`` form that needs no hosted
document. The DPoP private key is part of the credentials (stored encrypted, like the tokens).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from chorus.networks.base import Credentials
from chorus.networks.errors import AuthError, InvalidContent, NetworkError, TransientError
from chorus.networks.oauth import (
    OAuthApp,
    OAuthFlow,
    PendingAuthorization,
    check_callback,
    credentials_from_token_response,
    new_state,
    pkce_pair,
    raise_for_oauth_error,
)

NETWORK = "bluesky"
SCOPES = ("atproto", "transition:generic")
PLC_DIRECTORY = "https://plc.directory"
HANDLE_RESOLVER = "https://bsky.social"
#: ``Credentials.extra["auth"]`` of a connection made here (an app-password one says so too).
OAUTH = "oauth"
APP_PASSWORD = "app_password"  # noqa: S105 (a kind of connection, not a secret)
_LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "[::1]", "::1"}
_TIMEOUT = httpx.Timeout(20)


# Client identity ---------------------------------------------------------------------------


def is_loopback(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "http" and (parts.hostname or "") in _LOOPBACK_HOSTS


def client_id_for(redirect_uri: str, metadata_url: str) -> str:
    """The client id: the metadata document's URL, or the loopback form for a local install
    (atproto servers accept ``http://localhost`` clients without fetching any document)."""
    if not is_loopback(redirect_uri):
        return metadata_url
    query = urlencode([("redirect_uri", redirect_uri), ("scope", " ".join(SCOPES))])
    return f"http://localhost?{query}"


def client_metadata(app: OAuthApp, *, client_name: str, client_uri: str) -> dict[str, Any]:
    """The public client-metadata document served at ``app.client_id``."""
    return {
        "client_id": app.client_id,
        "client_name": client_name,
        "client_uri": client_uri,
        "redirect_uris": [app.redirect_uri],
        "scope": " ".join(app.scopes or SCOPES),
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        "application_type": "web",
        "dpop_bound_access_tokens": True,
    }


# DPoP (RFC 9449) ------------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def access_token_hash(access_token: str) -> str:
    """The ``ath`` claim: base64url of the SHA-256 of the access token."""
    return b64url(hashlib.sha256(access_token.encode("ascii")).digest())


class DpopKey:
    """One connection's P-256 key: signs its DPoP proofs (ES256)."""

    def __init__(self, private_key: ec.EllipticCurvePrivateKey) -> None:
        self._key = private_key

    @classmethod
    def generate(cls) -> DpopKey:
        return cls(ec.generate_private_key(ec.SECP256R1()))

    @classmethod
    def from_jwk(cls, serialized: str) -> DpopKey:
        jwk = json.loads(serialized)
        if jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
            raise ValueError("a DPoP key must be a P-256 JWK")
        numbers = ec.EllipticCurvePrivateNumbers(
            int.from_bytes(_b64url_decode(jwk["d"]), "big"),
            ec.EllipticCurvePublicNumbers(
                int.from_bytes(_b64url_decode(jwk["x"]), "big"),
                int.from_bytes(_b64url_decode(jwk["y"]), "big"),
                ec.SECP256R1(),
            ),
        )
        return cls(numbers.private_key())

    def public_jwk(self) -> dict[str, str]:
        numbers = self._key.public_key().public_numbers()
        return {
            "kty": "EC",
            "crv": "P-256",
            "x": b64url(numbers.x.to_bytes(32, "big")),
            "y": b64url(numbers.y.to_bytes(32, "big")),
        }

    def to_jwk(self) -> str:
        """The private key as a JWK string: secret, stored encrypted with the tokens."""
        d = self._key.private_numbers().private_value.to_bytes(32, "big")
        return json.dumps({**self.public_jwk(), "d": b64url(d)})

    def proof(
        self,
        method: str,
        url: str,
        *,
        nonce: str | None = None,
        access_token: str | None = None,
        now: float | None = None,
    ) -> str:
        """A DPoP proof JWT for one request: ``htu`` is the URL without query or fragment,
        ``ath`` binds it to the access token when one is sent."""
        parts = urlsplit(url)
        claims: dict[str, Any] = {
            "jti": secrets.token_urlsafe(16),
            "htm": method.upper(),
            "htu": f"{parts.scheme}://{parts.netloc}{parts.path}",
            "iat": int(now if now is not None else time.time()),
        }
        if nonce:
            claims["nonce"] = nonce
        if access_token:
            claims["ath"] = access_token_hash(access_token)
        header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": self.public_jwk()}
        signing_input = f"{_json_b64(header)}.{_json_b64(claims)}"
        r, s = decode_dss_signature(
            self._key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        )
        return f"{signing_input}.{b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def _json_b64(value: Mapping[str, Any]) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


class DpopClient:
    """Sends requests with DPoP proofs; keeps each server's latest nonce (per origin) and sends
    a request once more when the server asks for a fresh nonce."""

    def __init__(self, key: DpopKey, http: httpx.Client) -> None:
        self.key = key
        self.http = http
        self.nonces: dict[str, str] = {}

    def request(
        self,
        method: str,
        url: str,
        *,
        access_token: str | None = None,
        headers: Mapping[str, str] | None = None,
        **options: Any,
    ) -> httpx.Response:
        origin = _origin(url)
        for attempt in (1, 2):
            sent = dict(headers or {})
            sent["DPoP"] = self.key.proof(
                method, url, nonce=self.nonces.get(origin), access_token=access_token
            )
            if access_token:
                sent["Authorization"] = f"DPoP {access_token}"
            response = self.http.request(method, url, headers=sent, **options)
            fresh = response.headers.get("DPoP-Nonce")
            if fresh:
                self.nonces[origin] = fresh
            if attempt == 2 or not (fresh and asks_for_nonce(response)):
                return response
        raise AssertionError("unreachable")  # pragma: no cover


def asks_for_nonce(response: httpx.Response) -> bool:
    """The server refused the proof for want of its current nonce (token endpoints answer 400
    with a JSON error, resource servers 401 with a ``WWW-Authenticate`` challenge)."""
    if response.status_code == 401:
        return "use_dpop_nonce" in response.headers.get("WWW-Authenticate", "")
    if response.status_code == 400:
        try:
            return bool(response.json().get("error") == "use_dpop_nonce")
        except (ValueError, AttributeError):
            return False
    return False


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


# Identity and servers -------------------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    did: str
    handle: str
    pds_url: str


@dataclass(frozen=True)
class AuthorizationServer:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    par_endpoint: str


class IdentityResolver:
    """Handles and DIDs to their PDS: handles through an XRPC resolver, ``did:plc`` through the
    PLC directory, ``did:web`` through its ``/.well-known/did.json``. A handle counts only when
    the DID document claims it back."""

    def __init__(
        self,
        http: httpx.Client,
        *,
        plc_url: str = PLC_DIRECTORY,
        handle_resolver_url: str = HANDLE_RESOLVER,
    ) -> None:
        self.http = http
        self.plc_url = plc_url.rstrip("/")
        self.handle_resolver_url = handle_resolver_url.rstrip("/")

    def from_handle(self, handle: str, *, resolver_url: str | None = None) -> Identity:
        handle = handle.strip().lstrip("@").lower()
        resolver = (resolver_url or self.handle_resolver_url).rstrip("/")
        url = f"{resolver}/xrpc/com.atproto.identity.resolveHandle"
        answer = _get_json(self.http, url, params={"handle": handle}, missing=f"@{handle}")
        did = str(answer.get("did", ""))
        identity = self.from_did(did)
        if identity.handle != handle:
            raise AuthError(
                f"@{handle} resolves to {did}, whose DID document does not claim that handle",
                network=NETWORK,
            )
        return identity

    def from_did(self, did: str) -> Identity:
        if did.startswith("did:plc:"):
            url = f"{self.plc_url}/{did}"
        elif did.startswith("did:web:"):
            url = f"https://{did.removeprefix('did:web:')}/.well-known/did.json"
        else:
            raise AuthError(f"unsupported account identifier {did!r}", network=NETWORK)
        document = _get_json(self.http, url, missing=did)
        if document.get("id") != did:
            raise AuthError(f"the DID document of {did} names another DID", network=NETWORK)
        handles = [
            str(name).removeprefix("at://")
            for name in document.get("alsoKnownAs") or []
            if str(name).startswith("at://")
        ]
        pds = next(
            (
                service.get("serviceEndpoint")
                for service in document.get("service") or []
                if isinstance(service, dict)
                and service.get("id") in ("#atproto_pds", f"{did}#atproto_pds")
                and service.get("type") == "AtprotoPersonalDataServer"
            ),
            None,
        )
        if not isinstance(pds, str) or not pds.startswith(("https://", "http://")):
            raise AuthError(f"{did} names no PDS", network=NETWORK)
        return Identity(
            did=did, handle=handles[0].lower() if handles else "", pds_url=pds.rstrip("/")
        )


def authorization_server_for(http: httpx.Client, pds_url: str) -> AuthorizationServer:
    """The authorization server the PDS delegates to, checked against its own metadata."""
    pds_url = pds_url.rstrip("/")
    resource = _get_json(http, f"{pds_url}/.well-known/oauth-protected-resource", missing=pds_url)
    servers = resource.get("authorization_servers") or []
    if not servers or not isinstance(servers[0], str):
        raise AuthError(f"{pds_url} names no OAuth authorization server", network=NETWORK)
    issuer = servers[0].rstrip("/")
    metadata = _get_json(http, f"{issuer}/.well-known/oauth-authorization-server", missing=issuer)
    if metadata.get("issuer") != issuer:
        raise AuthError(f"{issuer} describes itself as another issuer", network=NETWORK)
    if "S256" not in metadata.get("code_challenge_methods_supported", []) or "ES256" not in (
        metadata.get("dpop_signing_alg_values_supported", [])
    ):
        raise AuthError(
            f"{issuer} does not speak atproto OAuth (PKCE S256, DPoP ES256)", network=NETWORK
        )
    try:
        return AuthorizationServer(
            issuer=issuer,
            authorization_endpoint=str(metadata["authorization_endpoint"]),
            token_endpoint=str(metadata["token_endpoint"]),
            par_endpoint=str(metadata["pushed_authorization_request_endpoint"]),
        )
    except KeyError as missing:
        raise AuthError(f"{issuer} does not say its {missing.args[0]}", network=NETWORK) from None


def _get_json(
    http: httpx.Client, url: str, *, missing: str, params: Mapping[str, str] | None = None
) -> dict[str, Any]:
    try:
        response = http.get(url, params=params, timeout=_TIMEOUT, follow_redirects=True)
    except httpx.TransportError as error:
        raise TransientError(
            f"{url} cannot be reached: {type(error).__name__}", network=NETWORK
        ) from error
    if response.status_code in (400, 404):
        raise InvalidContent(
            f"{missing} is unknown to {_origin(url)}", network=NETWORK, status=response.status_code
        )
    if not response.is_success:
        raise TransientError(
            f"{url} answered {response.status_code}", network=NETWORK, status=response.status_code
        )
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise NetworkError(f"{url} did not answer a JSON object", network=NETWORK)
    return body


# The flow ---------------------------------------------------------------------------------------


class BlueskyOAuthFlow(OAuthFlow):
    """``start(login_hint=handle or DID)``, or ``start()`` with ``service_url`` set to the PDS
    (or entryway) to sign in on without naming the account."""

    network = NETWORK

    def __init__(
        self,
        app: OAuthApp,
        *,
        service_url: str | None = None,
        http_client: httpx.Client | None = None,
        plc_url: str = PLC_DIRECTORY,
        handle_resolver_url: str = HANDLE_RESOLVER,
    ) -> None:
        super().__init__(app, service_url=service_url, http_client=http_client)
        self.identities = IdentityResolver(
            self.http, plc_url=plc_url, handle_resolver_url=handle_resolver_url
        )

    def start(self, *, login_hint: str | None = None) -> PendingAuthorization:
        account = (login_hint or "").strip().lstrip("@")
        expected = None
        if account.startswith("did:"):
            expected = self.identities.from_did(account)
        elif account:
            expected = self.identities.from_handle(account, resolver_url=self.service_url)
        pds_url = expected.pds_url if expected else (self.service_url or "")
        if not pds_url:
            raise InvalidContent(
                "give a handle or the address of the account's server", network=NETWORK
            )
        server = authorization_server_for(self.http, pds_url)
        key = DpopKey.generate()
        dpop = DpopClient(key, self.http)
        state = new_state()
        verifier, challenge = pkce_pair()
        form = {
            "client_id": self.app.client_id,
            "response_type": "code",
            "redirect_uri": self.app.redirect_uri,
            "scope": " ".join(self.app.scopes or SCOPES),
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        if account:
            form["login_hint"] = account
        response = _send(dpop, "POST", server.par_endpoint, data=form)
        raise_for_oauth_error(response, NETWORK)
        request_uri = _json_object(response).get("request_uri")
        if not isinstance(request_uri, str):
            raise NetworkError(
                "the pushed authorization request got no request_uri", network=NETWORK
            )
        query = urlencode({"client_id": self.app.client_id, "request_uri": request_uri})
        return PendingAuthorization(
            authorization_url=f"{server.authorization_endpoint}?{query}",
            state=state,
            code_verifier=verifier,
            extra={
                "issuer": server.issuer,
                "token_endpoint": server.token_endpoint,
                "dpop_key": key.to_jwk(),
                "expected_did": expected.did if expected else "",
            },
        )

    def finish(
        self, pending: PendingAuthorization, callback_params: Mapping[str, str]
    ) -> Credentials:
        code = check_callback(pending, callback_params)
        issuer = pending.extra["issuer"]
        # RFC 9207: a callback from another server (a mix-up attack) must not be exchanged.
        if callback_params.get("iss") != issuer:
            raise AuthError("the authorization callback names another issuer", network=NETWORK)
        dpop = DpopClient(DpopKey.from_jwk(pending.extra["dpop_key"]), self.http)
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.app.redirect_uri,
            "code_verifier": pending.code_verifier,
            "client_id": self.app.client_id,
        }
        payload = _token_request(dpop, pending.extra["token_endpoint"], form)
        did = str(payload.get("sub", ""))
        expected = pending.extra.get("expected_did")
        if expected and did != expected:
            raise AuthError(f"signed in as {did}, not as {expected}", network=NETWORK)
        # The issuer must be the one the account's own PDS delegates to: otherwise any server
        # could issue tokens claiming any DID.
        identity = self.identities.from_did(did)
        if authorization_server_for(self.http, identity.pds_url).issuer != issuer:
            raise AuthError(f"{issuer} is not the authorization server of {did}", network=NETWORK)
        return credentials_from_token_response(
            payload,
            auth=OAUTH,
            did=did,
            handle=identity.handle,
            pds_url=identity.pds_url,
            issuer=issuer,
            token_endpoint=pending.extra["token_endpoint"],
            client_id=self.app.client_id,
            dpop_key=pending.extra["dpop_key"],
        )

    def refresh(self, credentials: Credentials) -> Credentials:
        dpop = DpopClient(DpopKey.from_jwk(credentials.extra["dpop_key"]), self.http)
        return refresh_credentials(credentials, dpop)


def refresh_credentials(credentials: Credentials, dpop: DpopClient) -> Credentials:
    """New tokens for OAuth credentials, from the token endpoint that issued them and with the
    client id they were issued to (both kept in the credentials)."""
    extra = credentials.extra
    if extra.get("auth") != OAUTH or not credentials.refresh_token:
        raise AuthError("this Bluesky connection has no refresh token: reconnect", network=NETWORK)
    form = {
        "grant_type": "refresh_token",
        "refresh_token": credentials.refresh_token,
        "client_id": extra["client_id"],
    }
    payload = _token_request(dpop, extra["token_endpoint"], form)
    if payload.get("sub") != extra["did"]:
        raise AuthError("the refreshed token is for another account", network=NETWORK)
    return credentials.merged_with(credentials_from_token_response(payload))


def _token_request(dpop: DpopClient, url: str, form: dict[str, str]) -> dict[str, Any]:
    response = _send(dpop, "POST", url, data=form)
    raise_for_oauth_error(response, NETWORK)
    payload = _json_object(response)
    if str(payload.get("token_type", "")).lower() != "dpop":
        raise AuthError("the token is not DPoP-bound", network=NETWORK)
    if "atproto" not in str(payload.get("scope", "")).split():
        raise AuthError("the grant lacks the atproto scope", network=NETWORK)
    if not str(payload.get("sub", "")).startswith("did:"):
        raise AuthError("the token names no account", network=NETWORK)
    return payload


def _send(dpop: DpopClient, method: str, url: str, **options: Any) -> httpx.Response:
    try:
        return dpop.request(method, url, timeout=_TIMEOUT, **options)
    except httpx.TransportError as error:
        raise TransientError(
            f"{_origin(url)} cannot be reached: {type(error).__name__}", network=NETWORK
        ) from error


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise NetworkError("the authorization server did not answer a JSON object", network=NETWORK)
    return body
