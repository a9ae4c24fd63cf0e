"""The Bluesky OAuth client against exchanges written from the atproto OAuth specification
(PAR, PKCE, DPoP with server nonces, ``iss`` and ``sub`` checks), replayed with respx.

The end-to-end flow against a real PDS is in ``tests/channels/test_bluesky_oauth.py``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from urllib.parse import parse_qs, parse_qsl, urlsplit

import httpx
import pytest
import respx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from chorus.networks.base import Credentials
from chorus.networks.bluesky_oauth import (
    BlueskyOAuthFlow,
    DpopClient,
    DpopKey,
    client_id_for,
    client_metadata,
)
from chorus.networks.errors import AuthError
from chorus.networks.oauth import OAuthApp, pkce_pair

PDS = "https://morel.us-east.host.bsky.network"
ISSUER = "https://bsky.social"
PLC = "https://plc.directory"
DID = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"
REDIRECT = "https://chorus.example/channels/oauth/bluesky/callback/"
APP = OAuthApp(
    client_id="https://chorus.example/channels/oauth/bluesky/client-metadata.json",
    redirect_uri=REDIRECT,
    scopes=("atproto", "transition:generic"),
)


def b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def decode_proof(proof: str) -> tuple[dict, dict]:
    """The proof's header and claims, once its ES256 signature checks out with its own jwk."""
    header_part, claims_part, signature_part = proof.split(".")
    header = json.loads(b64decode(header_part))
    jwk = header["jwk"]
    public_key = ec.EllipticCurvePublicNumbers(
        int.from_bytes(b64decode(jwk["x"]), "big"),
        int.from_bytes(b64decode(jwk["y"]), "big"),
        ec.SECP256R1(),
    ).public_key()
    raw = b64decode(signature_part)
    signature = encode_dss_signature(
        int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
    )
    public_key.verify(signature, f"{header_part}.{claims_part}".encode(), ec.ECDSA(hashes.SHA256()))
    return header, json.loads(b64decode(claims_part))


# DPoP and PKCE --------------------------------------------------------------------------------


def test_a_dpop_proof_binds_method_url_time_nonce_and_access_token():
    key = DpopKey.generate()

    proof = key.proof(
        "post",
        "https://pds.example/xrpc/com.atproto.repo.createRecord?x=1#frag",
        nonce="server-nonce",
        access_token="the-access-token",
        now=1_700_000_000,
    )

    header, claims = decode_proof(proof)
    assert header["typ"] == "dpop+jwt" and header["alg"] == "ES256"
    assert set(header["jwk"]) == {"kty", "crv", "x", "y"}, "the private part never leaves"
    assert claims["htm"] == "POST"
    assert claims["htu"] == "https://pds.example/xrpc/com.atproto.repo.createRecord"
    assert claims["iat"] == 1_700_000_000
    assert claims["nonce"] == "server-nonce"
    expected_ath = base64.urlsafe_b64encode(hashlib.sha256(b"the-access-token").digest())
    assert claims["ath"] == expected_ath.rstrip(b"=").decode()
    assert len(claims["jti"]) >= 16


def test_each_proof_has_its_own_jti_and_no_ath_or_nonce_unless_given():
    key = DpopKey.generate()
    first = decode_proof(key.proof("GET", "https://as.example/oauth/par"))[1]
    second = decode_proof(key.proof("GET", "https://as.example/oauth/par"))[1]

    assert first["jti"] != second["jti"]
    assert "ath" not in first and "nonce" not in first
    assert abs(first["iat"] - time.time()) < 5


def test_a_stored_dpop_key_signs_as_the_original():
    key = DpopKey.generate()
    restored = DpopKey.from_jwk(key.to_jwk())
    header, _ = decode_proof(restored.proof("GET", "https://pds.example/"))
    assert header["jwk"] == key.public_jwk()


