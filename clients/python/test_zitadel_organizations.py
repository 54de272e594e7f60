"""The organization service v2's `list_organizations` (zitadel.org.v2.OrganizationService
ListOrganizations) through ZITADEL's official Python client (PyPI `zitadel-client`, Connect
JSON), unmodified.

The organizations are the project's: its own (ZITADEL's default organization, named after the
project) and each made with AddOrganization (named as given); each active, without a primary
domain, its own resource owner. Queries are AND-ed: name (the eight text methods, the
*_IGNORE_CASE ones folding case), id, state (ACTIVE matches all, any other state none), default
(the project's own), domain (nothing: organizations here have no domains).
ORGANIZATION_FIELD_NAME_NAME sorts by name (byte order), anything else by id; `query.asc`
ascends (without it, descending, as ZITADEL orders), offset and limit page, and
`details.totalResult` counts every match (left out of the JSON, so None here, when 0).

Who sees what: the instance owner (dev mode's PAT, an IAM_OWNER machine user) every one; a
machine user of an organization (any role) only its own; a user with its own Identity Toolkit
ID token none.

The module runs on a server of its own (`own_tessera`), so the full list is exactly the
project's organization and the four made here; the query tests still keep to this module's
organizations by their common suffix."""

import uuid
from types import SimpleNamespace

import pytest
from zitadel_client import Zitadel
from zitadel_client.models import (
    OrganizationServiceAddOrganizationRequest,
    OrganizationServiceListOrganizationsRequest,
    OrganizationServiceListQuery,
    OrganizationServiceOrganizationDomainQuery,
    OrganizationServiceOrganizationFieldName,
    OrganizationServiceOrganizationIDQuery,
    OrganizationServiceOrganizationNameQuery,
    OrganizationServiceOrganizationState,
    OrganizationServiceOrganizationStateQuery,
    OrganizationServiceSearchQuery,
    OrganizationServiceTextQueryMethod as Method,
    UserServiceAddHumanUserRequest,
    UserServicePassword,
    UserServiceSetHumanEmail,
    UserServiceSetHumanProfile,
)

from conftest import PROJECT
from test_zitadel_client import PASSWORD, unique_email
from test_zitadel_sessions import id_token

ORG_ROLES = ["ORG_OWNER", "ORG_USER_MANAGER", "ORG_OWNER_VIEWER"]
ACTIVE = OrganizationServiceOrganizationState.ORGANIZATION_STATE_ACTIVE
BY_NAME = OrganizationServiceOrganizationFieldName.ORGANIZATION_FIELD_NAME_NAME
# Every organization made here ends with it (lowercase hex: its case matters to the queries).
SUFFIX = uuid.uuid4().hex[:12]


def name_query(name: str, method: Method = Method.TEXT_QUERY_METHOD_EQUALS) -> OrganizationServiceSearchQuery:
    return OrganizationServiceSearchQuery(name_query=OrganizationServiceOrganizationNameQuery(name=name, method=method))


def id_query(org_id: str) -> OrganizationServiceSearchQuery:
    return OrganizationServiceSearchQuery(id_query=OrganizationServiceOrganizationIDQuery(id=org_id))


def state_query(state: OrganizationServiceOrganizationState) -> OrganizationServiceSearchQuery:
    return OrganizationServiceSearchQuery(state_query=OrganizationServiceOrganizationStateQuery(state=state))


def domain_query(domain: str, method: Method) -> OrganizationServiceSearchQuery:
    return OrganizationServiceSearchQuery(domain_query=OrganizationServiceOrganizationDomainQuery(domain=domain, method=method))


DEFAULT = OrganizationServiceSearchQuery(default_query={})
# This module's organizations.
OURS = name_query(f" {SUFFIX}", Method.TEXT_QUERY_METHOD_ENDS_WITH)


def by_name(orgs) -> list:
    return sorted(orgs, key=lambda org: (org.name.encode(), org.id.encode()))


def by_id(orgs) -> list:
    return sorted(orgs, key=lambda org: org.id.encode())


