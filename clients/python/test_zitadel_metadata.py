"""User metadata through ZITADEL's official Python client (PyPI `zitadel-client`, Connect JSON),
unmodified: `users.set_user_metadata`, `users.list_user_metadata` and `users.delete_user_metadata`
(zitadel.user.v2.UserService/SetUserMetadata, ListUserMetadata, DeleteUserMetadata).

Values are bytes, base64 in JSON. The client sends a value as it is given: a `str` goes out as
it is (so the caller base64-encodes, as the client's docs ask), while `bytes` cannot be sent at
all (json.dumps refuses them before any request). Values come back as the base64 text the
server wrote, decoded here and compared byte for byte, non-UTF-8 bytes included.

The client's v2 `Metadata` model has only `key` and `value`: it drops the `creationDate` and
`changeDate` every listed entry carries. Where a test needs those dates it reads the same
ListUserMetadata call's Connect JSON with `requests` (`wire_entries`); everything else goes
through the client. The client has no management v1 service, so v1's metadata calls
(SetUserMetadata, BulkSetUserMetadata, ListUserMetadata, GetUserMetadata, RemoveUserMetadata,
BulkRemoveUserMetadata) are not driven here, and no auth v1 service either, so neither are
ListMyMetadata and GetMyMetadata (the Node client tests drive both).

`setDate` and `deletionDate` are whole milliseconds: the time the entries are stored with.

Who may do what: dev mode's administrator (an IAM_OWNER machine user, through its PAT) the
metadata of every user of every organization; a user through its own Identity Toolkit ID token
its own metadata only. Refused calls arrive as the client's ApiError with ZITADEL's body, and
change nothing. Every user is made for its test, with a random address."""

import base64
import os
import time
import uuid
from datetime import datetime
from types import SimpleNamespace

import pytest
import requests
from zitadel_client import Zitadel
from zitadel_client.exceptions import ApiError
from zitadel_client.models import (
    OrganizationServiceAddOrganizationRequest,
    UserServiceAddHumanUserRequest,
    UserServiceDeleteUserMetadataRequest,
    UserServiceDeleteUserRequest,
    UserServiceEmailQuery,
    UserServiceGetUserByIDRequest,
    UserServiceListUsersRequest,
    UserServiceListUserMetadataRequest,
    UserServiceMetadata,
    UserServiceMetadataKeyFilter,
    UserServiceMetadataSearchFilter,
    UserServiceOrganization,
    UserServicePaginationRequest,
    UserServicePassword,
    UserServiceSearchQuery,
    UserServiceSetHumanEmail,
    UserServiceSetHumanProfile,
    UserServiceSetMetadataEntry,
    UserServiceSetUserMetadataRequest,
    UserServiceTextFilterMethod,
)

from test_zitadel_client import PASSWORD, body_of, expect_error, unique_email
from test_zitadel_sessions import as_user, id_token

EQUALS = UserServiceTextFilterMethod.TEXT_FILTER_METHOD_EQUALS
EQUALS_IC = UserServiceTextFilterMethod.TEXT_FILTER_METHOD_EQUALS_IGNORE_CASE
STARTS = UserServiceTextFilterMethod.TEXT_FILTER_METHOD_STARTS_WITH
STARTS_IC = UserServiceTextFilterMethod.TEXT_FILTER_METHOD_STARTS_WITH_IGNORE_CASE
CONTAINS = UserServiceTextFilterMethod.TEXT_FILTER_METHOD_CONTAINS
CONTAINS_IC = UserServiceTextFilterMethod.TEXT_FILTER_METHOD_CONTAINS_IGNORE_CASE
ENDS = UserServiceTextFilterMethod.TEXT_FILTER_METHOD_ENDS_WITH
ENDS_IC = UserServiceTextFilterMethod.TEXT_FILTER_METHOD_ENDS_WITH_IGNORE_CASE

# Connect's code names, with their gRPC numbers.
INVALID_ARGUMENT = "invalid_argument"  # 3
NOT_FOUND = "not_found"  # 5
PERMISSION_DENIED = "permission_denied"  # 7
FAILED_PRECONDITION = "failed_precondition"  # 9
UNAUTHENTICATED = "unauthenticated"  # 16

