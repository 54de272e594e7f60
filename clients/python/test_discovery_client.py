"""google-api-python-client with its bundled identitytoolkit v1 discovery document, pointed
at Tessera with `api_endpoint`, under both the emulator layout and the bare layout."""

import json
import uuid

import google.oauth2.credentials
import pytest
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from conftest import PROJECT


@pytest.fixture(params=["prefixed", "bare"])
def toolkit(request, tessera):
    endpoint = f"{tessera}/identitytoolkit.googleapis.com/" if request.param == "prefixed" else tessera
    return build(
        "identitytoolkit",
        "v1",
        developerKey="any-key",
        client_options={"api_endpoint": endpoint},
        static_discovery=True,
    )


def error_message(e: HttpError) -> str:
    return json.loads(e.content)["error"]["message"]


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


def test_admin_calls_with_an_owner_credential(tessera):
    admin = build(
        "identitytoolkit",
        "v1",
        credentials=google.oauth2.credentials.Credentials(token="owner"),
        client_options={"api_endpoint": tessera},
        static_discovery=True,
    )
    uid = f"dc-admin-{uuid.uuid4().hex[:8]}"
    created = admin.accounts().signUp(
        body={"targetProjectId": PROJECT, "localId": uid, "email": f"{uid}@example.com"}
    ).execute()
    assert "idToken" not in created, "an administrator's sign-up creates no session"
    found = admin.projects().accounts().lookup(targetProjectId=PROJECT, body={"localId": [uid]}).execute()
    assert found["users"][0]["localId"] == uid
    query = admin.projects().accounts().query(targetProjectId=PROJECT, body={"expression": [{"userId": uid}]}).execute()
    assert query["recordsCount"] == "1"