def listed(org) -> dict:
    """What an organization is listed as: active, no domain, its own resource owner."""
    return {"id": org.id, "name": org.name, "state": ACTIVE, "primaryDomain": "", "resourceOwner": org.id}


def search(zitadel: Zitadel, queries=None, sorting=None, **page) -> tuple[int, list[dict]]:
    """ListOrganizations: (totalResult, the organizations as `listed` has them); `page` is the
    ListQuery (offset, limit, asc)."""
    response = zitadel.organizations.list_organizations(
        OrganizationServiceListOrganizationsRequest(
            queries=queries,
            sorting_column=sorting,
            query=OrganizationServiceListQuery(**page) if page else None,
        )
    )
    assert response.details is not None, response
    # The sorting column is echoed (UNSPECIFIED, proto3 JSON's default, is left out).
    unspecified = OrganizationServiceOrganizationFieldName.ORGANIZATION_FIELD_NAME_UNSPECIFIED
    assert (response.sorting_column or unspecified) == (sorting or unspecified), response
    orgs = [
        {
            "id": org.id,
            "name": org.name,
            "state": org.state,
            "primaryDomain": org.primary_domain or "",
            "resourceOwner": org.details.resource_owner if org.details else None,
        }
        for org in response.result or []
    ]
    return int(response.details.total_result or 0), orgs


def expect(zitadel: Zitadel, orgs, queries=None, sorting=None, **page) -> None:
    """The search lists exactly `orgs`, in that order, and counts them all."""
    assert search(zitadel, queries, sorting, **page) == (len(orgs), [listed(org) for org in orgs])


@pytest.fixture(scope="module")
def world(own_tessera):
    """The project's organization (`instance`), four more (`globex`, `labs`, `initech`,
    `uberwald`; `ours`, the four), the administrator's client, machine users (`iam_owner` and
    `instance_owner` of the project's organization; `globex_machines`, role → client) and a
    human user's address (`ada`)."""
    server = own_tessera
    zitadel = server.zitadel
    ada = unique_email("organizations")
    added = zitadel.users.add_human_user(
        UserServiceAddHumanUserRequest(
            profile=UserServiceSetHumanProfile(given_name="Ada", family_name="Lovelace"),
            email=UserServiceSetHumanEmail(email=ada, is_verified=True),
            password=UserServicePassword(password=PASSWORD),
        )
    )
    instance = SimpleNamespace(id=added.details.resource_owner, name=PROJECT)
    assert instance.id and instance.id.isdigit(), added

    def organization(prefix: str) -> SimpleNamespace:
        name = f"{prefix} {SUFFIX}"
        org = zitadel.organizations.add_organization(OrganizationServiceAddOrganizationRequest(name=name))
        assert org.organization_id.isdigit(), org
        return SimpleNamespace(id=org.organization_id, name=name)

    globex, labs, initech, uberwald = (organization(p) for p in ["Globex", "globex-Labs", "Initech", "Überwald"])

    def machine(org: str, role: str) -> Zitadel:
        user_id = server.admin("create-machine-user", org, f"{role.lower()}-{uuid.uuid4().hex[:8]}", "--role", role)
        assert user_id.isdigit(), user_id
        return Zitadel.with_access_token(server.base, server.admin("create-pat", user_id))

    return SimpleNamespace(
        server=server,
        zitadel=zitadel,
        instance=instance,
        globex=globex,
        labs=labs,
        initech=initech,
        uberwald=uberwald,
        ours=[globex, labs, initech, uberwald],
        everyone=[instance, globex, labs, initech, uberwald],
        iam_owner=machine(instance.id, "IAM_OWNER"),
        instance_owner=machine(instance.id, "ORG_OWNER"),
        globex_machines={role: machine(globex.id, role) for role in ORG_ROLES},
        ada=ada,
    )


def test_no_queries_list_the_projects_organization_and_every_one_added_by_id_descending_without_asc(world):
    expect(world.zitadel, list(reversed(by_id(world.everyone))))
    expect(world.zitadel, by_id(world.everyone), asc=True)
    response = world.zitadel.organizations.list_organizations(OrganizationServiceListOrganizationsRequest(queries=[id_query(world.globex.id)]))
    assert response.result[0].details.change_date and response.result[0].details.creation_date, response


