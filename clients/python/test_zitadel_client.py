"""ZITADEL's official Python client (PyPI `zitadel-client`, Connect JSON), unmodified, against
Tessera: TOTP registration on a user who signed up through Identity Toolkit, and the factor
listings; users created with AddHumanUser (verification codes, OTP SMS and OTP Email),
organizations with AddOrganization, users deactivated, reactivated and changed
(DeactivateUser, ReactivateUser, SetPassword, UpdateHumanUser, seen through Identity Toolkit
sign-in too), users found with ListUsers, recovery codes, the beta (v2beta) user and session
services, and sessions (CreateSession, SetSession, GetSession, DeleteSession) checked with
password, OTP SMS, OTP Email and TOTP; links to identity providers (AddIDPLink, ListIDPLinks,
RemoveIDPLink, AddHumanUser's idp_links), which are Identity Toolkit's accounts at identity
providers (accounts:signInWithIdp signs them in). Errors arrive as the client's
ApiError with ZITADEL's body. The caller is dev mode's administrator (an IAM_OWNER machine user)."""

import base64
import hashlib
import hmac
import json
import os
import re
import struct
import time
import uuid
from urllib.parse import urlencode
from types import SimpleNamespace

import pytest
import requests
from zitadel_client import Zitadel
from zitadel_client.exceptions import ApiError
from zitadel_client.models import (
    BetaSessionServiceCheckPassword,
    BetaSessionServiceChecks,
    BetaSessionServiceCheckUser,
    BetaSessionServiceCreateSessionRequest,
    BetaUserServiceAddHumanUserRequest,
    BetaUserServiceAddIDPLinkRequest,
    BetaUserServiceIDPLink,
    BetaUserServiceListAuthenticationMethodTypesRequest,
    BetaUserServiceOrganization,
    BetaUserServicePassword,
    BetaUserServiceRegisterTOTPRequest,
    BetaUserServiceSetHumanEmail,
    BetaUserServiceSetHumanProfile,
    BetaUserServiceVerifyTOTPRegistrationRequest,
    OrganizationServiceAddHumanUserRequest,
    OrganizationServiceAddOrganizationRequest,
    OrganizationServiceAdmin,
    OrganizationServicePassword,
    OrganizationServiceSetHumanEmail,
    OrganizationServiceSetHumanProfile,
    SessionServiceCheckOTP,
    SessionServiceCheckPassword,
    SessionServiceCheckRecoveryCode,
    SessionServiceChecks,
    SessionServiceCheckTOTP,
    SessionServiceCheckUser,
    SessionServiceCreateSessionRequest,
    SessionServiceDeleteSessionRequest,
    SessionServiceGetSessionRequest,
    SessionServiceOTPEmail,
    SessionServiceOTPSMS,
    SessionServiceRequestChallenges,
    SessionServiceSetSessionRequest,
    UserServiceAddHumanUserRequest,
    UserServiceAddIDPLinkRequest,
    UserServiceAddOTPEmailRequest,
    UserServiceAddOTPSMSRequest,
    UserServiceDeactivateUserRequest,
    UserServiceEmailQuery,
    UserServiceGenerateRecoveryCodesRequest,
    UserServiceInUserIDQuery,
    UserServiceListQuery,
    UserServiceListUsersRequest,
    UserServiceOrQuery,
    UserServiceSearchQuery,
    UserServiceStateQuery,
    UserServiceDeleteUserRequest,
    UserServiceGetUserByIDRequest,
    UserServiceIDPLink,
    UserServiceListAuthenticationFactorsRequest,
    UserServiceListAuthenticationMethodTypesRequest,
    UserServiceListIDPLinksRequest,
    UserServiceOrganization,
    UserServicePassword,
    UserServiceReactivateUserRequest,
    UserServiceRemoveRecoveryCodesRequest,
    UserServiceResendEmailCodeRequest,
    UserServiceResendPhoneCodeRequest,
    UserServiceRegisterTOTPRequest,
    UserServiceRemovePhoneRequest,
    UserServiceRemoveIDPLinkRequest,
    UserServiceRemoveTOTPRequest,
    UserServiceSetEmailRequest,
    UserServiceSetHumanEmail,
    UserServiceSetHumanPhone,
    UserServiceSetHumanProfile,
    UserServiceSetPassword,
    UserServicePasswordResetRequest,
    UserServiceSetPasswordRequest,
    UserServiceSetPhoneRequest,
    UserServiceUpdateHumanUserRequest,
    UserServiceVerifyEmailRequest,
    UserServiceVerifyPhoneRequest,
    UserServiceVerifyTOTPRegistrationRequest,
)

PASSWORD = "correct horse"
NOT_READY = "Multifactor OTP (OneTimePassword) isn't ready"


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


def error_details(body: dict) -> list[tuple[str, str]]:
    """The zitadel.v1.ErrorDetail messages of a Connect error body as (id, message), decoded by
    hand: field 1 is the id, field 2 the message, both short strings."""
    details = []
    for detail in body.get("details", []):
        assert detail["type"] == "zitadel.v1.ErrorDetail"
        raw = base64.b64decode(detail["value"] + "=" * (-len(detail["value"]) % 4))
        fields = {}
        while raw:
            key, length = raw[0], raw[1]
            assert key & 7 == 2 and length < 0x80, raw  # length-delimited, one-byte length
            fields[key >> 3] = raw[2:2 + length].decode()
            raw = raw[2 + length:]
        details.append((fields.get(1), fields.get(2)))
    return details


def expect_error(call, status: int, code: str, message: str, error_id: str) -> None:
    """`call()` fails with ZITADEL's error: the HTTP status, the Connect code, the message
    "<message> (<id>)" and one ErrorDetail with the id and the message."""
    with pytest.raises(ApiError) as caught:
        call()
    assert caught.value.code == status, caught.value.response_body
    body = body_of(caught.value)
    assert (body["code"], body["message"]) == (code, f"{message} ({error_id})")
    assert error_details(body) == [(error_id, message)]


