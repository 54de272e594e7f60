"""Signing in with an account at an identity provider (accounts.signInWithIdp, and its legacy v3
name relyingparty.verifyAssertion) through google-api-python-client's bundled identitytoolkit
discovery documents, with the Firebase Auth emulator's fake credentials (an unverified JWT or a
JSON object as the provider's id_token); the accounts as firebase-admin sees, finds, imports and
unlinks them; an administrator's link (linkProviderUserInfo, which firebase-admin for Python
does not offer) through the discovery client; and production, which refuses every provider.

firebase-admin for Python has no `get_user_by_provider_uid` (the Node SDK's
`getUserByProviderUid`): `get_users([ProviderIdentifier(...)])` is its lookup by
`federatedUserId`."""

import json
import time
import uuid

import jwt
import pytest
from firebase_admin import auth
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from conftest import PROJECT, error_message

# The provider's signature is never checked: any key makes a fake credential.
UNCHECKED_KEY = "a key the server never sees, long enough for HS256"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def google_id_token(claims: dict) -> str:
    """A Google ID token with `claims`, signed with a key the server does not know."""
    return jwt.encode(claims, UNCHECKED_KEY, algorithm="HS256")


def credential(provider: str, id_token: str, **fields) -> dict:
    """A signInWithIdp body as the JS SDK sends a credential to the emulator, with `fields`
    (idToken, returnIdpCredential, …) added."""
    return {
        "requestUri": "http://localhost",
        "postBody": f"id_token={id_token}&providerId={provider}",
        "returnSecureToken": True,
        **fields,
    }


def google_account(sub: str, email: str, verified: bool = True) -> str:
    """A Google ID token for an account with a full profile."""
    return google_id_token(
        {
            "sub": sub,
            "email": email,
            "email_verified": verified,
            "name": "Ada Lovelace",
            "picture": "https://example.com/ada.png",
            "given_name": "Ada",
            "family_name": "Lovelace",
        }
    )


def google(sub: str, email: str, verified: bool = True, **fields) -> dict:
    """The credential of a Google account with a full profile."""
    return credential("google.com", google_account(sub, email, verified), **fields)


def github(sub: str, **fields) -> dict:
    """A GitHub account without an address, its claims as a JSON object."""
    return credential("github.com", json.dumps({"sub": sub, "screen_name": "ada"}), **fields)


def unverified_claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def providers(user: auth.UserRecord) -> list[tuple]:
    """A user record's provider_data as (provider_id, uid, email, display_name, photo_url,
    phone_number)."""
    return [(p.provider_id, p.uid, p.email, p.display_name, p.photo_url, p.phone_number) for p in user.provider_data]


def record(firebase_app, uid: str) -> tuple:
    """What firebase-admin's get_user shows of the user, to compare before and after."""
    user = auth.get_user(uid, app=firebase_app)
    return (
        user.email,
        user.email_verified,
        user.display_name,
        user.photo_url,
        user.phone_number,
        user.disabled,
        user.custom_claims,
        providers(user),
        user.tokens_valid_after_timestamp,
        user.user_metadata.last_sign_in_timestamp,
    )


def refused(call, message: str) -> None:
    """`call` (an unexecuted discovery request) fails with 400 and `message`."""
    with pytest.raises(HttpError) as caught:
        call.execute()
    assert caught.value.resp.status == 400
    assert error_message(caught.value) == message


@pytest.fixture
def toolkit_v3(tessera):
    """google-api-python-client with its bundled identitytoolkit v3 discovery document, at the
    emulator's legacy layout."""
    return build(
        "identitytoolkit",
        "v3",
        developerKey="any-key",
        client_options={"api_endpoint": f"{tessera}/www.googleapis.com/identitytoolkit/v3/relyingparty/"},
        static_discovery=True,
    )


@pytest.fixture
def admin_toolkit(tessera):
    """The v1 discovery client with an owner credential, for administrator calls."""
    return build(
        "identitytoolkit",
        "v1",
        credentials=Credentials(token="owner"),
        client_options={"api_endpoint": tessera},
        static_discovery=True,
    )