# (method, name, the organizations of `world` it finds by their attribute names)
NAME_CASES = [
    (Method.TEXT_QUERY_METHOD_EQUALS, f"Globex {SUFFIX}", ["globex"]),
    (Method.TEXT_QUERY_METHOD_EQUALS, f"globex {SUFFIX}", []),
    (Method.TEXT_QUERY_METHOD_EQUALS, "Globex", []),
    (Method.TEXT_QUERY_METHOD_EQUALS_IGNORE_CASE, f"gLOBEX {SUFFIX.upper()}", ["globex"]),
    (Method.TEXT_QUERY_METHOD_EQUALS_IGNORE_CASE, f"üBERWALD {SUFFIX.upper()}", ["uberwald"]),
    (Method.TEXT_QUERY_METHOD_STARTS_WITH, "Globex", ["globex"]),
    (Method.TEXT_QUERY_METHOD_STARTS_WITH, "globex", ["labs"]),
    (Method.TEXT_QUERY_METHOD_STARTS_WITH_IGNORE_CASE, "GLOBEX", ["globex", "labs"]),
    (Method.TEXT_QUERY_METHOD_STARTS_WITH_IGNORE_CASE, "üBER", ["uberwald"]),
    (Method.TEXT_QUERY_METHOD_CONTAINS, "Lab", ["labs"]),
    (Method.TEXT_QUERY_METHOD_CONTAINS, "LAB", []),
    (Method.TEXT_QUERY_METHOD_CONTAINS, "_", []),  # literal text: no LIKE wildcards
    (Method.TEXT_QUERY_METHOD_CONTAINS, "%", []),
    (Method.TEXT_QUERY_METHOD_CONTAINS_IGNORE_CASE, "LAB", ["labs"]),
    (Method.TEXT_QUERY_METHOD_CONTAINS_IGNORE_CASE, "EX", ["globex", "labs"]),
    (Method.TEXT_QUERY_METHOD_ENDS_WITH, f"Labs {SUFFIX}", ["labs"]),
    (Method.TEXT_QUERY_METHOD_ENDS_WITH, f"LABS {SUFFIX}", []),
    (Method.TEXT_QUERY_METHOD_ENDS_WITH, SUFFIX, ["globex", "labs", "initech", "uberwald"]),
    (Method.TEXT_QUERY_METHOD_ENDS_WITH_IGNORE_CASE, f"LABS {SUFFIX.upper()}", ["labs"]),
    (Method.TEXT_QUERY_METHOD_ENDS_WITH_IGNORE_CASE, f"WALD {SUFFIX.upper()}", ["uberwald"]),
]


@pytest.mark.parametrize(("method", "name", "found"), NAME_CASES, ids=[f"{m.value}-{n}" for m, n, _ in NAME_CASES])
def test_name_query_by_each_text_method(world, method, name, found):
    expected = by_name(getattr(world, attr) for attr in found)
    expect(world.zitadel, expected, [OURS, name_query(name, method)], BY_NAME, asc=True)


def test_the_projects_organization_is_named_after_the_project(world):
    expect(world.zitadel, [world.instance], [name_query(PROJECT)])
    expect(world.zitadel, [world.instance], [name_query(PROJECT.upper(), Method.TEXT_QUERY_METHOD_EQUALS_IGNORE_CASE)])