def unique_email(prefix: str = "zc") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


def unique_phone() -> str:
    """Phone numbers are unique per project like emails: a random one from the 555 range."""
    return f"+1555{uuid.uuid4().int % 10**7:07d}"


def wrong(code: str) -> str:
    """The same code with its first character changed (a digit stays a digit)."""
    first = code[0]
    other = str((int(first) + 5) % 10) if first.isdigit() else ("B" if first == "A" else "A")
    return other + code[1:]


def factor_types(listing) -> list[str]:
    """The READY factors of a ListAuthenticationFactors response by type, sorted."""
    kinds = []
    for factor in listing.result or []:
        assert factor.state == "AUTH_FACTOR_STATE_READY"
        kinds += [kind for kind in ("otp", "otp_sms", "otp_email", "u2f") if getattr(factor, kind) is not None]
    return sorted(kinds)


def add_mfa_user(zitadel: Zitadel, org_id: str | None = None) -> SimpleNamespace:
    """A human with a verified email and phone, a password, a TOTP secret, OTP SMS and OTP Email."""
    email, secret = unique_email(), base64.b32encode(os.urandom(20)).decode()
    added = zitadel.users.add_human_user(
        UserServiceAddHumanUserRequest(
            organization=UserServiceOrganization(org_id=org_id) if org_id else None,
            profile=UserServiceSetHumanProfile(given_name="Ada", family_name="Lovelace"),
            email=UserServiceSetHumanEmail(email=email, is_verified=True),
            phone=UserServiceSetHumanPhone(phone=unique_phone(), is_verified=True),
            password=UserServicePassword(password=PASSWORD),
            totp_secret=secret,
        )
    )
    zitadel.users.add_otpsms(UserServiceAddOTPSMSRequest(user_id=added.user_id))
    zitadel.users.add_otp_email(UserServiceAddOTPEmailRequest(user_id=added.user_id))
    return SimpleNamespace(id=added.user_id, email=email, secret=secret, org=added.details.resource_owner)


@pytest.fixture
def zitadel(tessera, admin_pat) -> Zitadel:
    return Zitadel.with_access_token(tessera, admin_pat)


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


def test_add_human_user_with_codes_then_otp_sms_and_otp_email(zitadel):
    email, secret = unique_email(), base64.b32encode(os.urandom(20)).decode()
    added = zitadel.users.add_human_user(
        UserServiceAddHumanUserRequest(
            profile=UserServiceSetHumanProfile(given_name="Ada", family_name="Lovelace"),
            email=UserServiceSetHumanEmail(email=email, is_verified=True),
            phone=UserServiceSetHumanPhone(phone=unique_phone(), return_code={}),
            password=UserServicePassword(password=PASSWORD),
            totp_secret=secret,
        )
    )
    user_id = added.user_id
    assert user_id and added.details.resource_owner
    assert added.email_code is None  # the email was created verified
    assert re.fullmatch(r"[A-Z0-9]{6}", added.phone_code), added.phone_code

    # The TOTP secret arrived ready; the phone is not verified yet, so no OTP SMS.
    listing = UserServiceListAuthenticationFactorsRequest(user_id=user_id)
    assert factor_types(zitadel.users.list_authentication_factors(listing)) == ["otp"]
    expect_error(
        lambda: zitadel.users.add_otpsms(UserServiceAddOTPSMSRequest(user_id=user_id)),
        400, "failed_precondition", NOT_READY, "COMMAND-Q54j2",
    )
    expect_error(
        lambda: zitadel.users.verify_phone(
            UserServiceVerifyPhoneRequest(user_id=user_id, verification_code=wrong(added.phone_code))
        ),
        400, "invalid_argument", "Code is invalid", "COMMAND-eis9R",
    )
    verified = zitadel.users.verify_phone(
        UserServiceVerifyPhoneRequest(user_id=user_id, verification_code=added.phone_code)
    )
    assert verified.details.resource_owner == added.details.resource_owner

    assert zitadel.users.add_otpsms(UserServiceAddOTPSMSRequest(user_id=user_id)).details.change_date
    assert zitadel.users.add_otp_email(UserServiceAddOTPEmailRequest(user_id=user_id)).details.change_date
    assert factor_types(zitadel.users.list_authentication_factors(listing)) == ["otp", "otp_email", "otp_sms"]
    methods = zitadel.users.list_authentication_method_types(
        UserServiceListAuthenticationMethodTypesRequest(user_id=user_id)
    )
    assert sorted(methods.auth_method_types) == [
        "AUTHENTICATION_METHOD_TYPE_OTP_EMAIL",
        "AUTHENTICATION_METHOD_TYPE_OTP_SMS",
        "AUTHENTICATION_METHOD_TYPE_PASSWORD",
        "AUTHENTICATION_METHOD_TYPE_TOTP",
    ]


