"""ListSessions through ZITADEL's official Python client (PyPI `zitadel-client`, Connect JSON),
unmodified: `sessions.list_sessions` (zitadel.session.v2.SessionService/ListSessions) and
`beta_sessions.list_sessions` (v2beta) against sessions made with the client's CreateSession.

Each query kind (idsQuery, userIdQuery, creatorQuery, userAgentQuery, creationDateQuery,
expirationDateQuery with every comparison), queries AND-ed, newest first unless `asc`, paging
with `totalResult` counting every match, and the listed sessions as GetSession shows them.
Who sees what: dev mode's administrator (an IAM_OWNER machine user, through its PAT) every
session of every organization; a user through its own Identity Toolkit ID token only the
sessions of its own user. Refused queries arrive as the client's ApiError with ZITADEL's body,
and change nothing.

The server is the suite's shared one, so every listing that could meet other tests' sessions is
narrowed to this test's own (an idsQuery, or a user made for the test)."""

import time
import uuid
from datetime import timedelta, timezone
from types import SimpleNamespace

import pytest
import requests
from zitadel_client import Zitadel
from zitadel_client.models import (
    BetaSessionServiceIDsQuery,
    BetaSessionServiceListQuery,
    BetaSessionServiceListSessionsRequest,
    BetaSessionServiceSearchQuery,
    BetaSessionServiceUserIDQuery,
    OrganizationServiceAddOrganizationRequest,
    SessionServiceCheckPassword,
    SessionServiceChecks,
    SessionServiceCheckUser,
    SessionServiceCreateSessionRequest,
    SessionServiceCreationDateQuery,
    SessionServiceCreatorQuery,
    SessionServiceDeleteSessionRequest,
    SessionServiceExpirationDateQuery,
    SessionServiceGetSessionRequest,
    SessionServiceHeaderValues,
    SessionServiceIDsQuery,
    SessionServiceListQuery,
    SessionServiceListSessionsRequest,
    SessionServiceSearchQuery,
    SessionServiceSessionFieldName,
    SessionServiceSetSessionRequest,
    SessionServiceTimestampQueryMethod,
    SessionServiceUserAgent,
    SessionServiceUserAgentQuery,
    SessionServiceUserIDQuery,
    UserServiceAddHumanUserRequest,
    UserServiceOrganization,
    UserServicePassword,
    UserServiceSetHumanEmail,
    UserServiceSetHumanProfile,
)

from test_zitadel_client import PASSWORD, expect_error, unique_email

EQUALS = SessionServiceTimestampQueryMethod.TIMESTAMP_QUERY_METHOD_EQUALS
GREATER = SessionServiceTimestampQueryMethod.TIMESTAMP_QUERY_METHOD_GREATER
GREATER_OR_EQUALS = SessionServiceTimestampQueryMethod.TIMESTAMP_QUERY_METHOD_GREATER_OR_EQUALS
LESS = SessionServiceTimestampQueryMethod.TIMESTAMP_QUERY_METHOD_LESS
LESS_OR_EQUALS = SessionServiceTimestampQueryMethod.TIMESTAMP_QUERY_METHOD_LESS_OR_EQUALS
BY_CREATION = SessionServiceSessionFieldName.SESSION_FIELD_NAME_CREATION_DATE

QUERY_INVALID = "List.Query.Invalid"


@pytest.fixture
def zitadel(tessera, admin_pat) -> Zitadel:
    return Zitadel.with_access_token(tessera, admin_pat)


# ---------------------------------------------------------------------------------------------
# Helpers.


def add_user(zitadel: Zitadel, given: str = "Ada", family: str = "Lovelace", org_id: str | None = None):
    """A human with a verified, unique address and a password: id, email, organization."""
    email = unique_email("ls")
    added = zitadel.users.add_human_user(
        UserServiceAddHumanUserRequest(
            organization=UserServiceOrganization(org_id=org_id) if org_id else None,
            profile=UserServiceSetHumanProfile(given_name=given, family_name=family),
            email=UserServiceSetHumanEmail(email=email, is_verified=True),
            password=UserServicePassword(password=PASSWORD),
        )
    )
    return SimpleNamespace(id=added.user_id, email=email, org=added.details.resource_owner)


