"""Custom tokens from the unmodified firebase-admin (Python) against a production server: the
SDK signs them locally (RS256) with a service account's private key, as it does for Firebase,
and the server takes those of the service accounts in its `custom_token_signers`."""

import time
import uuid
from types import SimpleNamespace

import firebase_admin
import google.auth.transport.requests
import jwt
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from firebase_admin import _token_gen, auth, credentials
from google.oauth2 import id_token

from conftest import CUSTOM_TOKEN_SIGNER, FIXTURES, PROJECT

ISSUER = f"https://securetoken.google.com/{PROJECT}"
CERTS = "/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com"


def service_account_app(client_email: str, private_key: str | None = None) -> firebase_admin.App:
    """A firebase-admin app of its own with a service account credential: `private_key` (PEM;
    default: the fixture's private key) under `client_email`."""
    certificate = credentials.Certificate(
        {
            "type": "service_account",
            "project_id": PROJECT,
            "private_key_id": "test",
            "private_key": private_key or (FIXTURES / "custom_token_signer.key.pem").read_text(),
            "client_email": client_email,
            "client_id": "1",
            "token_uri": "https://oauth2.googleapis.com/token",
        }
    )
    return firebase_admin.initialize_app(certificate, name=f"service-account-{uuid.uuid4().hex}")


@pytest.fixture
def signer_app(monkeypatch):
    """The configured service account. Without FIREBASE_AUTH_EMULATOR_HOST (which another
    fixture sets for the session), so that the SDK signs its tokens instead of leaving them
    unsigned for an emulator."""
    monkeypatch.delenv("FIREBASE_AUTH_EMULATOR_HOST", raising=False)
    app = service_account_app(CUSTOM_TOKEN_SIGNER)
    yield app
    firebase_admin.delete_app(app)


@pytest.fixture
def stranger_app(monkeypatch):
    """A service account that is not in `custom_token_signers` (same key, another email)."""
    monkeypatch.delenv("FIREBASE_AUTH_EMULATOR_HOST", raising=False)
    app = service_account_app(f"intruder@{PROJECT}.iam.gserviceaccount.com")
    yield app
    firebase_admin.delete_app(app)


def exchange(server, token: str) -> requests.Response:
    """The JS SDK's `signInWithCustomToken` request, on Google's production path."""
    return requests.post(
        f"{server.base}/v1/accounts:signInWithCustomToken?key={server.api_key}",
        json={"token": token, "returnSecureToken": True},
        timeout=10,
    )


def error_message(reply: requests.Response) -> str:
    assert reply.status_code == 400, reply.text
    return reply.json()["error"]["message"]


def verified_claims(server, token: str) -> dict:
    """The ID token's claims, its signature checked against the server's published X.509
    certificates (PyJWT) and by google-auth's verifier."""
    certificates = requests.get(f"{server.base}{CERTS}", timeout=10).json()
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS256"
    public_key = x509.load_pem_x509_certificate(certificates[header["kid"]].encode()).public_key()
    claims = jwt.decode(token, public_key, algorithms=["RS256"], audience=PROJECT, issuer=ISSUER)
    assert id_token.verify_token(
        token, google.auth.transport.requests.Request(), audience=PROJECT, certs_url=f"{server.base}{CERTS}"
    ) == claims
    return claims


def test_the_admin_sdk_s_custom_token_signs_in(tessera_production, signer_app):
    token = auth.create_custom_token("alice", {"role": "admin"}, app=signer_app).decode()
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    assert jwt.decode(token, options={"verify_signature": False})["iss"] == CUSTOM_TOKEN_SIGNER

    reply = exchange(tessera_production, token)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["kind"] == "identitytoolkit#VerifyCustomTokenResponse"
    assert body["isNewUser"] is True
    assert body["expiresIn"] == "3600"
    assert body["refreshToken"]
    claims = verified_claims(tessera_production, body["idToken"])
    assert claims["user_id"] == claims["sub"] == "alice"
    assert claims["role"] == "admin"
    assert claims["firebase"]["sign_in_provider"] == "custom"

    again = exchange(tessera_production, auth.create_custom_token("alice", app=signer_app).decode())
    assert again.status_code == 200, again.text
    assert again.json()["isNewUser"] is False
    second = verified_claims(tessera_production, again.json()["idToken"])
    assert second["sub"] == "alice"
    assert "role" not in second, "a token's claims belong to its own session"

    # The claims stay in the refreshed ID tokens of the first session.
    refreshed = requests.post(
        f"{tessera_production.base}/v1/token?key={tessera_production.api_key}",
        data={"grant_type": "refresh_token", "refresh_token": body["refreshToken"]},
        timeout=10,
    )
    assert refreshed.status_code == 200, refreshed.text
    claims = verified_claims(tessera_production, refreshed.json()["id_token"])
    assert claims["sub"] == "alice"
    assert claims["role"] == "admin"
    assert claims["firebase"]["sign_in_provider"] == "custom"


def test_an_unknown_service_account_s_token_is_refused(tessera_production, stranger_app):
    token = auth.create_custom_token(f"mallory-{uuid.uuid4().hex[:8]}", {"role": "admin"}, app=stranger_app).decode()
    assert error_message(exchange(tessera_production, token)) == (
        "CREDENTIAL_MISMATCH : The token is not signed by a service account in custom_token_signers."
    )


def test_a_token_signed_by_another_key_is_refused(tessera_production, monkeypatch):
    """The configured service account's email, but a key that is not its own."""
    monkeypatch.delenv("FIREBASE_AUTH_EMULATOR_HOST", raising=False)
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    app = service_account_app(CUSTOM_TOKEN_SIGNER, other_key.decode())
    try:
        token = auth.create_custom_token(f"eve-{uuid.uuid4().hex[:8]}", {"role": "admin"}, app=app).decode()
    finally:
        firebase_admin.delete_app(app)
    assert error_message(exchange(tessera_production, token)) == (
        "INVALID_CUSTOM_TOKEN : The token's signature or its iss, sub, iat or exp do not check out."
    )


def test_an_expired_token_is_refused(tessera_production, signer_app, monkeypatch):
    """The SDK's clock set two hours back: its token expired an hour ago."""
    monkeypatch.setattr(_token_gen, "time", SimpleNamespace(time=lambda: time.time() - 7200))
    token = auth.create_custom_token(f"bob-{uuid.uuid4().hex[:8]}", app=signer_app).decode()
    monkeypatch.undo()
    assert error_message(exchange(tessera_production, token)) == (
        "INVALID_CUSTOM_TOKEN : The token has expired, or is valid for longer than an hour."
    )


def test_the_emulator_s_unsigned_token_and_a_made_up_key_are_refused(tessera_production, monkeypatch):
    """What dev mode takes, production does not: the unsigned token firebase-admin makes for an
    emulator (under its emulator account), and an API key not made with `tessera admin`."""
    monkeypatch.setenv("FIREBASE_AUTH_EMULATOR_HOST", "127.0.0.1:9")
    app = service_account_app(CUSTOM_TOKEN_SIGNER)
    try:
        token = auth.create_custom_token(f"carol-{uuid.uuid4().hex[:8]}", app=app).decode()
    finally:
        firebase_admin.delete_app(app)
    assert jwt.get_unverified_header(token)["alg"] == "none"
    assert error_message(exchange(tessera_production, token)) == (
        "CREDENTIAL_MISMATCH : The token is not signed by a service account in custom_token_signers."
    )
    made_up = SimpleNamespace(base=tessera_production.base, api_key="any")
    assert error_message(exchange(made_up, token)) == "API key not valid. Please pass a valid API key."
