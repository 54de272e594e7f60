"""Passkeys through ZITADEL's official Python client (PyPI `zitadel-client`, Connect JSON),
unmodified: the user service v2's RegisterPasskey, VerifyPasskeyRegistration, ListPasskeys,
RemovePasskey and CreatePasskeyRegistrationLink, ListAuthenticationMethodTypes, and the session
service v2's check of a passkey (CreateSession with a WebAuthN challenge that requires user
verification, SetSession with the assertion, GetSession). The caller is dev mode's administrator.

An emailed registration link is read off a real SMTP server (aiosmtpd, in this process:
conftest's `mail_sink`) that a second dev-mode server of this module's own sends its mail to
(conftest's `mailing_tessera`): dev mode's outbox keeps the messages in the database, where no
API shows a passkey link.

Python has no WebAuthn authenticator, so the credentials come from a software one written here,
independently of the server's webauthn-rs: an ES256 (P-256) key from `cryptography`, attestation
format "none", its CBOR from a minimal encoder. It plays the browser too: the clientDataJSON
carries the origin http://localhost:3000 (Tessera allows http://localhost on any port) and the
authenticator data the SHA-256 of the relying party id "localhost".

The options and credentials are google.protobuf.Struct fields, which the client types as plain
dicts (`Dict[str, Any]`): the creation options arrive as one, and the credential and the
assertion go back as the JSON a browser's PublicKeyCredential serializes to. One thing the
client cannot express: CreateSession's `challenges.webAuthN.publicKeyCredentialRequestOptions`.
Its generated models reuse the request's `SessionServiceWebAuthN` (domain,
userVerificationRequirement) for the response's `challenges.webAuthN`, so the request options
are dropped while the response is deserialized. That one call, when it should succeed, goes over
plain HTTP instead (see `passkey_challenge`); everything else, its refusals included, goes
through the client."""

import base64
import hashlib
import json
import re
import secrets
import struct
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from zitadel_client import Zitadel
from zitadel_client.models import (
    SessionServiceChecks,
    SessionServiceCheckUser,
    SessionServiceCheckWebAuthN,
    SessionServiceCreateSessionRequest,
    SessionServiceCreateSessionResponse,
    SessionServiceGetSessionRequest,
    SessionServiceRequestChallenges,
    SessionServiceSetSessionRequest,
    SessionServiceUserVerificationRequirement,
    SessionServiceWebAuthN,
    UserServiceAddHumanUserRequest,
    UserServiceCreatePasskeyRegistrationLinkRequest,
    UserServiceGetUserByIDRequest,
    UserServiceListAuthenticationMethodTypesRequest,
    UserServiceListPasskeysRequest,
    UserServicePasskeyAuthenticator,
    UserServicePasskeyRegistrationCode,
    UserServicePassword,
    UserServiceRegisterPasskeyRequest,
    UserServiceRemovePasskeyRequest,
    UserServiceSendPasskeyRegistrationLink,
    UserServiceSetHumanEmail,
    UserServiceSetHumanProfile,
    UserServiceVerifyPasskeyRegistrationRequest,
)

from conftest import MailSink
from test_zitadel_client import PASSWORD, expect_error, unique_email

RP_ID = "localhost"
ORIGIN = "http://localhost:3000"

READY = "AUTH_FACTOR_STATE_READY"
PASSWORD_METHOD = "AUTHENTICATION_METHOD_TYPE_PASSWORD"
PASSKEY_METHOD = "AUTHENTICATION_METHOD_TYPE_PASSKEY"

NAME_INVALID = (
    "invalid VerifyPasskeyRegistrationRequest.PasskeyName: value length must be between 1 and 200 runes, inclusive",
    "TESSERA-PKY01",
)
NOT_VERIFIED = ("The security key did not verify the user", "TESSERA-WAN02")
NOT_FOUND = ("WebAuthN Token could not be found", "COMMAND-2M9ds")
CODE_INVALID = ("Code is invalid", "COMMAND-Eeb2a")
NO_PASSKEY = ("WebAuthN begin login failed", "WEBAU-4G8sw")
UNPARSABLE = ("Error on parse credential data", "WEBAU-sl9dr")