def create(zitadel: Zitadel, user_id: str | None = None, login_name: str | None = None, **request) -> str:
    """CreateSession checking the user by id or login name (or no check at all) with the other
    fields of `request`; the session's id. Waits a few milliseconds after, so that sessions made
    one after the other have distinct creation dates (shown to the millisecond)."""
    user = None
    if user_id or login_name:
        user = SessionServiceCheckUser(user_id=user_id, login_name=login_name)
    checks = request.pop("checks", None) or (SessionServiceChecks(user=user) if user else None)
    created = zitadel.sessions.create_session(SessionServiceCreateSessionRequest(checks=checks, **request))
    assert created.session_id and created.session_token
    time.sleep(0.005)
    return created.session_id


def search(zitadel: Zitadel, *queries: SessionServiceSearchQuery, **request):
    """ListSessions with `queries` AND-ed and the rest of the request (query, sorting_column)."""
    return zitadel.sessions.list_sessions(
        SessionServiceListSessionsRequest(queries=list(queries) or None, **request)
    )


def total(listed) -> int:
    """details.totalResult: an int64, a string in Connect JSON, left out when it is 0."""
    assert listed.details is not None and listed.details.timestamp is not None, listed
    return int(listed.details.total_result or 0)


def ids_of(listed) -> list[str]:
    return [session.id for session in listed.sessions or []]


def found(zitadel: Zitadel, *queries: SessionServiceSearchQuery, **request) -> list[str]:
    """The ids listed, in order, checked to be every match (no paging): the total counts them."""
    listed = search(zitadel, *queries, **request)
    assert total(listed) == len(ids_of(listed)), listed
    return ids_of(listed)


def by_ids(*ids: str) -> SessionServiceSearchQuery:
    return SessionServiceSearchQuery(ids_query=SessionServiceIDsQuery(ids=list(ids)))


def by_user(user_id: str) -> SessionServiceSearchQuery:
    return SessionServiceSearchQuery(user_id_query=SessionServiceUserIDQuery(id=user_id))


def by_fingerprint(fingerprint_id: str | None) -> SessionServiceSearchQuery:
    return SessionServiceSearchQuery(user_agent_query=SessionServiceUserAgentQuery(fingerprint_id=fingerprint_id))


def by_creator(creator_id: str | None = None) -> SessionServiceSearchQuery:
    return SessionServiceSearchQuery(creator_query=SessionServiceCreatorQuery(id=creator_id))


def created_at(moment, method) -> SessionServiceSearchQuery:
    return SessionServiceSearchQuery(
        creation_date_query=SessionServiceCreationDateQuery(creation_date=moment, method=method)
    )


def expiring_at(moment, method) -> SessionServiceSearchQuery:
    return SessionServiceSearchQuery(
        expiration_date_query=SessionServiceExpirationDateQuery(expiration_date=moment, method=method)
    )


def sessions_by_id(zitadel: Zitadel, *ids: str) -> dict:
    listed = search(zitadel, by_ids(*ids))
    return {session.id: session for session in listed.sessions or []}


def id_token(tessera: str, email: str, password: str = PASSWORD) -> str:
    """An ID token for the user, from Identity Toolkit's accounts:signInWithPassword."""
    reply = requests.post(
        f"{tessera}/v1/accounts:signInWithPassword?key=any",
        json={"email": email, "password": password, "returnSecureToken": True},
        timeout=10,
    )
    assert reply.status_code == 200, reply.text
    return reply.json()["idToken"]


def as_user(tessera: str, email: str) -> Zitadel:
    """The client calling with the user's own ID token as its bearer token."""
    return Zitadel.with_access_token(tessera, id_token(tessera, email))


def fingerprint() -> str:
    return f"fp-{uuid.uuid4().hex[:12]}"


# ---------------------------------------------------------------------------------------------
# What a listed session holds.


