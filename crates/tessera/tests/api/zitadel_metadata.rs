//! User metadata: v2's set, list and delete and management v1's six calls, the values kept as
//! given, key filters and paging, who may read and write, and refusals that change nothing.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tessera_core::Role;

use crate::helpers::*;

async fn add_user(app: &TestApp, email: &str) -> String {
    let created = call_ok(
        app,
        Method::POST,
        "/v2/users/human",
        json!({
            "profile": {"givenName": "Ada", "familyName": "Lovelace"},
            "email": {"email": email, "isVerified": true},
            "password": {"password": "correct horse"},
        }),
    )
    .await;
    str_of(&created, "userId").to_owned()
}

/// v2 ListUserMetadata by the administrator: the keys in order, and the reply.
async fn keys_v2(app: &TestApp, user: &str, body: Value) -> (Vec<String>, Value) {
    let listed = call_ok(
        app,
        Method::POST,
        &format!("/v2/users/{user}/metadata/search"),
        body,
    )
    .await;
    let keys = listed["metadata"]
        .as_array()
        .map(|all| all.iter().map(|m| str_of(m, "key").to_owned()).collect())
        .unwrap_or_default();
    (keys, listed)
}

#[tokio::test]
async fn v2_sets_lists_and_deletes_metadata() {
    let app = TestApp::spawn().await;
    let ada = add_user(&app, "ada@example.com").await;
    let path = format!("/v2/users/{ada}/metadata");
    // Values are bytes, base64 in JSON: "cmVk" is "red", "Ymx1ZQ==" "blue".
    let set = call_ok(
        &app,
        Method::POST,
        &path,
        json!({"metadata": [{"key": "colour", "value": "cmVk"}]}),
    )
    .await;
    assert!(set["setDate"].is_string(), "{set}");
    // Entries set together are ordered by key, as the database collates it; these come apart.
    for entry in [
        json!({"key": "Country", "value": "Q0g="}),
        json!({"key": "city", "value": "WsO8cmljaA=="}),
    ] {
        app.advance(5);
        call_ok(&app, Method::POST, &path, json!({"metadata": [entry]})).await;
    }

    let (keys, listed) = keys_v2(&app, &ada, json!({})).await;
    assert_eq!(keys, ["city", "Country", "colour"], "{listed}");
    assert_eq!(listed["pagination"]["totalResult"], "3");
    assert_eq!(listed["pagination"]["appliedLimit"], "100");
    let colour = &listed["metadata"][2];
    assert_eq!(colour["value"], "cmVk");
    assert_eq!(colour["creationDate"], colour["changeDate"]);

    let (keys, listed) = keys_v2(
        &app,
        &ada,
        json!({"pagination": {"offset": "1", "limit": 1, "asc": true}}),
    )
    .await;
    assert_eq!(keys, ["Country"]);
    assert_eq!(listed["pagination"]["totalResult"], "3");
    let filtered = |key: &str, method: &str| json!({"filters": [{"keyFilter": {"key": key, "method": method}}], "pagination": {"asc": true}});
    for (key, method, expected) in [
        ("co", "TEXT_FILTER_METHOD_STARTS_WITH", vec!["colour"]),
        (
            "co",
            "TEXT_FILTER_METHOD_STARTS_WITH_IGNORE_CASE",
            vec!["colour", "Country"],
        ),
        ("country", "TEXT_FILTER_METHOD_EQUALS", vec![]),
        (
            "country",
            "TEXT_FILTER_METHOD_EQUALS_IGNORE_CASE",
            vec!["Country"],
        ),
        ("t", "TEXT_FILTER_METHOD_CONTAINS", vec!["Country", "city"]),
        (
            "",
            "TEXT_FILTER_METHOD_CONTAINS",
            vec!["colour", "Country", "city"],
        ),
        (
            "R",
            "TEXT_FILTER_METHOD_ENDS_WITH_IGNORE_CASE",
            vec!["colour"],
        ),
    ] {
        let (keys, _) = keys_v2(&app, &ada, filtered(key, method)).await;
        assert_eq!(keys, expected, "{key} {method}");
    }

    // A new value changes the change date only; the same value again changes nothing.
    app.advance(5);
    call_ok(
        &app,
        Method::POST,
        &path,
        json!({"metadata": [{"key": "colour", "value": "Ymx1ZQ=="}]}),
    )
    .await;
    app.advance(5);
    let again = call_ok(
        &app,
        Method::POST,
        &path,
        json!({"metadata": [{"key": "colour", "value": "Ymx1ZQ=="}]}),
    )
    .await;
    let (_, listed) = keys_v2(&app, &ada, filtered("colour", "TEXT_FILTER_METHOD_EQUALS")).await;
    let changed = &listed["metadata"][0];
    assert_eq!(changed["value"], "Ymx1ZQ==");
    assert_eq!(changed["creationDate"], colour["creationDate"]);
    assert_ne!(changed["changeDate"], colour["changeDate"]);
    // The unchanged write answers the entry's own time, not its own.
    assert_eq!(again["setDate"], changed["changeDate"]);
    let first_change = changed["changeDate"].clone();

    let (status, deleted) = app
        .zitadel(
            Method::DELETE,
            &format!("{path}?keys=city&keys=Country"),
            &app.pat(),
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{deleted}");
    assert!(deleted["deletionDate"].is_string());
    let (keys, listed) = keys_v2(&app, &ada, json!({})).await;
    assert_eq!(keys, ["colour"]);
    assert_eq!(listed["metadata"][0]["changeDate"], first_change);

    // The user's metadata goes with it.
    call_ok(&app, Method::DELETE, &format!("/v2/users/{ada}"), json!({})).await;
    let db = app.db().await;
    let (left,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM user_metadata")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(left, 0);
}

#[tokio::test]
async fn refused_metadata_changes_change_nothing() {
    let app = TestApp::spawn().await;
    let ada = add_user(&app, "ada@example.com").await;
    let path = format!("/v2/users/{ada}/metadata");
    call_ok(
        &app,
        Method::POST,
        &path,
        json!({"metadata": [{"key": "kept", "value": "AQ=="}]}),
    )
    .await;
    let pat = app.pat();
    let send = |method: Method, path: String, body: Option<Value>| {
        let pat = pat.clone();
        let app = &app;
        async move { app.zitadel(method, &path, &pat, None, body).await }
    };
    let invalid = (400, 3, "Metadata is invalid", "META-2m00f");
    for entries in [
        json!([]),
        json!([{"key": "", "value": "AQ=="}]),
        json!([{"key": "k", "value": ""}]),
        json!([{"key": "k".repeat(201), "value": "AQ=="}]),
        json!([{"key": "fine", "value": "AQ=="}, {"key": "empty", "value": ""}]),
    ] {
        let refusal = if entries == json!([]) {
            (400, 9, "Metadata list is empty", "META-9mm2d")
        } else {
            invalid
        };
        assert_refused_unchanged(
            &app,
            send(
                Method::POST,
                path.clone(),
                Some(json!({"metadata": entries})),
            ),
            refusal,
        )
        .await;
    }
    for (query, refusal) in [
        ("", (400, 9, "Metadata list is empty", "META-9mm2d")),
        (
            "?keys=kept&keys=",
            (400, 3, "Metadata is invalid", "COMMAND-m29ds"),
        ),
        (
            "?keys=kept&keys=missing",
            (404, 5, "One or more keys do not exist", "META-2nnds"),
        ),
    ] {
        assert_refused_unchanged(
            &app,
            send(Method::DELETE, format!("{path}{query}"), None),
            refusal,
        )
        .await;
    }
    assert_refused_unchanged(
        &app,
        send(
            Method::POST,
            "/v2/users/404404404/metadata".to_owned(),
            Some(json!({"metadata": [{"key": "k", "value": "AQ=="}]})),
        ),
        (400, 9, "User could not be found", "COMMAND-uXHNj"),
    )
    .await;
    assert_refused_unchanged(
        &app,
        send(
            Method::POST,
            format!("{path}/search"),
            Some(json!({"pagination": {"limit": 1001}})),
        ),
        (400, 3, "Limit exceeded", "QUERY-4M0fs"),
    )
    .await;
    // A new user's metadata is checked before anything is written.
    assert_refused_unchanged(
        &app,
        send(
            Method::POST,
            "/v2/users/human".to_owned(),
            Some(json!({
                "profile": {"givenName": "Bad", "familyName": "Data"},
                "email": {"email": "bad@example.com", "isVerified": true},
                "metadata": [{"key": "empty", "value": ""}],
            })),
        ),
        invalid,
    )
    .await;
    let (keys, _) = keys_v2(&app, &ada, json!({})).await;
    assert_eq!(keys, ["kept"]);
}

/// v2 AddHumanUser's `metadata` is the new user's, written with it.
#[tokio::test]
async fn a_new_user_comes_with_its_metadata() {
    let app = TestApp::spawn().await;
    let created = call_ok(
        &app,
        Method::POST,
        "/v2/users/human",
        json!({
            "profile": {"givenName": "Ada", "familyName": "Lovelace"},
            "email": {"email": "ada@example.com", "isVerified": true},
            "metadata": [{"key": "plan", "value": "cHJv"}, {"key": "seats", "value": "NQ=="}],
        }),
    )
    .await;
    let ada = str_of(&created, "userId");
    let (mut keys, listed) = keys_v2(&app, ada, json!({})).await;
    keys.sort();
    assert_eq!(keys, ["plan", "seats"], "{listed}");
}

#[tokio::test]
async fn management_v1_calls_of_one_key_and_in_bulk() {
    let app = TestApp::spawn().await;
    let ada = add_user(&app, "ada@example.com").await;
    let base = format!("/management/v1/users/{ada}/metadata");
    let set = call_ok(
        &app,
        Method::POST,
        &format!("{base}/language"),
        json!({"value": "ZW4="}),
    )
    .await;
    assert_eq!(set["id"], ada.as_str());
    // The answer's time is the entry's.
    let got = call_ok(&app, Method::GET, &format!("{base}/language"), json!({})).await;
    assert_eq!(
        set["details"]["changeDate"],
        got["metadata"]["details"]["changeDate"]
    );
    call_ok(
        &app,
        Method::POST,
        &format!("{base}/_bulk"),
        json!({"metadata": [{"key": "plan", "value": "cHJv"}, {"key": "seats", "value": "NQ=="}]}),
    )
    .await;

    let got = call_ok(&app, Method::GET, &format!("{base}/plan"), json!({})).await;
    assert_eq!(got["metadata"]["key"], "plan");
    assert_eq!(got["metadata"]["value"], "cHJv");
    let org = app
        .service
        .realm(PROJECT, None)
        .await
        .unwrap()
        .org_id
        .unwrap();
    assert_eq!(got["metadata"]["details"]["resourceOwner"], org.as_str());
    assert!(got["metadata"]["details"]["creationDate"].is_string());

    let listed = call_ok(
        &app,
        Method::POST,
        &format!("{base}/_search"),
        json!({"query": {"asc": true}, "queries": [{"keyQuery": {"key": "s", "method": "TEXT_QUERY_METHOD_CONTAINS"}}]}),
    )
    .await;
    assert_eq!(listed["details"]["totalResult"], "1");
    assert_eq!(listed["result"][0]["key"], "seats");
    let all = call_ok(&app, Method::POST, &format!("{base}/_search"), json!({})).await;
    assert_eq!(all["details"]["totalResult"], "3");

    call_ok(&app, Method::DELETE, &format!("{base}/language"), json!({})).await;
    let reply = call(&app, Method::GET, &format!("{base}/language"), json!({})).await;
    assert_zitadel_error(&reply, 404, 5, "Metadata not found", "QUERY-Rgh32");
    let pat = app.pat();
    assert_refused_unchanged(
        &app,
        app.zitadel(
            Method::DELETE,
            &format!("{base}/language"),
            &pat,
            None,
            None,
        ),
        (404, 5, "Metadata not found", "META-ncnw3"),
    )
    .await;
    assert_refused_unchanged(
        &app,
        app.zitadel(
            Method::POST,
            &format!("{base}/language"),
            &pat,
            None,
            Some(json!({})),
        ),
        (400, 3, "Metadata is invalid", "META-2m00f"),
    )
    .await;
    // A bulk removal is a DELETE with a body.
    call_ok(
        &app,
        Method::DELETE,
        &format!("{base}/_bulk"),
        json!({"keys": ["plan", "seats"]}),
    )
    .await;
    let all = call_ok(&app, Method::POST, &format!("{base}/_search"), json!({})).await;
    assert!(all["result"].as_array().is_none_or(Vec::is_empty), "{all}");
}

#[tokio::test]
async fn who_may_read_and_write_metadata() {
    let app = TestApp::spawn().await;
    let ada = add_user(&app, "ada@example.com").await;
    let grace = add_user(&app, "grace@example.com").await;
    let entry = json!({"metadata": [{"key": "k", "value": "AQ=="}]});
    call_ok(
        &app,
        Method::POST,
        &format!("/v2/users/{grace}/metadata"),
        entry.clone(),
    )
    .await;
    let denied = (403, 7, "No matching permissions found", "AUTH-5mWD2");

    // A viewer reads but does not write.
    let viewer = app.machine_pat(None, "viewer", Role::OrgOwnerViewer).await;
    let (status, listed) = app
        .zitadel(
            Method::POST,
            &format!("/management/v1/users/{grace}/metadata/_search"),
            &viewer,
            None,
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert_eq!(listed["result"][0]["key"], "k");
    assert_refused_unchanged(
        &app,
        app.zitadel(
            Method::POST,
            &format!("/v2/users/{grace}/metadata"),
            &viewer,
            None,
            Some(entry.clone()),
        ),
        denied,
    )
    .await;

    // A user through its own ID token: its own metadata only.
    let (status, signed_in) = app.sign_in("ada@example.com", "correct horse").await;
    assert_eq!(status, StatusCode::OK, "{signed_in}");
    let token = str_of(&signed_in, "idToken");
    let (status, set) = app
        .zitadel(
            Method::POST,
            &format!("/v2/users/{ada}/metadata"),
            token,
            None,
            Some(entry.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{set}");
    let (status, own) = app
        .zitadel(
            Method::POST,
            &format!("/v2/users/{ada}/metadata/search"),
            token,
            None,
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{own}");
    assert_eq!(own["metadata"][0]["key"], "k");
    // And through auth v1, the signed-in user's own.
    let (status, mine) = app
        .zitadel(
            Method::POST,
            "/auth/v1/users/me/metadata/_search",
            token,
            None,
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    assert_eq!(mine["result"][0]["key"], "k");
    let (status, got) = app
        .zitadel(
            Method::GET,
            "/auth/v1/users/me/metadata/k",
            token,
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["metadata"]["value"], "AQ==");
    let reply = app
        .zitadel(
            Method::GET,
            "/auth/v1/users/me/metadata/none",
            token,
            None,
            None,
        )
        .await;
    assert_zitadel_error(&reply, 404, 5, "Metadata not found", "QUERY-Rgh32");
    assert_refused_unchanged(
        &app,
        app.zitadel(
            Method::POST,
            &format!("/v2/users/{grace}/metadata/search"),
            token,
            None,
            Some(json!({})),
        ),
        denied,
    )
    .await;
    assert_refused_unchanged(
        &app,
        app.zitadel(
            Method::DELETE,
            &format!("/v2/users/{grace}/metadata?keys=k"),
            token,
            None,
            None,
        ),
        denied,
    )
    .await;
}

/// An organization's metadata through management v1: its own calls, the same rules and
/// ZITADEL's error ids of the organization commands, `org.write` to change and `org.read` to
/// read, and each organization its own.
#[tokio::test]
async fn an_organization_has_metadata_of_its_own() {
    let app = TestApp::spawn().await;
    let pat = app.pat();
    let set = call_ok(
        &app,
        Method::POST,
        "/management/v1/metadata/tier",
        json!({"value": "Z29sZA=="}),
    )
    .await;
    let got = call_ok(&app, Method::GET, "/management/v1/metadata/tier", json!({})).await;
    assert_eq!(got["metadata"]["value"], "Z29sZA==");
    assert_eq!(
        set["details"]["changeDate"],
        got["metadata"]["details"]["changeDate"]
    );
    call_ok(
        &app,
        Method::POST,
        "/management/v1/metadata/_bulk",
        json!({"metadata": [{"key": "region", "value": "ZXU="}, {"key": "seats", "value": "MTA="}]}),
    )
    .await;
    let listed = call_ok(
        &app,
        Method::POST,
        "/management/v1/metadata/_search",
        json!({"queries": [{"keyQuery": {"key": "re", "method": "TEXT_QUERY_METHOD_STARTS_WITH"}}]}),
    )
    .await;
    assert_eq!(listed["details"]["totalResult"], "1");
    assert_eq!(listed["result"][0]["key"], "region");

    // Another organization's are apart; the instance owner reaches them by x-zitadel-orgid.
    let globex = call_ok(
        &app,
        Method::POST,
        "/v2/organizations",
        json!({"name": "Globex"}),
    )
    .await;
    let globex = str_of(&globex, "organizationId");
    let (status, theirs) = app
        .zitadel(
            Method::POST,
            "/management/v1/metadata/_search",
            &pat,
            Some(globex),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{theirs}");
    assert!(
        theirs["result"].as_array().is_none_or(Vec::is_empty),
        "{theirs}"
    );

    let org = |method: Method, path: &str, body: Option<Value>| {
        let pat = pat.clone();
        let path = path.to_owned();
        let app = &app;
        async move { app.zitadel(method, &path, &pat, None, body).await }
    };
    for (method, path, body, refusal) in [
        (
            Method::POST,
            "/management/v1/metadata/tier",
            Some(json!({})),
            (400, 3, "Metadata is invalid", "META-2ml0f"),
        ),
        (
            Method::POST,
            "/management/v1/metadata/_bulk",
            Some(json!({"metadata": []})),
            (400, 9, "Metadata list is empty", "META-9mm2d"),
        ),
        (
            Method::DELETE,
            "/management/v1/metadata/_bulk",
            Some(json!({"keys": []})),
            (400, 9, "Metadata list is empty", "META-9mw2d"),
        ),
        (
            Method::DELETE,
            "/management/v1/metadata/_bulk",
            Some(json!({"keys": ["tier", ""]})),
            (400, 3, "Metadata is invalid", "COMMAND-m19ds"),
        ),
        (
            Method::DELETE,
            "/management/v1/metadata/_bulk",
            Some(json!({"keys": ["tier", "missing"]})),
            (404, 5, "One or more keys do not exist", "META-2npds"),
        ),
        (
            Method::DELETE,
            "/management/v1/metadata/missing",
            None,
            (404, 5, "Metadata not found", "META-mcnw3"),
        ),
    ] {
        assert_refused_unchanged(&app, org(method, path, body), refusal).await;
    }
    let reply = call(
        &app,
        Method::GET,
        "/management/v1/metadata/missing",
        json!({}),
    )
    .await;
    assert_zitadel_error(&reply, 404, 5, "Metadata not found", "QUERY-Rph32");

    // A viewer reads but does not write; a user through its ID token does neither.
    let viewer = app.machine_pat(None, "viewer", Role::OrgOwnerViewer).await;
    let (status, read) = app
        .zitadel(
            Method::GET,
            "/management/v1/metadata/tier",
            &viewer,
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{read}");
    let denied = (403, 7, "No matching permissions found", "AUTH-5mWD2");
    assert_refused_unchanged(
        &app,
        app.zitadel(
            Method::DELETE,
            "/management/v1/metadata/tier",
            &viewer,
            None,
            None,
        ),
        denied,
    )
    .await;
    add_user(&app, "ada@example.com").await;
    let (_, signed_in) = app.sign_in("ada@example.com", "correct horse").await;
    let token = str_of(&signed_in, "idToken");
    assert_refused_unchanged(
        &app,
        app.zitadel(
            Method::POST,
            "/management/v1/metadata/_search",
            token,
            None,
            Some(json!({})),
        ),
        denied,
    )
    .await;

    call_ok(
        &app,
        Method::DELETE,
        "/management/v1/metadata/_bulk",
        json!({"keys": ["region", "seats"]}),
    )
    .await;
    call_ok(
        &app,
        Method::DELETE,
        "/management/v1/metadata/tier",
        json!({}),
    )
    .await;
    let left = call_ok(
        &app,
        Method::POST,
        "/management/v1/metadata/_search",
        json!({}),
    )
    .await;
    assert!(
        left["result"].as_array().is_none_or(Vec::is_empty),
        "{left}"
    );
}