def test_pkce_uses_s256_of_a_long_random_verifier():
    verifier, challenge = pkce_pair()
    assert 43 <= len(verifier) <= 128 and re.fullmatch(r"[A-Za-z0-9\-._~]+", verifier)
    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    assert challenge == digest.rstrip(b"=").decode()
    assert pkce_pair()[0] != verifier


@respx.mock
def test_a_request_is_sent_again_with_the_nonce_the_server_asks_for():
    calls = respx.get("https://pds.example/xrpc/app.bsky.notification.listNotifications").mock(
        side_effect=[
            httpx.Response(
                401,
                headers={
                    "WWW-Authenticate": 'DPoP error="use_dpop_nonce"',
                    "DPoP-Nonce": "nonce-1",
                },
                json={"error": "use_dpop_nonce"},
            ),
            httpx.Response(200, json={"notifications": []}, headers={"DPoP-Nonce": "nonce-2"}),
        ]
    )
    dpop = DpopClient(DpopKey.generate(), httpx.Client())

    response = dpop.request(
        "GET",
        "https://pds.example/xrpc/app.bsky.notification.listNotifications",
        access_token="token",
    )

    assert response.status_code == 200
    first, second = (decode_proof(call.request.headers["DPoP"])[1] for call in calls.calls)
    assert "nonce" not in first and second["nonce"] == "nonce-1"
    assert calls.calls.last.request.headers["Authorization"] == "DPoP token"
    assert dpop.nonces["https://pds.example"] == "nonce-2"


# Client identity -------------------------------------------------------------------------------


def test_a_local_install_is_a_loopback_client_and_a_public_one_points_to_its_metadata():
    local = client_id_for("http://127.0.0.1:8000/channels/oauth/bluesky/callback/", "unused")
    split = urlsplit(local)
    assert (split.scheme, split.netloc, split.path) == ("http", "localhost", "")
    assert parse_qs(split.query) == {
        "redirect_uri": ["http://127.0.0.1:8000/channels/oauth/bluesky/callback/"],
        "scope": ["atproto transition:generic"],
    }
    assert client_id_for(REDIRECT, APP.client_id) == APP.client_id

    metadata = client_metadata(APP, client_name="Chorus", client_uri="https://chorus.example")
    assert metadata["client_id"] == APP.client_id
    assert metadata["redirect_uris"] == [REDIRECT]
    assert metadata["dpop_bound_access_tokens"] is True
    assert metadata["token_endpoint_auth_method"] == "none"
    assert metadata["scope"] == "atproto transition:generic"


# The flow, on recorded exchanges ----------------------------------------------------------------


def did_document(did: str, handle: str, pds: str) -> dict:
    return {
        "id": did,
        "alsoKnownAs": [f"at://{handle}"],
        "service": [
            {"id": "#atproto_pds", "type": "AtprotoPersonalDataServer", "serviceEndpoint": pds}
        ],
    }


def mock_servers(*, issuer: str = ISSUER) -> respx.Route:
    """Identity, metadata and PAR of an account on a PDS behind an entryway; the PAR route."""
    respx.get(f"{ISSUER}/xrpc/com.atproto.identity.resolveHandle").mock(
        return_value=httpx.Response(200, json={"did": DID})
    )
    respx.get(f"{PLC}/{DID}").mock(
        return_value=httpx.Response(200, json=did_document(DID, "lumen.bsky.social", PDS))
    )
    respx.get(f"{PDS}/.well-known/oauth-protected-resource").mock(
        return_value=httpx.Response(200, json={"resource": PDS, "authorization_servers": [issuer]})
    )
    respx.get(f"{issuer}/.well-known/oauth-authorization-server").mock(
        return_value=httpx.Response(
            200,
            json={
                "issuer": issuer,
                "authorization_endpoint": f"{issuer}/oauth/authorize",
                "token_endpoint": f"{issuer}/oauth/token",
                "pushed_authorization_request_endpoint": f"{issuer}/oauth/par",
                "code_challenge_methods_supported": ["S256"],
                "dpop_signing_alg_values_supported": ["ES256"],
                "authorization_response_iss_parameter_supported": True,
            },
        )
    )
    return respx.post(f"{issuer}/oauth/par").mock(
        side_effect=[
            httpx.Response(
                400,
                json={"error": "use_dpop_nonce", "error_description": "nonce required"},
                headers={"DPoP-Nonce": "as-nonce"},
            ),
            httpx.Response(
                201,
                json={"request_uri": "urn:ietf:params:oauth:request_uri:req-1", "expires_in": 299},
            ),
        ]
    )