def test_a_listed_session_is_what_get_session_shows(zitadel):
    ada, grace = add_user(zitadel), add_user(zitadel, "Grace", "Hopper")
    agent = SessionServiceUserAgent(
        fingerprint_id=fingerprint(),
        ip="203.0.113.7",
        description="Firefox on Linux",
        header={"accept-language": SessionServiceHeaderValues(values=["en", "de"])},
    )
    first = create(zitadel, ada.id, user_agent=agent, metadata={"app": "bG9naW4="}, lifetime="600s")
    second = create(
        zitadel,
        checks=SessionServiceChecks(
            user=SessionServiceCheckUser(login_name=grace.email),
            password=SessionServiceCheckPassword(password=PASSWORD),
        ),
    )
    third = create(zitadel)  # no check: no user

    listed = search(zitadel, by_ids(first, second, third))
    assert total(listed) == 3
    assert ids_of(listed) == [third, second, first]
    # Each one exactly as GetSession shows it.
    for session in listed.sessions:
        got = zitadel.sessions.get_session(SessionServiceGetSessionRequest(session_id=session.id)).session
        assert session.to_dict() == got.to_dict()

    shown_third, shown_second, shown_first = listed.sessions
    user = shown_first.factors.user
    assert (user.id, user.login_name, user.display_name, user.organization_id) == (
        ada.id, ada.email, "Ada Lovelace", ada.org,
    )
    assert user.verified_at is not None
    assert shown_first.factors.password is None
    assert shown_first.metadata == {"app": "bG9naW4="}
    assert shown_first.user_agent.to_dict() == agent.to_dict()
    assert shown_first.expiration_date - shown_first.creation_date == timedelta(seconds=600)
    assert shown_first.change_date >= shown_first.creation_date
    assert int(shown_first.sequence) >= 1

    assert (shown_second.factors.user.id, shown_second.factors.user.login_name) == (grace.id, grace.email)
    assert shown_second.factors.user.display_name == "Grace Hopper"
    assert shown_second.factors.password.verified_at is not None
    assert shown_second.expiration_date is None
    assert shown_second.metadata in (None, {})
    assert shown_third.factors is None or shown_third.factors.user is None
    assert shown_third.expiration_date is None
    assert shown_first.creation_date < shown_second.creation_date < shown_third.creation_date

    # A change shows in the next listing: the new factor, a later change date, a new sequence.
    zitadel.sessions.set_session(
        SessionServiceSetSessionRequest(
            session_id=first, checks=SessionServiceChecks(password=SessionServiceCheckPassword(password=PASSWORD))
        )
    )
    [changed] = search(zitadel, by_ids(first)).sessions
    assert changed.factors.password.verified_at is not None
    assert changed.change_date > shown_first.change_date
    assert int(changed.sequence) > int(shown_first.sequence)
    assert changed.creation_date == shown_first.creation_date
    assert changed.user_agent.to_dict() == agent.to_dict()

    # A deleted session is no longer listed.
    zitadel.sessions.delete_session(SessionServiceDeleteSessionRequest(session_id=second))
    assert found(zitadel, by_ids(first, second, third)) == [third, first]


def test_newest_first_unless_asc_and_paging_counts_every_match(zitadel):
    user = add_user(zitadel)
    ids = [create(zitadel, user.id) for _ in range(4)]
    newest_first = list(reversed(ids))
    mine = by_ids(*ids)

    assert found(zitadel, mine) == newest_first
    assert found(zitadel, by_user(user.id)) == newest_first
    assert found(zitadel, mine, sorting_column=BY_CREATION) == newest_first
    assert found(zitadel, mine, sorting_column=BY_CREATION, query=SessionServiceListQuery(asc=True)) == ids
    assert found(zitadel, mine, query=SessionServiceListQuery(asc=True)) == ids
    assert found(zitadel, mine, sorting_column=BY_CREATION, query=SessionServiceListQuery(asc=False)) == newest_first

    # Pages: the total counts every match, whichever page is shown.
    def page(offset, limit, asc=False):
        listed = search(
            zitadel, mine, sorting_column=BY_CREATION,
            query=SessionServiceListQuery(offset=offset, limit=limit, asc=asc),
        )
        assert total(listed) == 4, listed
        return ids_of(listed)

    assert page(0, 1) == newest_first[:1]
    assert page(1, 2) == newest_first[1:3]
    assert page(3, 2) == newest_first[3:]
    assert page(4, 2) == []
    assert page(10, 1) == []
    assert page(1, 2, asc=True) == ids[1:3]
    assert page(0, 2) + page(2, 2) == newest_first
    # The offset is an int64, which Connect JSON may carry as a string.
    assert page("2", 1) == newest_first[2:3]
    # No limit: ZITADEL's default page, here everything.
    assert page(1, None) == newest_first[1:]


# ---------------------------------------------------------------------------------------------
# Each query kind, AND-ed.