def test_set_and_verify_email_and_phone_then_remove_the_phone(zitadel):
    added = zitadel.users.add_human_user(
        UserServiceAddHumanUserRequest(
            profile=UserServiceSetHumanProfile(given_name="Grace", family_name="Hopper"),
            email=UserServiceSetHumanEmail(email=unique_email(), return_code={}),
        )
    )
    user_id = added.user_id
    assert re.fullmatch(r"[A-Z0-9]{6}", added.email_code), added.email_code
    expect_error(
        lambda: zitadel.users.add_otp_email(UserServiceAddOTPEmailRequest(user_id=user_id)),
        400, "failed_precondition", NOT_READY, "COMMAND-KLJ2d",
    )

    # A new address replaces the pending code; only the new code verifies it.
    changed = zitadel.users.set_email(
        UserServiceSetEmailRequest(user_id=user_id, email=unique_email(), return_code={})
    )
    assert re.fullmatch(r"[A-Z0-9]{6}", changed.verification_code), changed.verification_code
    expect_error(
        lambda: zitadel.users.verify_email(
            UserServiceVerifyEmailRequest(user_id=user_id, verification_code=wrong(changed.verification_code))
        ),
        400, "invalid_argument", "Code is invalid", "COMMAND-eis9R",
    )
    zitadel.users.verify_email(UserServiceVerifyEmailRequest(user_id=user_id, verification_code=changed.verification_code))
    zitadel.users.add_otp_email(UserServiceAddOTPEmailRequest(user_id=user_id))

    expect_error(
        lambda: zitadel.users.resend_email_code(UserServiceResendEmailCodeRequest(user_id=user_id, return_code={})),
        400, "failed_precondition", "Code is empty", "EMAIL-5w5ilin4yt",
    )
    phone = zitadel.users.set_phone(UserServiceSetPhoneRequest(user_id=user_id, phone=unique_phone(), return_code={}))
    assert re.fullmatch(r"[A-Z0-9]{6}", phone.verification_code), phone.verification_code
    # A resent code replaces the first.
    resent = zitadel.users.resend_phone_code(UserServiceResendPhoneCodeRequest(user_id=user_id, return_code={}))
    assert re.fullmatch(r"[A-Z0-9]{6}", resent.verification_code), resent.verification_code
    zitadel.users.verify_phone(UserServiceVerifyPhoneRequest(user_id=user_id, verification_code=resent.verification_code))
    zitadel.users.add_otpsms(UserServiceAddOTPSMSRequest(user_id=user_id))
    listing = UserServiceListAuthenticationFactorsRequest(user_id=user_id)
    assert factor_types(zitadel.users.list_authentication_factors(listing)) == ["otp_email", "otp_sms"]

    # Without a phone there is no OTP SMS, and it cannot be added again.
    zitadel.users.remove_phone(UserServiceRemovePhoneRequest(user_id=user_id))
    assert factor_types(zitadel.users.list_authentication_factors(listing)) == ["otp_email"]
    expect_error(
        lambda: zitadel.users.add_otpsms(UserServiceAddOTPSMSRequest(user_id=user_id)),
        400, "failed_precondition", NOT_READY, "COMMAND-Q54j2",
    )


def test_session_with_password_otp_sms_totp_and_otp_email(zitadel):
    user = add_mfa_user(zitadel)
    created = zitadel.sessions.create_session(
        SessionServiceCreateSessionRequest(
            checks=SessionServiceChecks(
                user=SessionServiceCheckUser(user_id=user.id),
                password=SessionServiceCheckPassword(password=PASSWORD),
            ),
            challenges=SessionServiceRequestChallenges(otp_sms=SessionServiceOTPSMS(return_code=True)),
        )
    )
    session_id, sms_code = created.session_id, created.challenges.otp_sms
    assert session_id and created.session_token
    assert re.fullmatch(r"\d{8}", sms_code), sms_code
    assert created.challenges.otp_email is None

    def get():
        return zitadel.sessions.get_session(SessionServiceGetSessionRequest(session_id=session_id)).session

    factors = get().factors
    assert factors.user.verified_at and factors.password.verified_at
    assert (factors.otp_sms, factors.totp, factors.otp_email) == (None, None, None)

    def set_session(token, checks=None, challenges=None):
        return zitadel.sessions.set_session(
            SessionServiceSetSessionRequest(session_id=session_id, session_token=token, checks=checks, challenges=challenges)
        )

    # A wrong code does not use up the challenge.
    expect_error(
        lambda: set_session(created.session_token, SessionServiceChecks(otp_sms=SessionServiceCheckOTP(code=wrong(sms_code)))),
        400, "invalid_argument", "Code is invalid", "CODE-woT0xc",
    )
    after_sms = set_session(created.session_token, SessionServiceChecks(otp_sms=SessionServiceCheckOTP(code=sms_code)))
    assert after_sms.session_token and after_sms.session_token != created.session_token
    # The code is single use: its challenge is gone.
    expect_error(
        lambda: set_session(after_sms.session_token, SessionServiceChecks(otp_sms=SessionServiceCheckOTP(code=sms_code))),
        400, "failed_precondition", "Code not found", "COMMAND-S34gh",
    )

    after_totp = set_session(
        after_sms.session_token, SessionServiceChecks(totp=SessionServiceCheckTOTP(code=totp(user.secret, time.time())))
    )
    challenged = set_session(
        after_totp.session_token, challenges=SessionServiceRequestChallenges(otp_email=SessionServiceOTPEmail(return_code={}))
    )
    email_code = challenged.challenges.otp_email
    assert re.fullmatch(r"\d{8}", email_code), email_code
    set_session(challenged.session_token, SessionServiceChecks(otp_email=SessionServiceCheckOTP(code=email_code)))

    session = get()
    assert session.id == session_id
    factors = session.factors
    assert (factors.user.id, factors.user.login_name, factors.user.organization_id) == (user.id, user.email, user.org)
    assert factors.user.display_name == "Ada Lovelace"
    checked = [factors.user, factors.password, factors.otp_sms, factors.totp, factors.otp_email]
    assert all(factor is not None and factor.verified_at is not None for factor in checked), factors
    assert [f.verified_at for f in checked] == sorted(f.verified_at for f in checked)