def test_a_google_account_signs_up_then_in(toolkit):
    sub, email = unique("g"), f"{unique('idp')}@example.com"
    first = toolkit.accounts().signInWithIdp(body=google(sub, email)).execute()
    assert first["kind"] == "identitytoolkit#VerifyAssertionResponse"
    assert first["isNewUser"] is True
    assert first["providerId"] == "google.com"
    assert first["federatedId"] == f"https://accounts.google.com/{sub}"
    assert first["email"] == email
    assert first["emailVerified"] is True
    assert (first["displayName"], first["fullName"], first["firstName"], first["lastName"]) == (
        "Ada Lovelace",
        "Ada Lovelace",
        "Ada",
        "Lovelace",
    )
    assert first["photoUrl"] == "https://example.com/ada.png"
    assert json.loads(first["rawUserInfo"]) == {
        "granted_scopes": "openid https://www.googleapis.com/auth/userinfo.profile "
        "https://www.googleapis.com/auth/userinfo.email",
        "id": sub,
        "name": "Ada Lovelace",
        "given_name": "Ada",
        "family_name": "Lovelace",
        "verified_email": True,
        "locale": "en",
        "email": email,
        "picture": "https://example.com/ada.png",
    }
    assert first["oauthIdToken"] == google_account(sub, email)
    assert first["oauthAccessToken"]
    assert first["localId"]
    assert first["refreshToken"]
    assert first["expiresIn"] == "3600"
    assert "needConfirmation" not in first and "mfaPendingCredential" not in first

    again = toolkit.accounts().signInWithIdp(body=google(sub, email)).execute()
    assert again["isNewUser"] is False
    assert again["localId"] == first["localId"]
    assert unverified_claims(again["idToken"])["firebase"]["sign_in_provider"] == "google.com"

    [user] = toolkit.accounts().lookup(body={"idToken": again["idToken"]}).execute()["users"]
    assert user["localId"] == first["localId"]
    assert (user["email"], user["emailVerified"]) == (email, True)
    assert [(p["providerId"], p["rawId"], p["email"]) for p in user["providerUserInfo"]] == [("google.com", sub, email)]
    assert "passwordHash" not in user


def test_the_v3_verify_assertion_name_signs_up_an_account_without_an_address(toolkit_v3, firebase_app):
    sub = unique("gh")
    first = toolkit_v3.relyingparty().verifyAssertion(body=github(sub)).execute()
    assert first["kind"] == "identitytoolkit#VerifyAssertionResponse"
    assert first["isNewUser"] is True
    assert first["providerId"] == "github.com"
    assert first["federatedId"] == sub
    assert first["screenName"] == "ada"
    assert first["emailVerified"] is False
    assert "email" not in first
    assert json.loads(first["rawUserInfo"]) == {"sub": sub, "screen_name": "ada"}
    claims = unverified_claims(first["idToken"])
    assert claims["firebase"] == {"identities": {"github.com": [sub]}, "sign_in_provider": "github.com"}
    assert "email" not in claims

    again = toolkit_v3.relyingparty().verifyAssertion(body=github(sub)).execute()
    assert (again["isNewUser"], again["localId"]) == (False, first["localId"])

    user = auth.get_user(first["localId"], app=firebase_app)
    assert user.email is None
    assert providers(user) == [("github.com", sub, None, None, None, None)]


def test_the_sign_in_s_id_token_verifies_with_its_provider_and_identities(toolkit, firebase_app):
    sub, email = unique("g"), f"{unique('idp')}@example.com"
    signed_in = toolkit.accounts().signInWithIdp(body=google(sub, email)).execute()
    claims = auth.verify_id_token(signed_in["idToken"], app=firebase_app, check_revoked=True)
    assert claims["uid"] == claims["sub"] == claims["user_id"] == signed_in["localId"]
    assert (claims["email"], claims["email_verified"]) == (email, True)
    assert (claims["name"], claims["picture"]) == ("Ada Lovelace", "https://example.com/ada.png")
    assert claims["firebase"] == {
        "identities": {"email": [email], "google.com": [sub]},
        "sign_in_provider": "google.com",
    }


def test_the_user_record_s_provider_data_is_the_provider_s_profile(toolkit, firebase_app):
    sub, email = unique("g"), f"{unique('idp')}@example.com"
    signed_in = toolkit.accounts().signInWithIdp(body=google(sub, email)).execute()
    user = auth.get_user(signed_in["localId"], app=firebase_app)
    assert (user.email, user.email_verified) == (email, True)
    assert (user.display_name, user.photo_url) == ("Ada Lovelace", "https://example.com/ada.png")
    assert user.phone_number is None
    assert providers(user) == [
        ("google.com", sub, email, "Ada Lovelace", "https://example.com/ada.png", None)
    ]
    assert user.user_metadata.creation_timestamp > 0
    assert user.user_metadata.last_sign_in_timestamp >= user.user_metadata.creation_timestamp
    assert auth.get_user_by_email(email, app=firebase_app).uid == user.uid