def test_user_fingerprint_ids_and_creator_queries_are_anded(zitadel):
    ada, grace = add_user(zitadel), add_user(zitadel, "Grace", "Hopper")
    fp_a, fp_b = fingerprint(), fingerprint()
    ada_a = create(zitadel, ada.id, user_agent=SessionServiceUserAgent(fingerprint_id=fp_a))
    ada_b = create(zitadel, login_name=ada.email, user_agent=SessionServiceUserAgent(fingerprint_id=fp_b, ip="198.51.100.1"))
    ada_none = create(zitadel, ada.id)
    grace_a = create(zitadel, grace.id, user_agent=SessionServiceUserAgent(fingerprint_id=fp_a, description="Safari"))
    nobody_b = create(zitadel, user_agent=SessionServiceUserAgent(fingerprint_id=fp_b))
    everything = [ada_a, ada_b, ada_none, grace_a, nobody_b]
    mine = by_ids(*everything)

    # One query at a time (the users and fingerprints are this test's own).
    assert found(zitadel, mine) == list(reversed(everything))
    assert found(zitadel, by_user(ada.id)) == [ada_none, ada_b, ada_a]
    assert found(zitadel, by_user(grace.id)) == [grace_a]
    assert found(zitadel, by_fingerprint(fp_a)) == [grace_a, ada_a]
    assert found(zitadel, by_fingerprint(fp_b)) == [nobody_b, ada_b]
    assert found(zitadel, by_ids(ada_b, grace_a)) == [grace_a, ada_b]
    assert found(zitadel, by_ids(ada_b, ada_b)) == [ada_b]

    # AND-ed.
    assert found(zitadel, by_user(ada.id), by_fingerprint(fp_a)) == [ada_a]
    assert found(zitadel, by_user(ada.id), by_fingerprint(fp_b)) == [ada_b]
    assert found(zitadel, by_user(grace.id), by_fingerprint(fp_b)) == []
    assert found(zitadel, by_ids(ada_a, grace_a, nobody_b), by_fingerprint(fp_a)) == [grace_a, ada_a]
    assert found(zitadel, by_ids(ada_a, grace_a, nobody_b), by_fingerprint(fp_a), by_user(grace.id)) == [grace_a]
    assert found(zitadel, by_user(ada.id), by_user(grace.id)) == []
    assert found(zitadel, by_ids(ada_a), by_ids(grace_a)) == []

    # Nothing matches: no sessions, a total of 0.
    assert found(zitadel, by_user(f"no-user-{uuid.uuid4().hex[:8]}")) == []
    assert found(zitadel, by_fingerprint(fingerprint())) == []
    assert found(zitadel, by_ids(f"no-session-{uuid.uuid4().hex[:8]}")) == []
    assert found(zitadel, by_ids()) == []

    # A creator query without an id: the caller's own, which here are all of them (the
    # administrator created them); with another user's id, none (that user created none).
    assert found(zitadel, mine, by_creator()) == list(reversed(everything))
    assert found(zitadel, mine, by_creator(ada.id)) == []
    assert found(zitadel, by_creator(ada.id)) == []


def test_creation_date_query_compares_with_each_method(zitadel):
    user = add_user(zitadel)
    first, second, third = (create(zitadel, user.id) for _ in range(3))
    mine = by_ids(first, second, third)
    listed = sessions_by_id(zitadel, first, second, third)
    at = listed[second].creation_date
    assert listed[first].creation_date < at < listed[third].creation_date

    assert found(zitadel, mine, created_at(at, EQUALS)) == [second]
    assert found(zitadel, mine, created_at(at, GREATER)) == [third]
    assert found(zitadel, mine, created_at(at, GREATER_OR_EQUALS)) == [third, second]
    assert found(zitadel, mine, created_at(at, LESS)) == [first]
    assert found(zitadel, mine, created_at(at, LESS_OR_EQUALS)) == [second, first]
    # With the user query instead of ids, and in ascending order.
    assert found(
        zitadel, by_user(user.id), created_at(at, GREATER_OR_EQUALS), query=SessionServiceListQuery(asc=True)
    ) == [second, third]
    # A millisecond off is another time.
    assert found(zitadel, mine, created_at(at + timedelta(milliseconds=1), EQUALS)) == []
    assert found(zitadel, mine, created_at(at - timedelta(milliseconds=1), GREATER)) == [third, second]
    # The same instant in another zone (the client sends its offset, not Z) is the same time.
    elsewhere = at.astimezone(timezone(timedelta(hours=2)))
    assert created_at(elsewhere, EQUALS).to_dict()["creationDateQuery"]["creationDate"].utcoffset() == timedelta(hours=2)
    assert found(zitadel, mine, created_at(elsewhere, EQUALS)) == [second]
    assert found(zitadel, mine, created_at(at.astimezone(timezone(timedelta(hours=-5, minutes=-30))), LESS)) == [first]


