"""ZITADEL's official Python client (PyPI `zitadel-client`, Connect JSON), unmodified, against
Tessera: TOTP registration on a user who signed up through Identity Toolkit, and the factor
listings; errors arrive as the client's ApiError with ZITADEL's body."""

import base64
import hashlib
import hmac
import json
import struct
import time
import uuid

import pytest
import requests
from zitadel_client import Zitadel
from zitadel_client.exceptions import ApiError
from zitadel_client.models import (
    UserServiceListAuthenticationFactorsRequest,
    UserServiceListAuthenticationMethodTypesRequest,
    UserServiceRegisterTOTPRequest,
    UserServiceRemoveTOTPRequest,
    UserServiceVerifyTOTPRegistrationRequest,
)


def totp(secret_b32: str, at: float) -> str:
    """RFC 6238, SHA-1, 6 digits, 30 s steps; independent of Tessera."""
    padded = secret_b32 + "=" * (-len(secret_b32) % 8)
    digest = hmac.new(base64.b32decode(padded), struct.pack(">Q", int(at) // 30), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return f"{(struct.unpack('>I', digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


def body_of(error: ApiError) -> dict:
    """The client hands over the decoded JSON body (or the raw text when it is not JSON)."""
    body = error.response_body
    return body if isinstance(body, dict) else json.loads(body)


@pytest.fixture
def user_id(tessera) -> str:
    reply = requests.post(
        f"{tessera}/v1/accounts:signUp?key=any",
        json={"email": f"zc-{uuid.uuid4().hex[:10]}@example.com", "password": "secret12"},
        timeout=10,
    )
    assert reply.status_code == 200, reply.text
    return reply.json()["localId"]


def test_totp_registration_and_listings(tessera, admin_pat, user_id):
    zitadel = Zitadel.with_access_token(tessera, admin_pat)
    registered = zitadel.users.register_totp(UserServiceRegisterTOTPRequest(user_id=user_id))
    assert len(registered.secret) == 32
    assert registered.uri.startswith("otpauth://totp/Tessera:")
    assert registered.details.resource_owner

    pending = zitadel.users.list_authentication_factors(
        UserServiceListAuthenticationFactorsRequest(user_id=user_id, states=["AUTH_FACTOR_STATE_NOT_READY"])
    )
    assert [f.state for f in pending.result] == ["AUTH_FACTOR_STATE_NOT_READY"]

    zitadel.users.verify_totp_registration(
        UserServiceVerifyTOTPRegistrationRequest(user_id=user_id, code=totp(registered.secret, time.time()))
    )
    ready = zitadel.users.list_authentication_factors(UserServiceListAuthenticationFactorsRequest(user_id=user_id))
    assert len(ready.result) == 1
    assert ready.result[0].state == "AUTH_FACTOR_STATE_READY"
    assert ready.result[0].otp is not None

    methods = zitadel.users.list_authentication_method_types(UserServiceListAuthenticationMethodTypesRequest(user_id=user_id))
    assert methods.auth_method_types == ["AUTHENTICATION_METHOD_TYPE_PASSWORD", "AUTHENTICATION_METHOD_TYPE_TOTP"]

    with pytest.raises(ApiError) as caught:
        zitadel.users.register_totp(UserServiceRegisterTOTPRequest(user_id=user_id))
    assert caught.value.code == 409
    body = body_of(caught.value)
    assert body["code"] == "already_exists"
    assert body["message"] == "Multifactor OTP (OneTimePassword) is already set up (COMMAND-do9se)"

    zitadel.users.remove_totp(UserServiceRemoveTOTPRequest(user_id=user_id))
    with pytest.raises(ApiError) as caught:
        zitadel.users.remove_totp(UserServiceRemoveTOTPRequest(user_id=user_id))
    assert caught.value.code == 404
    assert body_of(caught.value)["code"] == "not_found"


def test_a_bad_token_is_unauthenticated(tessera, user_id):
    zitadel = Zitadel.with_access_token(tessera, "not-a-pat")
    with pytest.raises(ApiError) as caught:
        zitadel.users.register_totp(UserServiceRegisterTOTPRequest(user_id=user_id))
    assert caught.value.code == 401
    assert body_of(caught.value)["code"] == "unauthenticated"
