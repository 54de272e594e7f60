//! Settings service v2: what a login UI reads first, drawn from Tessera's configuration — the
//! project's MFA mode and email privacy, the configured identity providers, the password rule,
//! the message languages — for the caller's organization, another it may act in, or the
//! instance; and who may read them.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use tessera_core::Role;

use crate::helpers::*;

async fn read(app: &TestApp, path: &str) -> Value {
    call_ok(app, Method::GET, path, json!({})).await
}

#[tokio::test]
async fn settings_follow_the_configuration() {
    let app = TestApp::spawn().await;
    let general = read(&app, "/v2/settings").await;
    assert_eq!(general["defaultLanguage"], "en", "{general}");
    assert_eq!(
        general["supportedLanguages"],
        json!(["en", "de"]),
        "{general}"
    );
    let instance_org = str_of(&general, "defaultOrgId").to_owned();
    assert_eq!(general["defaultOrganizationId"], instance_org, "{general}");

    let login = read(&app, "/v2/settings/login").await;
    let settings = &login["settings"];
    assert_eq!(login["details"]["resourceOwner"], instance_org, "{login}");
    assert_eq!(settings["allowUsernamePassword"], true, "{login}");
    assert_eq!(settings["allowLocalAuthentication"], true, "{login}");
    assert_eq!(settings["passkeysType"], "PASSKEYS_TYPE_ALLOWED");
    assert_eq!(settings.get("forceMfa"), None, "{login}");
    assert_eq!(settings.get("ignoreUnknownUsernames"), None, "{login}");
    assert_eq!(
        settings.get("allowExternalIdp"),
        None,
        "dev mode configures no provider"
    );
    assert_eq!(
        settings["secondFactors"],
        json!([
            "SECOND_FACTOR_TYPE_OTP",
            "SECOND_FACTOR_TYPE_U2F",
            "SECOND_FACTOR_TYPE_OTP_EMAIL",
            "SECOND_FACTOR_TYPE_OTP_SMS"
        ])
    );
    assert_eq!(
        settings["multiFactors"],
        json!(["MULTI_FACTOR_TYPE_U2F_WITH_VERIFICATION"])
    );
    assert_eq!(settings["passwordCheckLifetime"], "864000s");
    assert_eq!(settings["disableLoginWithPhone"], true);
    assert_eq!(
        settings["resourceOwnerType"],
        "RESOURCE_OWNER_TYPE_INSTANCE"
    );

    // The project's MFA made mandatory, and its email privacy on.
    let config = format!("/v2/projects/{PROJECT}/config");
    let mask = "mfa.state,emailPrivacyConfig.enableImprovedEmailPrivacy";
    let body = json!({"mfa": {"state": "MANDATORY"},
                      "emailPrivacyConfig": {"enableImprovedEmailPrivacy": true}});
    let (status, patched) = app
        .bearer_patch(&format!("{config}?updateMask={mask}"), "owner", body)
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    let login = read(&app, "/v2/settings/login?ctx.instance=true").await;
    assert_eq!(login["settings"]["forceMfa"], true, "{login}");
    assert_eq!(login["settings"]["ignoreUnknownUsernames"], true, "{login}");

    // Another organization (a tenant) has MFA settings of its own.
    let globex = call_ok(
        &app,
        Method::POST,
        "/v2/organizations",
        json!({"name": "Globex"}),
    )
    .await;
    let globex = str_of(&globex, "organizationId").to_owned();
    let login = read(&app, &format!("/v2/settings/login?ctx.orgId={globex}")).await;
    assert_eq!(login["details"]["resourceOwner"], globex, "{login}");
    assert_eq!(
        login["settings"]["resourceOwnerType"],
        "RESOURCE_OWNER_TYPE_ORG"
    );
    assert_eq!(login["settings"].get("forceMfa"), None, "{login}");

    let complexity = read(&app, "/v2/settings/password/complexity").await;
    assert_eq!(complexity["settings"]["minLength"], "6", "{complexity}");
    assert_eq!(complexity["settings"].get("requiresUppercase"), None);
    let lockout = read(&app, "/v2/settings/lockout").await;
    assert_eq!(
        lockout["settings"].get("maxPasswordAttempts"),
        None,
        "{lockout}"
    );
    let expiry = read(&app, "/v2/settings/password/expiry").await;
    assert_eq!(expiry["settings"].get("maxAgeDays"), None, "{expiry}");
    for path in ["branding", "domain", "legal_support", "security"] {
        let answer = read(&app, &format!("/v2/settings/{path}")).await;
        assert!(answer["settings"].is_object(), "{path}: {answer}");
    }
    let idps = read(&app, "/v2/settings/login/idps").await;
    assert_eq!(idps.get("identityProviders"), None, "{idps}");

    let (status, unknown) = call(
        &app,
        Method::GET,
        "/v2/settings/login?ctx.orgId=404",
        json!({}),
    )
    .await;
    assert_zitadel_error(
        &(status, unknown),
        404,
        5,
        "Organisation not found",
        "COMMAND-55M9f",
    );
}

