//! v2 ListSessions: each query kind, paging and order, and who sees which sessions (the
//! instance administrator every organization's, an organization's owner its own, a user those
//! of its own user, every caller those it created); refused queries change nothing.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tessera_core::Role;
use tessera_server::proto::zitadel::session::v2::session_service_client::SessionServiceClient;
use tessera_server::proto::zitadel::session::v2::{
    CreateSessionRequest, ExpirationDateQuery, IDsQuery, ListSessionsRequest, SearchQuery,
    search_query::Query,
};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::helpers::*;
use crate::zitadel_transports::{assert_status, authed, channel};

const PASSWORD: &str = "correct horse";

async fn add_user(app: &TestApp, email: &str) -> String {
    let created = call_ok(
        app,
        Method::POST,
        "/v2/users/human",
        json!({
            "profile": {"givenName": "Ada", "familyName": "Lovelace", "displayName": email},
            "email": {"email": email, "isVerified": true},
            "password": {"password": PASSWORD},
        }),
    )
    .await;
    str_of(&created, "userId").to_owned()
}

/// A new session created with `token`, from `body`; its id.
async fn create(app: &TestApp, token: &str, body: Value) -> String {
    let (status, created) = app
        .zitadel(Method::POST, "/v2/sessions", token, None, Some(body))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    str_of(&created, "sessionId").to_owned()
}

/// ListSessions with `token`: the total and the sessions' ids, in the order given.
async fn list(app: &TestApp, token: &str, body: Value) -> (u64, Vec<String>, Value) {
    let (status, listed) = app
        .zitadel(Method::POST, "/v2/sessions/search", token, None, Some(body))
        .await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    // protojson leaves a zero out.
    let total = listed["details"]["totalResult"]
        .as_str()
        .map_or(0, |t| t.parse().unwrap());
    let ids = listed["sessions"]
        .as_array()
        .map(|all| all.iter().map(|s| str_of(s, "id").to_owned()).collect())
        .unwrap_or_default();
    (total, ids, listed)
}

fn ids_query(ids: &[&String]) -> Value {
    json!({"idsQuery": {"ids": ids}})
}

/// GetSession with `token`, and the session's own token when given.
async fn get(app: &TestApp, session: &str, token: &str, session_token: Option<&str>) -> Reply {
    let query = session_token.map_or(String::new(), |t| format!("?sessionToken={t}"));
    let path = format!("/v2/sessions/{session}{query}");
    app.zitadel(Method::GET, &path, token, None, None).await
}

fn rfc3339(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .unwrap()
        .format(&Rfc3339)
        .unwrap()
}

