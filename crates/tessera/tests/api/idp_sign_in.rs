//! `accounts:signInWithIdp`: signing in with an account at an identity provider, in dev mode
//! with the emulator's fake credentials (a JWT whose signature is not checked, or a JSON
//! object). The account signs a user up, then in; a provider that vouches for an address
//! signs in to its user, one that does not asks for confirmation; an ID token links the
//! account instead; second factors follow; production refuses; every refusal, with nothing
//! changed.

use jsonwebtoken::{EncodingKey, Header, encode};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::sinks::HttpSink;
use tessera_core::Clock;

const SIGN_IN: &str = "/v1/accounts:signInWithIdp";

/// A Google ID token with `claims`, signed with a key Tessera never sees, as a test's fake
/// credential would be.
fn google_token(claims: Value) -> String {
    encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(b"not checked"),
    )
    .expect("a JWT")
}

fn credential(provider: &str, id_token: &str) -> Value {
    json!({
        "requestUri": "http://localhost",
        "postBody": format!("id_token={id_token}&providerId={provider}"),
        "returnSecureToken": true,
    })
}

fn google(sub: &str, email: &str, verified: bool) -> Value {
    credential(
        "google.com",
        &google_token(
            json!({"sub": sub, "email": email, "email_verified": verified,
                              "name": "Ada Lovelace", "picture": "https://example.com/ada.png",
                              "given_name": "Ada", "family_name": "Lovelace"}),
        ),
    )
}

/// `body` with the fields of `extra` added.
fn with(mut body: Value, extra: Value) -> Value {
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    body
}

async fn signed_in(app: &TestApp, body: Value) -> Value {
    let (status, reply) = app.post(SIGN_IN, body).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    reply
}

async fn user_record(app: &TestApp, local_id: &str) -> Value {
    app.admin_user(local_id).await.expect("the user")
}

