//! The administrator's API under `v1/projects/{p}[/tenants/{t}]/accounts…`, as the Firebase
//! Admin SDKs call it, and the admin forms of the dual-use `v1/accounts:*` calls.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

fn path(op: &str) -> String {
    format!("/v1/projects/{PROJECT}/accounts{op}")
}

async fn create(app: &TestApp, body: Value) -> Value {
    let (status, reply) = app.admin_post(&path(""), body).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    reply
}

#[tokio::test]
async fn create_lookup_update_delete() {
    let app = TestApp::spawn().await;
    let created = create(
        &app,
        json!({"localId": "uid-1", "email": "quinn@example.com", "password": "secret12", "emailVerified": true,
               "displayName": "Quinn", "phoneNumber": "+16505550101", "photoUrl": "https://example.com/q.png"}),
    )
    .await;
    assert_eq!(created["kind"], "identitytoolkit#SignupNewUserResponse");
    assert_eq!(created["localId"], "uid-1");
    assert!(
        created.get("idToken").is_none(),
        "admin create mints no session"
    );

    for selector in [
        json!({"localId": ["uid-1"]}),
        json!({"email": ["QUINN@example.com"]}),
        json!({"phoneNumber": ["+16505550101"]}),
        json!({"federatedUserId": [{"providerId": "password", "rawId": "quinn@example.com"}]}),
        json!({"federatedUserId": [{"providerId": "google.com", "rawId": "x"}, {"providerId": "phone", "rawId": "+16505550101"}]}),
    ] {
        let (status, body) = app.admin_post(&path(":lookup"), selector).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let user = &body["users"][0];
        assert_eq!(user["localId"], "uid-1");
        assert_eq!(user["emailVerified"], true);
        assert_eq!(user["phoneNumber"], "+16505550101");
        let providers: Vec<&str> = user["providerUserInfo"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["providerId"].as_str().unwrap())
            .collect();
        assert_eq!(providers, ["password", "phone"]);
    }
    let (_, none) = app
        .admin_post(&path(":lookup"), json!({"localId": ["missing"]}))
        .await;
    assert_eq!(
        none,
        json!({"kind": "identitytoolkit#GetAccountInfoResponse"}),
        "users omitted when none match"
    );

    let (status, body) = app
        .admin_post(
            &path(":update"),
            json!({"localId": "uid-1", "displayName": "", "deleteProvider": ["phone"],
                   "customAttributes": "{\"role\":\"admin\"}", "validSince": "1700000000"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let user = app.admin_user("uid-1").await.unwrap();
    assert!(user.get("displayName").is_none());
    assert!(user.get("phoneNumber").is_none());
    assert_eq!(user["customAttributes"], "{\"role\":\"admin\"}");
    assert_eq!(user["validSince"], "1700000000");

    // Custom claims land in ID tokens at the top level.
    let (_, signed_in) = app.sign_in("quinn@example.com", "secret12").await;
    assert_eq!(claims(str_of(&signed_in, "idToken"))["role"], "admin");

    let (status, body) = app
        .admin_post(&path(":delete"), json!({"localId": "uid-1"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"kind": "identitytoolkit#DeleteAccountResponse"})
    );
    assert!(app.admin_user("uid-1").await.is_none());
}

/// Custom claims may share a name with a profile claim. As in the Firebase emulator, a custom
/// `name` or `picture` replaces the profile's, while `email`, `email_verified`,
/// `phone_number` and `provider_id` always come from the account, even when it has none;
/// either way the claim appears once and the token stays usable.
#[tokio::test]
async fn custom_claims_named_like_profile_claims() {
    let app = TestApp::spawn().await;
    create(
        &app,
        json!({"localId": "uid-c", "email": "casey@example.com", "password": "secret12",
               "displayName": "Casey", "photoUrl": "https://example.com/c.png"}),
    )
    .await;
    let custom = json!({"email": "spoof@example.com", "email_verified": true,
                        "phone_number": "+16505550199", "provider_id": "anonymous",
                        "name": "Captain", "picture": "https://example.com/cap.png", "role": "x"});
    let (status, body) = app
        .admin_post(
            &path(":update"),
            json!({"localId": "uid-c", "customAttributes": custom.to_string()}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, signed_in) = app.sign_in("casey@example.com", "secret12").await;
    assert_eq!(status, StatusCode::OK, "{signed_in}");
    let token = str_of(&signed_in, "idToken");
    let mut names = member_names(&payload_text(token));
    let count = names.len();
    names.sort_unstable();
    names.dedup();
    assert_eq!(
        names.len(),
        count,
        "a claim repeats: {}",
        payload_text(token)
    );
    let token_claims = claims(token);
    assert_eq!(token_claims["email"], "casey@example.com");
    assert_eq!(token_claims["email_verified"], false);
    assert_eq!(token_claims["name"], "Captain");
    assert_eq!(token_claims["picture"], "https://example.com/cap.png");
    assert_eq!(token_claims["role"], "x");
    assert!(token_claims.get("phone_number").is_none(), "{token_claims}");
    assert!(token_claims.get("provider_id").is_none(), "{token_claims}");

    // The server takes its own token back, and so does a refresh.
    let (status, looked_up) = app.lookup(token).await;
    assert_eq!(status, StatusCode::OK, "{looked_up}");
    assert_eq!(looked_up["users"][0]["localId"], "uid-c");
    let (status, refreshed) = app.refresh(str_of(&signed_in, "refreshToken")).await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    assert_eq!(claims(str_of(&refreshed, "id_token"))["name"], "Captain");
}

#[tokio::test]
async fn admin_errors_change_nothing() {
    let app = TestApp::spawn().await;
    create(
        &app,
        json!({"localId": "uid-a", "email": "a@example.com", "phoneNumber": "+16505550102"}),
    )
    .await;
    let before = app.fingerprint().await;
    let cases = [
        (path(""), json!({"localId": "uid-a"}), "DUPLICATE_LOCAL_ID"),
        (path(""), json!({"email": "A@example.com"}), "EMAIL_EXISTS"),
        (
            path(""),
            json!({"phoneNumber": "+16505550102"}),
            "PHONE_NUMBER_EXISTS",
        ),
        (
            path(""),
            json!({"phoneNumber": "6505550102"}),
            "INVALID_PHONE_NUMBER : Invalid format.",
        ),
        (path(""), json!({"localId": ""}), "INVALID_LOCAL_ID"),
        (
            path(":update"),
            json!({"displayName": "x"}),
            "MISSING_LOCAL_ID",
        ),
        (
            path(":update"),
            json!({"localId": "missing", "displayName": "x"}),
            "USER_NOT_FOUND",
        ),
        (
            path(":update"),
            json!({"localId": "uid-a", "customAttributes": "[1]"}),
            "INVALID_CLAIMS",
        ),
        (
            path(":update"),
            json!({"localId": "uid-a", "customAttributes": "{\"sub\":1}"}),
            "FORBIDDEN_CLAIM : sub",
        ),
        (
            path(":update"),
            json!({"localId": "uid-a", "customAttributes": format!("{{\"a\":\"{}\"}}", "x".repeat(1000))}),
            "CLAIMS_TOO_LARGE",
        ),
        (path(":delete"), json!({}), "MISSING_LOCAL_ID"),
        (
            path(":delete"),
            json!({"localId": "missing"}),
            "USER_NOT_FOUND",
        ),
        (path(":lookup"), json!({"email": ["bad"]}), "INVALID_EMAIL"),
        (
            path(":query"),
            json!({"limit": 501}),
            "INVALID_ARGUMENT : limit must be between 1 and 500.",
        ),
        (
            path(":query"),
            json!({"sortBy": "AGE"}),
            "INVALID_ARGUMENT : Unknown sortBy.",
        ),
        (
            path(":batchDelete"),
            json!({"localIds": []}),
            "MISSING_LOCAL_ID",
        ),
        (
            "/v1/projects/nope/accounts".to_owned(),
            json!({}),
            "PROJECT_NOT_FOUND",
        ),
        (
            format!("/v1/projects/{PROJECT}/tenants/nope/accounts:lookup"),
            json!({}),
            "TENANT_NOT_FOUND",
        ),
    ];
    for (p, body, message) in cases {
        let reply = app.admin_post(&p, body.clone()).await;
        assert_it_error(&reply, message);
    }
    assert_eq!(app.fingerprint().await, before);
}

#[tokio::test]
async fn admin_routes_require_a_valid_bearer() {
    let app = TestApp::spawn().await;
    let before = app.fingerprint().await;
    let unauthenticated = "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.";
    let reply = app
        .bearer_post(&path(""), "not-owner", json!({"email": "x@example.com"}))
        .await;
    assert_google_error(&reply, 401, "UNAUTHENTICATED", unauthenticated);
    let reply = app.post(&path(""), json!({"email": "x@example.com"})).await;
    assert_google_error(&reply, 401, "UNAUTHENTICATED", unauthenticated);
    assert_eq!(reply.1["error"]["errors"][0]["reason"], "authError");
    let (status, _) = app
        .bearer_post(&path(":lookup"), "ya29.anything", json!({"localId": ["x"]}))
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "ya29. tokens are the emulator's admin tokens too"
    );
    assert_eq!(app.fingerprint().await, before);
}

#[tokio::test]
async fn dual_use_calls_as_admin() {
    let app = TestApp::spawn().await;
    let (status, body) = app
        .admin_post(
            "/v1/accounts:signUp",
            json!({"localId": "uid-d", "email": "d@example.com"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.get("idToken").is_none());
    let (_, body) = app
        .admin_post(
            "/identitytoolkit.googleapis.com/v1/accounts:lookup",
            json!({"localId": ["uid-d"], "targetProjectId": PROJECT}),
        )
        .await;
    assert_eq!(body["users"][0]["email"], "d@example.com");
    let (status, _) = app
        .admin_post(
            "/v1/accounts:update",
            json!({"localId": "uid-d", "emailVerified": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        app.admin_user("uid-d").await.unwrap()["emailVerified"],
        true
    );
    let (status, _) = app
        .admin_post("/v1/accounts:delete", json!({"localId": "uid-d"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(app.admin_user("uid-d").await.is_none());
    assert_it_error(
        &app.admin_post(
            "/v1/accounts:lookup",
            json!({"localId": ["x"], "targetProjectId": "nope"}),
        )
        .await,
        "PROJECT_NOT_FOUND",
    );
}

#[tokio::test]
async fn query_counts_filters_and_sorts() {
    let app = TestApp::spawn().await;
    for (id, email, name) in [
        ("u3", "c@example.com", "Carla"),
        ("u1", "a@example.com", "Zed"),
        ("u2", "b@example.com", "Mia"),
    ] {
        create(
            &app,
            json!({"localId": id, "email": email, "displayName": name}),
        )
        .await;
    }
    let (status, body) = app.admin_post(&path(":query"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["recordsCount"], "3");
    let ids: Vec<&str> = body["userInfo"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["localId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["u1", "u2", "u3"]);

    let (_, body) = app
        .admin_post(
            &path(":query"),
            json!({"sortBy": "NAME", "order": "DESC", "limit": "2"}),
        )
        .await;
    let names: Vec<&str> = body["userInfo"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["displayName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Zed", "Mia"]);
    assert_eq!(body["recordsCount"], "3");

    let (_, body) = app
        .admin_post(&path(":query"), json!({"expression": [{"email": "b@example.com"}, {"userId": "u3"}], "returnUserInfo": false}))
        .await;
    assert_eq!(body, json!({"recordsCount": "2"}));
    let (_, body) = app.admin_post(&path(":query"), json!({"offset": 2})).await;
    assert_eq!(body["userInfo"][0]["localId"], "u3");
}

#[tokio::test]
async fn batch_create_reports_each_failure_by_index() {
    let app = TestApp::spawn().await;
    create(
        &app,
        json!({"localId": "existing", "email": "taken@example.com"}),
    )
    .await;
    let (status, body) = app
        .admin_post(
            &path(":batchCreate"),
            json!({"users": [
                {"localId": "imp-1", "email": "imp1@example.com", "rawPassword": "secret12", "createdAt": "1600000000000",
                 "customAttributes": "{\"tier\":\"gold\"}", "emailVerified": true},
                {"email": "nolocalid@example.com"},
                {"localId": "imp-3", "email": "taken@example.com"},
                {"localId": "imp-4", "email": "bad"},
                {"localId": "imp-5", "passwordHash": "abc", "salt": "def"},
                {"localId": "imp-6", "phoneNumber": "+16505550199"}
            ]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["kind"], "identitytoolkit#UploadAccountResponse");
    assert_eq!(
        body["error"],
        json!([
            {"index": 1, "message": "MISSING_LOCAL_ID"},
            {"index": 2, "message": "EMAIL_EXISTS"},
            {"index": 3, "message": "INVALID_EMAIL"},
            {"index": 4, "message": "MISSING_HASH_ALGORITHM"}
        ])
    );
    let imported = app.admin_user("imp-1").await.unwrap();
    assert_eq!(imported["createdAt"], "1600000000000");
    assert_eq!(imported["customAttributes"], "{\"tier\":\"gold\"}");
    assert_eq!(
        app.sign_in("imp1@example.com", "secret12").await.0,
        StatusCode::OK
    );
    assert!(app.admin_user("imp-6").await.is_some());
    assert!(app.admin_user("imp-3").await.is_none());
}

/// `allowOverwrite` replaces a user whose `localId` exists: profile, password, factors and
/// sessions; without it the user is reported and kept. A replacement refused (its email taken)
/// leaves the old user as it was. A record with a `passwordHash` is imported beside the others
/// (imported_passwords.rs signs such users in).
#[tokio::test]
async fn batch_create_overwrites_only_when_allowed() {
    let app = TestApp::spawn().await;
    let up = app.sign_up("old@example.com", "secret12").await;
    let id = str_of(&up, "localId").to_owned();
    let (status, body) = app
        .admin_post(
            &path(":update"),
            json!({"localId": id, "displayName": "Old", "phoneNumber": "+16505550110", "emailVerified": true,
                   "mfa": {"enrollments": [{"phoneInfo": "+16505550111"}]}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    create(
        &app,
        json!({"localId": "other", "email": "taken@example.com"}),
    )
    .await;
    let (refresh, id_token) = (str_of(&up, "refreshToken"), str_of(&up, "idToken"));
    assert_eq!(app.lookup(id_token).await.0, StatusCode::OK);

    let before = app.fingerprint().await;
    let kept = app.admin_user(&id).await;
    let refused = [
        json!({"users": [{"localId": id, "email": "new@example.com"}]}),
        json!({"users": [{"localId": id, "email": "taken@example.com"}], "allowOverwrite": true}),
    ];
    for (request, message) in refused
        .into_iter()
        .zip(["DUPLICATE_LOCAL_ID", "EMAIL_EXISTS"])
    {
        let (status, body) = app.admin_post(&path(":batchCreate"), request).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["error"], json!([{"index": 0, "message": message}]));
        assert_eq!(app.fingerprint().await, before);
        assert_eq!(app.admin_user(&id).await, kept);
    }

    app.advance(2);
    let (status, body) = app
        .admin_post(
            &path(":batchCreate"),
            json!({"allowOverwrite": true, "hashAlgorithm": "HMAC_SHA256", "signerKey": "c2lnbmVy",
                   "users": [
                {"localId": id, "email": "new@example.com", "rawPassword": "newpass12",
                 "mfaInfo": [{"phoneInfo": "+16505550112", "displayName": "New"}]},
                {"localId": "hashed", "email": "hashed@example.com", "passwordHash": "aGFzaA==", "salt": "c2FsdA=="},
                {"localId": "fresh", "email": "fresh@example.com"}
            ]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body.get("error"), None, "{body}");
    let user = app.admin_user(&id).await.expect("replaced");
    assert_eq!(user["email"], "new@example.com");
    assert_eq!(user["emailVerified"], false);
    assert_eq!(user.get("displayName"), None);
    assert_eq!(user.get("phoneNumber"), None);
    let factors = user["mfaInfo"].as_array().expect("factors");
    assert_eq!(factors.len(), 1);
    assert_eq!(factors[0]["phoneInfo"], "+16505550112");
    assert_eq!(factors[0]["displayName"], "New");
    assert!(app.admin_user("fresh").await.is_some());
    assert!(app.admin_user("hashed").await.is_some());

    assert_it_error(&app.lookup(id_token).await, "TOKEN_EXPIRED");
    assert_it_error(&app.refresh(refresh).await, "TOKEN_EXPIRED");
    assert_it_error(
        &app.sign_in("old@example.com", "secret12").await,
        "EMAIL_NOT_FOUND",
    );
    let (status, body) = app.sign_in("new@example.com", "newpass12").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["mfaInfo"][0]["displayName"], "New", "{body}");
}

/// Users that repeat one another refuse the whole import before anything is written, as in
/// the emulator: a `localId` twice (unless the second may overwrite the first), and with
/// `sanityCheck` an email or a provider's account twice.
#[tokio::test]
async fn batch_create_refuses_repeats_within_a_request() {
    let app = TestApp::spawn().await;
    let google = |raw: &str| json!([{"providerId": "google.com", "rawId": raw}]);
    let refused = [
        (
            json!({"users": [{"localId": "d1"}, {"localId": "d2"}, {"localId": "d1"}]}),
            "DUPLICATE_LOCAL_ID : d1",
        ),
        (
            json!({"sanityCheck": true, "users": [{"localId": "e1", "email": "same@example.com"},
                                                  {"localId": "e2", "email": "same@example.com"}]}),
            "DUPLICATE_EMAIL : same@example.com",
        ),
        (
            json!({"sanityCheck": true, "users": [{"localId": "g1", "providerUserInfo": google("g")},
                                                  {"localId": "g2", "providerUserInfo": google("g")}]}),
            "DUPLICATE_RAW_ID : Provider id(google.com), Raw id(g)",
        ),
    ];
    let before = app.fingerprint().await;
    for (request, message) in refused {
        assert_it_error(
            &app.admin_post(&path(":batchCreate"), request).await,
            message,
        );
        assert_eq!(app.fingerprint().await, before);
    }

    let (status, body) = app
        .admin_post(
            &path(":batchCreate"),
            json!({"allowOverwrite": true, "users": [{"localId": "d1", "email": "first@example.com"},
                                                     {"localId": "d1", "email": "second@example.com"}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body.get("error"), None, "{body}");
    assert_eq!(
        app.admin_user("d1").await.unwrap()["email"],
        "second@example.com"
    );
}

/// firebase-admin's `importUsers` sends up to 1000 full records in one body, far more than the
/// 64 KiB other calls accept; a body over the import limit is refused and changes nothing.
#[tokio::test]
async fn batch_create_takes_a_thousand_full_records() {
    let app = TestApp::spawn().await;
    let users: Vec<Value> = (0..1000)
        .map(|i| {
            json!({
                "localId": format!("import-{i:04}"),
                "email": format!("import-{i}@example.com"),
                "emailVerified": true,
                "displayName": format!("Imported user number {i}"),
                "photoUrl": format!("https://example.com/photos/{i}.png"),
                "mfaInfo": [
                    {"phoneInfo": format!("+4420{i:08}"), "displayName": "mobile"},
                    {"phoneInfo": format!("+4930{i:08}"), "displayName": "office"}
                ]
            })
        })
        .collect();
    let body = json!({ "users": users });
    assert!(body.to_string().len() > 200_000);
    let (status, reply) = app.admin_post(&path(":batchCreate"), body).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(reply.get("error"), None, "{reply}");
    let last = app.admin_user("import-0999").await.expect("imported");
    assert_eq!(last["mfaInfo"].as_array().map(Vec::len), Some(2));

    let before = app.fingerprint().await;
    let huge = json!({"users": [{"localId": "huge", "displayName": "x".repeat(4 * 1024 * 1024)}]});
    let reply = app.admin_post(&path(":batchCreate"), huge).await;
    assert_google_error(
        &reply,
        413,
        "INVALID_ARGUMENT",
        "Request payload size exceeds the limit: 4194304 bytes.",
    );
    assert_eq!(app.fingerprint().await, before);
}

#[tokio::test]
async fn batch_delete_needs_force_for_enabled_users() {
    let app = TestApp::spawn().await;
    create(&app, json!({"localId": "on"})).await;
    create(&app, json!({"localId": "off", "disabled": true})).await;
    let (status, body) = app
        .admin_post(
            &path(":batchDelete"),
            json!({"localIds": ["on", "off", "ghost"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({"errors": [{"index": 0, "localId": "on", "message": "NOT_DISABLED : Disable the account before batch deletion."}]})
    );
    assert!(app.admin_user("on").await.is_some());
    assert!(app.admin_user("off").await.is_none());
    let (_, body) = app
        .admin_post(
            &path(":batchDelete"),
            json!({"localIds": ["on"], "force": true}),
        )
        .await;
    assert_eq!(body, json!({}));
    assert!(app.admin_user("on").await.is_none());
}

#[tokio::test]
async fn batch_get_pages_through_everyone() {
    let app = TestApp::spawn().await;
    for i in 0..5 {
        create(&app, json!({"localId": format!("p{i}")})).await;
    }
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let (status, body) = app
            .admin_get(&format!(
                "{}?maxResults=2&nextPageToken={token}",
                path(":batchGet")
            ))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["kind"], "identitytoolkit#DownloadAccountResponse");
        for user in body["users"].as_array().into_iter().flatten() {
            seen.push(user["localId"].as_str().unwrap().to_owned());
        }
        match body["nextPageToken"].as_str() {
            Some(next) => token = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(seen, ["p0", "p1", "p2", "p3", "p4"]);
    assert_it_error(
        &app.admin_get(&format!("{}?nextPageToken=%%%", path(":batchGet")))
            .await,
        "INVALID_PAGE_SELECTION",
    );
    assert_it_error(
        &app.admin_get(&format!("{}?maxResults=0", path(":batchGet")))
            .await,
        "INVALID_ARGUMENT : maxResults must be between 1 and 1000.",
    );
}

#[tokio::test]
async fn tenants_are_separate_realms() {
    let app = TestApp::spawn().await;
    app.service
        .create_tenant(PROJECT, "tenant-a")
        .await
        .expect("tenant");
    let tenant_path = format!("/v1/projects/{PROJECT}/tenants/tenant-a/accounts");
    let (status, body) = app
        .admin_post(
            &tenant_path,
            json!({"localId": "t-1", "email": "t@example.com", "password": "secret12"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        app.admin_user("t-1").await.is_none(),
        "not visible in the project realm"
    );
    let (_, body) = app
        .admin_post(
            &format!("{tenant_path}:lookup"),
            json!({"localId": ["t-1"]}),
        )
        .await;
    assert_eq!(body["users"][0]["tenantId"], "tenant-a");

    // End users name the tenant in the body; their tokens carry it.
    assert_it_error(
        &app.sign_in("t@example.com", "secret12").await,
        "EMAIL_NOT_FOUND",
    );
    let (status, body) = app
        .post(
            "/v1/accounts:signInWithPassword",
            json!({"email": "t@example.com", "password": "secret12", "tenantId": "tenant-a"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = str_of(&body, "idToken");
    assert_eq!(claims(token)["firebase"]["tenant"], "tenant-a");
    assert_eq!(
        app.lookup(token).await.0,
        StatusCode::OK,
        "tenant resolved from the token"
    );
    assert_it_error(
        &app.post(
            "/v1/accounts:lookup",
            json!({"idToken": token, "tenantId": "other"}),
        )
        .await,
        "TENANT_ID_MISMATCH",
    );
    assert_it_error(
        &app.admin_post(
            &format!("{tenant_path}:lookup"),
            json!({"localId": ["t-1"], "tenantId": "other"}),
        )
        .await,
        "TENANT_ID_MISMATCH",
    );
}

/// The emulator's reset between tests, `DELETE /emulator/v1/projects/{p}[/tenants/{t}]/accounts`:
/// every account of that project (or tenant) goes, with its factors and sessions; other
/// tenants keep theirs. Like the emulator's other hooks it exists in dev mode only.
#[tokio::test]
async fn the_emulator_reset_deletes_every_account_of_its_realm() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Kept").await;
    let session = app.verified_user("reset@example.com").await;
    app.enrol_phone(&session, "+16505550123").await;
    create(
        &app,
        json!({"localId": "uid-r2", "email": "r2@example.com"}),
    )
    .await;
    let (status, body) = app
        .admin_post(
            &format!("/v1/projects/{PROJECT}/tenants/{tenant}/accounts"),
            json!({"localId": "uid-t", "email": "t@example.com"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let reset = |app: &TestApp, path: String| app.client.delete(app.url(&path)).send();
    let response = reset(&app, format!("/emulator/v1/projects/{PROJECT}/accounts"))
        .await
        .unwrap();
    let (status, body) = TestApp::reply(response).await;
    assert_eq!((status, body), (StatusCode::OK, json!({})));
    assert!(app.admin_user("uid-r2").await.is_none());
    assert_it_error(
        &app.lookup(str_of(&session, "idToken")).await,
        "USER_NOT_FOUND",
    );
    assert_it_error(
        &app.sign_in("reset@example.com", "secret12").await,
        "EMAIL_NOT_FOUND",
    );
    let tenant_lookup = format!("/v1/projects/{PROJECT}/tenants/{tenant}/accounts:lookup");
    let (status, kept) = app
        .admin_post(&tenant_lookup, json!({"localId": ["uid-t"]}))
        .await;
    assert_eq!(status, StatusCode::OK, "{kept}");
    assert_eq!(kept["users"][0]["localId"], "uid-t");

    let response = reset(
        &app,
        format!("/emulator/v1/projects/{PROJECT}/tenants/{tenant}/accounts"),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (_, gone) = app
        .admin_post(&tenant_lookup, json!({"localId": ["uid-t"]}))
        .await;
    assert!(gone.get("users").is_none(), "{gone}");

    let production = TestApp::spawn_production().await;
    let before = production.fingerprint().await;
    let response = reset(
        &production,
        format!("/emulator/v1/projects/{PROJECT}/accounts"),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(production.fingerprint().await, before);
}

/// A record's own `tenantId` must be the tenant of the request's path, as in the emulator; one
/// that is not is reported alone and not imported.
#[tokio::test]
async fn batch_create_checks_each_records_tenant() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Imports").await;
    let tenant_path = format!("/v1/projects/{PROJECT}/tenants/{tenant}/accounts:batchCreate");
    let mismatch = "Tenant id in userInfo does not match the tenant id in request.";
    let before = app.fingerprint().await;
    let (status, body) = app
        .admin_post(
            &path(":batchCreate"),
            json!({"users": [{"localId": "in-project", "tenantId": tenant}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["error"], json!([{"index": 0, "message": mismatch}]));
    assert_eq!(app.fingerprint().await, before);

    let (status, body) = app
        .admin_post(
            &tenant_path,
            json!({"users": [
                {"localId": "elsewhere", "tenantId": "other-tenant"},
                {"localId": "named", "tenantId": tenant, "email": "named@example.com"},
                {"localId": "unnamed", "email": "unnamed@example.com"}
            ]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["error"], json!([{"index": 0, "message": mismatch}]));
    let lookup = format!("/v1/projects/{PROJECT}/tenants/{tenant}/accounts:lookup");
    let (status, found) = app
        .admin_post(
            &lookup,
            json!({"localId": ["elsewhere", "named", "unnamed"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    let ids: Vec<&str> = found["users"]
        .as_array()
        .expect("users")
        .iter()
        .map(|u| str_of(u, "localId"))
        .collect();
    assert_eq!(ids, ["named", "unnamed"]);
}