#[tokio::test]
async fn each_query_finds_its_sessions() {
    let app = TestApp::spawn().await;
    let pat = app.pat();
    let ada = add_user(&app, "ada@example.com").await;
    let grace = add_user(&app, "grace@example.com").await;
    let agent = json!({"fingerprintId": "fp-a", "ip": "203.0.113.7", "description": "Firefox",
                       "header": {"accept-language": {"values": ["en", "de"]}}});
    let first = create(
        &app,
        &pat,
        json!({"checks": {"user": {"userId": ada}}, "userAgent": agent, "lifetime": "600s",
               "metadata": {"app": "bG9naW4="}}),
    )
    .await;
    app.advance(10);
    let second = create(
        &app,
        &pat,
        json!({"checks": {"user": {"loginName": "grace@example.com"}, "password": {"password": PASSWORD}},
               "userAgent": {"fingerprintId": "fp-b"}}),
    )
    .await;
    app.advance(10);
    let third = create(&app, &pat, json!({})).await;
    let all = [&first, &second, &third];
    // Newest first unless asked otherwise; every session as GetSession shows it.
    let (total, ids, listed) = list(&app, &pat, json!({"queries": [ids_query(&all)]})).await;
    assert_eq!(
        (total, ids),
        (3, vec![third.clone(), second.clone(), first.clone()])
    );
    let shown = &listed["sessions"][2];
    let shown_first = shown.clone();
    let got = call_ok(
        &app,
        Method::GET,
        &format!("/v2/sessions/{first}"),
        json!({}),
    )
    .await;
    assert_eq!(shown, &got["session"]);
    assert_eq!(shown["userAgent"], agent);
    assert_eq!(shown["metadata"]["app"], "bG9naW4=");
    assert_eq!(shown["factors"]["user"]["id"], ada.as_str());
    assert_eq!(shown["factors"]["user"]["loginName"], "ada@example.com");
    assert_eq!(shown["factors"]["user"]["displayName"], "ada@example.com");
    let org = app
        .service
        .realm(PROJECT, None)
        .await
        .unwrap()
        .org_id
        .unwrap();
    assert_eq!(shown["factors"]["user"]["organizationId"], org.as_str());
    assert!(listed["details"]["timestamp"].is_string(), "{listed}");
    assert!(listed["sessions"][1]["factors"]["password"]["verifiedAt"].is_string());

    let (_, ids, _) = list(
        &app,
        &pat,
        json!({"query": {"asc": true}, "sortingColumn": "SESSION_FIELD_NAME_CREATION_DATE",
               "queries": [ids_query(&all)]}),
    )
    .await;
    assert_eq!(ids, vec![first.clone(), second.clone(), third.clone()]);
    let (total, ids, _) = list(
        &app,
        &pat,
        json!({"query": {"offset": "1", "limit": 1}, "queries": [ids_query(&all)]}),
    )
    .await;
    assert_eq!((total, ids), (3, vec![second.clone()]));

    // The queries are AND-ed.
    let found = async |query: Value| {
        let (total, ids, _) = list(&app, &pat, json!({"queries": [ids_query(&all), query]})).await;
        assert_eq!(total as usize, ids.len());
        ids
    };
    assert_eq!(
        found(json!({"userIdQuery": {"id": grace}})).await,
        vec![second.clone()]
    );
    assert_eq!(
        found(json!({"userIdQuery": {"id": "1"}})).await,
        Vec::<String>::new()
    );
    assert_eq!(
        found(json!({"userAgentQuery": {"fingerprintId": "fp-a"}})).await,
        vec![first.clone()]
    );
    // No id: the caller's own sessions, which here are all of them.
    assert_eq!(found(json!({"creatorQuery": {}})).await.len(), 3);
    assert!(found(json!({"creatorQuery": {"id": ada}})).await.is_empty());

    let created_second = str_of(&listed["sessions"][1], "creationDate").to_owned();
    let by_creation = async |method: &str| {
        found(json!({"creationDateQuery": {"creationDate": created_second, "method": method}}))
            .await
    };
    assert_eq!(
        by_creation("TIMESTAMP_QUERY_METHOD_EQUALS").await,
        vec![second.clone()]
    );
    assert_eq!(
        by_creation("TIMESTAMP_QUERY_METHOD_GREATER").await,
        vec![third.clone()]
    );
    assert_eq!(
        by_creation("TIMESTAMP_QUERY_METHOD_GREATER_OR_EQUALS").await,
        vec![third.clone(), second.clone()]
    );
    assert_eq!(
        by_creation("TIMESTAMP_QUERY_METHOD_LESS").await,
        vec![first.clone()]
    );
    assert_eq!(
        by_creation("TIMESTAMP_QUERY_METHOD_LESS_OR_EQUALS").await,
        vec![second.clone(), first.clone()]
    );

    // A time between two milliseconds is compared exactly, not cut to the one before.
    let between = (OffsetDateTime::parse(&created_second, &Rfc3339).unwrap()
        + time::Duration::microseconds(500))
    .format(&Rfc3339)
    .unwrap();
    let by_between = async |method: &str| {
        found(json!({"creationDateQuery": {"creationDate": between, "method": method}})).await
    };
    assert!(by_between("TIMESTAMP_QUERY_METHOD_EQUALS").await.is_empty());
    assert_eq!(
        by_between("TIMESTAMP_QUERY_METHOD_GREATER_OR_EQUALS").await,
        vec![third.clone()]
    );
    assert_eq!(
        by_between("TIMESTAMP_QUERY_METHOD_LESS").await,
        vec![second.clone(), first.clone()]
    );
    assert_eq!(
        by_between("TIMESTAMP_QUERY_METHOD_LESS_OR_EQUALS").await,
        vec![second.clone(), first.clone()]
    );

    // Expiry: sessions without one are later than any time; expired sessions are still listed.
    let by_expiry = async |at: i64, method: &str| {
        found(json!({"expirationDateQuery": {"expirationDate": rfc3339(at), "method": method}}))
            .await
    };
    let now = app.now();
    assert_eq!(
        by_expiry(now, "TIMESTAMP_QUERY_METHOD_GREATER_OR_EQUALS").await,
        vec![third.clone(), second.clone(), first.clone()]
    );
    assert_eq!(
        by_expiry(now + 600, "TIMESTAMP_QUERY_METHOD_GREATER").await,
        vec![third.clone(), second.clone()]
    );
    assert_eq!(
        by_expiry(now + 600, "TIMESTAMP_QUERY_METHOD_LESS_OR_EQUALS").await,
        vec![first.clone()]
    );
    app.advance(3600);
    assert_eq!(
        by_expiry(app.now(), "TIMESTAMP_QUERY_METHOD_LESS").await,
        vec![first.clone()]
    );
    // An expired session is still read as it is, and deleted; only changes need it alive.
    let expired = call_ok(
        &app,
        Method::GET,
        &format!("/v2/sessions/{first}"),
        json!({}),
    )
    .await;
    assert_eq!(
        expired["session"]["expirationDate"],
        shown_first["expirationDate"]
    );
    assert_refused_unchanged(
        &app,
        app.zitadel(
            Method::PATCH,
            &format!("/v2/sessions/{first}"),
            &pat,
            None,
            Some(json!({"metadata": {"k": "dg=="}})),
        ),
        (400, 9, "Session has expired", "COMMAND-Hkl3d"),
    )
    .await;
    call_ok(
        &app,
        Method::DELETE,
        &format!("/v2/sessions/{first}"),
        json!({}),
    )
    .await;
    assert!(found(json!({"userIdQuery": {"id": ada}})).await.is_empty());

    // v2beta's path is v2's.
    let (status, beta) = app
        .zitadel(
            Method::POST,
            "/v2beta/sessions/search",
            &pat,
            None,
            Some(json!({"queries": [ids_query(&[&second])]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{beta}");
    assert_eq!(beta["sessions"][0]["id"], second.as_str());
}

#[tokio::test]
async fn a_caller_sees_the_sessions_it_may_read() {
    let app = TestApp::spawn().await;
    let admin = app.pat();
    let ada = add_user(&app, "ada@example.com").await;
    add_user(&app, "grace@example.com").await;
    let adas = create(&app, &admin, json!({"checks": {"user": {"userId": ada}}})).await;
    let graces = create(
        &app,
        &admin,
        json!({"checks": {"user": {"loginName": "grace@example.com"}}}),
    )
    .await;
    let nobodys = create(&app, &admin, json!({})).await;
    let (status, by_token) = app
        .zitadel(Method::POST, "/v2/sessions", &admin, None, Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{by_token}");
    let tokened = str_of(&by_token, "sessionId").to_owned();

    // Another organization, its owner, a user there and a session the owner made for it.
    let created = call_ok(
        &app,
        Method::POST,
        "/v2/organizations",
        json!({"name": "Globex"}),
    )
    .await;
    let globex = str_of(&created, "organizationId").to_owned();
    let owner = app
        .machine_pat(Some(&globex), "owner", Role::OrgOwner)
        .await;
    let (status, hank) = app
        .zitadel(
            Method::POST,
            "/v2/users/human",
            &owner,
            None,
            Some(
                json!({"profile": {"givenName": "Hank", "familyName": "Scorpio"},
                        "email": {"email": "hank@example.com", "isVerified": true}}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{hank}");
    let hanks = create(
        &app,
        &owner,
        json!({"checks": {"user": {"userId": str_of(&hank, "userId")}}}),
    )
    .await;
    let all = [&adas, &graces, &nobodys, &hanks];
    let everything = json!({"queries": [ids_query(&all)]});

    // The instance administrator: every organization's.
    let (total, ids, _) = list(&app, &admin, everything.clone()).await;
    assert_eq!((total, ids.len()), (4, 4));
    // An organization's owner: its organization's (and those it created).
    let (total, ids, _) = list(&app, &owner, everything.clone()).await;
    assert_eq!((total, ids), (1, vec![hanks.clone()]));
    // A machine user without `session.read`: only those it created, here none; the total
    // counts only what it sees.
    let manager = app.machine_pat(None, "manager", Role::OrgUserManager).await;
    let (total, ids, _) = list(&app, &manager, everything.clone()).await;
    assert_eq!((total, ids), (0, Vec::<String>::new()));
    // A user through its own ID token: its own user's sessions.
    let (status, signed_in) = app.sign_in("ada@example.com", PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{signed_in}");
    let id_token = str_of(&signed_in, "idToken");
    let (total, ids, listed) = list(&app, id_token, everything).await;
    assert_eq!((total, ids), (1, vec![adas.clone()]), "{listed}");

    // GetSession reads by the same rule, or by the session's token.
    let (status, got) = get(&app, &adas, id_token, None).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["session"]["id"], adas.as_str());
    let denied = (403, 7, "No matching permissions found", "AUTH-5mWD2");
    assert_refused_unchanged(&app, get(&app, &graces, id_token, None), denied).await;
    assert_refused_unchanged(&app, get(&app, &adas, &manager, None), denied).await;
    let token = str_of(&by_token, "sessionToken");
    let (status, got) = get(&app, &tokened, &manager, Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["session"]["id"], tokened.as_str());
    assert_refused_unchanged(
        &app,
        get(&app, &tokened, &manager, Some("wrong")),
        (404, 5, "Session not found", "QUERY-SJ84j"),
    )
    .await;
}

#[tokio::test]
async fn a_refused_query_changes_nothing() {
    let app = TestApp::spawn().await;
    let pat = app.pat();
    create(&app, &pat, json!({"userAgent": {"fingerprintId": "fp"}})).await;
    let search =
        |body: Value| app.zitadel(Method::POST, "/v2/sessions/search", &pat, None, Some(body));
    for (query, id) in [
        (json!({}), "GRPC-Sfefs"),
        (json!({"creatorQuery": {"id": ""}}), "GRPC-x8n24uh"),
        (json!({"userAgentQuery": {}}), "GRPC-x8n23uh"),
        (
            json!({"userAgentQuery": {"fingerprintId": ""}}),
            "GRPC-x8n23uh",
        ),
    ] {
        assert_refused_unchanged(
            &app,
            search(json!({"queries": [query]})),
            (400, 3, "List.Query.Invalid", id),
        )
        .await;
    }
    // A method no enum value has: JSON's reader refuses it (gRPC's is below).
    assert_refused_unchanged(
        &app,
        search(json!({"queries": [{"creationDateQuery": {"method": 9}}]})),
        (400, 3, "Errors.Request.Invalid", "TESSERA-REQ01"),
    )
    .await;
    let many: Vec<String> = (0..1000).map(|i| i.to_string()).collect();
    assert_refused_unchanged(
        &app,
        search(json!({"queries": [{"idsQuery": {"ids": many}}]})),
        (400, 3, "Errors.Request.Invalid", "TESSERA-REQ01"),
    )
    .await;
    let unauthenticated = app
        .client
        .post(app.url("/v2/sessions/search"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let reply = TestApp::reply(unauthenticated).await;
    assert_zitadel_error(&reply, 401, 16, "Errors.Token.Invalid", "AUTH-7fs1e");
}

/// Over gRPC: the same sessions, and a comparison method ZITADEL does not define refused (a
/// number JSON's reader would not have taken).
#[tokio::test]
async fn sessions_are_listed_over_grpc() {
    let app = TestApp::spawn().await;
    let pat = app.pat();
    let mut client = SessionServiceClient::new(channel(&app).await);
    let created = client
        .create_session(authed(CreateSessionRequest::default(), &pat, None))
        .await
        .unwrap()
        .into_inner();
    let by_id = SearchQuery {
        query: Some(Query::IdsQuery(IDsQuery {
            ids: vec![created.session_id.clone()],
        })),
    };
    let listed = client
        .list_sessions(authed(
            ListSessionsRequest {
                queries: vec![by_id.clone()],
                ..ListSessionsRequest::default()
            },
            &pat,
            None,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.details.map(|d| d.total_result), Some(1));
    assert_eq!(listed.sessions[0].id, created.session_id);

    let undefined = SearchQuery {
        query: Some(Query::ExpirationDateQuery(ExpirationDateQuery {
            expiration_date: None,
            method: 9,
        })),
    };
    let before = app.fingerprint().await;
    let refused = client
        .list_sessions(authed(
            ListSessionsRequest {
                queries: vec![by_id, undefined],
                ..ListSessionsRequest::default()
            },
            &pat,
            None,
        ))
        .await
        .unwrap_err();
    assert_status(
        &refused,
        tonic::Code::InvalidArgument,
        "List.Query.InvalidComparisonMethod",
        "GRPC-Dwigt",
    );
    assert_eq!(app.fingerprint().await, before);
}