def test_get_users_by_provider_identifier_finds_the_account_s_user(toolkit, firebase_app):
    sub, email = unique("g"), f"{unique('idp')}@example.com"
    signed_in = toolkit.accounts().signInWithIdp(body=google(sub, email)).execute()
    nobody = auth.ProviderIdentifier("google.com", unique("nobody"))
    elsewhere = auth.ProviderIdentifier("github.com", sub)
    found = auth.get_users([auth.ProviderIdentifier("google.com", sub), nobody, elsewhere], app=firebase_app)
    assert [u.uid for u in found.users] == [signed_in["localId"]]
    assert [(i.provider_id, i.provider_uid) for i in found.not_found] == [
        ("google.com", nobody.provider_uid),
        ("github.com", sub),
    ]


def test_an_id_token_links_a_provider_account_to_the_caller(toolkit, firebase_app):
    email = f"{unique('idp')}@example.com"
    me = toolkit.accounts().signUp(body={"email": email, "password": "secret12", "returnSecureToken": True}).execute()
    sub = unique("gh")
    linked = toolkit.accounts().signInWithIdp(body=github(sub, idToken=me["idToken"])).execute()
    assert linked["localId"] == me["localId"]
    assert linked["isNewUser"] is False
    assert unverified_claims(linked["idToken"])["firebase"] == {
        "identities": {"email": [email], "github.com": [sub]},
        "sign_in_provider": "github.com",
    }
    user = auth.get_user(me["localId"], app=firebase_app)
    assert user.email == email, "a provider without an address leaves the user's"
    assert providers(user) == [
        ("password", email, email, None, None, None),
        ("github.com", sub, None, None, None, None),
    ]
    # The account now signs that user in.
    assert toolkit.accounts().signInWithIdp(body=github(sub)).execute()["localId"] == me["localId"]

    # Another user cannot link the account, nor one whose address is the first user's, nor
    # take the account with returnIdpCredential.
    other = toolkit.accounts().signUp(body={"returnSecureToken": True}).execute()
    before = record(firebase_app, other["localId"]), record(firebase_app, me["localId"])
    refused(
        toolkit.accounts().signInWithIdp(body=github(sub, idToken=other["idToken"])),
        "FEDERATED_USER_ID_ALREADY_LINKED",
    )
    refused(
        toolkit.accounts().signInWithIdp(body=google(unique("g"), email, idToken=other["idToken"])),
        "EMAIL_EXISTS",
    )
    told = toolkit.accounts().signInWithIdp(
        body=github(sub, idToken=other["idToken"], returnIdpCredential=True)
    ).execute()
    assert told["errorMessage"] == "FEDERATED_USER_ID_ALREADY_LINKED"
    assert (told["providerId"], told["federatedId"]) == ("github.com", sub)
    assert "idToken" not in told and "localId" not in told
    assert (record(firebase_app, other["localId"]), record(firebase_app, me["localId"])) == before


def test_providers_to_delete_unlinks_the_account(toolkit, firebase_app):
    email = f"{unique('idp')}@example.com"
    me = toolkit.accounts().signUp(body={"email": email, "password": "secret12", "returnSecureToken": True}).execute()
    sub = unique("gh")
    toolkit.accounts().signInWithIdp(body=github(sub, idToken=me["idToken"])).execute()
    assert [p.provider_id for p in auth.get_user(me["localId"], app=firebase_app).provider_data] == [
        "password",
        "github.com",
    ]

    user = auth.update_user(me["localId"], providers_to_delete=["github.com", "facebook.com"], app=firebase_app)
    assert providers(user) == [("password", email, email, None, None, None)]
    assert auth.get_user(me["localId"], app=firebase_app).email == email
    assert auth.get_users([auth.ProviderIdentifier("github.com", sub)], app=firebase_app).users == []

    # The account no longer finds the user: it signs a new one up.
    fresh = toolkit.accounts().signInWithIdp(body=github(sub)).execute()
    assert fresh["isNewUser"] is True
    assert fresh["localId"] != me["localId"]
    [owner] = auth.get_users([auth.ProviderIdentifier("github.com", sub)], app=firebase_app).users
    assert owner.uid == fresh["localId"]