def test_session_errors_by_login_name_and_delete(zitadel):
    user = add_mfa_user(zitadel)
    expect_error(
        lambda: zitadel.sessions.create_session(
            SessionServiceCreateSessionRequest(
                checks=SessionServiceChecks(
                    user=SessionServiceCheckUser(login_name=user.email),
                    password=SessionServiceCheckPassword(password=PASSWORD + "!"),
                )
            )
        ),
        400, "invalid_argument", "Password is invalid", "COMMAND-3M0fs",
    )
    created = zitadel.sessions.create_session(
        SessionServiceCreateSessionRequest(
            checks=SessionServiceChecks(user=SessionServiceCheckUser(login_name=user.email)),
            metadata={"origin": base64.b64encode(b"python").decode()},
            lifetime="600s",
        )
    )
    session_id = created.session_id

    def check(checks):
        return lambda: zitadel.sessions.set_session(SessionServiceSetSessionRequest(session_id=session_id, checks=checks))

    expect_error(
        check(SessionServiceChecks(totp=SessionServiceCheckTOTP(code=wrong(totp(user.secret, time.time()))))),
        400, "invalid_argument", "Invalid code", "EVENT-8isk2",
    )
    expect_error(
        check(SessionServiceChecks(otp_email=SessionServiceCheckOTP(code="12345678"))),
        400, "failed_precondition", "Code not found", "COMMAND-S34gh",
    )

    session = zitadel.sessions.get_session(SessionServiceGetSessionRequest(session_id=session_id)).session
    assert (session.factors.user.id, session.factors.user.login_name) == (user.id, user.email)
    assert (session.factors.password, session.factors.totp, session.factors.otp_email) == (None, None, None)
    assert session.metadata == {"origin": base64.b64encode(b"python").decode()}
    assert abs((session.expiration_date - session.creation_date).total_seconds() - 600) < 1

    zitadel.sessions.delete_session(SessionServiceDeleteSessionRequest(session_id=session_id))
    with pytest.raises(ApiError) as caught:
        zitadel.sessions.get_session(SessionServiceGetSessionRequest(session_id=session_id))
    assert caught.value.code == 404
    assert body_of(caught.value)["code"] == "not_found"


def test_a_challenge_needs_the_ready_factor(zitadel):
    """ZITADEL refuses an OTP SMS / OTP Email challenge for a user without that factor:
    COMMAND-BJ2g3 (SMS) and COMMAND-JKLJ3 (email), both Errors.User.MFA.OTP.NotReady."""
    added = zitadel.users.add_human_user(
        UserServiceAddHumanUserRequest(
            profile=UserServiceSetHumanProfile(given_name="Alan", family_name="Turing"),
            email=UserServiceSetHumanEmail(email=unique_email(), is_verified=True),
            phone=UserServiceSetHumanPhone(phone=unique_phone(), is_verified=True),
        )
    )

    def challenge(challenges):
        return lambda: zitadel.sessions.create_session(
            SessionServiceCreateSessionRequest(
                checks=SessionServiceChecks(user=SessionServiceCheckUser(user_id=added.user_id)), challenges=challenges
            )
        )

    expect_error(
        challenge(SessionServiceRequestChallenges(otp_sms=SessionServiceOTPSMS(return_code=True))),
        400, "failed_precondition", NOT_READY, "COMMAND-BJ2g3",
    )
    expect_error(
        challenge(SessionServiceRequestChallenges(otp_email=SessionServiceOTPEmail(return_code={}))),
        400, "failed_precondition", NOT_READY, "COMMAND-JKLJ3",
    )


def test_get_user_by_id(zitadel):
    user = add_mfa_user(zitadel)
    got = zitadel.users.get_user_by_id(UserServiceGetUserByIDRequest(user_id=user.id))
    assert got.user.user_id == user.id
    assert got.user.state == "USER_STATE_ACTIVE"
    assert got.user.preferred_login_name == user.email
    assert got.user.details.resource_owner == user.org
    human = got.user.human
    assert (human.profile.given_name, human.profile.family_name) == ("Ada", "Lovelace")
    assert human.profile.display_name == "Ada Lovelace"
    assert (human.email.email, human.email.is_verified) == (user.email, True)
    assert human.phone.is_verified is True
    assert human.password_changed is not None


def test_delete_user_takes_its_factors_and_sessions(zitadel):
    user = add_mfa_user(zitadel)
    session = zitadel.sessions.create_session(
        SessionServiceCreateSessionRequest(checks=SessionServiceChecks(user=SessionServiceCheckUser(user_id=user.id)))
    )
    deleted = zitadel.users.delete_user(UserServiceDeleteUserRequest(user_id=user.id))
    assert deleted.details.change_date is not None
    expect_error(
        lambda: zitadel.users.list_authentication_factors(UserServiceListAuthenticationFactorsRequest(user_id=user.id)),
        404, "not_found", "User could not be found", "COMMAND-SqyJz",
    )
    expect_error(
        lambda: zitadel.sessions.get_session(SessionServiceGetSessionRequest(session_id=session.session_id)),
        404, "not_found", "Session not found", "QUERY-SJ84j",
    )
    expect_error(
        lambda: zitadel.users.delete_user(UserServiceDeleteUserRequest(user_id=user.id)),
        404, "not_found", "User could not be found", "COMMAND-SqyJz",
    )


def sign_in(tessera: str, email: str, password: str) -> requests.Response:
    """Identity Toolkit's password sign-in, to see what ZITADEL's changes did there."""
    return requests.post(
        f"{tessera}/v1/accounts:signInWithPassword?key=any",
        json={"email": email, "password": password, "returnSecureToken": True},
        timeout=10,
    )


def it_error(reply: requests.Response) -> str:
    assert reply.status_code == 400, reply.text
    return reply.json()["error"]["message"]


