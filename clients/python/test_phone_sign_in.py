"""A phone number as the first factor (accounts.sendVerificationCode, then
accounts.signInWithPhoneNumber) through google-api-python-client's bundled identitytoolkit v1
discovery document, with the code read from the emulator's verificationCodes hook; the user it
makes as firebase-admin sees it; and production, where a project allows it only once its config
enables it (through the bundled v2 discovery document), with a test number's fixed code."""

import random

import google.auth.transport.requests
import google.oauth2.credentials
import jwt
import pytest
import requests
from firebase_admin import auth
from google.oauth2 import id_token
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from conftest import PROJECT, error_message

CERTS = "/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com"


def unique_phone() -> str:
    """A US number of its own: seven random digits, so that no other test has it."""
    return f"+1650{random.randrange(10**7):07d}"


def texted_code(base: str, session_info: str, phone: str) -> str:
    """The code the dev outbox holds for `session_info`, checked to be for `phone`."""
    reply = requests.get(f"{base}/emulator/v1/projects/{PROJECT}/verificationCodes", timeout=10)
    assert reply.status_code == 200, reply.text
    [entry] = [c for c in reply.json()["verificationCodes"] if c["sessionInfo"] == session_info]
    assert entry["phoneNumber"] == phone
    assert len(entry["code"]) == 6 and entry["code"].isdigit(), entry
    return entry["code"]


def send_code(toolkit, phone: str) -> str:
    """accounts.sendVerificationCode as the JS SDK's signInWithPhoneNumber calls it; its
    sessionInfo."""
    sent = toolkit.accounts().sendVerificationCode(body={"phoneNumber": phone, "recaptchaToken": "any"}).execute()
    assert sent["sessionInfo"]
    return sent["sessionInfo"]


def phone_sign_in(toolkit, base: str, phone: str) -> dict:
    """A code texted to `phone`, read from the dev outbox and used."""
    session_info = send_code(toolkit, phone)
    code = texted_code(base, session_info, phone)
    return toolkit.accounts().signInWithPhoneNumber(body={"sessionInfo": session_info, "code": code}).execute()