# ---------------------------------------------------------------------------------------------
# The software authenticator.

# The authenticator data flags: user present, user verified, attested credential data included.
UP, UV, AT = 0x01, 0x04, 0x40


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _cbor_head(major: int, n: int) -> bytes:
    """A CBOR item head: the major type and its argument, in the shortest form."""
    if n < 24:
        return bytes([major << 5 | n])
    for extra, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if n < 1 << (8 * size):
            return bytes([major << 5 | extra]) + n.to_bytes(size, "big")
    raise ValueError(n)


def cbor(value) -> bytes:
    """CBOR of what WebAuthn needs: integers, byte strings, text strings and maps (integer or
    text keys, in insertion order)."""
    if isinstance(value, bool):
        raise TypeError("no booleans needed")
    if isinstance(value, int):
        return _cbor_head(0, value) if value >= 0 else _cbor_head(1, -1 - value)
    if isinstance(value, bytes):
        return _cbor_head(2, len(value)) + value
    if isinstance(value, str):
        utf8 = value.encode()
        return _cbor_head(3, len(utf8)) + utf8
    if isinstance(value, dict):
        return _cbor_head(5, len(value)) + b"".join(cbor(k) + cbor(v) for k, v in value.items())
    raise TypeError(type(value))


def test_the_cbor_encoder_matches_rfc_8949_examples():
    # RFC 8949, appendix A.
    assert cbor(0) == bytes.fromhex("00")
    assert cbor(23) == bytes.fromhex("17")
    assert cbor(24) == bytes.fromhex("1818")
    assert cbor(1000) == bytes.fromhex("1903e8")
    assert cbor(1000000) == bytes.fromhex("1a000f4240")
    assert cbor(-1) == bytes.fromhex("20")
    assert cbor(-7) == bytes.fromhex("26")
    assert cbor(-1000) == bytes.fromhex("3903e7")
    assert cbor(b"\x01\x02\x03\x04") == bytes.fromhex("4401020304")
    assert cbor("IETF") == bytes.fromhex("6449455446")
    assert cbor("\u00fc") == bytes.fromhex("62c3bc")
    assert cbor({1: 2, 3: 4}) == bytes.fromhex("a201020304")
    assert cbor({"a": 1, "b": {}}) == bytes.fromhex("a26161016162a0")


def client_data(kind: str, challenge: str) -> bytes:
    """What the browser hands the authenticator and the relying party, as JSON bytes."""
    return json.dumps(
        {"type": kind, "challenge": challenge, "origin": ORIGIN, "crossOrigin": False}, separators=(",", ":")
    ).encode()