def token_answer(**fields: object) -> httpx.Response:
    body = {
        "access_token": "access-1",
        "token_type": "DPoP",
        "expires_in": 3600,
        "refresh_token": "refresh-1",
        "scope": "atproto transition:generic",
        "sub": DID,
        **fields,
    }
    return httpx.Response(200, json=body)


@respx.mock
def test_start_pushes_the_request_with_pkce_and_dpop_and_only_its_uri_goes_to_the_browser():
    par = mock_servers()

    pending = BlueskyOAuthFlow(APP).start(login_hint="@Lumen.bsky.social")

    sent = dict(parse_qsl(par.calls.last.request.content.decode()))
    assert sent["client_id"] == APP.client_id
    assert sent["redirect_uri"] == REDIRECT
    assert sent["code_challenge_method"] == "S256"
    assert sent["scope"] == "atproto transition:generic"
    assert sent["login_hint"] == "Lumen.bsky.social"
    assert sent["state"] == pending.state
    digest = hashlib.sha256(pending.code_verifier.encode()).digest()
    assert sent["code_challenge"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert decode_proof(par.calls.last.request.headers["DPoP"])[1]["nonce"] == "as-nonce"
    authorize = urlsplit(pending.authorization_url)
    assert f"{authorize.scheme}://{authorize.netloc}{authorize.path}" == f"{ISSUER}/oauth/authorize"
    assert parse_qs(authorize.query) == {
        "client_id": [APP.client_id],
        "request_uri": ["urn:ietf:params:oauth:request_uri:req-1"],
    }
    assert pending.extra["issuer"] == ISSUER and pending.extra["expected_did"] == DID


@respx.mock
def test_finish_exchanges_the_code_with_the_verifier_and_keeps_the_dpop_key():
    mock_servers()
    flow = BlueskyOAuthFlow(APP)
    pending = flow.start(login_hint="lumen.bsky.social")
    token = respx.post(f"{ISSUER}/oauth/token").mock(return_value=token_answer())

    credentials = flow.finish(pending, {"state": pending.state, "iss": ISSUER, "code": "cod-1"})

    sent = dict(parse_qsl(token.calls.last.request.content.decode()))
    assert sent == {
        "grant_type": "authorization_code",
        "code": "cod-1",
        "redirect_uri": REDIRECT,
        "code_verifier": pending.code_verifier,
        "client_id": APP.client_id,
    }
    assert credentials.token_type == "DPoP" and credentials.access_token == "access-1"
    assert credentials.extra["did"] == DID and credentials.extra["pds_url"] == PDS
    assert credentials.extra["handle"] == "lumen.bsky.social"
    assert credentials.extra["dpop_key"] == pending.extra["dpop_key"]
    proof_key = decode_proof(token.calls.last.request.headers["DPoP"])[0]["jwk"]
    assert proof_key == DpopKey.from_jwk(pending.extra["dpop_key"]).public_jwk()


@respx.mock
def test_a_callback_from_another_issuer_is_never_exchanged():
    mock_servers()
    flow = BlueskyOAuthFlow(APP)
    pending = flow.start(login_hint="lumen.bsky.social")
    token = respx.post(f"{ISSUER}/oauth/token").mock(return_value=token_answer())

    for iss in ("https://evil.example", ""):
        with pytest.raises(AuthError, match="another issuer"):
            flow.finish(pending, {"state": pending.state, "iss": iss, "code": "cod-1"})
    with pytest.raises(AuthError, match="wrong state"):
        flow.finish(pending, {"state": "forged", "iss": ISSUER, "code": "cod-1"})
    assert not token.called


@respx.mock
def test_a_token_for_another_account_than_the_one_asked_for_is_refused():
    mock_servers()
    flow = BlueskyOAuthFlow(APP)
    pending = flow.start(login_hint="lumen.bsky.social")
    respx.post(f"{ISSUER}/oauth/token").mock(return_value=token_answer(sub="did:plc:someoneelse"))

    with pytest.raises(AuthError, match="not as"):
        flow.finish(pending, {"state": pending.state, "iss": ISSUER, "code": "cod-1"})


@respx.mock
def test_a_server_that_is_not_the_accounts_authorization_server_cannot_vouch_for_it():
    """Started from a server address: the token's DID must lead back to that server."""
    rogue = "https://rogue.example"
    mock_servers(issuer=rogue)
    respx.get(f"{rogue}/.well-known/oauth-protected-resource").mock(
        return_value=httpx.Response(200, json={"resource": rogue, "authorization_servers": [rogue]})
    )
    flow = BlueskyOAuthFlow(APP, service_url=rogue)
    pending = flow.start()
    respx.post(f"{rogue}/oauth/token").mock(return_value=token_answer())
    # The account's real PDS names the real issuer.
    respx.get(f"{PDS}/.well-known/oauth-protected-resource").mock(
        return_value=httpx.Response(200, json={"resource": PDS, "authorization_servers": [ISSUER]})
    )
    respx.get(f"{ISSUER}/.well-known/oauth-authorization-server").mock(
        return_value=httpx.Response(
            200,
            json={
                "issuer": ISSUER,
                "authorization_endpoint": f"{ISSUER}/oauth/authorize",
                "token_endpoint": f"{ISSUER}/oauth/token",
                "pushed_authorization_request_endpoint": f"{ISSUER}/oauth/par",
                "code_challenge_methods_supported": ["S256"],
                "dpop_signing_alg_values_supported": ["ES256"],
            },
        )
    )

    with pytest.raises(AuthError, match="not the authorization server"):
        flow.finish(pending, {"state": pending.state, "iss": rogue, "code": "cod-1"})


@respx.mock
def test_a_handle_its_did_document_does_not_claim_is_refused():
    mock_servers()
    respx.get(f"{PLC}/{DID}").mock(
        return_value=httpx.Response(200, json=did_document(DID, "someone.else", PDS))
    )
    with pytest.raises(AuthError, match="does not claim"):
        BlueskyOAuthFlow(APP).start(login_hint="lumen.bsky.social")


@respx.mock
def test_refresh_uses_the_stored_endpoint_client_and_key_and_keeps_the_account():
    key = DpopKey.generate()
    stored = Credentials(
        access_token="old",
        refresh_token="refresh-1",
        token_type="DPoP",
        extra={
            "auth": "oauth",
            "did": DID,
            "client_id": "http://localhost?scope=atproto",
            "token_endpoint": f"{ISSUER}/oauth/token",
            "dpop_key": key.to_jwk(),
        },
    )
    token = respx.post(f"{ISSUER}/oauth/token").mock(
        return_value=token_answer(access_token="access-2", refresh_token="refresh-2")
    )

    fresh = BlueskyOAuthFlow(APP).refresh(stored)

    sent = dict(parse_qsl(token.calls.last.request.content.decode()))
    assert sent == {
        "grant_type": "refresh_token",
        "refresh_token": "refresh-1",
        "client_id": "http://localhost?scope=atproto",
    }
    assert decode_proof(token.calls.last.request.headers["DPoP"])[0]["jwk"] == key.public_jwk()
    assert (fresh.access_token, fresh.refresh_token) == ("access-2", "refresh-2")
    assert fresh.extra["dpop_key"] == key.to_jwk() and fresh.expires_at is not None

    respx.post(f"{ISSUER}/oauth/token").mock(return_value=token_answer(sub="did:plc:other"))
    with pytest.raises(AuthError, match="another account"):
        BlueskyOAuthFlow(APP).refresh(fresh)