EMPTY = (400, FAILED_PRECONDITION, "Metadata list is empty", "META-9mm2d")
INVALID = (400, INVALID_ARGUMENT, "Metadata is invalid", "META-2m00f")
KEY_MISSING = (400, INVALID_ARGUMENT, "Metadata is invalid", "COMMAND-m29ds")
KEYS_NOT_SET = (404, NOT_FOUND, "One or more keys do not exist", "META-2nnds")
NO_USER = (400, FAILED_PRECONDITION, "User could not be found", "COMMAND-uXHNj")
LIMIT_EXCEEDED = (400, INVALID_ARGUMENT, "Limit exceeded", "QUERY-4M0fs")
DENIED = (403, PERMISSION_DENIED, "No matching permissions found", "AUTH-5mWD2")

MAX_KEY_CHARS = 200
MAX_VALUE_BYTES = 500_000


@pytest.fixture
def zitadel(tessera, admin_pat) -> Zitadel:
    return Zitadel.with_access_token(tessera, admin_pat)


# ---------------------------------------------------------------------------------------------
# Helpers.


def add_user(zitadel: Zitadel, org_id: str | None = None) -> SimpleNamespace:
    """A human with a verified, unique address and a password: id, email, organization."""
    email = unique_email("md")
    added = zitadel.users.add_human_user(
        UserServiceAddHumanUserRequest(
            organization=UserServiceOrganization(org_id=org_id) if org_id else None,
            profile=UserServiceSetHumanProfile(given_name="Ada", family_name="Lovelace"),
            email=UserServiceSetHumanEmail(email=email, is_verified=True),
            password=UserServicePassword(password=PASSWORD),
        )
    )
    return SimpleNamespace(id=added.user_id, email=email, org=added.details.resource_owner)


def b64(value: bytes) -> str:
    """The value as the client must be given it: standard base64, padded."""
    return base64.b64encode(value).decode()


def unb64(text: str) -> bytes:
    """A value as the client hands it back (the base64 text of the response), decoded strictly."""
    assert isinstance(text, str), text
    return base64.b64decode(text, validate=True)


def set_metadata(client: Zitadel, user_id: str, *entries: tuple[str, bytes]):
    """SetUserMetadata of (key, value) pairs, in one request; the response."""
    return client.users.set_user_metadata(
        UserServiceSetUserMetadataRequest(
            user_id=user_id, metadata=[UserServiceMetadata(key=k, value=b64(v)) for k, v in entries]
        )
    )


def delete_metadata(client: Zitadel, user_id: str, *keys: str):
    return client.users.delete_user_metadata(UserServiceDeleteUserMetadataRequest(user_id=user_id, keys=list(keys)))


def by_key(key: str, method=EQUALS) -> UserServiceMetadataSearchFilter:
    return UserServiceMetadataSearchFilter(key_filter=UserServiceMetadataKeyFilter(key=key, method=method))


def search(client: Zitadel, user_id: str, *filters: UserServiceMetadataSearchFilter, **pagination):
    """ListUserMetadata with `filters` AND-ed and `pagination` (offset, limit, asc) if any."""
    return client.users.list_user_metadata(
        UserServiceListUserMetadataRequest(
            user_id=user_id,
            filters=list(filters) or None,
            pagination=UserServicePaginationRequest(**pagination) if pagination else None,
        )
    )


def total(listed) -> int:
    """pagination.totalResult: a uint64, a string in Connect JSON, left out when it is 0."""
    assert listed.pagination is not None, listed
    return int(listed.pagination.total_result or 0)


def pairs(listed) -> list[tuple[str, bytes]]:
    return [(m.key, unb64(m.value)) for m in listed.metadata or []]


def keys_of(listed) -> list[str]:
    return [m.key for m in listed.metadata or []]


def found(client: Zitadel, user_id: str, *filters, **pagination) -> list[tuple[str, bytes]]:
    """The (key, value) pairs listed, in order, checked to be every match: the total counts
    them, and the applied limit is ZITADEL's default page."""
    listed = search(client, user_id, *filters, **pagination)
    assert total(listed) == len(listed.metadata or []), listed
    assert int(listed.pagination.applied_limit) == pagination.get("limit", 100), listed
    return pairs(listed)


def found_keys(client: Zitadel, user_id: str, *filters, **pagination) -> list[str]:
    return [key for key, _ in found(client, user_id, *filters, **pagination)]