/// The first sign-in with a Google account signs a user up with the profile Google gives;
/// later ones sign that user in. Tokens name the provider and the account; lookup, admin
/// lookup by the account and createAuthUri show it. A provider without an address, given
/// its claims as JSON, through the v3 name, signs up a user without one.
#[tokio::test]
async fn a_provider_account_signs_up_then_in() {
    let app = TestApp::spawn().await;
    let first = signed_in(&app, google("g-1", "Ada@Example.com", true)).await;
    assert_eq!(
        (
            &first["isNewUser"],
            &first["providerId"],
            &first["federatedId"],
            &first["email"],
            &first["emailVerified"],
        ),
        (
            &json!(true),
            &json!("google.com"),
            &json!("https://accounts.google.com/g-1"),
            &json!("ada@example.com"),
            &json!(true),
        )
    );
    assert_eq!(
        (
            &first["displayName"],
            &first["firstName"],
            &first["lastName"],
            &first["photoUrl"]
        ),
        (
            &json!("Ada Lovelace"),
            &json!("Ada"),
            &json!("Lovelace"),
            &json!("https://example.com/ada.png")
        )
    );
    let profile: Value = serde_json::from_str(str_of(&first, "rawUserInfo")).unwrap();
    assert_eq!(
        (&profile["id"], &profile["verified_email"]),
        (&json!("g-1"), &json!(true))
    );
    assert!(str_of(&first, "oauthAccessToken").len() > 10, "{first}");
    assert!(str_of(&first, "oauthIdToken").contains('.'), "{first}");
    let local_id = str_of(&first, "localId").to_owned();
    let token = claims(str_of(&first, "idToken"));
    assert_eq!(token["firebase"]["sign_in_provider"], "google.com");
    assert_eq!(
        token["firebase"]["identities"],
        json!({"email": ["ada@example.com"], "google.com": ["g-1"]})
    );
    assert_eq!(
        (&token["email"], &token["email_verified"], &token["name"]),
        (
            &json!("ada@example.com"),
            &json!(true),
            &json!("Ada Lovelace")
        )
    );

    let again = signed_in(&app, google("g-1", "ada@example.com", true)).await;
    assert_eq!(
        (&again["isNewUser"], &again["localId"]),
        (&json!(false), &json!(local_id))
    );
    let (status, refreshed) = app.refresh(str_of(&again, "refreshToken")).await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    let token = claims(str_of(&refreshed, "id_token"));
    assert_eq!(token["firebase"]["sign_in_provider"], "google.com");

    let (status, looked_up) = app.lookup(str_of(&again, "idToken")).await;
    assert_eq!(status, StatusCode::OK, "{looked_up}");
    assert_eq!(
        looked_up["users"][0]["providerUserInfo"],
        json!([{"providerId": "google.com", "rawId": "g-1", "federatedId": "g-1",
                "email": "ada@example.com", "displayName": "Ada Lovelace",
                "photoUrl": "https://example.com/ada.png"}])
    );
    let (status, found) = app
        .admin_post(
            &format!("/v1/projects/{PROJECT}/accounts:lookup"),
            json!({"federatedUserId": [{"providerId": "google.com", "rawId": "g-1"},
                                       {"providerId": "google.com", "rawId": "nobody"}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["users"].as_array().unwrap().len(), 1, "{found}");
    assert_eq!(found["users"][0]["localId"], local_id.as_str());
    let (status, methods) = app
        .post(
            "/v1/accounts:createAuthUri",
            json!({"identifier": "ada@example.com", "continueUri": "http://localhost"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{methods}");
    assert_eq!(
        (&methods["signinMethods"], &methods["allProviders"]),
        (&json!(["google.com"]), &json!(["google.com"]))
    );

    let json_claims = json!({
        "requestUri": "http://localhost/__/auth/handler?providerId=oidc.corp",
        "postBody": format!("id_token={}", json!({"sub": "c-7", "screen_name": "ada"})),
    });
    let (status, corp) = app
        .post(
            "/identitytoolkit/v3/relyingparty/verifyAssertion",
            json_claims.clone(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{corp}");
    assert_eq!(
        (
            &corp["isNewUser"],
            &corp["federatedId"],
            &corp["screenName"],
            &corp["emailVerified"]
        ),
        (&json!(true), &json!("c-7"), &json!("ada"), &json!(false))
    );
    assert_eq!(
        serde_json::from_str::<Value>(str_of(&corp, "rawUserInfo")).unwrap(),
        json!({"sub": "c-7", "screen_name": "ada"})
    );
    assert_ne!(corp["localId"], json!(local_id));
    assert!(user_record(&app, str_of(&corp, "localId")).await["email"].is_null());
}

/// A provider that vouches for an address signs in to its user: one who had proved the
/// address keeps the rest; one who had not loses the password, the number and every
/// session, as in Firebase. Another account at the same provider with that address replaces
/// the user's (`emailRecycled`). A provider that does not vouch for it asks for confirmation
/// and changes nothing.
#[tokio::test]
async fn the_address_decides_when_the_provider_vouches() {
    let app = TestApp::spawn().await;
    let unproven = app.sign_up("eve@example.com", "secret12").await;
    // Tokens die when issued before `validSince`, a second's precision.
    app.advance(1);
    let taken = signed_in(&app, google("g-eve", "eve@example.com", true)).await;
    assert_eq!(
        (&taken["isNewUser"], &taken["localId"]),
        (&json!(false), &unproven["localId"])
    );
    let record = user_record(&app, str_of(&taken, "localId")).await;
    assert_eq!(
        (
            &record["emailVerified"],
            &record["displayName"],
            record["passwordHash"].is_null()
        ),
        (&json!(true), &json!("Ada Lovelace"), true)
    );
    assert_eq!(record["providerUserInfo"][0]["providerId"], "google.com");
    assert_it_error(
        &app.lookup(str_of(&unproven, "idToken")).await,
        "TOKEN_EXPIRED",
    );
    assert_it_error(
        &app.sign_in("eve@example.com", "secret12").await,
        "INVALID_PASSWORD",
    );

    let proven = app.verified_user("bob@example.com").await;
    let linked = signed_in(&app, google("g-bob", "bob@example.com", true)).await;
    assert_eq!(linked["localId"], proven["localId"]);
    let (status, _) = app.sign_in("bob@example.com", "secret12").await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.lookup(str_of(&proven, "idToken")).await;
    assert_eq!(status, StatusCode::OK);

    let recycled = signed_in(&app, google("g-bob-2", "bob@example.com", true)).await;
    assert_eq!(
        (&recycled["localId"], &recycled["emailRecycled"]),
        (&proven["localId"], &json!(true))
    );
    let record = user_record(&app, str_of(&proven, "localId")).await;
    let providers: Vec<_> = record["providerUserInfo"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (str_of(p, "providerId"), str_of(p, "rawId")))
        .collect();
    assert_eq!(
        providers,
        [("password", "bob@example.com"), ("google.com", "g-bob-2")]
    );

    let carol = app.sign_up("carol@example.com", "secret12").await;
    app.settled().await;
    let before = app.fingerprint().await;
    let unvouched = signed_in(&app, google("g-carol", "carol@example.com", false)).await;
    assert_eq!(
        (
            &unvouched["needConfirmation"],
            &unvouched["localId"],
            &unvouched["verifiedProvider"]
        ),
        (&json!(true), &carol["localId"], &json!([]))
    );
    assert!(unvouched["idToken"].is_null(), "{unvouched}");
    assert_eq!(app.fingerprint().await, before);
}

/// With an ID token the account is linked to the caller's user, which gets the provider's
/// address if it had none. An account another user holds, or whose address is another
/// user's, is refused, with the credential in a 200 answer when the caller asks for it. An
/// unlinked account no longer finds the user; a deleted user's account signs a new one up.
#[tokio::test]
async fn an_id_token_links_the_account() {
    let app = TestApp::spawn().await;
    let (status, anonymous) = app
        .post("/v1/accounts:signUp", json!({"returnSecureToken": true}))
        .await;
    assert_eq!(status, StatusCode::OK, "{anonymous}");
    let linked = signed_in(
        &app,
        with(
            google("g-anon", "anon@example.com", true),
            json!({"idToken": anonymous["idToken"]}),
        ),
    )
    .await;
    assert_eq!(
        (&linked["localId"], &linked["isNewUser"]),
        (&anonymous["localId"], &json!(false))
    );
    let record = user_record(&app, str_of(&anonymous, "localId")).await;
    assert_eq!(
        (&record["email"], &record["emailVerified"]),
        (&json!("anon@example.com"), &json!(true))
    );
    assert_eq!(
        claims(str_of(&linked, "idToken"))["firebase"]["sign_in_provider"],
        "google.com"
    );

    let other = app.sign_up("other@example.com", "secret12").await;
    let other_token = json!({"idToken": other["idToken"]});
    app.refused(
        SIGN_IN,
        with(
            google("g-anon", "anon@example.com", true),
            other_token.clone(),
        ),
        "FEDERATED_USER_ID_ALREADY_LINKED",
    )
    .await;
    app.refused(
        SIGN_IN,
        with(
            google("g-new", "anon@example.com", true),
            other_token.clone(),
        ),
        "EMAIL_EXISTS",
    )
    .await;
    app.settled().await;
    let before = app.fingerprint().await;
    let told = signed_in(
        &app,
        with(
            google("g-anon", "anon@example.com", true),
            json!({"idToken": other["idToken"], "returnIdpCredential": true}),
        ),
    )
    .await;
    assert_eq!(
        (&told["errorMessage"], &told["providerId"]),
        (
            &json!("FEDERATED_USER_ID_ALREADY_LINKED"),
            &json!("google.com")
        )
    );
    assert!(told["idToken"].is_null() && told["oauthIdToken"].is_string());
    assert_eq!(app.fingerprint().await, before);

    let (status, unlinked) = app
        .post(
            "/v1/accounts:update",
            json!({"idToken": linked["idToken"], "deleteProvider": ["google.com", "github.com"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{unlinked}");
    assert_eq!(unlinked["providerUserInfo"], json!([]));
    let (status, found) = app
        .admin_post(
            &format!("/v1/projects/{PROJECT}/accounts:lookup"),
            json!({"federatedUserId": [{"providerId": "google.com", "rawId": "g-anon"}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert!(found["users"].is_null(), "{found}");

    let corp = || credential("oidc.corp", &json!({"sub": "c-1"}).to_string());
    signed_in(&app, with(corp(), json!({"idToken": other["idToken"]}))).await;
    let (status, _) = app
        .admin_post(
            &format!("/v1/projects/{PROJECT}/accounts:delete"),
            json!({"localId": other["localId"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let fresh = signed_in(&app, corp()).await;
    assert_eq!(fresh["isNewUser"], true, "{fresh}");
}

/// A user with a second factor signed in by a provider gets a pending sign-in, which the
/// factor finishes into a session of that provider.
#[tokio::test]
async fn second_factors_follow_a_provider_sign_in() {
    let app = TestApp::spawn().await;
    let session = app.verified_user("mfa@example.com").await;
    let (secret, _) = app.enrol_totp(&session).await;
    // The enrolment's code is used; the next window's is not.
    app.advance(30);
    let pending = signed_in(&app, google("g-mfa", "mfa@example.com", true)).await;
    assert!(pending["idToken"].is_null(), "{pending}");
    assert_eq!(pending["localId"], session["localId"]);
    let factor = &pending["mfaInfo"][0];
    let (status, done) = app
        .post(
            "/v2/accounts/mfaSignIn:finalize",
            json!({"mfaPendingCredential": pending["mfaPendingCredential"],
                   "mfaEnrollmentId": factor["mfaEnrollmentId"],
                   "totpVerificationInfo": {"verificationCode": totp(&secret, app.now())}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    let token = claims(str_of(&done, "idToken"));
    assert_eq!(
        (
            &token["firebase"]["sign_in_provider"],
            &token["firebase"]["sign_in_second_factor"]
        ),
        (&json!("google.com"), &json!("totp"))
    );
}

/// Tenants hold their own accounts; the answer and the tokens name the tenant.
#[tokio::test]
async fn tenants_hold_their_own_accounts() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Corp").await;
    let project = signed_in(&app, google("g-t", "t@example.com", true)).await;
    let in_tenant = signed_in(
        &app,
        with(
            google("g-t", "t@example.com", true),
            json!({"tenantId": tenant}),
        ),
    )
    .await;
    assert_eq!(
        (&in_tenant["isNewUser"], &in_tenant["tenantId"]),
        (&json!(true), &json!(tenant))
    );
    assert_ne!(in_tenant["localId"], project["localId"]);
    assert_eq!(
        claims(str_of(&in_tenant, "idToken"))["firebase"]["tenant"],
        tenant.as_str()
    );
}

/// Every malformed credential or request is refused with Firebase's error, nothing changed.
#[tokio::test]
async fn malformed_credentials_are_refused() {
    let app = TestApp::spawn().await;
    let post_body = |body: &str| json!({"requestUri": "http://localhost", "postBody": body});
    let cases = [
        (
            json!({"postBody": "providerId=google.com"}),
            "MISSING_REQUEST_URI",
        ),
        (
            json!({"requestUri": "not a uri", "postBody": "providerId=google.com&id_token={}"}),
            "INVALID_REQUEST_URI",
        ),
        (
            post_body("id_token=x"),
            "INVALID_CREDENTIAL_OR_PROVIDER_ID : Invalid IdP response/credential: http://localhost/",
        ),
        (
            post_body("providerId=password&id_token=x"),
            "INVALID_PROVIDER_ID : password is not an identity provider.",
        ),
        (
            post_body("providerId=google.com"),
            "INVALID_IDP_RESPONSE : An id_token is required.",
        ),
        (
            post_body("providerId=google.com&id_token=garbage"),
            "INVALID_IDP_RESPONSE : Unable to parse id_token: not a JWT or a JSON object.",
        ),
        (
            post_body("providerId=facebook.com&access_token=opaque"),
            "INVALID_IDP_RESPONSE : Only an id_token credential is accepted.",
        ),
        (
            post_body(&format!(
                "providerId=google.com&id_token={}",
                google_token(json!({"email": "x@example.com"}))
            )),
            "INVALID_IDP_RESPONSE : Invalid Idp Response: id_token missing required fields.",
        ),
        (
            post_body(&format!(
                "providerId=google.com&id_token={}",
                json!({"sub": 7})
            )),
            "INVALID_IDP_RESPONSE : The \"sub\" field must be a string.",
        ),
        (
            post_body(&format!(
                "providerId=google.com&id_token={}",
                json!({"sub": "s", "email": "not an address"})
            )),
            "INVALID_IDP_RESPONSE : The \"email\" field is not an email address.",
        ),
        (
            with(
                google("g-x", "x@example.com", true),
                json!({"idToken": "forged"}),
            ),
            "INVALID_ID_TOKEN",
        ),
        // A re-authentication (`autoCreate: false`) signs nobody up.
        (
            with(
                google("g-x", "x@example.com", true),
                json!({"autoCreate": false}),
            ),
            "EMAIL_NOT_FOUND",
        ),
    ];
    for (body, message) in cases {
        app.refused(SIGN_IN, body, message).await;
    }

    let user = signed_in(&app, google("g-off", "off@example.com", true)).await;
    let (status, _) = app
        .admin_post(
            &format!("/v1/projects/{PROJECT}/accounts:update"),
            json!({"localId": user["localId"], "disableUser": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    app.refused(
        SIGN_IN,
        google("g-off", "off@example.com", true),
        "USER_DISABLED",
    )
    .await;
}

/// A provider as production takes it, played by another Tessera: its ID tokens, verified
/// against the keys it publishes, for the client id configured.
fn tessera_provider(
    provider_id: &str,
    idp: &TestApp,
    client_id: &str,
) -> tessera::config::IdentityProvider {
    tessera::config::IdentityProvider {
        provider_id: provider_id.to_owned(),
        issuers: vec![format!("https://securetoken.google.com/{PROJECT}")],
        client_ids: vec![client_id.to_owned()],
        jwks_uri: idp.url("/.well-known/jwks.json"),
    }
}

/// Production takes only configured providers' ID tokens, each verified against the keys
/// the provider publishes, for one of the configured client ids, unexpired; no fake
/// credential and no unconfigured provider gets through, and nothing changes.
#[tokio::test]
async fn production_verifies_the_configured_providers_tokens() {
    let idp = TestApp::spawn().await;
    let stranger = TestApp::spawn().await;
    let app = TestApp::spawn_production_with(|c| {
        c.identity_providers = vec![
            tessera_provider("oidc.tessera", &idp, PROJECT),
            tessera_provider("oidc.elsewhere", &idp, "another-app"),
            tessera::config::IdentityProvider {
                jwks_uri: "http://127.0.0.1:9/keys".to_owned(),
                ..tessera_provider("oidc.down", &idp, PROJECT)
            },
        ];
    })
    .await;
    let key = app.production_api_key().await;
    let at_idp = idp.sign_up("ada@example.com", "secret12").await;
    let token = str_of(&at_idp, "idToken").to_owned();

    let (status, signed) = app
        .post_with_key(SIGN_IN, &key, credential("oidc.tessera", &token))
        .await;
    assert_eq!(status, StatusCode::OK, "{signed}");
    assert_eq!(
        (
            &signed["isNewUser"],
            &signed["federatedId"],
            &signed["email"],
            &signed["emailVerified"]
        ),
        (
            &json!(true),
            &at_idp["localId"],
            &json!("ada@example.com"),
            &json!(false)
        )
    );
    let (status, again) = app
        .post_with_key(SIGN_IN, &key, credential("oidc.tessera", &token))
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["localId"], signed["localId"]);

    let forged = stranger.sign_up("ada@example.com", "secret12").await;
    let unverified = "INVALID_IDP_RESPONSE : The id_token's signature, issuer, audience or expiry does not check out.";
    let refusals = [
        (
            credential("oidc.tessera", str_of(&forged, "idToken")),
            unverified,
        ),
        (credential("oidc.elsewhere", &token), unverified),
        (
            credential("oidc.tessera", &json!({"sub": "fake"}).to_string()),
            "INVALID_IDP_RESPONSE : Unable to parse id_token: not a JWT.",
        ),
        (
            json!({"requestUri": "http://localhost", "postBody": "providerId=oidc.tessera&access_token=x"}),
            "INVALID_IDP_RESPONSE : Only an id_token credential is accepted.",
        ),
        (
            google("g-p", "p@example.com", true),
            "OPERATION_NOT_ALLOWED : The identity provider configuration is not found.",
        ),
    ];
    app.settled().await;
    let before = app.fingerprint().await;
    for (body, message) in refusals {
        assert_it_error(&app.post_with_key(SIGN_IN, &key, body).await, message);
    }
    let (status, down) = app
        .post_with_key(SIGN_IN, &key, credential("oidc.down", &token))
        .await;
    assert_eq!(
        (status, &down["error"]["status"]),
        (StatusCode::SERVICE_UNAVAILABLE, &json!("UNAVAILABLE"))
    );
    app.advance(3600 + 61);
    assert_it_error(
        &app.post_with_key(SIGN_IN, &key, credential("oidc.tessera", &token))
            .await,
        unverified,
    );
    assert_eq!(app.fingerprint().await, before);
}

/// A provider's token that carries a `nonce` (Apple's, an OIDC provider's) is taken only
/// with the raw nonce whose SHA-256 (hex) the claim is: `postBody`'s `nonce`, which the JS
/// SDK sends for `OAuthProvider.credential({idToken, rawNonce})`. Firebase's error otherwise;
/// nothing changes. A token without a nonce needs none. The provider is played by an HTTP
/// sink publishing a symmetric key (a JWK of type `oct`), with which the test signs.
#[tokio::test]
async fn a_token_with_a_nonce_is_taken_only_with_its_raw_nonce() {
    let keys = HttpSink::start().await;
    let secret = b"a provider's signing secret, 32+";
    keys.reply_always(
        StatusCode::OK,
        json!({"keys": [{"kty": "oct", "kid": "k1", "alg": "HS256",
                          "k": data_encoding::BASE64URL_NOPAD.encode(secret)}]}),
    );
    let app = TestApp::spawn_production_with(|c| {
        c.identity_providers = vec![tessera::config::IdentityProvider {
            provider_id: "oidc.nonce".to_owned(),
            issuers: vec!["https://issuer.example".to_owned()],
            client_ids: vec!["the-app".to_owned()],
            jwks_uri: keys.url("/keys"),
        }];
    })
    .await;
    let key = app.production_api_key().await;
    let token = |sub: &str, nonce: Option<&str>| {
        let now = app.clock.now().unix_timestamp();
        let mut claims = json!({"iss": "https://issuer.example", "aud": "the-app", "sub": sub,
                                "iat": now, "exp": now + 3600});
        if let Some(nonce) = nonce {
            claims["nonce"] = json!(nonce);
        }
        let mut header = Header::new(jsonwebtoken::Algorithm::HS256);
        header.kid = Some("k1".to_owned());
        encode(&header, &claims, &EncodingKey::from_secret(secret)).unwrap()
    };
    let raw = "n-0S6_WzA2Mj";
    // SHA-256 of `raw` in hex, from Python's hashlib.
    let hashed = "0823a09b54cb9381561068b00aaf4e539b3f54604631d3e6a820879b6b04cc19";
    let with_nonce = |id_token: &str, nonce: &str| {
        json!({
            "requestUri": "http://localhost",
            "postBody": format!("id_token={id_token}&providerId=oidc.nonce&nonce={nonce}"),
            "returnSecureToken": true,
        })
    };
    let apple = token("apple-user", Some(hashed));

    let mismatch = "MISSING_OR_INVALID_NONCE : The nonce in ID Token does not match the SHA256 hash of the raw nonce in the request.";
    let refusals = [
        (
            credential("oidc.nonce", &apple),
            "MISSING_OR_INVALID_NONCE : Nonce is missing in the request.",
        ),
        (with_nonce(&apple, "another"), mismatch),
        // The hash itself is not the raw nonce.
        (with_nonce(&apple, hashed), mismatch),
        // Nor is a nonce claim that is no hash of it.
        (with_nonce(&token("apple-user", Some(raw)), raw), mismatch),
    ];
    app.settled().await;
    let before = app.fingerprint().await;
    for (body, message) in refusals {
        assert_it_error(&app.post_with_key(SIGN_IN, &key, body).await, message);
    }
    assert_eq!(app.fingerprint().await, before);

    let (status, signed) = app
        .post_with_key(SIGN_IN, &key, with_nonce(&apple, raw))
        .await;
    assert_eq!(status, StatusCode::OK, "{signed}");
    assert_eq!(
        (&signed["federatedId"], &signed["isNewUser"]),
        (&json!("apple-user"), &json!(true))
    );

    // A token without a nonce is taken with or without one.
    let plain = token("plain-user", None);
    for body in [credential("oidc.nonce", &plain), with_nonce(&plain, raw)] {
        let (status, signed) = app.post_with_key(SIGN_IN, &key, body).await;
        assert_eq!(status, StatusCode::OK, "{signed}");
        assert_eq!(signed["federatedId"], "plain-user");
    }
}

/// Administrators import users with their accounts at providers (`providerUserInfo`, the
/// address and number entries being the user's own) and link one to a user
/// (`linkProviderUserInfo`); the accounts then sign those users in. An account another user
/// holds, a missing id, and an end user's link are refused, nothing changed.
#[tokio::test]
async fn administrators_import_and_link_accounts() {
    let app = TestApp::spawn().await;
    let accounts = |path: &str| format!("/v1/projects/{PROJECT}/accounts{path}");
    let (status, body) = app
        .admin_post(
            &accounts(":batchCreate"),
            json!({"users": [
                {"localId": "imp-1", "email": "imp@example.com", "emailVerified": true,
                 "providerUserInfo": [
                    {"providerId": "google.com", "rawId": "g-imp", "email": "IMP@example.com",
                     "displayName": "Imp", "federatedId": "https://accounts.google.com/g-imp"},
                    {"providerId": "password", "rawId": "imp@example.com"}]},
                {"localId": "imp-2", "providerUserInfo": [{"providerId": "google.com", "rawId": "g-imp"}]},
                {"localId": "imp-3", "providerUserInfo": [{"providerId": "github.com"}]},
                {"localId": "imp-4", "providerUserInfo": [{"rawId": "x"}]}
            ]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["error"],
        json!([
            {"index": 1, "message": "FEDERATED_USER_ID_ALREADY_LINKED"},
            {"index": 2, "message": "INVALID_ARGUMENT : A rawId is required."},
            {"index": 3, "message": "INVALID_PROVIDER_ID : A providerId is required."}
        ])
    );
    assert!(app.admin_user("imp-2").await.is_none());
    let record = user_record(&app, "imp-1").await;
    assert_eq!(
        record["providerUserInfo"],
        json!([{"providerId": "google.com", "rawId": "g-imp", "federatedId": "g-imp",
                "email": "imp@example.com", "displayName": "Imp"}])
    );
    let signed = signed_in(&app, google("g-imp", "imp@example.com", true)).await;
    assert_eq!(
        (&signed["localId"], &signed["isNewUser"]),
        (&json!("imp-1"), &json!(false))
    );

    let (status, linked) = app
        .admin_post(
            &accounts(":update"),
            json!({"localId": "imp-1",
                   "linkProviderUserInfo": {"providerId": "github.com", "rawId": "gh-1", "screenName": "imp"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{linked}");
    assert_eq!(
        linked["providerUserInfo"][1],
        json!({"providerId": "github.com", "rawId": "gh-1", "federatedId": "gh-1", "screenName": "imp"})
    );
    let github = credential("github.com", &json!({"sub": "gh-1"}).to_string());
    assert_eq!(signed_in(&app, github).await["localId"], "imp-1");

    let other = app.sign_up("other@example.com", "secret12").await;
    app.settled().await;
    let before = app.fingerprint().await;
    let refusals = [
        (
            json!({"localId": other["localId"], "linkProviderUserInfo": {"providerId": "github.com", "rawId": "gh-1"}}),
            "FEDERATED_USER_ID_ALREADY_LINKED",
        ),
        (
            json!({"localId": other["localId"], "linkProviderUserInfo": {"providerId": "phone", "rawId": "+16505550100"}}),
            "INVALID_PROVIDER_ID : Only an identity provider's account can be linked this way.",
        ),
    ];
    for (body, message) in refusals {
        assert_it_error(&app.admin_post(&accounts(":update"), body).await, message);
    }
    assert_it_error(
        &app.post(
            "/v1/accounts:update",
            json!({"idToken": other["idToken"], "linkProviderUserInfo": {"providerId": "github.com", "rawId": "gh-2"}}),
        )
        .await,
        "INSUFFICIENT_PERMISSION",
    );
    assert_eq!(app.fingerprint().await, before);
}

/// ZITADEL's refusal to remove a link the user lacks (v2 and management v1 alike).
fn assert_no_such_link(reply: &Reply) {
    assert_zitadel_error(
        reply,
        404,
        5,
        "The user has no such link to an identity provider",
        "TESSERA-IDP02",
    );
}

/// ZITADEL's user service sees the same accounts at providers as links: it lists one that
/// Identity Toolkit signed up, counts it among the user's methods, adds one that then signs
/// in through Identity Toolkit, removes one, and creates a user with one. An account another
/// user holds, a second link to a provider, an empty link and a link the user lacks are
/// refused, nothing changed.
#[tokio::test]
async fn zitadel_manages_the_same_links() {
    use reqwest::Method;
    let app = TestApp::spawn().await;
    let signed = signed_in(&app, google("g-z", "zed@example.com", true)).await;
    let user = str_of(&signed, "localId").to_owned();
    let links = |user: &str| format!("/v2/users/{user}/links");
    let listed = call_ok(
        &app,
        Method::POST,
        &format!("{}/_search", links(&user)),
        json!({}),
    )
    .await;
    assert_eq!(
        listed["result"],
        json!([{"idpId": "google.com", "userId": "g-z", "userName": "zed@example.com"}])
    );
    assert_eq!(listed["details"]["totalResult"], "1");
    let methods = call_ok(
        &app,
        Method::GET,
        &format!("/v2/users/{user}/authentication_methods"),
        json!({}),
    )
    .await;
    assert_eq!(
        methods["authMethodTypes"],
        json!(["AUTHENTICATION_METHOD_TYPE_IDP"])
    );

    call_ok(
        &app,
        Method::POST,
        &links(&user),
        json!({"idpLink": {"idpId": "oidc.corp", "userId": "c-9", "userName": "zed"}}),
    )
    .await;
    let corp = credential("oidc.corp", &json!({"sub": "c-9"}).to_string());
    assert_eq!(signed_in(&app, corp).await["localId"], user.as_str());

    let other = app.sign_up("other@example.com", "secret12").await;
    let other = str_of(&other, "localId").to_owned();
    app.settled().await;
    let before = app.fingerprint().await;
    let taken = json!({"idpLink": {"idpId": "google.com", "userId": "g-z"}});
    assert_zitadel_error(
        &call(&app, Method::POST, &links(&other), taken).await,
        409,
        6,
        "The external user is linked to another user",
        "TESSERA-IDP01",
    );
    for again in ["c-9", "c-10"] {
        assert_zitadel_error(
            &call(
                &app,
                Method::POST,
                &links(&user),
                json!({"idpLink": {"idpId": "oidc.corp", "userId": again}}),
            )
            .await,
            409,
            6,
            "The user already has a link to this identity provider",
            "TESSERA-IDP04",
        );
    }
    assert_zitadel_error(
        &call(
            &app,
            Method::POST,
            &links(&other),
            json!({"idpLink": {"idpId": "", "userId": "x"}}),
        )
        .await,
        400,
        3,
        "The link names no identity provider or no external user",
        "TESSERA-IDP03",
    );
    assert_no_such_link(
        &call(
            &app,
            Method::DELETE,
            &format!("{}/google.com/g-other", links(&user)),
            json!({}),
        )
        .await,
    );
    assert_eq!(app.fingerprint().await, before);

    call_ok(
        &app,
        Method::DELETE,
        &format!("{}/google.com/g-z", links(&user)),
        json!({}),
    )
    .await;
    // The sign-in since replaced the link's name with what the provider said (nothing).
    let record = user_record(&app, &user).await;
    assert_eq!(
        record["providerUserInfo"],
        json!([{"providerId": "oidc.corp", "rawId": "c-9", "federatedId": "c-9"}])
    );

    let (status, created) = call(
        &app,
        Method::POST,
        "/v2/users/human",
        json!({"profile": {"givenName": "Ida", "familyName": "Link"},
               "email": {"email": "ida@example.com", "isVerified": true},
               "idpLinks": [{"idpId": "github.com", "userId": "gh-ida", "userName": "ida"}]}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let github = credential("github.com", &json!({"sub": "gh-ida"}).to_string());
    assert_eq!(signed_in(&app, github).await["localId"], created["userId"]);
}

/// Management v1 (the console's user page) lists the same links and removes one; a link the
/// user lacks is refused, nothing changed.
#[tokio::test]
async fn zitadel_management_v1_lists_and_removes_links() {
    use reqwest::Method;
    let app = TestApp::spawn().await;
    let signed = signed_in(&app, google("g-v1", "vee@example.com", true)).await;
    let user = str_of(&signed, "localId").to_owned();
    let idps = format!("/management/v1/users/{user}/idps");
    let listed = call_ok(&app, Method::POST, &format!("{idps}/_search"), json!({})).await;
    assert_eq!(
        listed["result"],
        json!([{"userId": user, "idpId": "google.com", "idpName": "google.com",
                "providedUserId": "g-v1", "providedUserName": "vee@example.com",
                "idpType": "IDP_TYPE_OIDC"}])
    );
    assert_eq!(listed["details"]["totalResult"], "1");

    app.settled().await;
    let before = app.fingerprint().await;
    assert_no_such_link(
        &call(
            &app,
            Method::DELETE,
            &format!("{idps}/google.com/g-other"),
            json!({}),
        )
        .await,
    );
    assert_eq!(app.fingerprint().await, before);

    let removed = call_ok(
        &app,
        Method::DELETE,
        &format!("{idps}/google.com/g-v1"),
        json!({}),
    )
    .await;
    // protojson's timestamp text: UTC, written with `Z`.
    assert!(
        str_of(&removed["details"], "changeDate").ends_with('Z'),
        "{removed}"
    );
    let listed = call_ok(&app, Method::POST, &format!("{idps}/_search"), json!({})).await;
    assert!(listed["result"].is_null(), "{listed}");
}
