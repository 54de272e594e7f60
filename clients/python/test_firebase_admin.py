"""firebase-admin (Python) user management against Tessera in emulator mode."""

import time
import uuid
from urllib.parse import parse_qs, urlparse

import jwt
import pytest
import requests
from firebase_admin import auth
from googleapiclient.errors import HttpError

from conftest import error_message


def unique_email() -> str:
    return f"fa-{uuid.uuid4().hex[:10]}@example.com"


def sign_in(base: str, email: str, password: str) -> dict:
    reply = requests.post(
        f"{base}/identitytoolkit.googleapis.com/v1/accounts:signInWithPassword?key=any",
        json={"email": email, "password": password, "returnSecureToken": True},
        timeout=10,
    )
    assert reply.status_code == 200, reply.text
    return reply.json()


def toolkit_post(base: str, method: str, body: dict) -> requests.Response:
    """A plain Identity Toolkit call with an API key, as a Firebase client app makes it."""
    return requests.post(f"{base}/identitytoolkit.googleapis.com/v1/accounts:{method}?key=any", json=body, timeout=10)


def link_query(link: str) -> dict[str, str]:
    """An action link's query parameters, each given once."""
    query = parse_qs(urlparse(link).query)
    assert all(len(values) == 1 for values in query.values()), link
    return {name: values[0] for name, values in query.items()}


def test_create_get_update_delete(firebase_app, tessera):
    email = unique_email()
    user = auth.create_user(
        email=email,
        password="secret12",
        display_name="Ada",
        email_verified=True,
        phone_number="+16505550111",
        app=firebase_app,
    )
    assert user.email == email
    assert user.display_name == "Ada"
    assert user.email_verified
    assert user.phone_number == "+16505550111"
    assert {p.provider_id for p in user.provider_data} == {"password", "phone"}
    assert user.user_metadata.creation_timestamp > 0

    assert auth.get_user_by_email(email, app=firebase_app).uid == user.uid
    assert auth.get_user_by_phone_number("+16505550111", app=firebase_app).uid == user.uid

    updated = auth.update_user(
        user.uid, display_name=auth.DELETE_ATTRIBUTE, phone_number=auth.DELETE_ATTRIBUTE, disabled=True, app=firebase_app
    )
    assert updated.display_name is None
    assert updated.phone_number is None
    assert updated.disabled

    auth.delete_user(user.uid, app=firebase_app)
    with pytest.raises(auth.UserNotFoundError):
        auth.get_user(user.uid, app=firebase_app)


def test_errors_map_to_admin_sdk_exceptions(firebase_app):
    email = unique_email()
    auth.create_user(uid=f"dup-{uuid.uuid4().hex[:8]}", email=email, app=firebase_app)
    with pytest.raises(auth.EmailAlreadyExistsError):
        auth.create_user(email=email, app=firebase_app)
    with pytest.raises(auth.UserNotFoundError):
        auth.update_user("no-such-user", display_name="x", app=firebase_app)


def test_custom_claims_reach_id_tokens_and_tokens_verify(firebase_app, tessera):
    email = unique_email()
    user = auth.create_user(email=email, password="secret12", app=firebase_app)
    auth.set_custom_user_claims(user.uid, {"role": "editor"}, app=firebase_app)
    assert auth.get_user(user.uid, app=firebase_app).custom_claims == {"role": "editor"}

    session = sign_in(tessera, email, "secret12")
    claims = auth.verify_id_token(session["idToken"], app=firebase_app, check_revoked=True)
    assert claims["uid"] == user.uid
    assert claims["role"] == "editor"
    assert claims["firebase"]["sign_in_provider"] == "password"