/// Every machine role reads an organization's settings; only the instance owner reads the
/// security settings or another organization's; a user signed in through its ID token reads
/// none.
#[tokio::test]
async fn who_may_read_settings() {
    let app = TestApp::spawn().await;
    let globex = call_ok(
        &app,
        Method::POST,
        "/v2/organizations",
        json!({"name": "Globex"}),
    )
    .await;
    let globex = str_of(&globex, "organizationId").to_owned();
    let denied = (403, 7, "No matching permissions found", "AUTH-5mWD2");
    for role in [Role::OrgOwner, Role::OrgUserManager, Role::OrgOwnerViewer] {
        let pat = app.machine_pat(None, role.as_str(), role).await;
        let get = |path: String| {
            let pat = pat.clone();
            let app = &app;
            async move { app.zitadel(Method::GET, &path, &pat, None, None).await }
        };
        let (status, login) = get("/v2/settings/login".to_owned()).await;
        assert_eq!(status, StatusCode::OK, "{role:?}: {login}");
        let (status, general) = get("/v2/settings".to_owned()).await;
        assert_eq!(status, StatusCode::OK, "{role:?}: {general}");
        let (http, code, message, id) = denied;
        assert_zitadel_error(
            &get("/v2/settings/security".to_owned()).await,
            http,
            code,
            message,
            id,
        );
        let theirs = get(format!("/v2/settings/login?ctx.orgId={globex}")).await;
        assert_eq!(theirs.0, StatusCode::FORBIDDEN, "{role:?}: {}", theirs.1);
    }
    let (status, security) = call(&app, Method::GET, "/v2/settings/security", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{security}");
    assert_eq!(
        security["settings"]["embeddedIframe"],
        json!({}),
        "{security}"
    );

    let signed_up = app.sign_up("ada@example.com", "secret12").await;
    let token = str_of(&signed_up, "idToken");
    let (http, code, message, id) = denied;
    assert_zitadel_error(
        &app.zitadel(Method::GET, "/v2/settings/login", token, None, None)
            .await,
        http,
        code,
        message,
        id,
    );
}

/// In production the configured identity providers are the active ones, typed by their ids.
#[tokio::test]
async fn configured_identity_providers_are_active() {
    let provider = |id: &str| tessera::config::IdentityProvider {
        provider_id: id.to_owned(),
        issuers: vec!["https://accounts.example.com".to_owned()],
        client_ids: vec!["app".to_owned()],
        jwks_uri: "http://127.0.0.1:9/keys".to_owned(),
    };
    let app = TestApp::spawn_production_with(|c| {
        c.identity_providers = vec![provider("google.com"), provider("oidc.corp")];
    })
    .await;
    app.production_api_key().await;
    let pat = app.machine_pat(None, "owner", Role::IamOwner).await;
    let read = |path: &'static str| {
        let pat = pat.clone();
        let app = &app;
        async move {
            let (status, body) = app.zitadel(Method::GET, path, &pat, None, None).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            body
        }
    };
    let idps = read("/v2/settings/login/idps").await;
    assert_eq!(idps["details"]["totalResult"], "2", "{idps}");
    let listed = &idps["identityProviders"];
    assert_eq!(listed[0]["id"], "google.com", "{idps}");
    assert_eq!(listed[0]["type"], "IDENTITY_PROVIDER_TYPE_GOOGLE");
    assert_eq!(listed[1]["id"], "oidc.corp");
    assert_eq!(listed[1]["type"], "IDENTITY_PROVIDER_TYPE_OIDC");
    assert_eq!(listed[1]["options"]["isCreationAllowed"], true, "{idps}");
    let login = read("/v2/settings/login").await;
    assert_eq!(login["settings"]["allowExternalIdp"], true, "{login}");
    let none = read("/v2/settings/login/idps?autoLinking=true").await;
    assert_eq!(none.get("identityProviders"), None, "{none}");
    let both = read("/v2/settings/login/idps?creationAllowed=true&linkingAllowed=true").await;
    assert_eq!(both["details"]["totalResult"], "2", "{both}");
}