def wire_entries(tessera: str, token: str, user_id: str) -> dict[str, dict]:
    """The user's entries by key as ListUserMetadata's Connect JSON carries them, with the
    `creationDate` and `changeDate` the client's model drops (the same call the client makes)."""
    reply = requests.post(
        f"{tessera}/zitadel.user.v2.UserService/ListUserMetadata",
        json={"userId": user_id},
        headers={"authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert reply.status_code == 200, reply.text
    return {entry["key"]: entry for entry in reply.json().get("metadata", [])}


def to_millis(at: datetime) -> datetime:
    """Listed dates are shown to the millisecond."""
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


def whole_millis(at: datetime) -> bool:
    """A date the server answers is whole milliseconds (as entries are stored)."""
    return at.microsecond % 1000 == 0


def parsed(text: str) -> datetime:
    """A Connect JSON timestamp ("…Z")."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def pause():
    """Entries set one request after the other get distinct creation dates (milliseconds)."""
    time.sleep(0.005)


# Values: text, binary, and non-UTF-8 bytes (a lone 0xff, a NUL, a truncated UTF-8 sequence,
# bytes whose base64 holds '+' and '/').
VALUES = {
    "plan": b"pro",
    "city": "Zürich".encode(),
    "bin": b"\xff\xfe\x00\x80",
    "nul": b"\x00",
    "cut": "é".encode()[:1],
    "plus-slash": b"\xfb\xff\xbf",
    "random": os.urandom(64),
}


# ---------------------------------------------------------------------------------------------
# Set, list, delete.


def test_values_round_trip_byte_for_byte(zitadel):
    user = add_user(zitadel)
    set_ = set_metadata(zitadel, user.id, *VALUES.items())
    assert set_.set_date is not None and set_.set_date.tzinfo is not None
    assert whole_millis(set_.set_date), set_.set_date

    listed = search(zitadel, user.id)
    assert total(listed) == len(VALUES)
    assert int(listed.pagination.applied_limit) == 100
    assert dict(pairs(listed)) == VALUES
    # The client hands the values back as the server's standard, padded base64.
    shown = {m.key: m.value for m in listed.metadata}
    assert shown["bin"] == "//4AgA==" and shown["plus-slash"] == "+/+/" and shown["nul"] == "AA=="
    # Non-UTF-8 values stay exactly what was set.
    for key in ("bin", "nul", "cut", "random"):
        assert unb64(shown[key]) == VALUES[key]
    with pytest.raises(UnicodeDecodeError):
        unb64(shown["cut"]).decode()

    # One at a time, by the exact key.
    for key, value in VALUES.items():
        assert found(zitadel, user.id, by_key(key)) == [(key, value)]

    deleted = delete_metadata(zitadel, user.id, "bin", "random")
    assert deleted.deletion_date is not None and deleted.deletion_date >= set_.set_date
    assert whole_millis(deleted.deletion_date), deleted.deletion_date
    left = {k: v for k, v in VALUES.items() if k not in ("bin", "random")}
    assert dict(found(zitadel, user.id)) == left
    delete_metadata(zitadel, user.id, *left)
    assert found(zitadel, user.id) == []


def test_keys_and_values_at_their_largest(zitadel):
    """Keys of up to 200 characters (not bytes), values of up to 500,000 bytes."""
    user = add_user(zitadel)
    longest_key = "é" * MAX_KEY_CHARS
    largest = os.urandom(MAX_VALUE_BYTES)
    set_metadata(zitadel, user.id, (longest_key, b"\x01"), ("large", largest), ("k", b"\x02"))
    assert dict(found(zitadel, user.id)) == {longest_key: b"\x01", "large": largest, "k": b"\x02"}
    assert found(zitadel, user.id, by_key(longest_key)) == [(longest_key, b"\x01")]


def test_values_in_url_safe_or_unpadded_base64_are_the_same_bytes(zitadel):
    """Proto3 JSON takes bytes in standard or URL-safe base64, with or without padding; the
    client passes the text through, and the server answers standard base64."""
    user = add_user(zitadel)
    value = b"\xfb\xff\xbf\xff"  # "+/+/" and "/w==" in standard base64
    for key, text in (("std", "+/+//w=="), ("url", "-_-__w=="), ("unpadded", "+/+//w"), ("url-unpadded", "-_-__w")):
        zitadel.users.set_user_metadata(
            UserServiceSetUserMetadataRequest(user_id=user.id, metadata=[UserServiceMetadata(key=key, value=text)])
        )
    listed = search(zitadel, user.id)
    assert {m.key: m.value for m in listed.metadata} == dict.fromkeys(("std", "url", "unpadded", "url-unpadded"), "+/+//w==")
    assert set(dict(pairs(listed)).values()) == {value}


def test_setting_a_key_again_replaces_its_value_and_keeps_its_place(zitadel, tessera, admin_pat):
    user = add_user(zitadel)
    first = set_metadata(zitadel, user.id, ("colour", b"red"), ("size", b"L"))
    pause()
    set_metadata(zitadel, user.id, ("plan", b"free"))
    pause()
    # One request's entries share a creation time (their order among themselves is the
    # database's, so only the set of them is compared).
    wire = wire_entries(tessera, admin_pat, user.id)
    assert wire["colour"]["creationDate"] == wire["size"]["creationDate"] == wire["colour"]["changeDate"]
    assert wire["plan"]["creationDate"] == wire["plan"]["changeDate"]
    assert parsed(wire["plan"]["creationDate"]) > parsed(wire["colour"]["creationDate"])
    before = found_keys(zitadel, user.id)
    assert before[0] == "plan" and set(before[1:]) == {"colour", "size"}

    # A new value: the value and change date change, the creation date (and so the place in
    # the list) does not, and the other entries are untouched.
    changed = set_metadata(zitadel, user.id, ("colour", b"\xffblue"))
    assert changed.set_date > first.set_date
    assert dict(found(zitadel, user.id)) == {"colour": b"\xffblue", "size": b"L", "plan": b"free"}
    assert found_keys(zitadel, user.id) == before
    after = wire_entries(tessera, admin_pat, user.id)
    assert after["colour"]["creationDate"] == wire["colour"]["creationDate"]
    assert parsed(after["colour"]["changeDate"]) > parsed(wire["colour"]["changeDate"])
    assert {k: after[k] for k in ("size", "plan")} == {k: wire[k] for k in ("size", "plan")}

    # The same value again changes nothing, not even the change date; the answer is the
    # entries' latest change, as ZITADEL answers a write with nothing to do.
    pause()
    again = set_metadata(zitadel, user.id, ("colour", b"\xffblue"), ("size", b"L"))
    assert again.set_date == changed.set_date
    assert wire_entries(tessera, admin_pat, user.id) == after

    # The same key twice in one request: the last value stands.
    set_metadata(zitadel, user.id, ("plan", b"pro"), ("plan", b"team"))
    assert found(zitadel, user.id, by_key("plan")) == [("plan", b"team")]


def test_listed_dates_are_the_set_date(zitadel, tessera, admin_pat):
    """An entry's creation and change dates are exactly the setDate of the request that set it
    (whole milliseconds, as entries are stored)."""
    user = add_user(zitadel)
    set_ = set_metadata(zitadel, user.id, ("a", b"1"))
    pause()
    replaced = set_metadata(zitadel, user.id, ("a", b"2"))
    wire = wire_entries(tessera, admin_pat, user.id)["a"]
    listed = search(zitadel, user.id)  # the client parses the same reply without the dates
    assert [m.to_dict() for m in listed.metadata] == [{"key": "a", "value": b64(b"2")}]

    assert parsed(wire["creationDate"]) == to_millis(set_.set_date)
    assert parsed(wire["changeDate"]) == to_millis(replaced.set_date)
    # Exactly: setDate is already whole milliseconds.
    assert whole_millis(set_.set_date) and whole_millis(replaced.set_date), (set_, replaced)
    assert parsed(wire["creationDate"]) == set_.set_date
    assert parsed(wire["changeDate"]) == replaced.set_date


# ---------------------------------------------------------------------------------------------
# Order, paging and key filters.


def test_newest_first_unless_asc_and_paging_counts_every_entry(zitadel):
    user = add_user(zitadel)
    keys = ["k1", "k2", "k3", "k4"]
    for key in keys:
        set_metadata(zitadel, user.id, (key, key.encode()))
        pause()
    newest_first = list(reversed(keys))

    assert found_keys(zitadel, user.id) == newest_first
    assert found_keys(zitadel, user.id, asc=True) == keys
    assert found_keys(zitadel, user.id, asc=False) == newest_first

    def page(offset, limit=None, asc=None):
        pagination = {k: v for k, v in (("offset", offset), ("limit", limit), ("asc", asc)) if v is not None}
        listed = search(zitadel, user.id, **pagination)
        assert total(listed) == 4, listed
        assert int(listed.pagination.applied_limit) == (limit or 100), listed
        return keys_of(listed)

    assert page(0, 1) == newest_first[:1]
    assert page(1, 2) == newest_first[1:3]
    assert page(3, 2) == newest_first[3:]
    assert page(4, 2) == []
    assert page(10, 1) == []
    assert page(1, 2, asc=True) == keys[1:3]
    assert page(0, 2) + page(2, 2) == newest_first
    assert page(2) == newest_first[2:]
    # The offset is a uint64, which Connect JSON may carry as a string.
    assert page("1", 1) == newest_first[1:2]
    # A filter narrows what the total counts.
    listed = search(zitadel, user.id, by_key("k", STARTS), limit=1, asc=True)
    assert (total(listed), keys_of(listed)) == (4, ["k1"])
    listed = search(zitadel, user.id, by_key("3", ENDS), limit=1)
    assert (total(listed), keys_of(listed)) == (1, ["k3"])


def test_key_filters_with_each_method_anded(zitadel):
    user = add_user(zitadel)
    keys = ["colour", "Country", "city", "a_b", "a%b", "axb"]
    for key in keys:
        set_metadata(zitadel, user.id, (key, key.encode()))
        pause()

    def matching(*filters):
        return found_keys(zitadel, user.id, *filters, asc=True)

    assert matching(by_key("colour", EQUALS)) == ["colour"]
    assert matching(by_key("country", EQUALS)) == []
    assert matching(by_key("country", EQUALS_IC)) == ["Country"]
    assert matching(by_key("COLOUR", EQUALS_IC)) == ["colour"]
    assert matching(by_key("co", STARTS)) == ["colour"]
    assert matching(by_key("co", STARTS_IC)) == ["colour", "Country"]
    assert matching(by_key("t", CONTAINS)) == ["Country", "city"]
    assert matching(by_key("O", CONTAINS)) == []
    assert matching(by_key("O", CONTAINS_IC)) == ["colour", "Country"]
    assert matching(by_key("y", ENDS)) == ["Country", "city"]
    assert matching(by_key("UR", ENDS)) == []
    assert matching(by_key("UR", ENDS_IC)) == ["colour"]
    assert matching(by_key("", CONTAINS)) == keys
    # '_' and '%' are themselves, not wildcards.
    assert matching(by_key("_", CONTAINS)) == ["a_b"]
    assert matching(by_key("a%", STARTS)) == ["a%b"]
    assert matching(by_key("a_b", EQUALS_IC)) == ["a_b"]
    assert matching(by_key("%b", ENDS_IC)) == ["a%b"]

    # AND-ed.
    assert matching(by_key("c", STARTS_IC), by_key("y", ENDS)) == ["Country", "city"]
    assert matching(by_key("c", STARTS_IC), by_key("y", ENDS), by_key("u", CONTAINS)) == ["Country"]
    assert matching(by_key("colour"), by_key("city")) == []
    assert matching(by_key("a", STARTS), by_key("b", ENDS), by_key("x", CONTAINS_IC)) == ["axb"]

    # Nothing matches: no entries, a total of 0 (left out of the JSON).
    listed = search(zitadel, user.id, by_key("nothing"))
    assert listed.metadata in (None, []) and listed.pagination.total_result is None


@pytest.mark.xfail(
    not os.environ.get("TEST_POSTGRES_URL"),
    reason="Tessera on SQLite folds case with SQLite's lower(), which knows only ASCII: a key "
    "filter TEXT_FILTER_METHOD_EQUALS_IGNORE_CASE 'ärger' does not find the key 'Ärger' (it does "
    "on PostgreSQL, as in ZITADEL)",
    strict=True,
)
def test_key_filters_ignore_the_case_of_non_ascii_letters(zitadel):
    """ZITADEL compares case-insensitively in PostgreSQL, for every letter."""
    user = add_user(zitadel)
    set_metadata(zitadel, user.id, ("Ärger", b"1"))
    assert found_keys(zitadel, user.id, by_key("ÄRGER", EQUALS_IC)) == ["Ärger"]
    assert found_keys(zitadel, user.id, by_key("ärger", EQUALS_IC)) == ["Ärger"]
    assert found_keys(zitadel, user.id, by_key("ä", STARTS_IC)) == ["Ärger"]


def test_a_limit_above_zitadels_largest_page_is_refused(zitadel):
    """ZITADEL refuses a limit above its largest page (MaxQueryLimit, 1000 by default):
    invalid argument, QUERY-4M0fs (Errors.Query.LimitExceeded). The client's own docs on
    `limit` say so too."""
    user = add_user(zitadel)
    set_metadata(zitadel, user.id, ("k", b"v"))
    listed = search(zitadel, user.id, limit=1000)
    assert int(listed.pagination.applied_limit) == 1000 and keys_of(listed) == ["k"]
    with pytest.raises(ApiError) as caught:
        search(zitadel, user.id, limit=1001)
    body = body_of(caught.value)
    assert (caught.value.code, body["code"]) == (400, INVALID_ARGUMENT), body
    assert body["message"].endswith("(QUERY-4M0fs)"), body
    # Exactly ZITADEL's error, with or without an offset, filters or order.
    expect_error(lambda: search(zitadel, user.id, limit=1001), *LIMIT_EXCEEDED)
    expect_error(lambda: search(zitadel, user.id, by_key("k"), offset=1, limit=5000, asc=True), *LIMIT_EXCEEDED)
    expect_error(lambda: search(zitadel, user.id, limit=2**32 - 1), *LIMIT_EXCEEDED)
    assert found(zitadel, user.id) == [("k", b"v")]


# ---------------------------------------------------------------------------------------------
# Who may set, list and delete.


def test_a_user_manages_its_own_metadata_through_its_id_token(zitadel, tessera):
    ada, grace = add_user(zitadel), add_user(zitadel)
    set_metadata(zitadel, grace.id, ("theirs", b"\x01"))
    as_ada = as_user(tessera, ada.email)

    set_ = set_metadata(as_ada, ada.id, ("mine", b"\xfe\xff"), ("other", b"x"))
    assert set_.set_date is not None
    assert dict(found(as_ada, ada.id)) == {"mine": b"\xfe\xff", "other": b"x"}
    assert found(as_ada, ada.id, by_key("mi", STARTS)) == [("mine", b"\xfe\xff")]
    # The administrator sees what the user set, and the user what the administrator sets.
    assert dict(found(zitadel, ada.id)) == {"mine": b"\xfe\xff", "other": b"x"}
    set_metadata(zitadel, ada.id, ("by-admin", b"a"))
    assert found(as_ada, ada.id, by_key("by-admin")) == [("by-admin", b"a")]
    assert delete_metadata(as_ada, ada.id, "other", "by-admin").deletion_date is not None
    assert found(as_ada, ada.id) == [("mine", b"\xfe\xff")]

    # Another user's metadata: not to set, list or delete.
    def state():
        return found(zitadel, ada.id), found(zitadel, grace.id)

    before = state()
    expect_error(lambda: set_metadata(as_ada, grace.id, ("theirs", b"\x02")), *DENIED)
    expect_error(lambda: set_metadata(as_ada, grace.id, ("new", b"\x02")), *DENIED)
    expect_error(lambda: search(as_ada, grace.id), *DENIED)
    expect_error(lambda: search(as_ada, grace.id, by_key("theirs")), *DENIED)
    expect_error(lambda: delete_metadata(as_ada, grace.id, "theirs"), *DENIED)
    assert state() == before
    # And the other user is refused the first user's metadata alike.
    as_grace = as_user(tessera, grace.email)
    expect_error(lambda: search(as_grace, ada.id), *DENIED)
    expect_error(lambda: delete_metadata(as_grace, ada.id, "mine"), *DENIED)
    assert found(as_grace, grace.id) == [("theirs", b"\x01")]
    assert state() == before


def test_the_administrator_reaches_users_of_every_organization(zitadel):
    org = zitadel.organizations.add_organization(
        OrganizationServiceAddOrganizationRequest(name=f"Org {uuid.uuid4().hex[:10]}")
    )
    there, here = add_user(zitadel, org_id=org.organization_id), add_user(zitadel)
    assert there.org == org.organization_id != here.org
    set_metadata(zitadel, there.id, ("where", b"there"))
    set_metadata(zitadel, here.id, ("where", b"here"))
    assert found(zitadel, there.id) == [("where", b"there")]
    assert found(zitadel, here.id) == [("where", b"here")]
    delete_metadata(zitadel, there.id, "where")
    assert found(zitadel, there.id) == []
    assert found(zitadel, here.id) == [("where", b"here")]


def test_a_user_signed_up_through_identity_toolkit_has_metadata(zitadel, tessera):
    email = unique_email("md-it")
    reply = requests.post(
        f"{tessera}/v1/accounts:signUp?key=any", json={"email": email, "password": PASSWORD}, timeout=10
    )
    assert reply.status_code == 200, reply.text
    user_id = reply.json()["localId"]
    as_it_user = Zitadel.with_access_token(tessera, reply.json()["idToken"])
    set_metadata(as_it_user, user_id, ("signup", b"\x80"))
    assert found(zitadel, user_id) == [("signup", b"\x80")]
    # A fresh ID token from signing in works the same.
    assert found(Zitadel.with_access_token(tessera, id_token(tessera, email)), user_id) == [("signup", b"\x80")]


def test_a_bad_token_is_unauthenticated(zitadel, tessera):
    user = add_user(zitadel)
    set_metadata(zitadel, user.id, ("k", b"v"))
    stranger = Zitadel.with_access_token(tessera, "not-a-pat")
    for call in (
        lambda: set_metadata(stranger, user.id, ("k", b"w")),
        lambda: search(stranger, user.id),
        lambda: delete_metadata(stranger, user.id, "k"),
    ):
        expect_error(call, 401, UNAUTHENTICATED, "Errors.Token.Invalid", "AUTH-7fs1e")
    assert found(zitadel, user.id) == [("k", b"v")]


# ---------------------------------------------------------------------------------------------
# Refusals, which change nothing.


def entry(key: str, value: bytes) -> UserServiceMetadata:
    return UserServiceMetadata(key=key, value=b64(value))


REFUSED_SETS = [
    pytest.param([], EMPTY, id="no entries"),
    pytest.param([entry("", b"v")], INVALID, id="an empty key"),
    pytest.param([entry("k", b"")], INVALID, id="an empty value"),
    pytest.param([UserServiceMetadata(key="k")], INVALID, id="no value"),
    pytest.param([UserServiceMetadata(value=b64(b"v"))], INVALID, id="no key"),
    pytest.param([entry("k" * (MAX_KEY_CHARS + 1), b"v")], INVALID, id="a key of 201 characters"),
    pytest.param([entry("é" * (MAX_KEY_CHARS + 1), b"v")], INVALID, id="a key of 201 two-byte characters"),
    pytest.param([entry("k", bytes(MAX_VALUE_BYTES + 1))], INVALID, id="a value of 500001 bytes"),
    pytest.param([entry("fine", b"v"), entry("kept", b"")], INVALID, id="a valid entry and an invalid one"),
    pytest.param([entry("kept", b"new"), entry("", b"v")], INVALID, id="a change and an invalid entry"),
]


@pytest.mark.parametrize(("metadata", "refusal"), REFUSED_SETS)
def test_a_refused_set_changes_nothing(zitadel, tessera, admin_pat, metadata, refusal):
    user = add_user(zitadel)
    set_metadata(zitadel, user.id, ("kept", b"\xffold"))
    as_owner = as_user(tessera, user.email)
    before = wire_entries(tessera, admin_pat, user.id)
    request = UserServiceSetUserMetadataRequest(user_id=user.id, metadata=metadata)
    # What the client sends: the entries as they were built (an empty list as one).
    assert request.to_dict()["metadata"] == [m.to_dict() for m in metadata]
    for caller in (zitadel, as_owner):
        expect_error(lambda: caller.users.set_user_metadata(request), *refusal)
    assert wire_entries(tessera, admin_pat, user.id) == before
    assert found(zitadel, user.id) == [("kept", b"\xffold")]


REFUSED_DELETES = [
    pytest.param([], EMPTY, id="no keys"),
    pytest.param([""], KEY_MISSING, id="an empty key"),
    pytest.param(["kept", ""], KEY_MISSING, id="a set key and an empty one"),
    pytest.param(["missing"], KEYS_NOT_SET, id="a key not set"),
    pytest.param(["kept", "missing"], KEYS_NOT_SET, id="a set key and one not set"),
    pytest.param(["kept", "also", "KEPT"], KEYS_NOT_SET, id="a key differing in case"),
]


@pytest.mark.parametrize(("keys", "refusal"), REFUSED_DELETES)
def test_a_refused_delete_removes_nothing(zitadel, tessera, admin_pat, keys, refusal):
    user = add_user(zitadel)
    set_metadata(zitadel, user.id, ("kept", b"\x00"), ("also", b"\x01"))
    as_owner = as_user(tessera, user.email)
    before = wire_entries(tessera, admin_pat, user.id)
    for caller in (zitadel, as_owner):
        expect_error(lambda: delete_metadata(caller, user.id, *keys), *refusal)
    assert wire_entries(tessera, admin_pat, user.id) == before
    assert dict(found(zitadel, user.id)) == {"kept": b"\x00", "also": b"\x01"}


def test_a_key_twice_in_one_delete_removes_it(zitadel):
    user = add_user(zitadel)
    set_metadata(zitadel, user.id, ("a", b"1"), ("b", b"2"))
    delete_metadata(zitadel, user.id, "a", "a")
    assert found(zitadel, user.id) == [("b", b"2")]


def test_an_unknown_user_has_no_metadata_to_set_or_delete(zitadel):
    unknown = f"{uuid.uuid4().int % 10**18}"
    expect_error(lambda: set_metadata(zitadel, unknown, ("k", b"v")), *NO_USER)
    expect_error(lambda: delete_metadata(zitadel, unknown, "k"), *NO_USER)
    # Listing finds nothing, as in ZITADEL.
    assert found(zitadel, unknown) == []


def test_a_deleted_user_takes_its_metadata_with_it(zitadel, tessera):
    user = add_user(zitadel)
    as_owner = as_user(tessera, user.email)
    set_metadata(as_owner, user.id, ("k", b"v"), ("l", b"\xff"))
    zitadel.users.delete_user(UserServiceDeleteUserRequest(user_id=user.id))
    assert found(zitadel, user.id) == []
    expect_error(lambda: set_metadata(zitadel, user.id, ("k", b"v")), *NO_USER)
    expect_error(lambda: delete_metadata(zitadel, user.id, "k"), *NO_USER)


# ---------------------------------------------------------------------------------------------
# Metadata given to AddHumanUser.


def test_add_human_user_sets_the_metadata_it_is_given(zitadel, tessera, admin_pat):
    """AddHumanUser's `metadata` (SetMetadataEntry: key, base64 value) are the new user's
    metadata in ZITADEL."""
    added = zitadel.users.add_human_user(
        UserServiceAddHumanUserRequest(
            profile=UserServiceSetHumanProfile(given_name="Ada", family_name="Lovelace"),
            email=UserServiceSetHumanEmail(email=unique_email("md-add"), is_verified=True),
            metadata=[
                UserServiceSetMetadataEntry(key="plan", value=b64(b"pro")),
                UserServiceSetMetadataEntry(key="bin", value=b64(b"\xff\x00")),
            ],
        )
    )
    assert dict(found(zitadel, added.user_id)) == {"plan": b"pro", "bin": b"\xff\x00"}
    # Created with the user, in one request: one creation time, the user's.
    wire = wire_entries(tessera, admin_pat, added.user_id)
    assert wire["plan"]["creationDate"] == wire["bin"]["creationDate"] == wire["plan"]["changeDate"]
    user = zitadel.users.get_user_by_id(UserServiceGetUserByIDRequest(user_id=added.user_id)).user
    assert parsed(wire["plan"]["creationDate"]) == user.details.creation_date
    # Metadata like any other: deleted as any.
    delete_metadata(zitadel, added.user_id, "plan")
    assert found(zitadel, added.user_id) == [("bin", b"\xff\x00")]


def users_with_email(zitadel: Zitadel, email: str) -> list[str]:
    listed = zitadel.users.list_users(
        UserServiceListUsersRequest(queries=[UserServiceSearchQuery(email_query=UserServiceEmailQuery(email_address=email))])
    )
    return [user.user_id for user in listed.result or []]


REFUSED_NEW_USER_METADATA = [
    pytest.param([UserServiceSetMetadataEntry(key="", value=b64(b"v"))], id="an empty key"),
    pytest.param([UserServiceSetMetadataEntry(key="k", value="")], id="an empty value"),
    pytest.param([UserServiceSetMetadataEntry(key="k")], id="no value"),
    pytest.param(
        [UserServiceSetMetadataEntry(key="k" * (MAX_KEY_CHARS + 1), value=b64(b"v"))], id="a key of 201 characters"
    ),
    pytest.param(
        [UserServiceSetMetadataEntry(key="é" * (MAX_KEY_CHARS + 1), value=b64(b"v"))],
        id="a key of 201 two-byte characters",
    ),
    pytest.param(
        [UserServiceSetMetadataEntry(key="fine", value=b64(b"v")), UserServiceSetMetadataEntry(key="", value=b64(b"v"))],
        id="a valid entry and an invalid one",
    ),
]


@pytest.mark.parametrize("metadata", REFUSED_NEW_USER_METADATA)
def test_add_human_user_with_invalid_metadata_creates_no_user(zitadel, metadata):
    """Invalid metadata refuses the whole AddHumanUser (ZITADEL checks the entries before it
    pushes anything): InvalidArgument, META-2m00f, and no user of the address."""
    email = unique_email("md-bad")
    request = UserServiceAddHumanUserRequest(
        profile=UserServiceSetHumanProfile(given_name="Ada", family_name="Lovelace"),
        email=UserServiceSetHumanEmail(email=email, is_verified=True),
        password=UserServicePassword(password=PASSWORD),
        metadata=metadata,
    )
    expect_error(lambda: zitadel.users.add_human_user(request), *INVALID)
    assert users_with_email(zitadel, email) == []
    # The address is still free, and the user made with it has no metadata.
    request.metadata = None
    added = zitadel.users.add_human_user(request)
    assert users_with_email(zitadel, email) == [added.user_id]
    assert found(zitadel, added.user_id) == []
