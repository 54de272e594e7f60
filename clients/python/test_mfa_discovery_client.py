"""MFA through google-api-python-client with its bundled identitytoolkit v2 discovery document:
TOTP enrolment, second-factor sign-in and withdrawal, and phone sign-in with the code read from
the emulator's verificationCodes hook. TOTP codes are computed here, independently of Tessera."""

import base64
import hashlib
import hmac
import struct
import time
import uuid

import pytest
import requests
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from conftest import PROJECT, error_message


def totp(secret_b32: str, at: float) -> str:
    """RFC 6238, SHA-1, 6 digits, 30 s steps."""
    padded = secret_b32 + "=" * (-len(secret_b32) % 8)
    digest = hmac.new(base64.b32decode(padded), struct.pack(">Q", int(at) // 30), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return f"{(struct.unpack('>I', digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


def client(tessera: str, version: str):
    return build(
        "identitytoolkit",
        version,
        developerKey="any-key",
        client_options={"api_endpoint": f"{tessera}/identitytoolkit.googleapis.com/"},
        static_discovery=True,
    )


@pytest.fixture
def verified(tessera):
    """A fresh user with a verified email (MFA requires one) and a session."""
    email = f"mfa-{uuid.uuid4().hex[:10]}@example.com"
    v1 = client(tessera, "v1")
    up = v1.accounts().signUp(body={"email": email, "password": "secret12"}).execute()
    admin = requests.post(
        f"{tessera}/v1/projects/{PROJECT}/accounts:update",
        json={"localId": up["localId"], "emailVerified": True},
        headers={"Authorization": "Bearer owner"},
        timeout=10,
    )
    assert admin.status_code == 200, admin.text
    session = v1.accounts().signInWithPassword(body={"email": email, "password": "secret12"}).execute()
    return email, session


def test_totp_enrolment_sign_in_and_withdrawal(tessera, verified):
    email, session = verified
    v1, v2 = client(tessera, "v1"), client(tessera, "v2")
    mfa = v2.accounts().mfaEnrollment()

    started = mfa.start(body={"idToken": session["idToken"], "totpEnrollmentInfo": {}}).execute()
    info = started["totpSessionInfo"]
    assert info["hashingAlgorithm"] == "SHA1"
    assert info["verificationCodeLength"] == 6
    assert info["periodSec"] == 30

    with pytest.raises(HttpError) as caught:
        mfa.finalize(body={"idToken": session["idToken"],
                           "totpVerificationInfo": {"sessionInfo": info["sessionInfo"], "verificationCode": "000000"}}).execute()
    assert error_message(caught.value) == "INVALID_CODE"

    enrolled_at = time.time()
    done = mfa.finalize(body={
        "idToken": session["idToken"],
        "displayName": "Authenticator",
        "totpVerificationInfo": {"sessionInfo": info["sessionInfo"], "verificationCode": totp(info["sharedSecretKey"], enrolled_at)},
    }).execute()
    assert done["totpAuthInfo"] == {}

    looked_up = v1.accounts().lookup(body={"idToken": done["idToken"]}).execute()
    factor = looked_up["users"][0]["mfaInfo"][0]
    assert factor["totpInfo"] == {}
    assert factor["displayName"] == "Authenticator"

    first = v1.accounts().signInWithPassword(body={"email": email, "password": "secret12"}).execute()
    assert "idToken" not in first
    assert first["mfaInfo"][0]["mfaEnrollmentId"] == factor["mfaEnrollmentId"]
    # The enrolment consumed its time step; wait for the next one, as Firebase's own tests do.
    time.sleep(max(0.0, 30 - enrolled_at % 30) + 0.5)
    signed_in = v2.accounts().mfaSignIn().finalize(body={
        "mfaPendingCredential": first["mfaPendingCredential"],
        "mfaEnrollmentId": factor["mfaEnrollmentId"],
        "totpVerificationInfo": {"verificationCode": totp(info["sharedSecretKey"], time.time())},
    }).execute()
    assert signed_in["idToken"]

    withdrawn = mfa.withdraw(body={"idToken": signed_in["idToken"], "mfaEnrollmentId": factor["mfaEnrollmentId"]}).execute()
    assert withdrawn["idToken"] and withdrawn["refreshToken"]
    assert "mfaInfo" not in v1.accounts().lookup(body={"idToken": withdrawn["idToken"]}).execute()["users"][0]


def test_phone_sign_in_with_the_emulator_code_hook(tessera, verified):
    email, session = verified
    v1, v2 = client(tessera, "v1"), client(tessera, "v2")
    phone = "+1650555" + str(uuid.uuid4().int % 10_000).zfill(4)

    started = v2.accounts().mfaEnrollment().start(
        body={"idToken": session["idToken"], "phoneEnrollmentInfo": {"phoneNumber": phone, "recaptchaToken": "any"}}
    ).execute()
    session_info = started["phoneSessionInfo"]["sessionInfo"]
    codes = requests.get(f"{tessera}/emulator/v1/projects/{PROJECT}/verificationCodes", timeout=10).json()
    code = next(c["code"] for c in codes["verificationCodes"] if c["sessionInfo"] == session_info)
    done = v2.accounts().mfaEnrollment().finalize(
        body={"idToken": session["idToken"], "phoneVerificationInfo": {"sessionInfo": session_info, "code": code}}
    ).execute()
    assert done["phoneAuthInfo"]["phoneNumber"] == phone

    first = v1.accounts().signInWithPassword(body={"email": email, "password": "secret12"}).execute()
    hint = first["mfaInfo"][0]
    assert hint["phoneInfo"].endswith(phone[-4:]) and "*" in hint["phoneInfo"]
    sent = v2.accounts().mfaSignIn().start(body={
        "mfaPendingCredential": first["mfaPendingCredential"],
        "mfaEnrollmentId": hint["mfaEnrollmentId"],
        "phoneSignInInfo": {"recaptchaToken": "any"},
    }).execute()
    sign_in_session = sent["phoneResponseInfo"]["sessionInfo"]
    codes = requests.get(f"{tessera}/emulator/v1/projects/{PROJECT}/verificationCodes", timeout=10).json()
    code = next(c["code"] for c in codes["verificationCodes"] if c["sessionInfo"] == sign_in_session)
    signed_in = v2.accounts().mfaSignIn().finalize(body={
        "mfaPendingCredential": first["mfaPendingCredential"],
        "phoneVerificationInfo": {"sessionInfo": sign_in_session, "code": code},
    }).execute()
    assert signed_in["idToken"]

    with pytest.raises(HttpError) as caught:
        v2.accounts().mfaSignIn().finalize(body={
            "mfaPendingCredential": first["mfaPendingCredential"],
            "phoneVerificationInfo": {"sessionInfo": sign_in_session, "code": code},
        }).execute()
    assert error_message(caught.value) == "INVALID_MFA_PENDING_CREDENTIAL"