def test_a_time_between_two_milliseconds_is_compared_exactly(zitadel):
    """Creation dates are shown to the millisecond; a query time 0.5 ms after one is after it, as
    ZITADEL compares timestamps exactly: the session was created before it, not at or after it."""
    session = create(zitadel, add_user(zitadel).id)
    [shown] = search(zitadel, by_ids(session)).sessions
    assert shown.creation_date.microsecond % 1000 == 0
    between = shown.creation_date + timedelta(microseconds=500)
    got = {m: found(zitadel, by_ids(session), created_at(between, m)) for m in (EQUALS, GREATER_OR_EQUALS, LESS)}
    assert got == {EQUALS: [], GREATER_OR_EQUALS: [], LESS: [session]}


def test_expiration_date_query_and_sessions_that_never_or_already_expired(zitadel):
    user = add_user(zitadel)
    short = create(zitadel, user.id, lifetime="1s")
    medium = create(zitadel, user.id, lifetime="600s")
    long_ = create(zitadel, user.id, lifetime="1200s")
    forever = create(zitadel, user.id)
    everything = [short, medium, long_, forever]
    mine = by_ids(*everything)
    time.sleep(1.2)

    # The expired session is still listed; the one without a lifetime has no expiration date.
    listed = search(zitadel, mine)
    assert ids_of(listed) == list(reversed(everything))
    sessions = {session.id: session for session in listed.sessions}
    now = listed.details.timestamp
    assert sessions[short].expiration_date < now
    assert sessions[short].expiration_date - sessions[short].creation_date == timedelta(seconds=1)
    assert sessions[medium].expiration_date - sessions[medium].creation_date == timedelta(seconds=600)
    assert sessions[long_].expiration_date - sessions[long_].creation_date == timedelta(seconds=1200)
    assert sessions[forever].expiration_date is None
    assert found(zitadel, by_user(user.id)) == list(reversed(everything))

    # Later than (or at) a time: sessions without an expiry too, as they never expire.
    assert found(zitadel, mine, expiring_at(now, GREATER_OR_EQUALS)) == [forever, long_, medium]
    assert found(zitadel, mine, expiring_at(now, GREATER)) == [forever, long_, medium]
    at = sessions[medium].expiration_date
    assert found(zitadel, mine, expiring_at(at, GREATER)) == [forever, long_]
    assert found(zitadel, mine, expiring_at(at, GREATER_OR_EQUALS)) == [forever, long_, medium]
    far = now + timedelta(days=3650)
    assert found(zitadel, mine, expiring_at(far, GREATER)) == [forever]
    assert found(zitadel, mine, expiring_at(far, GREATER_OR_EQUALS)) == [forever]

    # Earlier than (or at), or at exactly, a time: only sessions that do expire.
    assert found(zitadel, mine, expiring_at(at, EQUALS)) == [medium]
    assert found(zitadel, mine, expiring_at(at, LESS)) == [short]
    assert found(zitadel, mine, expiring_at(at, LESS_OR_EQUALS)) == [medium, short]
    assert found(zitadel, mine, expiring_at(now, LESS)) == [short]
    assert found(zitadel, mine, expiring_at(far, LESS)) == [long_, medium, short]
    assert found(zitadel, mine, expiring_at(far, LESS_OR_EQUALS)) == [long_, medium, short]
    assert found(zitadel, mine, expiring_at(far, EQUALS)) == []

    # AND-ed with a creation date query: the expired one, made first, is left out.
    made = sessions[medium].creation_date
    assert found(zitadel, mine, created_at(made, GREATER_OR_EQUALS), expiring_at(now, LESS_OR_EQUALS)) == []
    assert found(zitadel, mine, created_at(made, GREATER_OR_EQUALS), expiring_at(now, GREATER)) == [forever, long_, medium]