def unverified_claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def wrong_code(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def test_a_texted_code_signs_up_then_in(toolkit, tessera):
    phone = unique_phone()
    first = phone_sign_in(toolkit, tessera, phone)
    assert first["isNewUser"] is True
    assert first["phoneNumber"] == phone
    assert first["localId"]
    assert first["refreshToken"]
    assert first["expiresIn"] == "3600"

    claims = unverified_claims(first["idToken"])
    assert claims["sub"] == claims["user_id"] == first["localId"]
    assert claims["phone_number"] == phone
    assert claims["firebase"]["sign_in_provider"] == "phone"
    assert claims["firebase"]["identities"] == {"phone": [phone]}
    assert "email" not in claims

    again = phone_sign_in(toolkit, tessera, phone)
    assert again["isNewUser"] is False
    assert again["localId"] == first["localId"]
    assert again["phoneNumber"] == phone
    assert unverified_claims(again["idToken"])["firebase"]["sign_in_provider"] == "phone"

    [user] = toolkit.accounts().lookup(body={"idToken": again["idToken"]}).execute()["users"]
    assert user["localId"] == first["localId"]
    assert user["phoneNumber"] == phone
    assert [(p["providerId"], p["phoneNumber"]) for p in user["providerUserInfo"]] == [("phone", phone)]
    assert "email" not in user and "passwordHash" not in user


def test_a_wrong_code_is_invalid_code_and_a_used_one_invalid_session_info(toolkit, tessera):
    phone = unique_phone()
    session_info = send_code(toolkit, phone)
    code = texted_code(tessera, session_info, phone)

    with pytest.raises(HttpError) as caught:
        toolkit.accounts().signInWithPhoneNumber(body={"sessionInfo": session_info, "code": wrong_code(code)}).execute()
    assert caught.value.resp.status == 400
    assert error_message(caught.value) == "INVALID_CODE"

    # One wrong try leaves the code usable.
    signed_in = toolkit.accounts().signInWithPhoneNumber(body={"sessionInfo": session_info, "code": code}).execute()
    assert signed_in["isNewUser"] is True
    assert signed_in["phoneNumber"] == phone

    with pytest.raises(HttpError) as caught:
        toolkit.accounts().signInWithPhoneNumber(body={"sessionInfo": session_info, "code": code}).execute()
    assert caught.value.resp.status == 400
    assert error_message(caught.value) == "INVALID_SESSION_INFO"


def test_the_phone_user_in_firebase_admin(firebase_app, tessera, toolkit):
    phone = unique_phone()
    with pytest.raises(auth.UserNotFoundError):
        auth.get_user_by_phone_number(phone, app=firebase_app)
    signed_in = phone_sign_in(toolkit, tessera, phone)
    assert signed_in["isNewUser"] is True

    user = auth.get_user_by_phone_number(phone, app=firebase_app)
    assert user.uid == signed_in["localId"]
    assert user.phone_number == phone
    assert user.email is None
    assert [(p.provider_id, p.uid, p.phone_number) for p in user.provider_data] == [("phone", phone, phone)]
    assert auth.get_user(signed_in["localId"], app=firebase_app).phone_number == phone

    claims = auth.verify_id_token(signed_in["idToken"], app=firebase_app, check_revoked=True)
    assert claims["uid"] == user.uid
    assert claims["phone_number"] == phone
    assert claims["firebase"]["sign_in_provider"] == "phone"


# Production: the project must enable phone sign-in, and app verification is required.


def production_clients(server):
    """The end-user v1 client (the API key) and the administrator's v2 client (the admin
    bearer token) of the production server."""
    v1 = build(
        "identitytoolkit",
        "v1",
        developerKey=server.api_key,
        client_options={"api_endpoint": server.base},
        static_discovery=True,
    )
    v2 = build(
        "identitytoolkit",
        "v2",
        credentials=google.oauth2.credentials.Credentials(token=server.admin_token),
        client_options={"api_endpoint": server.base},
        static_discovery=True,
    )
    return v1, v2


def test_production_allows_it_once_the_project_enables_it(tessera_production):
    v1, v2 = production_clients(tessera_production)
    phone, fixed_code = unique_phone(), "654321"
    config_name = f"projects/{PROJECT}/config"

    config = v2.projects().getConfig(name=config_name).execute()
    assert config["signIn"]["phoneNumber"]["enabled"] is False

    with pytest.raises(HttpError) as caught:
        v1.accounts().sendVerificationCode(body={"phoneNumber": phone, "recaptchaToken": "any"}).execute()
    assert caught.value.resp.status == 400
    assert error_message(caught.value) == "OPERATION_NOT_ALLOWED"
    with pytest.raises(HttpError) as caught:
        v1.accounts().signInWithPhoneNumber(body={"sessionInfo": "made-up", "code": fixed_code}).execute()
    assert caught.value.resp.status == 400
    assert error_message(caught.value) == "OPERATION_NOT_ALLOWED"

    updated = v2.projects().updateConfig(
        name=config_name,
        updateMask="signIn.phoneNumber.enabled,signIn.phoneNumber.testPhoneNumbers",
        body={"signIn": {"phoneNumber": {"enabled": True, "testPhoneNumbers": {phone: fixed_code}}}},
    ).execute()
    assert updated["signIn"]["phoneNumber"] == {"enabled": True, "testPhoneNumbers": {phone: fixed_code}}
    assert v2.projects().getConfig(name=config_name).execute()["signIn"]["phoneNumber"] == updated["signIn"]["phoneNumber"]

    # Production requires evidence of app verification.
    with pytest.raises(HttpError) as caught:
        v1.accounts().sendVerificationCode(body={"phoneNumber": phone}).execute()
    assert caught.value.resp.status == 400
    assert error_message(caught.value) == "INVALID_APP_CREDENTIAL"

    session_info = send_code(v1, phone)
    with pytest.raises(HttpError) as caught:
        v1.accounts().signInWithPhoneNumber(body={"sessionInfo": session_info, "code": wrong_code(fixed_code)}).execute()
    assert error_message(caught.value) == "INVALID_CODE"
    signed_in = v1.accounts().signInWithPhoneNumber(body={"sessionInfo": session_info, "code": fixed_code}).execute()
    assert signed_in["isNewUser"] is True
    assert signed_in["phoneNumber"] == phone
    assert signed_in["refreshToken"]

    # Signed with the server's published keys, for the project.
    claims = id_token.verify_token(
        signed_in["idToken"],
        google.auth.transport.requests.Request(),
        audience=PROJECT,
        certs_url=f"{tessera_production.base}{CERTS}",
    )
    assert claims["iss"] == f"https://securetoken.google.com/{PROJECT}"
    assert claims["sub"] == signed_in["localId"]
    assert claims["phone_number"] == phone
    assert claims["firebase"]["sign_in_provider"] == "phone"

    again = v1.accounts().signInWithPhoneNumber(
        body={"sessionInfo": send_code(v1, phone), "code": fixed_code}
    ).execute()
    assert again["isNewUser"] is False
    assert again["localId"] == signed_in["localId"]