def test_revoke_refresh_tokens(firebase_app, tessera):
    email = unique_email()
    user = auth.create_user(email=email, password="secret12", app=firebase_app)
    session = sign_in(tessera, email, "secret12")
    time.sleep(1.1)  # validSince has one-second resolution; a token from this second would survive.
    auth.revoke_refresh_tokens(user.uid, app=firebase_app)
    assert auth.get_user(user.uid, app=firebase_app).tokens_valid_after_timestamp > 0
    with pytest.raises(auth.RevokedIdTokenError):
        auth.verify_id_token(session["idToken"], app=firebase_app, check_revoked=True)
    refresh = requests.post(
        f"{tessera}/securetoken.googleapis.com/v1/token?key=any",
        data={"grant_type": "refresh_token", "refresh_token": session["refreshToken"]},
        timeout=10,
    )
    assert refresh.status_code == 400
    assert refresh.json()["error"]["message"] == "TOKEN_EXPIRED"


def test_list_import_and_bulk_delete(firebase_app):
    prefix = uuid.uuid4().hex[:6]
    records = [
        auth.ImportUserRecord(uid=f"{prefix}-{i}", email=f"{prefix}-{i}@example.com", display_name=f"User {i}")
        for i in range(5)
    ]
    result = auth.import_users(records, app=firebase_app)
    assert result.success_count == 5, [e.reason for e in result.errors]

    listed = [u.uid for u in auth.list_users(max_results=2, app=firebase_app).iterate_all() if u.uid.startswith(prefix)]
    assert listed == [f"{prefix}-{i}" for i in range(5)]

    found = auth.get_users([auth.UidIdentifier(f"{prefix}-0"), auth.EmailIdentifier(f"{prefix}-1@example.com")], app=firebase_app)
    assert sorted(u.uid for u in found.users) == [f"{prefix}-0", f"{prefix}-1"]

    deleted = auth.delete_users([r.uid for r in records], app=firebase_app)
    assert deleted.success_count == 5
    assert deleted.failure_count == 0
    with pytest.raises(auth.UserNotFoundError):
        auth.get_user(f"{prefix}-0", app=firebase_app)


def test_email_verification_link_verifies_the_address(firebase_app, tessera):
    email = unique_email()
    user = auth.create_user(email=email, password="secret12", app=firebase_app)
    assert not user.email_verified

    link = auth.generate_email_verification_link(email, app=firebase_app)
    query = link_query(link)
    assert query["mode"] == "verifyEmail"
    assert query["oobCode"]

    applied = toolkit_post(tessera, "update", {"oobCode": query["oobCode"]})
    assert applied.status_code == 200, applied.text
    assert applied.json()["email"] == email
    assert auth.get_user(user.uid, app=firebase_app).email_verified

    again = toolkit_post(tessera, "update", {"oobCode": query["oobCode"]})
    assert again.status_code == 400
    assert again.json()["error"]["message"] == "INVALID_OOB_CODE"


def test_password_reset_link_sets_a_new_password(firebase_app, tessera):
    email = unique_email()
    user = auth.create_user(email=email, password="secret12", app=firebase_app)

    link = auth.generate_password_reset_link(email, app=firebase_app)
    query = link_query(link)
    assert query["mode"] == "resetPassword"
    assert query["oobCode"]

    reset = toolkit_post(tessera, "resetPassword", {"oobCode": query["oobCode"], "newPassword": "fresh-secret"})
    assert reset.status_code == 200, reset.text
    assert reset.json()["requestType"] == "PASSWORD_RESET"
    assert reset.json()["email"] == email

    assert sign_in(tessera, email, "fresh-secret")["localId"] == user.uid
    old = toolkit_post(tessera, "signInWithPassword", {"email": email, "password": "secret12"})
    assert old.status_code == 400
    assert old.json()["error"]["message"] == "INVALID_PASSWORD"


def test_action_links_for_unknown_addresses_raise(firebase_app):
    with pytest.raises(auth.UserNotFoundError):
        auth.generate_email_verification_link(unique_email(), app=firebase_app)
    with pytest.raises(auth.EmailNotFoundError):
        auth.generate_password_reset_link(unique_email(), app=firebase_app)