# ---------------------------------------------------------------------------------------------
# Who sees which sessions.


def test_the_administrator_sees_every_organizations_sessions(zitadel):
    org = zitadel.organizations.add_organization(
        OrganizationServiceAddOrganizationRequest(name=f"Org {uuid.uuid4().hex[:10]}")
    )
    there = add_user(zitadel, "Hank", "Scorpio", org_id=org.organization_id)
    here = add_user(zitadel)
    assert there.org == org.organization_id != here.org
    theirs, ours = create(zitadel, there.id), create(zitadel, login_name=here.email)

    listed = search(zitadel, by_ids(theirs, ours))
    assert (total(listed), ids_of(listed)) == (2, [ours, theirs])
    shown = {session.id: session.factors.user for session in listed.sessions}
    assert (shown[theirs].id, shown[theirs].organization_id) == (there.id, org.organization_id)
    assert (shown[ours].id, shown[ours].organization_id) == (here.id, here.org)
    assert found(zitadel, by_user(there.id)) == [theirs]


def test_a_user_sees_only_its_own_sessions_through_its_id_token(zitadel, tessera):
    ada, grace = add_user(zitadel), add_user(zitadel, "Grace", "Hopper")
    adas = [create(zitadel, ada.id), create(zitadel, login_name=ada.email, lifetime="600s")]
    graces = [create(zitadel, grace.id, user_agent=SessionServiceUserAgent(fingerprint_id=fingerprint()))]
    nobodys = create(zitadel)
    everything = [*adas, *graces, nobodys]
    mine = by_ids(*everything)
    as_ada, as_grace = as_user(tessera, ada.email), as_user(tessera, grace.email)

    # Without a query, and with the ids of every session: its own user's, and the total counts
    # only those.
    assert found(as_ada) == list(reversed(adas))
    assert found(as_ada, mine) == list(reversed(adas))
    assert found(as_grace) == graces
    assert found(as_grace, mine) == graces
    # The administrator sees them all.
    assert found(zitadel, mine) == list(reversed(everything))

    # Another user's sessions are not found even by name.
    assert found(as_ada, by_user(grace.id)) == []
    assert found(as_ada, by_ids(*graces, nobodys)) == []
    assert found(as_ada, by_user(ada.id)) == list(reversed(adas))
    # The user created none of them: its creator query finds none.
    assert found(as_ada, by_creator()) == []
    assert found(as_ada, mine, by_creator()) == []

    # The user sees its sessions as the administrator does.
    admins_view = sessions_by_id(zitadel, *adas)
    assert [s.to_dict() for s in search(as_ada, mine).sessions] == [admins_view[i].to_dict() for i in reversed(adas)]

    # Paging counts only what the user sees.
    listed = search(as_ada, mine, query=SessionServiceListQuery(limit=1, asc=True))
    assert (total(listed), ids_of(listed)) == (2, adas[:1])

    # A deleted session is gone for the user too.
    zitadel.sessions.delete_session(SessionServiceDeleteSessionRequest(session_id=adas[0]))
    assert found(as_ada) == adas[1:]
    assert found(as_grace) == graces


def test_a_user_signed_up_through_identity_toolkit_sees_its_sessions(zitadel, tessera):
    email = unique_email("ls-it")
    reply = requests.post(
        f"{tessera}/v1/accounts:signUp?key=any", json={"email": email, "password": PASSWORD}, timeout=10
    )
    assert reply.status_code == 200, reply.text
    user_id = reply.json()["localId"]
    session = create(zitadel, user_id)
    other = create(zitadel, add_user(zitadel).id)

    as_it_user = Zitadel.with_access_token(tessera, reply.json()["idToken"])
    listed = search(as_it_user)
    assert (total(listed), ids_of(listed)) == (1, [session])
    assert (listed.sessions[0].factors.user.id, listed.sessions[0].factors.user.login_name) == (user_id, email)
    assert found(as_it_user, by_ids(session, other)) == [session]


# ---------------------------------------------------------------------------------------------
# v2beta.


