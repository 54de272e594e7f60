"""google-api-python-client with its bundled identitytoolkit v1 discovery document, pointed
at Tessera with `api_endpoint`, under both the emulator layout and the bare layout."""

import uuid

import google.oauth2.credentials
import pytest
import requests
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from conftest import PROJECT, error_message


def test_sign_up_sign_in_lookup_update_delete(toolkit):
    email = f"dc-{uuid.uuid4().hex[:10]}@example.com"
    up = toolkit.accounts().signUp(body={"email": email, "password": "secret12", "returnSecureToken": True}).execute()
    assert up["kind"] == "identitytoolkit#SignupNewUserResponse"

    signed_in = toolkit.accounts().signInWithPassword(body={"email": email, "password": "secret12"}).execute()
    assert signed_in["localId"] == up["localId"]

    looked_up = toolkit.accounts().lookup(body={"idToken": signed_in["idToken"]}).execute()
    assert looked_up["users"][0]["email"] == email

    updated = toolkit.accounts().update(body={"idToken": signed_in["idToken"], "displayName": "Grace"}).execute()
    assert updated["displayName"] == "Grace"

    deleted = toolkit.accounts().delete(body={"idToken": signed_in["idToken"]}).execute()
    assert deleted["kind"] == "identitytoolkit#DeleteAccountResponse"


def test_errors_arrive_as_http_errors(toolkit):
    with pytest.raises(HttpError) as caught:
        toolkit.accounts().signInWithPassword(body={"email": "nobody@example.com", "password": "secret12"}).execute()
    assert caught.value.resp.status == 400
    assert error_message(caught.value) == "EMAIL_NOT_FOUND"

    with pytest.raises(HttpError) as caught:
        toolkit.accounts().signUp(body={"email": "x@example.com", "password": "12345"}).execute()
    assert error_message(caught.value) == "WEAK_PASSWORD : Password should be at least 6 characters"


def admin_toolkit(tessera: str):
    """The discovery client as an administrator: the dev owner credential."""
    return build(
        "identitytoolkit",
        "v1",
        credentials=google.oauth2.credentials.Credentials(token="owner"),
        client_options={"api_endpoint": tessera},
        static_discovery=True,
    )


def test_admin_calls_with_an_owner_credential(tessera):
    admin = admin_toolkit(tessera)
    uid = f"dc-admin-{uuid.uuid4().hex[:8]}"
    created = admin.accounts().signUp(
        body={"targetProjectId": PROJECT, "localId": uid, "email": f"{uid}@example.com"}
    ).execute()
    assert "idToken" not in created, "an administrator's sign-up creates no session"
    found = admin.projects().accounts().lookup(targetProjectId=PROJECT, body={"localId": [uid]}).execute()
    assert found["users"][0]["localId"] == uid
    query = admin.projects().accounts().query(targetProjectId=PROJECT, body={"expression": [{"userId": uid}]}).execute()
    assert query["recordsCount"] == "1"


def test_batch_create_overwrites_only_when_allowed(tessera):
    admin = admin_toolkit(tessera)
    accounts = admin.projects().accounts()
    uid = f"dc-import-{uuid.uuid4().hex[:8]}"
    first = accounts.batchCreate(
        targetProjectId=PROJECT, body={"users": [{"localId": uid, "email": f"{uid}@example.com", "displayName": "First"}]}
    ).execute()
    assert "error" not in first

    again = {"users": [{"localId": uid, "email": f"{uid}-2@example.com"}]}
    refused = accounts.batchCreate(targetProjectId=PROJECT, body=again).execute()
    assert refused["error"] == [{"index": 0, "message": "DUPLICATE_LOCAL_ID"}]
    kept = accounts.lookup(targetProjectId=PROJECT, body={"localId": [uid]}).execute()["users"][0]
    assert (kept["email"], kept["displayName"]) == (f"{uid}@example.com", "First")

    replaced = accounts.batchCreate(targetProjectId=PROJECT, body={**again, "allowOverwrite": True}).execute()
    assert "error" not in replaced
    user = accounts.lookup(targetProjectId=PROJECT, body={"localId": [uid]}).execute()["users"][0]
    assert user["email"] == f"{uid}-2@example.com"
    assert "displayName" not in user

    with pytest.raises(HttpError) as caught:
        accounts.batchCreate(targetProjectId=PROJECT, body={"users": [{"localId": uid}, {"localId": uid}]}).execute()
    assert caught.value.resp.status == 400
    assert error_message(caught.value) == f"DUPLICATE_LOCAL_ID : {uid}"


def waiting_oob_codes(base: str, email: str) -> list[dict]:
    """The dev outbox's action links for `email` that are still waiting to be used."""
    reply = requests.get(f"{base}/emulator/v1/projects/{PROJECT}/oobCodes", timeout=10)
    assert reply.status_code == 200, reply.text
    return [entry for entry in reply.json()["oobCodes"] if entry["email"] == email]


def test_password_reset_by_emailed_code(toolkit, tessera):
    email = f"dc-{uuid.uuid4().hex[:10]}@example.com"
    toolkit.accounts().signUp(body={"email": email, "password": "secret12"}).execute()

    sent = toolkit.accounts().sendOobCode(body={"requestType": "PASSWORD_RESET", "email": email}).execute()
    assert sent["email"] == email
    assert "oobCode" not in sent and "oobLink" not in sent, "only an administrator gets the link back"

    [entry] = waiting_oob_codes(tessera, email)
    assert entry["requestType"] == "PASSWORD_RESET"
    assert entry["oobCode"] in entry["oobLink"]
    code = entry["oobCode"]

    checked = toolkit.accounts().resetPassword(body={"oobCode": code}).execute()
    assert checked["requestType"] == "PASSWORD_RESET"
    assert checked["email"] == email
    assert waiting_oob_codes(tessera, email) == [entry], "checking a code does not use it"

    reset = toolkit.accounts().resetPassword(body={"oobCode": code, "newPassword": "fresh-secret"}).execute()
    assert reset["requestType"] == "PASSWORD_RESET"
    assert reset["email"] == email
    assert waiting_oob_codes(tessera, email) == []

    signed_in = toolkit.accounts().signInWithPassword(body={"email": email, "password": "fresh-secret"}).execute()
    assert signed_in["email"] == email

    with pytest.raises(HttpError) as caught:
        toolkit.accounts().resetPassword(body={"oobCode": code, "newPassword": "other-secret"}).execute()
    assert caught.value.resp.status == 400
    assert error_message(caught.value) == "INVALID_OOB_CODE"
    with pytest.raises(HttpError) as caught:
        toolkit.accounts().resetPassword(body={"oobCode": code}).execute()
    assert caught.value.resp.status == 400
    assert error_message(caught.value) == "INVALID_OOB_CODE"


def test_password_reset_for_an_unknown_address(toolkit):
    with pytest.raises(HttpError) as caught:
        toolkit.accounts().sendOobCode(
            body={"requestType": "PASSWORD_RESET", "email": f"dc-{uuid.uuid4().hex[:10]}@example.com"}
        ).execute()
    assert caught.value.resp.status == 400
    assert error_message(caught.value) == "EMAIL_NOT_FOUND"