def test_deactivate_and_reactivate_user(zitadel, tessera):
    user = add_mfa_user(zitadel)
    deactivate = lambda: zitadel.users.deactivate_user(UserServiceDeactivateUserRequest(user_id=user.id))
    reactivate = lambda: zitadel.users.reactivate_user(UserServiceReactivateUserRequest(user_id=user.id))
    assert deactivate().details.change_date is not None
    got = zitadel.users.get_user_by_id(UserServiceGetUserByIDRequest(user_id=user.id))
    assert got.user.state == "USER_STATE_INACTIVE"
    assert it_error(sign_in(tessera, user.email, PASSWORD)) == "USER_DISABLED"
    expect_error(
        lambda: zitadel.sessions.create_session(
            SessionServiceCreateSessionRequest(checks=SessionServiceChecks(user=SessionServiceCheckUser(user_id=user.id)))
        ),
        400, "failed_precondition", "User is not active", "COMMAND-vgDIu",
    )
    expect_error(deactivate, 400, "failed_precondition", "User already inactive", "COMMAND-5M0sf")
    assert reactivate().details.change_date is not None
    assert sign_in(tessera, user.email, PASSWORD).status_code == 200
    expect_error(reactivate, 400, "failed_precondition", "User is not inactive", "COMMAND-6M0sf")


def test_set_password_then_update_human_user(zitadel, tessera):
    user = add_mfa_user(zitadel)
    expect_error(
        lambda: zitadel.users.set_password(
            UserServiceSetPasswordRequest(
                user_id=user.id, new_password=UserServicePassword(password="battery staple"), current_password="wrong"
            )
        ),
        400, "invalid_argument", "Password is invalid", "COMMAND-3M0fs",
    )
    zitadel.users.set_password(
        UserServiceSetPasswordRequest(
            user_id=user.id, new_password=UserServicePassword(password="battery staple"), current_password=PASSWORD
        )
    )
    assert it_error(sign_in(tessera, user.email, PASSWORD)) == "INVALID_PASSWORD"
    assert sign_in(tessera, user.email, "battery staple").status_code == 200

    new_email = unique_email("updated")
    updated = zitadel.users.update_human_user(
        UserServiceUpdateHumanUserRequest(
            user_id=user.id,
            username=f"augusta-{uuid.uuid4().hex[:6]}",
            profile=UserServiceSetHumanProfile(given_name="Augusta", family_name="King", nick_name="Ada"),
            email=UserServiceSetHumanEmail(email=new_email, return_code={}),
            password=UserServiceSetPassword(
                password=UserServicePassword(password="horse battery"), current_password="battery staple"
            ),
        )
    )
    assert updated.email_code
    zitadel.users.verify_email(UserServiceVerifyEmailRequest(user_id=user.id, verification_code=updated.email_code))
    got = zitadel.users.get_user_by_id(UserServiceGetUserByIDRequest(user_id=user.id)).user
    assert got.username.startswith("augusta-")
    assert (got.human.profile.given_name, got.human.profile.family_name) == ("Augusta", "King")
    assert got.human.profile.nick_name == "Ada"
    assert (got.human.email.email, got.human.email.is_verified) == (new_email, True)
    assert sign_in(tessera, new_email, "horse battery").status_code == 200


def test_password_reset_code_sets_the_password_once(zitadel, tessera):
    user = add_mfa_user(zitadel)
    reset = zitadel.users.password_reset(UserServicePasswordResetRequest(user_id=user.id, return_code={}))
    assert reset.details.change_date is not None
    set_with = lambda code: zitadel.users.set_password(
        UserServiceSetPasswordRequest(
            user_id=user.id, new_password=UserServicePassword(password="battery staple"), verification_code=code
        )
    )
    expect_error(lambda: set_with("SKJd342k"), 400, "invalid_argument", "Code is invalid", "CODE-woT0xc")
    set_with(reset.verification_code)
    assert it_error(sign_in(tessera, user.email, PASSWORD)) == "INVALID_PASSWORD"
    assert sign_in(tessera, user.email, "battery staple").status_code == 200
    expect_error(
        lambda: set_with(reset.verification_code), 400, "failed_precondition", "Code not found", "COMMAND-2M9fs"
    )


def test_list_users_by_email_ids_and_state(zitadel):
    ada, grace = add_mfa_user(zitadel), add_mfa_user(zitadel)
    zitadel.users.deactivate_user(UserServiceDeactivateUserRequest(user_id=grace.id))
    by_email = lambda email: UserServiceSearchQuery(
        email_query=UserServiceEmailQuery(email_address=email.upper(), method="TEXT_QUERY_METHOD_EQUALS_IGNORE_CASE")
    )
    listed = zitadel.users.list_users(UserServiceListUsersRequest(queries=[by_email(ada.email)]))
    assert int(listed.details.total_result) == 1
    assert [u.user_id for u in listed.result] == [ada.id]
    assert listed.result[0].human.email.email == ada.email

    both = UserServiceSearchQuery(or_query=UserServiceOrQuery(queries=[by_email(ada.email), by_email(grace.email)]))
    ids = UserServiceSearchQuery(in_user_ids_query=UserServiceInUserIDQuery(user_ids=[ada.id, grace.id]))
    page = zitadel.users.list_users(
        UserServiceListUsersRequest(
            query=UserServiceListQuery(limit=1, asc=True), sorting_column="USER_FIELD_NAME_EMAIL", queries=[both, ids]
        )
    )
    assert int(page.details.total_result) == 2
    assert [u.user_id for u in page.result] == [min((ada, grace), key=lambda u: u.email).id]

    inactive = UserServiceSearchQuery(state_query=UserServiceStateQuery(state="USER_STATE_INACTIVE"))
    listed = zitadel.users.list_users(UserServiceListUsersRequest(queries=[ids, inactive]))
    assert [(u.user_id, u.state) for u in listed.result] == [(grace.id, "USER_STATE_INACTIVE")]


