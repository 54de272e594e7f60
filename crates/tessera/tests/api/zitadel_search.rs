//! v2 ListUsers: every query kind of ZITADEL's tree, each text method, paging and sorting,
//! and who sees which users (the instance administrator all organizations, an organization's
//! machine user its own). Users made through the Identity Toolkit are listed like the others.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tessera_core::Role;

use crate::helpers::*;

/// The project's users, in two organizations: `(ada, grace, alan, pluto, off)` in the default
/// one (pluto signed up through the Identity Toolkit; off is deactivated) and linus elsewhere;
/// the other organization's id.
struct People {
    ids: Vec<(&'static str, String)>,
    other_org: String,
}

impl People {
    fn id(&self, name: &str) -> &str {
        self.ids
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, id)| id.as_str())
            .unwrap()
    }
}

async fn add(app: &TestApp, body: Value) -> String {
    let (status, created) = app
        .zitadel(
            Method::POST,
            "/v2/users/human",
            &app.pat(),
            None,
            Some(body),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    str_of(&created, "userId").to_owned()
}

fn human(username: Option<&str>, given: &str, family: &str, email: &str) -> Value {
    let mut body = json!({
        "profile": {"givenName": given, "familyName": family},
        "email": {"email": email, "isVerified": true},
    });
    if let Some(username) = username {
        body["username"] = json!(username);
    }
    body
}

async fn people(app: &TestApp) -> People {
    let mut ada = human(Some("ada"), "Ada", "Lovelace", "ada@example.com");
    ada["phone"] = json!({"phone": "+15550100001", "isVerified": true});
    let ada = add(app, ada).await;
    let grace = add(
        app,
        human(Some("grace"), "Grace", "Hopper", "grace@example.com"),
    )
    .await;
    let alan = add(app, human(None, "Alan", "Turing", "alan@example.com")).await;
    let pluto = str_of(
        &app.sign_up("pluto@example.com", "secret12").await,
        "localId",
    )
    .to_owned();
    let off = add(app, human(Some("off"), "Otto", "Off", "off@example.com")).await;
    let (status, body) = app
        .zitadel(
            Method::POST,
            &format!("/v2/users/{off}/deactivate"),
            &app.pat(),
            None,
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, org) = app
        .zitadel(
            Method::POST,
            "/management/v1/orgs",
            &app.pat(),
            None,
            Some(json!({"name": "Elsewhere"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{org}");
    let other_org = str_of(&org, "id").to_owned();
    let mut linus = human(Some("linus"), "Linus", "Torvalds", "linus@example.com");
    linus["organization"] = json!({"orgId": other_org});
    let linus = add(app, linus).await;
    People {
        ids: vec![
            ("ada", ada),
            ("grace", grace),
            ("alan", alan),
            ("pluto", pluto),
            ("off", off),
            ("linus", linus),
        ],
        other_org,
    }
}

/// `(totalResult, the listed users' preferred login names in order)`.
async fn list(app: &TestApp, token: &str, org: Option<&str>, body: Value) -> (u64, Vec<String>) {
    let (status, listed) = app
        .zitadel(Method::POST, "/v2/users", token, org, Some(body))
        .await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    // protojson leaves out a zero count, as it does every zero.
    let total = listed["details"]["totalResult"]
        .as_str()
        .unwrap_or("0")
        .parse()
        .unwrap();
    let names = listed["result"]
        .as_array()
        .map(|users| {
            users
                .iter()
                .map(|u| str_of(u, "preferredLoginName").to_owned())
                .collect()
        })
        .unwrap_or_default();
    (total, names)
}

/// The login names a query finds, sorted by username ascending.
async fn find(app: &TestApp, query: Value) -> Vec<String> {
    let body = json!({
        "query": {"asc": true},
        "sortingColumn": "USER_FIELD_NAME_EMAIL",
        "queries": [query],
    });
    list(app, &app.pat(), None, body).await.1
}

fn text(kind: &str, field: &str, value: &str, method: &str) -> Value {
    json!({kind: {field: value, "method": format!("TEXT_QUERY_METHOD_{method}")}})
}

#[tokio::test]
async fn list_users_answers_every_query_kind() {
    let app = TestApp::spawn().await;
    let p = people(&app).await;
    let everyone = [
        "ada",
        "alan@example.com",
        "grace",
        "linus",
        "off",
        "pluto@example.com",
    ];
    let (total, all) = list(
        &app,
        &app.pat(),
        None,
        json!({"query": {"asc": true}, "sortingColumn": "USER_FIELD_NAME_EMAIL"}),
    )
    .await;
    assert_eq!(total, 6);
    assert_eq!(all, everyone);

    let cases: Vec<(Value, Vec<&str>)> = vec![
        (
            text("userNameQuery", "userName", "ada", "EQUALS"),
            vec!["ada"],
        ),
        (text("userNameQuery", "userName", "ADA", "EQUALS"), vec![]),
        (
            text("userNameQuery", "userName", "ADA", "EQUALS_IGNORE_CASE"),
            vec!["ada"],
        ),
        (
            text("firstNameQuery", "firstName", "Gr", "STARTS_WITH"),
            vec!["grace"],
        ),
        (
            text("firstNameQuery", "firstName", "gr", "STARTS_WITH"),
            vec![],
        ),
        (
            text(
                "firstNameQuery",
                "firstName",
                "gr",
                "STARTS_WITH_IGNORE_CASE",
            ),
            vec!["grace"],
        ),
        (
            text("lastNameQuery", "lastName", "ove", "CONTAINS"),
            vec!["ada"],
        ),
        (
            text("lastNameQuery", "lastName", "OVE", "CONTAINS_IGNORE_CASE"),
            vec!["ada"],
        ),
        (
            text("lastNameQuery", "lastName", "ing", "ENDS_WITH"),
            vec!["alan@example.com"],
        ),
        (
            text("lastNameQuery", "lastName", "RING", "ENDS_WITH_IGNORE_CASE"),
            vec!["alan@example.com"],
        ),
        (
            text(
                "lastNameQuery",
                "lastName",
                "a much longer name",
                "ENDS_WITH",
            ),
            vec![],
        ),
        (
            text("displayNameQuery", "displayName", "Grace Hopper", "EQUALS"),
            vec!["grace"],
        ),
        (
            text("emailQuery", "emailAddress", "grace@example.com", "EQUALS"),
            vec!["grace"],
        ),
        (
            text("phoneQuery", "number", "+1555", "STARTS_WITH"),
            vec!["ada"],
        ),
        (
            text("loginNameQuery", "loginName", "pluto@example.com", "EQUALS"),
            vec!["pluto@example.com"],
        ),
        (
            json!({"stateQuery": {"state": "USER_STATE_INACTIVE"}}),
            vec!["off"],
        ),
        (
            json!({"stateQuery": {"state": "USER_STATE_LOCKED"}}),
            vec![],
        ),
        (json!({"typeQuery": {"type": "TYPE_MACHINE"}}), vec![]),
        (
            json!({"typeQuery": {"type": "TYPE_HUMAN"}}),
            everyone.to_vec(),
        ),
        (
            json!({"inUserIdsQuery": {"userIds": [p.id("ada"), p.id("pluto"), "12345"]}}),
            vec!["ada", "pluto@example.com"],
        ),
        (json!({"inUserIdsQuery": {"userIds": []}}), vec![]),
        (
            json!({"inUserEmailsQuery": {"userEmails": ["GRACE@example.com", "nobody@example.com"]}}),
            vec!["grace"],
        ),
        (
            json!({"organizationIdQuery": {"organizationId": p.other_org}}),
            vec!["linus"],
        ),
        (
            json!({"organizationIdQuery": {"organizationId": "404"}}),
            vec![],
        ),
        (
            json!({"orQuery": {"queries": [
                text("userNameQuery", "userName", "ada", "EQUALS"),
                text("emailQuery", "emailAddress", "alan@", "STARTS_WITH"),
            ]}}),
            vec!["ada", "alan@example.com"],
        ),
        (
            json!({"andQuery": {"queries": [
                json!({"stateQuery": {"state": "USER_STATE_ACTIVE"}}),
                json!({"notQuery": {"query": text("emailQuery", "emailAddress", "example.com", "ENDS_WITH")}}),
            ]}}),
            vec![],
        ),
        (
            json!({"notQuery": {"query": {"orQuery": {"queries": [
                json!({"stateQuery": {"state": "USER_STATE_ACTIVE"}}),
                text("userNameQuery", "userName", "linus", "EQUALS"),
            ]}}}}),
            vec!["off"],
        ),
        // A user without a username: a negated username query keeps it.
        (
            json!({"notQuery": {"query": text("userNameQuery", "userName", "a", "CONTAINS")}}),
            vec!["alan@example.com", "linus", "off", "pluto@example.com"],
        ),
    ];
    for (query, expected) in cases {
        assert_eq!(find(&app, query.clone()).await, expected, "{query}");
    }

    // Top-level queries are AND-ed.
    let body = json!({"queries": [
        json!({"stateQuery": {"state": "USER_STATE_ACTIVE"}}),
        text("emailQuery", "emailAddress", "a", "CONTAINS"),
        text("lastNameQuery", "lastName", "Hopper", "EQUALS"),
    ]});
    assert_eq!(
        list(&app, &app.pat(), None, body).await,
        (1, vec!["grace".to_owned()])
    );
}

#[tokio::test]
async fn list_users_pages_sorts_and_keeps_to_what_the_caller_may_read() {
    let app = TestApp::spawn().await;
    let p = people(&app).await;
    let page = |offset: u64, asc: bool| {
        json!({
            "query": {"offset": offset.to_string(), "limit": 2, "asc": asc},
            "sortingColumn": "USER_FIELD_NAME_FIRST_NAME",
        })
    };
    // pluto has no given name: it sorts last either way.
    let (total, first) = list(&app, &app.pat(), None, page(0, true)).await;
    assert_eq!(
        (total, first),
        (6, vec!["ada".to_owned(), "alan@example.com".to_owned()])
    );
    let (_, second) = list(&app, &app.pat(), None, page(2, true)).await;
    assert_eq!(second, ["grace", "linus"]);
    let (_, last) = list(&app, &app.pat(), None, page(4, true)).await;
    assert_eq!(last, ["off", "pluto@example.com"]);
    let (_, descending) = list(&app, &app.pat(), None, page(0, false)).await;
    assert_eq!(descending, ["off", "linus"]);
    let (total, beyond) = list(&app, &app.pat(), None, page(6, true)).await;
    assert_eq!((total, beyond.len()), (6, 0));

    // x-zitadel-orgid narrows an administrator to one organization; an organization's
    // machine user sees its own.
    let (total, elsewhere) = list(&app, &app.pat(), Some(&p.other_org), json!({})).await;
    assert_eq!((total, elsewhere), (1, vec!["linus".to_owned()]));
    let viewer = app
        .machine_pat(Some(&p.other_org), "viewer", Role::OrgOwnerViewer)
        .await;
    let (total, seen) = list(&app, &viewer, None, json!({})).await;
    assert_eq!((total, seen), (1, vec!["linus".to_owned()]));
    let ids = json!({"queries": [{"inUserIdsQuery": {"userIds": [p.id("ada")]}}]});
    assert_eq!(list(&app, &viewer, None, ids).await, (0, vec![]));

    // A query without a kind is a bad request, and changes nothing.
    let before = app.fingerprint().await;
    let reply = app
        .zitadel(
            Method::POST,
            "/v2/users",
            &app.pat(),
            None,
            Some(json!({"queries": [{}]})),
        )
        .await;
    assert_zitadel_error(&reply, 400, 3, "Errors.Request.Invalid", "TESSERA-REQ01");
    // So is one with more terms than a statement may hold parameters for.
    let ids: Vec<String> = (0..1000).map(|i| format!("{i}")).collect();
    let reply = app
        .zitadel(
            Method::POST,
            "/v2/users",
            &app.pat(),
            None,
            Some(json!({"queries": [{"inUserIdsQuery": {"userIds": ids}}]})),
        )
        .await;
    assert_zitadel_error(&reply, 400, 3, "Errors.Request.Invalid", "TESSERA-REQ01");
    assert_eq!(app.fingerprint().await, before);
    let ids: Vec<String> = (0..999).map(|i| format!("{i}")).collect();
    let body = json!({"queries": [{"inUserIdsQuery": {"userIds": ids}}]});
    assert_eq!(list(&app, &app.pat(), None, body).await, (0, vec![]));
}