def test_action_code_settings_url_becomes_continue_url(firebase_app):
    email = unique_email()
    auth.create_user(email=email, app=firebase_app)
    settings = auth.ActionCodeSettings(url="http://localhost/after")
    link = auth.generate_email_verification_link(email, action_code_settings=settings, app=firebase_app)
    query = link_query(link)
    assert query["mode"] == "verifyEmail"
    assert query["continueUrl"] == "http://localhost/after"


# Sign-in by email link: firebase-admin's generate_sign_in_with_email_link hands back the link,
# and the app finishes with accounts.signInWithEmailLink through google-api-python-client's
# bundled identitytoolkit v1 discovery document, under both the emulator and the bare layout.

SIGN_IN_CONTINUE_URL = "http://localhost:5555/finish"
WRONG_ADDRESS = "INVALID_EMAIL : The email provided does not match the sign-in email address."


def sign_in_link_code(firebase_app, tessera: str, email: str) -> str:
    """A sign-in link for `email` from firebase-admin, checked; returns its code."""
    settings = auth.ActionCodeSettings(url=SIGN_IN_CONTINUE_URL, handle_code_in_app=True)
    link = auth.generate_sign_in_with_email_link(email, settings, app=firebase_app)
    assert link.startswith(f"{tessera}/"), link
    query = link_query(link)
    assert query["mode"] == "signIn"
    assert query["continueUrl"] == SIGN_IN_CONTINUE_URL
    assert query["lang"] == "en"
    assert query["apiKey"], "the link carries an API key for the app's calls"
    assert query["oobCode"]
    return query["oobCode"]


def test_sign_in_link_creates_a_verified_user_for_a_new_address(firebase_app, tessera, toolkit):
    email = unique_email()
    code = sign_in_link_code(firebase_app, tessera, email)
    # The link is for the address: no user exists until it is used.
    with pytest.raises(auth.UserNotFoundError):
        auth.get_user_by_email(email, app=firebase_app)

    # Checking the code names its purpose but not the address.
    checked = toolkit.accounts().resetPassword(body={"oobCode": code}).execute()
    assert checked["requestType"] == "EMAIL_SIGNIN"
    assert "email" not in checked

    signed_in = toolkit.accounts().signInWithEmailLink(body={"email": email, "oobCode": code}).execute()
    assert signed_in["kind"] == "identitytoolkit#EmailLinkSigninResponse"
    assert signed_in["email"] == email
    assert signed_in["isNewUser"] is True
    assert signed_in["refreshToken"]
    assert "mfaPendingCredential" not in signed_in

    claims = auth.verify_id_token(signed_in["idToken"], app=firebase_app)
    assert claims["uid"] == signed_in["localId"]
    assert claims["email"] == email
    assert claims["email_verified"] is True
    assert claims["firebase"]["sign_in_provider"] == "password"

    user = auth.get_user_by_email(email, app=firebase_app)
    assert user.uid == signed_in["localId"]
    assert user.email_verified

    with pytest.raises(HttpError) as caught:
        toolkit.accounts().signInWithEmailLink(body={"email": email, "oobCode": code}).execute()
    assert caught.value.resp.status == 400
    assert error_message(caught.value) == "INVALID_OOB_CODE"


def test_sign_in_link_signs_in_the_existing_user_and_verifies_the_address(firebase_app, tessera, toolkit):
    email = unique_email()
    user = auth.create_user(email=email, password="secret12", app=firebase_app)
    assert not user.email_verified
    code = sign_in_link_code(firebase_app, tessera, email)

    signed_in = toolkit.accounts().signInWithEmailLink(body={"email": email, "oobCode": code}).execute()
    assert signed_in["localId"] == user.uid
    assert signed_in["email"] == email
    assert signed_in["isNewUser"] is False
    claims = auth.verify_id_token(signed_in["idToken"], app=firebase_app)
    assert claims["uid"] == user.uid
    assert claims["email_verified"] is True
    assert auth.get_user(user.uid, app=firebase_app).email_verified