def test_recovery_codes_sign_a_session_in_once(zitadel):
    user = add_mfa_user(zitadel)
    generated = zitadel.users.generate_recovery_codes(UserServiceGenerateRecoveryCodesRequest(user_id=user.id, count=3))
    assert len(generated.recovery_codes) == 3
    assert all(re.fullmatch(r"[a-z2-7]{5}-[a-z2-7]{5}", code) for code in generated.recovery_codes)
    methods = zitadel.users.list_authentication_method_types(UserServiceListAuthenticationMethodTypesRequest(user_id=user.id))
    assert "AUTHENTICATION_METHOD_TYPE_RECOVERY_CODE" in methods.auth_method_types

    check = lambda code: zitadel.sessions.create_session(
        SessionServiceCreateSessionRequest(
            checks=SessionServiceChecks(
                user=SessionServiceCheckUser(user_id=user.id),
                recovery_code=SessionServiceCheckRecoveryCode(code=code),
            )
        )
    )
    created = check(generated.recovery_codes[0])
    got = zitadel.sessions.get_session(SessionServiceGetSessionRequest(session_id=created.session_id))
    assert got.session.factors.recovery_code.verified_at is not None
    expect_error(
        lambda: check(generated.recovery_codes[0]),
        400, "invalid_argument", "Invalid recovery code provided", "DOMAIN-6uvh0",
    )
    expect_error(
        lambda: zitadel.users.generate_recovery_codes(UserServiceGenerateRecoveryCodesRequest(user_id=user.id, count=9)),
        409, "already_exists", "Maximum number of recovery codes exceeded", "COMMAND-8f2k9",
    )
    zitadel.users.remove_recovery_codes(UserServiceRemoveRecoveryCodesRequest(user_id=user.id))
    expect_error(
        lambda: check(generated.recovery_codes[1]),
        400, "invalid_argument", "Errors.User.RecoveryCodes.NotReady", "COMMAND-84rgg",
    )


def test_the_beta_user_and_session_services(zitadel):
    """The client's `beta_users` and `beta_sessions` call zitadel.*.v2beta.*: the v2 calls."""
    org = add_mfa_user(zitadel).org
    email = unique_email("beta")
    added = zitadel.beta_users.add_human_user(
        BetaUserServiceAddHumanUserRequest(
            organization=BetaUserServiceOrganization(org_id=org),
            profile=BetaUserServiceSetHumanProfile(given_name="Beta", family_name="Tester"),
            email=BetaUserServiceSetHumanEmail(email=email, is_verified=True),
            password=BetaUserServicePassword(password=PASSWORD),
        )
    )
    registered = zitadel.beta_users.register_totp(BetaUserServiceRegisterTOTPRequest(user_id=added.user_id))
    zitadel.beta_users.verify_totp_registration(
        BetaUserServiceVerifyTOTPRegistrationRequest(user_id=added.user_id, code=totp(registered.secret, time.time()))
    )
    created = zitadel.beta_sessions.create_session(
        BetaSessionServiceCreateSessionRequest(
            checks=BetaSessionServiceChecks(
                user=BetaSessionServiceCheckUser(login_name=email),
                password=BetaSessionServiceCheckPassword(password=PASSWORD),
            )
        )
    )
    assert created.session_token
    expect_error(
        lambda: zitadel.beta_users.verify_totp_registration(
            BetaUserServiceVerifyTOTPRegistrationRequest(user_id=added.user_id, code="000000")
        ),
        400, "failed_precondition", "Errors.Users.MFA.OTP.AlreadyReady", "COMMAND-qx4ls",
    )


def add_organization_with_admin(zitadel: Zitadel):
    """A new organization with one human admin (email code returned, password set)."""
    admin_email = unique_email("admin")
    org = zitadel.organizations.add_organization(
        OrganizationServiceAddOrganizationRequest(
            name=f"Org {uuid.uuid4().hex[:10]}",
            admins=[
                OrganizationServiceAdmin(
                    human=OrganizationServiceAddHumanUserRequest(
                        profile=OrganizationServiceSetHumanProfile(given_name="Grace", family_name="Hopper"),
                        email=OrganizationServiceSetHumanEmail(email=admin_email, return_code={}),
                        password=OrganizationServicePassword(password=PASSWORD),
                    )
                )
            ],
        )
    )
    return org, admin_email


def test_add_organization_with_a_human_admin(zitadel):
    org, _ = add_organization_with_admin(zitadel)
    assert org.organization_id
    assert org.details.resource_owner == org.organization_id
    [admin] = org.created_admins
    assert admin.user_id and admin.phone_code is None
    assert re.fullmatch(r"[A-Z0-9]{6}", admin.email_code), admin.email_code


def test_add_organization_with_a_chosen_id(zitadel):
    """The caller may choose the organization's id; a second organization cannot take it."""
    chosen = f"org-{uuid.uuid4().hex[:12]}"
    org = zitadel.organizations.add_organization(
        OrganizationServiceAddOrganizationRequest(name=f"Org {chosen}", organization_id=chosen)
    )
    assert org.organization_id == chosen
    assert org.details.resource_owner == chosen
    expect_error(
        lambda: zitadel.organizations.add_organization(
            OrganizationServiceAddOrganizationRequest(name=f"Other {chosen}", org_id=chosen)
        ),
        409, "already_exists", "Organisation's name or id already taken", "ORG-laho2n",
    )


