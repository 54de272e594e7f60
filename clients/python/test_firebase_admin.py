"""firebase-admin (Python) user management against Tessera in emulator mode."""

import time
import uuid

import pytest
import requests
from firebase_admin import auth

from conftest import PROJECT


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