def test_sign_in_link_with_another_address_is_invalid_email(firebase_app, tessera, toolkit):
    email = unique_email()
    other = unique_email()
    code = sign_in_link_code(firebase_app, tessera, email)

    with pytest.raises(HttpError) as caught:
        toolkit.accounts().signInWithEmailLink(body={"email": other, "oobCode": code}).execute()
    assert caught.value.resp.status == 400
    assert error_message(caught.value) == WRONG_ADDRESS
    for address in (email, other):
        with pytest.raises(auth.UserNotFoundError):
            auth.get_user_by_email(address, app=firebase_app)

    # A mistyped address does not use the link up.
    signed_in = toolkit.accounts().signInWithEmailLink(body={"email": email, "oobCode": code}).execute()
    assert signed_in["isNewUser"] is True
    assert auth.get_user_by_email(email, app=firebase_app).uid == signed_in["localId"]


def test_email_link_user_is_listed_under_the_password_provider(firebase_app, tessera, toolkit):
    email = unique_email()
    code = sign_in_link_code(firebase_app, tessera, email)
    signed_in = toolkit.accounts().signInWithEmailLink(body={"email": email, "oobCode": code}).execute()
    user = auth.get_user(signed_in["localId"], app=firebase_app)
    assert [(p.provider_id, p.uid, p.email) for p in user.provider_data] == [("password", email, email)]


def test_custom_token_signs_in_and_creates_the_user_once(firebase_app, tessera):
    uid = f"custom-{uuid.uuid4().hex[:10]}"
    token = auth.create_custom_token(uid, {"role": "admin"}, app=firebase_app)
    assert isinstance(token, bytes)
    # In emulator mode the Admin SDK signs nothing: an `alg: none` JWT for the uid and claims.
    assert jwt.get_unverified_header(token)["alg"] == "none"

    first = toolkit_post(tessera, "signInWithCustomToken", {"token": token.decode(), "returnSecureToken": True})
    assert first.status_code == 200, first.text
    first = first.json()
    assert first["isNewUser"] is True
    assert first["refreshToken"]
    claims = auth.verify_id_token(first["idToken"], app=firebase_app, check_revoked=True)
    assert claims["uid"] == uid
    assert claims["role"] == "admin"
    assert claims["firebase"]["sign_in_provider"] == "custom"
    assert auth.get_user(uid, app=firebase_app).uid == uid

    again = toolkit_post(tessera, "signInWithCustomToken", {"token": token.decode(), "returnSecureToken": True})
    assert again.status_code == 200, again.text
    assert again.json()["isNewUser"] is False
    assert auth.verify_id_token(again.json()["idToken"], app=firebase_app)["role"] == "admin"


def test_session_cookie_carries_the_session_until_revoked(firebase_app, tessera):
    email = unique_email()
    user = auth.create_user(email=email, password="secret12", app=firebase_app)
    session = sign_in(tessera, email, "secret12")
    cookie = auth.create_session_cookie(session["idToken"], expires_in=3600, app=firebase_app)
    claims = auth.verify_session_cookie(cookie, check_revoked=True, app=firebase_app)
    assert claims["uid"] == user.uid
    assert claims["iss"] == f"https://session.firebase.google.com/{claims['aud']}"
    assert claims["exp"] - claims["iat"] == 3600
    assert claims["firebase"]["sign_in_provider"] == "password"

    with pytest.raises(ValueError):
        auth.create_session_cookie(session["idToken"], expires_in=60, app=firebase_app)
    time.sleep(1.1)  # validSince has one-second resolution.
    auth.revoke_refresh_tokens(user.uid, app=firebase_app)
    with pytest.raises(auth.RevokedSessionCookieError):
        auth.verify_session_cookie(cookie, check_revoked=True, app=firebase_app)