def test_users_of_a_new_organization_are_addressed_by_id_and_login_name(zitadel):
    """User ids and login names are unique in the ZITADEL instance: the user service v2 and the
    session service v2 find a user of any organization without `x-zitadel-orgid`."""
    org, admin_email = add_organization_with_admin(zitadel)
    [admin] = org.created_admins
    zitadel.users.verify_email(UserServiceVerifyEmailRequest(user_id=admin.user_id, verification_code=admin.email_code))

    # The admin belongs to the new organization and signs in with the password.
    created = zitadel.sessions.create_session(
        SessionServiceCreateSessionRequest(
            checks=SessionServiceChecks(
                user=SessionServiceCheckUser(login_name=admin_email),
                password=SessionServiceCheckPassword(password=PASSWORD),
            )
        )
    )
    factors = zitadel.sessions.get_session(SessionServiceGetSessionRequest(session_id=created.session_id)).session.factors
    assert (factors.user.id, factors.user.organization_id) == (admin.user_id, org.organization_id)
    assert factors.password.verified_at

    # AddHumanUser with organization.orgId puts the user there; the factor calls find it by id.
    member = add_mfa_user(zitadel, org_id=org.organization_id)
    assert member.org == org.organization_id


# Links to identity providers. Tessera has no IdP configurations of ZITADEL's kind: a link's
# idp_id is Firebase's provider id (google.com, oidc.corp, …), its user_id the account's id there.

LINKED_ELSEWHERE = "The external user is linked to another user"
NO_SUCH_LINK = "The user has no such link to an identity provider"
INCOMPLETE_LINK = "The link names no identity provider or no external user"
IDP = "AUTHENTICATION_METHOD_TYPE_IDP"
PASSWORD_METHOD = "AUTHENTICATION_METHOD_TYPE_PASSWORD"


def sign_in_with_idp(tessera: str, provider: str, claims: dict) -> dict:
    """Identity Toolkit's accounts:signInWithIdp with an account at `provider` whose claims are
    `claims` (dev mode's fake credential: the claims as a JSON id_token, form-encoded in
    postBody as the JS SDK sends it); the response body."""
    reply = requests.post(
        f"{tessera}/v1/accounts:signInWithIdp?key=any",
        json={
            "requestUri": "http://localhost",
            "postBody": urlencode({"id_token": json.dumps(claims), "providerId": provider}),
            "returnSecureToken": True,
        },
        timeout=10,
    )
    assert reply.status_code == 200, reply.text
    return reply.json()


def lookup(tessera: str, id_token: str) -> dict:
    """The user an ID token is for, as accounts:lookup shows it."""
    reply = requests.post(f"{tessera}/v1/accounts:lookup?key=any", json={"idToken": id_token}, timeout=10)
    assert reply.status_code == 200, reply.text
    [user] = reply.json()["users"]
    return user


def google_account() -> dict:
    """A Google account's claims: a fresh sub and verified address."""
    return {"sub": f"g-{uuid.uuid4().hex[:12]}", "email": unique_email("google"), "email_verified": True}


def google_user(tessera: str) -> SimpleNamespace:
    """A user signed up through signInWithIdp with a new Google account."""
    account = google_account()
    signed_up = sign_in_with_idp(tessera, "google.com", account)
    assert signed_up["isNewUser"] is True
    return SimpleNamespace(id=signed_up["localId"], account=account)


def password_user(tessera: str) -> SimpleNamespace:
    """A user signed up through Identity Toolkit's accounts:signUp with a password."""
    email = unique_email("idp")
    reply = requests.post(
        f"{tessera}/v1/accounts:signUp?key=any", json={"email": email, "password": PASSWORD}, timeout=10
    )
    assert reply.status_code == 200, reply.text
    return SimpleNamespace(id=reply.json()["localId"], email=email)


def links(zitadel: Zitadel, user_id: str) -> list[tuple[str, str, str | None]]:
    """ListIDPLinks as (idp_id, user_id, user_name), checked against details.total_result (which
    proto JSON leaves out when it is 0)."""
    listed = zitadel.users.list_idp_links(UserServiceListIDPLinksRequest(user_id=user_id))
    result = [(link.idp_id, link.user_id, link.user_name) for link in listed.result or []]
    assert int(listed.details.total_result or 0) == len(result)
    return result


def method_types(zitadel: Zitadel, user_id: str) -> list[str]:
    request = UserServiceListAuthenticationMethodTypesRequest(user_id=user_id)
    return zitadel.users.list_authentication_method_types(request).auth_method_types or []


def test_a_user_signed_up_with_signin_with_idp_lists_its_google_link_and_the_idp_method(zitadel, tessera):
    user = google_user(tessera)
    assert links(zitadel, user.id) == [("google.com", user.account["sub"], user.account["email"])]
    assert method_types(zitadel, user.id) == [IDP]


def test_add_idp_link_signs_in_through_signin_with_idp_and_remove_idp_link_undoes_it(zitadel, tessera):
    user = password_user(tessera)
    sub, name = f"corp-{uuid.uuid4().hex[:12]}", f"ada-{uuid.uuid4().hex[:6]}"
    assert links(zitadel, user.id) == []
    assert method_types(zitadel, user.id) == [PASSWORD_METHOD]

    added = zitadel.users.add_idp_link(
        UserServiceAddIDPLinkRequest(
            user_id=user.id, idp_link=UserServiceIDPLink(idp_id="oidc.corp", user_id=sub, user_name=name)
        )
    )
    assert added.details.resource_owner
    assert links(zitadel, user.id) == [("oidc.corp", sub, name)]
    assert method_types(zitadel, user.id) == [PASSWORD_METHOD, IDP]

    # The linked account signs in to the same user; accounts:lookup lists it next to the password.
    signed_in = sign_in_with_idp(tessera, "oidc.corp", {"sub": sub, "screen_name": name})
    assert (signed_in["localId"], signed_in["isNewUser"], signed_in["providerId"]) == (user.id, False, "oidc.corp")
    account = lookup(tessera, signed_in["idToken"])
    assert (account["localId"], account["email"]) == (user.id, user.email)
    assert sorted(info["providerId"] for info in account["providerUserInfo"]) == ["oidc.corp", "password"]
    assert [info for info in account["providerUserInfo"] if info["providerId"] == "oidc.corp"] == [
        {"providerId": "oidc.corp", "rawId": sub, "federatedId": sub, "screenName": name}
    ]

    removed = zitadel.users.remove_idp_link(
        UserServiceRemoveIDPLinkRequest(user_id=user.id, idp_id="oidc.corp", linked_user_id=sub)
    )
    assert removed.details.resource_owner
    assert links(zitadel, user.id) == []
    assert method_types(zitadel, user.id) == [PASSWORD_METHOD]
    # Nobody holds the account any more: it signs a new user up.
    again = sign_in_with_idp(tessera, "oidc.corp", {"sub": sub, "screen_name": name})
    assert again["isNewUser"] is True and again["localId"] != user.id


