"""ID tokens verified by implementations independent of Tessera's: PyJWT against the JWKS,
PyJWT against the X.509 certificates, and google-auth's own verifier (what Admin SDKs use
outside emulator mode) against the certificate URL; RS256 by default, ES256 when configured."""

import uuid

import google.auth.transport.requests
import jwt
import requests
from cryptography import x509
from google.oauth2 import id_token

from conftest import PROJECT

ISSUER = f"https://securetoken.google.com/{PROJECT}"


def fresh_token(base: str) -> str:
    reply = requests.post(
        f"{base}/v1/accounts:signUp?key=any",
        json={"email": f"tv-{uuid.uuid4().hex[:10]}@example.com", "password": "secret12"},
        timeout=10,
    )
    assert reply.status_code == 200, reply.text
    return reply.json()["idToken"]


def test_pyjwt_with_jwks(tessera):
    token = fresh_token(tessera)
    key = jwt.PyJWKClient(f"{tessera}/.well-known/jwks.json").get_signing_key_from_jwt(token)
    claims = jwt.decode(token, key.key, algorithms=["RS256"], audience=PROJECT, issuer=ISSUER)
    assert claims["firebase"]["sign_in_provider"] == "password"
    assert claims["exp"] - claims["iat"] == 3600


def test_pyjwt_with_x509_certificates(tessera):
    token = fresh_token(tessera)
    certificates = requests.get(
        f"{tessera}/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com", timeout=10
    ).json()
    kid = jwt.get_unverified_header(token)["kid"]
    public_key = x509.load_pem_x509_certificate(certificates[kid].encode()).public_key()
    claims = jwt.decode(token, public_key, algorithms=["RS256"], audience=PROJECT, issuer=ISSUER)
    assert claims["sub"] == claims["user_id"]


def test_google_auth_verifier(tessera):
    token = fresh_token(tessera)
    claims = id_token.verify_token(
        token,
        google.auth.transport.requests.Request(),
        audience=PROJECT,
        certs_url=f"{tessera}/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com",
    )
    assert claims["iss"] == ISSUER


def test_tampered_tokens_fail_verification(tessera):
    token = fresh_token(tessera)
    header, payload, signature = token.split(".")
    forged = f"{header}.{payload}.{signature[:-4]}AAAA"
    key = jwt.PyJWKClient(f"{tessera}/.well-known/jwks.json").get_signing_key_from_jwt(token)
    try:
        jwt.decode(forged, key.key, algorithms=["RS256"], audience=PROJECT, issuer=ISSUER)
    except jwt.InvalidSignatureError:
        return
    raise AssertionError("a forged signature verified")


def test_es256_tokens_with_pyjwt_and_google_auth(tessera_es256):
    token = fresh_token(tessera_es256)
    assert jwt.get_unverified_header(token)["alg"] == "ES256"
    key = jwt.PyJWKClient(f"{tessera_es256}/.well-known/jwks.json").get_signing_key_from_jwt(token)
    claims = jwt.decode(token, key.key, algorithms=["ES256"], audience=PROJECT, issuer=ISSUER)
    assert claims["firebase"]["sign_in_provider"] == "password"
    certs_url = f"{tessera_es256}/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com"
    kid = jwt.get_unverified_header(token)["kid"]
    public_key = x509.load_pem_x509_certificate(requests.get(certs_url, timeout=10).json()[kid].encode()).public_key()
    assert jwt.decode(token, public_key, algorithms=["ES256"], audience=PROJECT, issuer=ISSUER)["sub"] == claims["sub"]
    assert id_token.verify_token(token, google.auth.transport.requests.Request(), audience=PROJECT, certs_url=certs_url)["iss"] == ISSUER
    header, payload, signature = token.split(".")
    forged = f"{header}.{payload}.{signature[:-4]}AAAA"
    try:
        jwt.decode(forged, key.key, algorithms=["ES256"], audience=PROJECT, issuer=ISSUER)
    except jwt.InvalidSignatureError:
        return
    raise AssertionError("a forged signature verified")