def test_id_state_default_and_domain_queries_and_their_and(world):
    z, globex = world.zitadel, world.globex
    expect(z, [globex], [id_query(globex.id)])
    expect(z, [world.instance], [id_query(world.instance.id)])
    expect(z, [], [id_query("404")])
    expect(z, by_id(world.ours), [OURS, state_query(ACTIVE)], asc=True)
    for state in ["INACTIVE", "REMOVED", "UNSPECIFIED"]:
        expect(z, [], [state_query(OrganizationServiceOrganizationState(f"ORGANIZATION_STATE_{state}"))])
    expect(z, [world.instance], [DEFAULT])
    expect(z, [world.instance], [DEFAULT, state_query(ACTIVE)])
    expect(z, [], [DEFAULT, OURS])
    expect(z, [], [DEFAULT, id_query(globex.id)])
    for domain, method in [
        ("localhost", Method.TEXT_QUERY_METHOD_EQUALS),
        ("", Method.TEXT_QUERY_METHOD_CONTAINS),
        (f"globex-{SUFFIX}", Method.TEXT_QUERY_METHOD_CONTAINS_IGNORE_CASE),
    ]:
        expect(z, [], [domain_query(domain, method)])
    expect(z, [globex], [id_query(globex.id), name_query("Globex", Method.TEXT_QUERY_METHOD_STARTS_WITH)])
    expect(z, [], [id_query(globex.id), name_query("Initech", Method.TEXT_QUERY_METHOD_STARTS_WITH)])
    expect(z, [], [id_query(globex.id), id_query(world.initech.id)])


def test_sorting_by_name_in_byte_order_else_by_id(world):
    z = world.zitadel
    names = [org.name for org in by_name(world.everyone)]
    assert names == [world.globex.name, world.initech.name, PROJECT, world.labs.name, world.uberwald.name]
    expect(z, by_name(world.everyone), sorting=BY_NAME, asc=True)
    expect(z, list(reversed(by_name(world.everyone))), sorting=BY_NAME)
    expect(z, by_name(world.ours), [OURS], BY_NAME, asc=True)
    expect(z, by_id(world.everyone), sorting=OrganizationServiceOrganizationFieldName.ORGANIZATION_FIELD_NAME_UNSPECIFIED, asc=True)


def test_offset_and_limit_page_and_total_result_counts_every_match(world):
    everyone = [listed(org) for org in by_name(world.everyone)]
    page = lambda offset, limit: search(world.zitadel, sorting=BY_NAME, asc=True, offset=offset, limit=limit)  # noqa: E731
    assert page(0, 2) == (5, everyone[:2])
    assert page(2, 2) == (5, everyone[2:4])
    assert page(4, 2) == (5, everyone[4:])
    assert page(1, 0) == (5, everyone[1:]), "limit 0: the default page"
    assert page(5, 10) == (5, [])
    assert page(99, 1) == (5, [])
    descending = [listed(org) for org in reversed(by_id(world.ours))]
    assert search(world.zitadel, [OURS], offset=1, limit=2) == (4, descending[1:3])


def test_the_instance_owners_machine_user_sees_every_organization(world):
    expect(world.iam_owner, by_id(world.everyone), asc=True)


def test_an_org_owner_of_the_projects_organization_sees_only_it(world):
    owner = world.instance_owner
    expect(owner, [world.instance])
    expect(owner, [world.instance], [DEFAULT])
    expect(owner, [], [id_query(world.globex.id)])


@pytest.mark.parametrize("role", ORG_ROLES)
def test_a_machine_user_of_an_added_organization_sees_only_its_own(world, role):
    theirs = world.globex_machines[role]
    expect(theirs, [world.globex])
    expect(theirs, [world.globex], [OURS, state_query(ACTIVE)], BY_NAME, asc=True)
    expect(theirs, [world.globex], [name_query("globex", Method.TEXT_QUERY_METHOD_STARTS_WITH_IGNORE_CASE)])
    for other in [DEFAULT, id_query(world.initech.id), id_query(world.instance.id), name_query(PROJECT)]:
        expect(theirs, [], [other])
    assert search(theirs, offset=1) == (1, [])


def test_a_user_with_its_own_id_token_sees_none(world):
    me = Zitadel.with_access_token(world.server.base, id_token(world.server.base, world.ada))
    for queries, sorting, page in [
        (None, None, {}),
        ([DEFAULT], None, {}),
        ([id_query(world.instance.id)], None, {}),
        (None, BY_NAME, {"asc": True, "limit": 10}),
    ]:
        expect(me, [], queries, sorting, **page)