def test_the_beta_service_lists_the_same_sessions(zitadel):
    """`beta_sessions.list_sessions` calls zitadel.session.v2beta.SessionService/ListSessions,
    whose queries are v2's idsQuery, userIdQuery and creationDateQuery."""
    user = add_user(zitadel)
    first = create(zitadel, user.id, user_agent=SessionServiceUserAgent(fingerprint_id=fingerprint()), lifetime="600s")
    second = create(zitadel, login_name=user.email)
    listed = zitadel.beta_sessions.list_sessions(
        BetaSessionServiceListSessionsRequest(
            queries=[
                BetaSessionServiceSearchQuery(ids_query=BetaSessionServiceIDsQuery(ids=[first, second])),
                BetaSessionServiceSearchQuery(user_id_query=BetaSessionServiceUserIDQuery(id=user.id)),
            ]
        )
    )
    assert int(listed.details.total_result) == 2
    assert [session.id for session in listed.sessions] == [second, first]
    v2 = search(zitadel, by_ids(first, second)).sessions
    assert [s.to_dict() for s in listed.sessions] == [s.to_dict() for s in v2]

    page = zitadel.beta_sessions.list_sessions(
        BetaSessionServiceListSessionsRequest(
            query=BetaSessionServiceListQuery(limit=1, asc=True),
            queries=[BetaSessionServiceSearchQuery(user_id_query=BetaSessionServiceUserIDQuery(id=user.id))],
        )
    )
    assert (int(page.details.total_result), [s.id for s in page.sessions]) == (2, [first])


# ---------------------------------------------------------------------------------------------
# Refusals.


REFUSED = [
    pytest.param(SessionServiceSearchQuery(), "GRPC-Sfefs", id="a query that sets nothing"),
    pytest.param(by_creator(""), "GRPC-x8n24uh", id="creatorQuery with an empty id"),
    pytest.param(by_fingerprint(None), "GRPC-x8n23uh", id="userAgentQuery without fingerprintId"),
    pytest.param(by_fingerprint(""), "GRPC-x8n23uh", id="userAgentQuery with an empty fingerprintId"),
]


@pytest.mark.parametrize(("refused", "error_id"), REFUSED)
def test_a_refused_query_is_invalid_argument_and_changes_nothing(zitadel, tessera, refused, error_id):
    user = add_user(zitadel)
    fp = fingerprint()
    ids = [create(zitadel, user.id, user_agent=SessionServiceUserAgent(fingerprint_id=fp), lifetime="600s"), create(zitadel)]
    as_owner = as_user(tessera, user.email)
    # What the client sends: the query as it was built, nothing set that was not.
    sent = SessionServiceListSessionsRequest(queries=[refused]).to_dict()["queries"]
    assert sent == [refused.to_dict()] and len(sent[0]) <= 1, sent

    def state():
        return (
            [s.to_dict() for s in search(zitadel, by_ids(*ids)).sessions],
            found(zitadel, by_fingerprint(fp)),
            found(as_owner),
        )

    before = state()
    assert before[1] == before[2] == ids[:1]
    for caller in (zitadel, as_owner):
        # Alone, after a valid query, and before one: the one refused query refuses the call.
        for queries in ([refused], [by_ids(*ids), refused], [refused, by_user(user.id)]):
            expect_error(lambda: search(caller, *queries), 400, "invalid_argument", QUERY_INVALID, error_id)
    assert state() == before


def test_too_many_ids_are_refused_and_change_nothing(zitadel):
    """Tessera's bound on one search's terms (1000, as in ListUsers): Errors.Request.Invalid."""
    session = create(zitadel, add_user(zitadel).id)
    before = [s.to_dict() for s in search(zitadel, by_ids(session)).sessions]
    expect_error(
        lambda: search(zitadel, by_ids(session, *(str(i) for i in range(1000)))),
        400, "invalid_argument", "Errors.Request.Invalid", "TESSERA-REQ01",
    )
    assert [s.to_dict() for s in search(zitadel, by_ids(session)).sessions] == before


def test_a_bad_token_is_unauthenticated(zitadel, tessera):
    session = create(zitadel, add_user(zitadel).id)
    before = [s.to_dict() for s in search(zitadel, by_ids(session)).sessions]
    stranger = Zitadel.with_access_token(tessera, "not-a-pat")
    expect_error(
        lambda: search(stranger, by_ids(session)), 401, "unauthenticated", "Errors.Token.Invalid", "AUTH-7fs1e"
    )
    assert [s.to_dict() for s in search(zitadel, by_ids(session)).sessions] == before