class SoftwarePasskey:
    """One ES256 credential whose sign counter advances by one per assertion. `create` answers
    creation options and `get` request options (both as the server hands them over) with the
    JSON of a browser's PublicKeyCredential; `flags` overrides the authenticator data's."""

    def __init__(self):
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.id = secrets.token_bytes(32)
        self.counter = 0
        self.user_handle = None

    def cose_key(self) -> dict:
        """The COSE_Key: EC2 (1: 2), ES256 (3: -7), P-256 (-1: 1), x (-2), y (-3)."""
        numbers = self.key.public_key().public_numbers()
        return {1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")}

    def authenticator_data(self, flags: int, counter: int, attested: bytes = b"") -> bytes:
        return sha256(RP_ID.encode()) + bytes([flags]) + struct.pack(">I", counter) + attested

    def create(self, options: dict, flags: int = UP | UV) -> dict:
        """navigator.credentials.create()."""
        public_key = options["publicKey"]
        assert public_key["rp"]["id"] == RP_ID
        self.user_handle = public_key["user"]["id"]
        # AAGUID (zero for attestation "none"), the credential id's length and the id, the key.
        attested = bytes(16) + struct.pack(">H", len(self.id)) + self.id + cbor(self.cose_key())
        auth_data = self.authenticator_data(flags | AT, 0, attested)
        attestation_object = cbor({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {
            "id": b64url(self.id),
            "rawId": b64url(self.id),
            "type": "public-key",
            "response": {
                "attestationObject": b64url(attestation_object),
                "clientDataJSON": b64url(client_data("webauthn.create", public_key["challenge"])),
            },
        }

    def get(self, options: dict, flags: int = UP | UV) -> dict:
        """navigator.credentials.get()."""
        self.counter += 1
        auth_data = self.authenticator_data(flags, self.counter)
        client_data_json = client_data("webauthn.get", options["publicKey"]["challenge"])
        # ECDSA-SHA256 over authenticatorData ‖ SHA-256(clientDataJSON); DER, as WebAuthn wants.
        signature = self.key.sign(auth_data + sha256(client_data_json), ec.ECDSA(hashes.SHA256()))
        return {
            "id": b64url(self.id),
            "rawId": b64url(self.id),
            "type": "public-key",
            "response": {
                "authenticatorData": b64url(auth_data),
                "clientDataJSON": b64url(client_data_json),
                "signature": b64url(signature),
                "userHandle": self.user_handle,
            },
        }


# ---------------------------------------------------------------------------------------------
# The API.


@pytest.fixture
def zitadel(tessera, admin_pat) -> Zitadel:
    return Zitadel.with_access_token(tessera, admin_pat)


def add_human(zitadel: Zitadel, address: str | None = None) -> str:
    """A human with a verified address (`address`, else a unique one) and a password; the user id."""
    added = zitadel.users.add_human_user(
        UserServiceAddHumanUserRequest(
            profile=UserServiceSetHumanProfile(given_name="Ada", family_name="Lovelace"),
            email=UserServiceSetHumanEmail(email=address or unique_email("passkey"), is_verified=True),
            password=UserServicePassword(password=PASSWORD),
        )
    )
    assert added.user_id
    return added.user_id


def passkeys(zitadel: Zitadel, user_id: str) -> list[tuple[str, str, str]]:
    """ListPasskeys as (id, state, name), checked against details.total_result (an int64, which
    Connect JSON writes as a string)."""
    listed = zitadel.users.list_passkeys(UserServiceListPasskeysRequest(user_id=user_id))
    result = [(key.id, key.state, key.name or "") for key in listed.result or []]
    assert int(listed.details.total_result or 0) == len(result)
    return result


def method_types(zitadel: Zitadel, user_id: str) -> list[str]:
    listed = zitadel.users.list_authentication_method_types(
        UserServiceListAuthenticationMethodTypesRequest(user_id=user_id)
    )
    return sorted(listed.auth_method_types or [])


def register(zitadel: Zitadel, user_id: str, **request) -> tuple[str, dict]:
    """RegisterPasskey for "localhost": the pending passkey's id and its creation options,
    checked to require user verification and to offer ES256."""
    registered = zitadel.users.register_passkey(
        UserServiceRegisterPasskeyRequest(user_id=user_id, domain=RP_ID, **request)
    )
    assert registered.passkey_id
    assert registered.details is not None and registered.details.resource_owner
    options = registered.public_key_credential_creation_options
    assert isinstance(options, dict) and isinstance(options["publicKey"]["challenge"], str), options
    public_key = options["publicKey"]
    assert public_key["rp"]["id"] == RP_ID
    assert public_key["user"]["id"]
    assert public_key["authenticatorSelection"]["userVerification"] == "required"
    assert {"type": "public-key", "alg": -7} in public_key["pubKeyCredParams"]
    return registered.passkey_id, options


def verify(zitadel: Zitadel, user_id: str, passkey_id: str, credential: dict, name: str):
    return zitadel.users.verify_passkey_registration(
        UserServiceVerifyPasskeyRegistrationRequest(
            user_id=user_id, passkey_id=passkey_id, public_key_credential=credential, passkey_name=name
        )
    )


def challenge_request(user_id: str) -> SessionServiceCreateSessionRequest:
    return SessionServiceCreateSessionRequest(
        checks=SessionServiceChecks(user=SessionServiceCheckUser(user_id=user_id)),
        challenges=SessionServiceRequestChallenges(
            web_auth_n=SessionServiceWebAuthN(
                domain=RP_ID,
                user_verification_requirement=SessionServiceUserVerificationRequirement.USER_VERIFICATION_REQUIREMENT_REQUIRED,
            )
        ),
    )


def passkey_challenge(tessera: str, admin_pat: str, user_id: str) -> tuple[SessionServiceCreateSessionResponse, dict]:
    """CreateSession with a user check and a WebAuthN challenge requiring user verification: the
    response and its request options, checked to name the relying party and require
    verification.

    Plain HTTP, not `zitadel.sessions.create_session`: the client deserializes the response's
    `challenges.webAuthN` into `SessionServiceWebAuthN`, the *request's* model (domain,
    userVerificationRequirement), which has no `publicKeyCredentialRequestOptions`, so the options
    a passkey must answer are lost (see test_the_client_drops_the_request_options). The request is
    still the client's model serialized by the client (`to_dict`), POSTed to the path the client
    uses, as the client sends it (Connect JSON with the bearer PAT); the rest of the response is
    read back with the client's model."""
    reply = requests.post(
        f"{tessera}/zitadel.session.v2.SessionService/CreateSession",
        headers={"Authorization": f"Bearer {admin_pat}", "Content-Type": "application/json"},
        data=challenge_request(user_id).to_json(),
        timeout=10,
    )
    assert reply.status_code == 200, reply.text
    body = reply.json()
    options = body["challenges"]["webAuthN"]["publicKeyCredentialRequestOptions"]
    assert isinstance(options["publicKey"]["challenge"], str), body
    assert options["publicKey"]["rpId"] == RP_ID
    assert options["publicKey"]["userVerification"] == "required"
    created = SessionServiceCreateSessionResponse.from_dict(body)
    assert created.session_id and created.session_token
    return created, options


def check_assertion(zitadel: Zitadel, session: SessionServiceCreateSessionResponse, assertion: dict):
    return zitadel.sessions.set_session(
        SessionServiceSetSessionRequest(
            session_id=session.session_id,
            session_token=session.session_token,
            checks=SessionServiceChecks(web_auth_n=SessionServiceCheckWebAuthN(credential_assertion_data=assertion)),
        )
    )


def webauthn_factor(zitadel: Zitadel, session_id: str, user_id: str):
    session = zitadel.sessions.get_session(SessionServiceGetSessionRequest(session_id=session_id)).session
    assert session.factors.user.id == user_id
    return session.factors.web_auth_n


def registered_passkey(zitadel: Zitadel, user_id: str, name: str = "Software key") -> tuple[str, SoftwarePasskey]:
    """A READY passkey for the user: its id and the software authenticator holding it."""
    passkey = SoftwarePasskey()
    passkey_id, options = register(zitadel, user_id)
    verify(zitadel, user_id, passkey_id, passkey.create(options), name)
    assert (passkey_id, READY, name) in passkeys(zitadel, user_id)
    return passkey_id, passkey


# ---------------------------------------------------------------------------------------------
# The tests.


def test_a_passkey_registers_signs_a_session_in_and_is_removed(zitadel, tessera, admin_pat):
    user_id = add_human(zitadel)
    passkey = SoftwarePasskey()

    # RegisterPasskey: pending, not yet listed (ZITADEL lists ready passkeys only), not yet a method.
    passkey_id, options = register(
        zitadel, user_id, authenticator=UserServicePasskeyAuthenticator.PASSKEY_AUTHENTICATOR_CROSS_PLATFORM
    )
    assert options["publicKey"]["authenticatorSelection"]["authenticatorAttachment"] == "cross-platform"
    assert passkeys(zitadel, user_id) == []
    assert method_types(zitadel, user_id) == [PASSWORD_METHOD]

    # VerifyPasskeyRegistration: ready under its name, and a method.
    verified = verify(zitadel, user_id, passkey_id, passkey.create(options), "Software key")
    assert verified.details is not None and verified.details.resource_owner
    assert passkeys(zitadel, user_id) == [(passkey_id, READY, "Software key")]
    assert method_types(zitadel, user_id) == sorted([PASSWORD_METHOD, PASSKEY_METHOD])

    # A session signs in with it: challenge, assertion, a user-verified WebAuthN factor.
    session, request_options = passkey_challenge(tessera, admin_pat, user_id)
    assert [(c["type"], c["id"]) for c in request_options["publicKey"]["allowCredentials"]] == [
        ("public-key", b64url(passkey.id))
    ]
    assert webauthn_factor(zitadel, session.session_id, user_id) is None
    checked = check_assertion(zitadel, session, passkey.get(request_options))
    assert checked.session_token and checked.session_token != session.session_token
    factor = webauthn_factor(zitadel, session.session_id, user_id)
    assert factor is not None and factor.verified_at is not None
    assert factor.user_verified is True

    # RemovePasskey: gone from the list and the methods; again, NotFound, and nothing changes.
    removed = zitadel.users.remove_passkey(UserServiceRemovePasskeyRequest(user_id=user_id, passkey_id=passkey_id))
    assert removed.details is not None
    assert passkeys(zitadel, user_id) == []
    assert method_types(zitadel, user_id) == [PASSWORD_METHOD]
    expect_error(
        lambda: zitadel.users.remove_passkey(UserServiceRemovePasskeyRequest(user_id=user_id, passkey_id=passkey_id)),
        404, "not_found", *NOT_FOUND,
    )
    assert passkeys(zitadel, user_id) == []


def test_the_client_drops_the_request_options(zitadel, tessera, admin_pat):
    """Why `passkey_challenge` goes over plain HTTP: the client's own CreateSession succeeds, but
    what it hands back of `challenges.webAuthN` is the request's model, without the options. If
    a later client keeps them, this fails and `passkey_challenge` can use the client."""
    user_id = add_human(zitadel)
    registered_passkey(zitadel, user_id)
    created = zitadel.sessions.create_session(challenge_request(user_id))
    assert created.session_id
    assert isinstance(created.challenges.web_auth_n, SessionServiceWebAuthN)
    assert created.challenges.web_auth_n.to_dict() == {}
    assert "publicKeyCredentialRequestOptions" not in created.challenges.to_json()


def test_a_passkey_needs_a_name(zitadel):
    user_id = add_human(zitadel)
    passkey = SoftwarePasskey()
    passkey_id, options = register(zitadel, user_id)
    expect_error(
        lambda: verify(zitadel, user_id, passkey_id, passkey.create(options), ""),
        400, "invalid_argument", *NAME_INVALID,
    )
    # Still unfinished: not listed, not a method.
    assert passkeys(zitadel, user_id) == []
    assert method_types(zitadel, user_id) == [PASSWORD_METHOD]
    # The pending registration is still there to finish, with a name.
    verify(zitadel, user_id, passkey_id, passkey.create(options), "Named")
    assert passkeys(zitadel, user_id) == [(passkey_id, READY, "Named")]


def test_a_registration_without_user_verification_is_refused(zitadel):
    user_id = add_human(zitadel)
    passkey = SoftwarePasskey()
    passkey_id, options = register(
        zitadel, user_id, authenticator=UserServicePasskeyAuthenticator.PASSKEY_AUTHENTICATOR_PLATFORM
    )
    assert options["publicKey"]["authenticatorSelection"]["authenticatorAttachment"] == "platform"
    expect_error(
        lambda: verify(zitadel, user_id, passkey_id, passkey.create(options, flags=UP), "No verification"),
        400, "invalid_argument", *NOT_VERIFIED,
    )
    # Still unfinished: not listed, not a method, and there to finish with a verifying one.
    assert passkeys(zitadel, user_id) == []
    assert method_types(zitadel, user_id) == [PASSWORD_METHOD]
    verify(zitadel, user_id, passkey_id, passkey.create(options), "Verified")
    assert passkeys(zitadel, user_id) == [(passkey_id, READY, "Verified")]


def test_an_assertion_without_user_verification_or_with_a_forged_signature_leaves_the_session_unchecked(
    zitadel, tessera, admin_pat
):
    user_id = add_human(zitadel)
    passkey_id, passkey = registered_passkey(zitadel, user_id)
    session, options = passkey_challenge(tessera, admin_pat, user_id)
    expect_error(
        lambda: check_assertion(zitadel, session, passkey.get(options, flags=UP)),
        400, "invalid_argument", *NOT_VERIFIED,
    )
    # The passkey's own key over other data: the server does check the software key's signatures.
    forged = passkey.get(options)
    forged["response"]["signature"] = b64url(passkey.key.sign(secrets.token_bytes(32), ec.ECDSA(hashes.SHA256())))
    expect_error(lambda: check_assertion(zitadel, session, forged), 400, "invalid_argument", *UNPARSABLE)
    assert webauthn_factor(zitadel, session.session_id, user_id) is None
    assert passkeys(zitadel, user_id) == [(passkey_id, READY, "Software key")]
    # The same challenge, answered properly, still checks.
    check_assertion(zitadel, session, passkey.get(options))
    assert webauthn_factor(zitadel, session.session_id, user_id).user_verified is True


def test_a_webauthn_challenge_for_a_user_without_a_passkey_is_internal(zitadel):
    """CreateSession's refusal comes through the client: only its success loses the options."""
    user_id = add_human(zitadel)
    expect_error(lambda: zitadel.sessions.create_session(challenge_request(user_id)), 500, "internal", *NO_PASSKEY)
    assert passkeys(zitadel, user_id) == []
    # A pending passkey is no passkey to sign in with either, nor is it listed.
    passkey_id, _ = register(zitadel, user_id)
    expect_error(lambda: zitadel.sessions.create_session(challenge_request(user_id)), 500, "internal", *NO_PASSKEY)
    assert passkeys(zitadel, user_id) == []
    # It is there all the same: RemovePasskey removes it, once.
    zitadel.users.remove_passkey(UserServiceRemovePasskeyRequest(user_id=user_id, passkey_id=passkey_id))
    expect_error(
        lambda: zitadel.users.remove_passkey(UserServiceRemovePasskeyRequest(user_id=user_id, passkey_id=passkey_id)),
        404, "not_found", *NOT_FOUND,
    )


def create_code(zitadel: Zitadel, user_id: str) -> UserServicePasskeyRegistrationCode:
    created = zitadel.users.create_passkey_registration_link(
        UserServiceCreatePasskeyRegistrationLinkRequest(user_id=user_id, return_code={})
    )
    assert created.details is not None
    assert created.code is not None and created.code.id and created.code.code, created
    return created.code


def test_a_returned_registration_code_starts_one_registration(zitadel, tessera, admin_pat):
    user_id = add_human(zitadel)
    code = create_code(zitadel, user_id)
    assert passkeys(zitadel, user_id) == []

    # A wrong code, or the code under an unknown id, starts nothing.
    for bad in (
        UserServicePasskeyRegistrationCode(id=code.id, code="x" * len(code.code)),
        UserServicePasskeyRegistrationCode(id="nope", code=code.code),
    ):
        expect_error(lambda: register(zitadel, user_id, code=bad), 400, "invalid_argument", *CODE_INVALID)
        assert passkeys(zitadel, user_id) == []

    # The code starts a registration, which finishes as any other and signs in.
    passkey = SoftwarePasskey()
    passkey_id, options = register(zitadel, user_id, code=code)
    assert passkeys(zitadel, user_id) == []
    verify(zitadel, user_id, passkey_id, passkey.create(options), "From a code")
    assert passkeys(zitadel, user_id) == [(passkey_id, READY, "From a code")]
    assert PASSKEY_METHOD in method_types(zitadel, user_id)
    session, request_options = passkey_challenge(tessera, admin_pat, user_id)
    check_assertion(zitadel, session, passkey.get(request_options))
    assert webauthn_factor(zitadel, session.session_id, user_id).user_verified is True

    # But only one.
    expect_error(lambda: register(zitadel, user_id, code=code), 400, "invalid_argument", *CODE_INVALID)
    assert passkeys(zitadel, user_id) == [(passkey_id, READY, "From a code")]


# ---------------------------------------------------------------------------------------------
# Emailed links.

# Tessera's own registration page, at the path of ZITADEL's login UI.
REGISTRATION_PAGE = "/ui/login/login/passwordless/init"


def mailed_link(sink: MailSink, to: str) -> str:
    """The one link in the next email, which must be for `to` and about a passkey."""
    recipients, message = sink.next()
    assert recipients == [to]
    assert "passkey" in str(message["Subject"]).lower(), message["Subject"]
    text = message.get_body(preferencelist=("plain",)).get_content()
    links = re.findall(r"https?://\S+", text)
    assert len(links) == 1, text
    return links[0]


@pytest.mark.parametrize(
    "request_",
    [
        pytest.param({"send_link": UserServiceSendPasskeyRegistrationLink()}, id="send_link without url_template"),
        pytest.param({}, id="neither"),
    ],
)
def test_a_registration_link_without_a_template_is_emailed_as_a_link_to_the_page(mailing_tessera, mail_sink, request_):
    """No medium, or send_link without url_template, as in ZITADEL: no code in the answer, and
    the email links to Tessera's own registration page on the origin the request came to (dev
    mode), with ZITADEL's query parameters; the link's code starts one registration."""
    zitadel = mailing_tessera.zitadel
    address = unique_email("passkey")
    user_id = add_human(zitadel, address)
    org_id = zitadel.users.get_user_by_id(UserServiceGetUserByIDRequest(user_id=user_id)).user.details.resource_owner
    assert org_id
    passkey_id, _ = registered_passkey(zitadel, user_id)
    request = UserServiceCreatePasskeyRegistrationLinkRequest(user_id=user_id, **request_)
    # What the client sends: `{"userId": …, "sendLink": {}}`, or `{"userId": …}`.
    assert set(request.to_dict()) == {"userId", *(["sendLink"] if request_ else [])}

    created = zitadel.users.create_passkey_registration_link(request)
    assert created.details is not None and created.details.resource_owner == org_id
    assert created.code is None, created

    link = mailed_link(mail_sink, address)
    parts = urlsplit(link)
    assert f"{parts.scheme}://{parts.netloc}" == mailing_tessera.base, link
    assert parts.path == REGISTRATION_PAGE, link
    query = parse_qs(parts.query, keep_blank_values=True, strict_parsing=True)
    assert set(query) == {"userID", "orgID", "codeID", "code"}, link
    assert all(len(values) == 1 for values in query.values()), link
    query = {key: values[0] for key, values in query.items()}
    assert (query["userID"], query["orgID"]) == (user_id, org_id), link
    assert query["codeID"] and query["code"], link

    # The page opens, and its visit leaves the code alone.
    page = requests.get(link, timeout=10)
    assert page.status_code == 200, page.text
    assert address in page.text

    # The link's code starts a registration (once), which finishes as any other.
    assert passkeys(zitadel, user_id) == [(passkey_id, READY, "Software key")]
    code = UserServicePasskeyRegistrationCode(id=query["codeID"], code=query["code"])
    passkey = SoftwarePasskey()
    new_id, options = register(zitadel, user_id, code=code)
    expect_error(lambda: register(zitadel, user_id, code=code), 400, "invalid_argument", *CODE_INVALID)
    verify(zitadel, user_id, new_id, passkey.create(options), "From the link")
    assert sorted(passkeys(zitadel, user_id)) == sorted(
        [(passkey_id, READY, "Software key"), (new_id, READY, "From the link")]
    )
    assert mail_sink.received.empty(), "one email per link"