def test_imported_provider_data_signs_the_user_in(toolkit, firebase_app):
    uid, sub, email = unique("imp"), unique("g"), f"{unique('idp')}@example.com"
    taken = unique("imp")
    result = auth.import_users(
        [
            auth.ImportUserRecord(
                uid,
                email=email,
                email_verified=True,
                provider_data=[
                    auth.UserProvider(
                        sub, "google.com", email=email, display_name="Imp", photo_url="https://example.com/imp.png"
                    )
                ],
            ),
            auth.ImportUserRecord(taken, provider_data=[auth.UserProvider(sub, "google.com")]),
        ],
        app=firebase_app,
    )
    assert result.success_count == 1
    assert [(e.index, e.reason) for e in result.errors] == [(1, "FEDERATED_USER_ID_ALREADY_LINKED")]
    with pytest.raises(auth.UserNotFoundError):
        auth.get_user(taken, app=firebase_app)

    user = auth.get_user(uid, app=firebase_app)
    assert providers(user) == [("google.com", sub, email, "Imp", "https://example.com/imp.png", None)]
    [found] = auth.get_users([auth.ProviderIdentifier("google.com", sub)], app=firebase_app).users
    assert found.uid == uid

    signed_in = toolkit.accounts().signInWithIdp(body=google(sub, email)).execute()
    assert (signed_in["localId"], signed_in["isNewUser"]) == (uid, False)
    claims = auth.verify_id_token(signed_in["idToken"], app=firebase_app, check_revoked=True)
    assert claims["uid"] == uid
    assert claims["firebase"]["sign_in_provider"] == "google.com"
    assert claims["firebase"]["identities"]["google.com"] == [sub]


def test_an_administrator_links_an_account_with_link_provider_user_info(admin_toolkit, toolkit, firebase_app):
    user = auth.create_user(email=f"{unique('idp')}@example.com", password="secret12", app=firebase_app)
    sub = unique("gh")
    linked = admin_toolkit.projects().accounts().update(
        targetProjectId=PROJECT,
        body={"localId": user.uid, "linkProviderUserInfo": {"providerId": "github.com", "rawId": sub, "screenName": "ada"}},
    ).execute()
    assert linked["localId"] == user.uid
    assert [(p["providerId"], p["rawId"], p.get("screenName")) for p in linked["providerUserInfo"]] == [
        ("password", user.email, None),
        ("github.com", sub, "ada"),
    ]
    assert providers(auth.get_user(user.uid, app=firebase_app)) == [
        ("password", user.email, user.email, None, None, None),
        ("github.com", sub, None, None, None, None),
    ]
    signed_in = toolkit.accounts().signInWithIdp(body=github(sub)).execute()
    assert (signed_in["localId"], signed_in["isNewUser"]) == (user.uid, False)

    other = auth.create_user(app=firebase_app)
    before = record(firebase_app, other.uid), record(firebase_app, user.uid)
    refused(
        admin_toolkit.projects().accounts().update(
            targetProjectId=PROJECT,
            body={"localId": other.uid, "linkProviderUserInfo": {"providerId": "github.com", "rawId": sub}},
        ),
        "FEDERATED_USER_ID_ALREADY_LINKED",
    )
    assert (record(firebase_app, other.uid), record(firebase_app, user.uid)) == before


def test_a_provider_that_does_not_vouch_for_an_existing_address_asks_for_confirmation(toolkit, firebase_app):
    email = f"{unique('idp')}@example.com"
    user = auth.create_user(email=email, password="secret12", app=firebase_app)
    before = record(firebase_app, user.uid)
    sub = unique("g")

    answer = toolkit.accounts().signInWithIdp(body=google(sub, email, verified=False)).execute()
    assert answer["needConfirmation"] is True
    assert answer["localId"] == user.uid
    assert answer["verifiedProvider"] == []
    assert (answer["email"], answer["emailVerified"]) == (email, False)
    assert "idToken" not in answer and "refreshToken" not in answer and "isNewUser" not in answer
    assert record(firebase_app, user.uid) == before
    assert auth.get_users([auth.ProviderIdentifier("google.com", sub)], app=firebase_app).users == []