def test_add_human_user_with_idp_links_signs_in_through_the_link(zitadel, tessera):
    google = google_account()
    # The user's own address is not the Google one: only the link leads the sign-in to it.
    added = zitadel.users.add_human_user(
        UserServiceAddHumanUserRequest(
            profile=UserServiceSetHumanProfile(given_name="Ada", family_name="Lovelace"),
            email=UserServiceSetHumanEmail(email=unique_email("idp-human"), is_verified=True),
            idp_links=[UserServiceIDPLink(idp_id="google.com", user_id=google["sub"], user_name=google["email"])],
        )
    )
    assert links(zitadel, added.user_id) == [("google.com", google["sub"], google["email"])]
    assert method_types(zitadel, added.user_id) == [IDP]
    signed_in = sign_in_with_idp(tessera, "google.com", google)
    assert (signed_in["localId"], signed_in["isNewUser"]) == (added.user_id, False)
    assert links(zitadel, added.user_id) == [("google.com", google["sub"], google["email"])]


def test_add_idp_link_of_an_account_another_user_holds_is_already_exists_and_changes_nothing(zitadel, tessera):
    holder, other = google_user(tessera), password_user(tessera)
    held = ("google.com", holder.account["sub"], holder.account["email"])
    expect_error(
        lambda: zitadel.users.add_idp_link(
            UserServiceAddIDPLinkRequest(
                user_id=other.id, idp_link=UserServiceIDPLink(idp_id=held[0], user_id=held[1], user_name=held[2])
            )
        ),
        409, "already_exists", LINKED_ELSEWHERE, "TESSERA-IDP01",
    )
    assert links(zitadel, other.id) == []
    assert method_types(zitadel, other.id) == [PASSWORD_METHOD]
    assert links(zitadel, holder.id) == [held]
    assert sign_in_with_idp(tessera, "google.com", holder.account)["localId"] == holder.id


def test_add_idp_link_without_a_provider_or_an_external_user_is_invalid_argument_and_links_nothing(zitadel, tessera):
    user = password_user(tessera)
    sub = f"corp-{uuid.uuid4().hex[:12]}"
    for idp_link in (
        UserServiceIDPLink(idp_id="", user_id=sub, user_name="ada"),
        UserServiceIDPLink(idp_id="oidc.corp", user_id="", user_name="ada"),
        None,
    ):
        expect_error(
            lambda: zitadel.users.add_idp_link(UserServiceAddIDPLinkRequest(user_id=user.id, idp_link=idp_link)),
            400, "invalid_argument", INCOMPLETE_LINK, "TESSERA-IDP03",
        )
    assert links(zitadel, user.id) == []
    assert method_types(zitadel, user.id) == [PASSWORD_METHOD]
    signed_in = sign_in_with_idp(tessera, "oidc.corp", {"sub": sub})
    assert signed_in["isNewUser"] is True and signed_in["localId"] != user.id


def test_remove_idp_link_the_user_lacks_is_not_found_and_keeps_every_link(zitadel, tessera):
    user, stranger = google_user(tessera), google_user(tessera)
    for idp_id, linked_user_id in (
        ("google.com", f"g-{uuid.uuid4().hex[:12]}"),  # another account at the same provider
        ("oidc.corp", user.account["sub"]),  # the same id at another provider
        ("google.com", stranger.account["sub"]),  # another user's link
    ):
        expect_error(
            lambda: zitadel.users.remove_idp_link(
                UserServiceRemoveIDPLinkRequest(user_id=user.id, idp_id=idp_id, linked_user_id=linked_user_id)
            ),
            404, "not_found", NO_SUCH_LINK, "TESSERA-IDP02",
        )
    assert links(zitadel, user.id) == [("google.com", user.account["sub"], user.account["email"])]
    assert links(zitadel, stranger.id) == [("google.com", stranger.account["sub"], stranger.account["email"])]
    assert sign_in_with_idp(tessera, "google.com", user.account)["localId"] == user.id
    assert sign_in_with_idp(tessera, "google.com", stranger.account)["localId"] == stranger.id


def test_the_beta_user_service_add_idp_link(zitadel, tessera):
    """`beta_users.add_idp_link` calls zitadel.user.v2beta.UserService/AddIDPLink: v2's call."""
    user = password_user(tessera)
    sub = f"corp-{uuid.uuid4().hex[:12]}"
    added = zitadel.beta_users.add_idp_link(
        BetaUserServiceAddIDPLinkRequest(
            user_id=user.id, idp_link=BetaUserServiceIDPLink(idp_id="oidc.corp", user_id=sub, user_name="ada")
        )
    )
    assert added.details.resource_owner
    methods = zitadel.beta_users.list_authentication_method_types(
        BetaUserServiceListAuthenticationMethodTypesRequest(user_id=user.id)
    )
    assert methods.auth_method_types == [PASSWORD_METHOD, IDP]
    assert sign_in_with_idp(tessera, "oidc.corp", {"sub": sub})["localId"] == user.id