def test_a_vouching_provider_takes_over_an_unproven_address(toolkit, firebase_app):
    email = f"{unique('idp')}@example.com"
    user = auth.create_user(email=email, password="secret12", app=firebase_app)
    assert not user.email_verified
    session = toolkit.accounts().signInWithPassword(body={"email": email, "password": "secret12"}).execute()
    time.sleep(1.1)  # validSince has one-second resolution; a token from this second would survive.

    sub = unique("g")
    taken = toolkit.accounts().signInWithIdp(body=google(sub, email)).execute()
    assert (taken["localId"], taken["isNewUser"]) == (user.uid, False)
    now = auth.get_user(user.uid, app=firebase_app)
    assert now.email_verified
    assert now.display_name == "Ada Lovelace"
    assert providers(now) == [("google.com", sub, email, "Ada Lovelace", "https://example.com/ada.png", None)]

    # Whoever registered the address unproven keeps no way in.
    with pytest.raises(auth.RevokedIdTokenError):
        auth.verify_id_token(session["idToken"], app=firebase_app, check_revoked=True)
    refused(
        toolkit.accounts().signInWithPassword(body={"email": email, "password": "secret12"}),
        "INVALID_PASSWORD",
    )


def test_a_disabled_user_s_account_is_user_disabled(toolkit, firebase_app):
    sub, email = unique("g"), f"{unique('idp')}@example.com"
    signed_in = toolkit.accounts().signInWithIdp(body=google(sub, email)).execute()
    auth.update_user(signed_in["localId"], disabled=True, app=firebase_app)
    before = record(firebase_app, signed_in["localId"])
    refused(toolkit.accounts().signInWithIdp(body=google(sub, email)), "USER_DISABLED")
    assert record(firebase_app, signed_in["localId"]) == before


def test_malformed_credentials_are_refused_with_firebase_s_errors(toolkit, firebase_app):
    email = f"{unique('idp')}@example.com"
    cases = [
        (
            credential("google.com", google_id_token({"email": email, "email_verified": True})),
            "INVALID_IDP_RESPONSE : Invalid Idp Response: id_token missing required fields.",
        ),
        (credential("google.com", "garbage"), "INVALID_IDP_RESPONSE : Unable to parse id_token: not a JWT or a JSON object."),
        (credential("password", json.dumps({"sub": "s", "email": email})), "INVALID_PROVIDER_ID : password is not an identity provider."),
        (
            {"requestUri": "http://localhost", "postBody": f"id_token={json.dumps({'sub': 's'})}"},
            "INVALID_CREDENTIAL_OR_PROVIDER_ID : Invalid IdP response/credential: http://localhost/",
        ),
        (google(unique("g"), email, idToken="forged"), "INVALID_ID_TOKEN"),
    ]
    for body, message in cases:
        refused(toolkit.accounts().signInWithIdp(body=body), message)
    with pytest.raises(auth.UserNotFoundError):
        auth.get_user_by_email(email, app=firebase_app)


# Production: no provider is configurable yet, so every one is refused.

NOT_CONFIGURED = "OPERATION_NOT_ALLOWED : The identity provider configuration is not found."


def test_production_refuses_every_provider(tessera_production):
    server = tessera_production
    v1 = build(
        "identitytoolkit",
        "v1",
        developerKey=server.api_key,
        client_options={"api_endpoint": server.base},
        static_discovery=True,
    )
    v3 = build(
        "identitytoolkit",
        "v3",
        developerKey=server.api_key,
        client_options={"api_endpoint": f"{server.base}/identitytoolkit/v3/relyingparty/"},
        static_discovery=True,
    )
    admin = build(
        "identitytoolkit",
        "v1",
        credentials=Credentials(token=server.admin_token),
        client_options={"api_endpoint": server.base},
        static_discovery=True,
    )
    accounts = admin.projects().accounts()
    count_before = accounts.query(targetProjectId=PROJECT, body={}).execute()["recordsCount"]

    sub, email = unique("g"), f"{unique('idp')}@example.com"
    refused(v1.accounts().signInWithIdp(body=google(sub, email)), NOT_CONFIGURED)
    refused(v1.accounts().signInWithIdp(body=github(sub)), NOT_CONFIGURED)
    refused(v3.relyingparty().verifyAssertion(body=google(sub, email)), NOT_CONFIGURED)

    found = accounts.lookup(
        targetProjectId=PROJECT,
        body={"federatedUserId": [{"providerId": "google.com", "rawId": sub}, {"providerId": "github.com", "rawId": sub}]},
    ).execute()
    assert "users" not in found
    assert "users" not in accounts.lookup(targetProjectId=PROJECT, body={"email": [email]}).execute()
    assert accounts.query(targetProjectId=PROJECT, body={}).execute()["recordsCount"] == count_before
