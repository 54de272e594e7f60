//! Passkeys on the self-service page: a signed-in user registers and removes them, and anyone
//! signs in with one from the sign-in page, without a password (a passkey verifies its user,
//! so it is both factors at once). The browser's side is in `assets/ui.js`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Form, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use tessera_core::login_session::SessionOrigin;
use tessera_core::{DomainError, FactorId, Realm, UserId};

use super::pages::{
    self, KeyFinish, RemoveForm, Reply, factor_change, failure, forbidden, json_error, json_ok,
    member, registration_started, with_cookie,
};
use super::visitor::{
    FORM_COOKIE, Stage, double_submit_ok, host, session_cookie, set_cookie, visitor,
};
use crate::dialects::client_info;
use crate::service::{
    KeyChallenge, Service, SessionChallenges, SessionChange, SessionChecks, UserLookup,
};

#[derive(Deserialize)]
pub struct PasskeySignIn {
    email: String,
}

/// What every page a link opens says of a link that cannot be used.
pub(super) const UNUSABLE_LINK: &str =
    "This link does not work: it is wrong, was used already, or has expired. Ask for a new one.";

/// The script's copy of the page's double-submit token (`x-csrf-token`), on pages shown
/// before any session exists.
pub(super) fn script_token_ok(headers: &HeaderMap) -> bool {
    let sent = headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    double_submit_ok(headers, sent)
}

/// The creation options of a new passkey for the page's own host.
pub async fn enrol_start(State(svc): State<Arc<Service>>, headers: HeaderMap) -> Reply {
    let v = member(&svc, &headers, true, None).await?;
    let (passkey, options) = svc
        .register_passkey(&v.realm, &v.user.id, None, Some(&host(&headers)), None)
        .await
        .map_err(failure)?;
    Ok(registration_started(&passkey.id, options))
}

pub async fn enrol_finish(
    State(svc): State<Arc<Service>>,
    headers: HeaderMap,
    Json(finish): Json<KeyFinish>,
) -> Reply {
    let v = member(&svc, &headers, true, None).await?;
    Ok(finish_registration(&svc, &v.realm, &v.user.id, finish, None).await)
}

/// Finishes a passkey registration the page started (see `Service::verify_passkey`, also
/// for `code`), named as the visitor typed it.
pub(super) async fn finish_registration(
    svc: &Service,
    realm: &Realm,
    user: &UserId,
    finish: KeyFinish,
    code: Option<(&str, &str)>,
) -> Response {
    let Some(id) = FactorId::parse(&finish.id) else {
        return json_error("Unknown registration.");
    };
    let name = Some(finish.name.trim())
        .filter(|n| !n.is_empty())
        .unwrap_or("Passkey");
    let outcome = svc
        .verify_passkey(realm, user, Some(&id), finish.credential, name, code)
        .await;
    match outcome {
        Ok(_) => json_ok(),
        Err(DomainError::UserNotVerified) => {
            json_error("This authenticator cannot verify you (no PIN or biometrics).")
        }
        Err(DomainError::InvalidVerificationCode) => json_error(UNUSABLE_LINK),
        Err(_) => json_error("The passkey's answer was not accepted."),
    }
}

pub async fn remove(
    State(svc): State<Arc<Service>>,
    headers: HeaderMap,
    Form(form): Form<RemoveForm>,
) -> Response {
    factor_change(&svc, &headers, &form.csrf, "removed", |svc, v| async move {
        let id = FactorId::parse(&form.id).ok_or(DomainError::FactorNotFound)?;
        svc.remove_passkey(&v.realm, &v.user.id, &id).await
    })
    .await
}

/// Starts a sign-in with a passkey: a session that knows only who the user is, and a
/// challenge for their passkeys on this host. One answer for an unknown address and for an
/// account without a passkey here, so the page tells nobody which addresses have accounts.
pub async fn sign_in_start(
    State(svc): State<Arc<Service>>,
    headers: HeaderMap,
    Json(form): Json<PasskeySignIn>,
) -> Response {
    if !script_token_ok(&headers) {
        return forbidden();
    }
    let realm = match svc.realm(svc.default_project(), None).await {
        Ok(realm) => realm,
        Err(e) => return failure(e),
    };
    let change = SessionChange {
        checks: SessionChecks {
            user: Some(UserLookup::LoginName(form.email)),
            ..SessionChecks::default()
        },
        challenges: SessionChallenges {
            webauthn: Some(KeyChallenge {
                domain: host(&headers),
                user_verification: true,
            }),
            ..SessionChallenges::default()
        },
        client: client_info(&headers),
        ..SessionChange::default()
    };
    match svc
        .create_login_session(&realm, change, SessionOrigin::default())
        .await
    {
        Ok(update) => with_cookie(
            Json(json!({ "options": update.webauthn })).into_response(),
            session_cookie(&update.session.id, &update.token),
        ),
        Err(
            DomainError::UserNotFound
            | DomainError::UserDisabled
            | DomainError::NoWebAuthnCredential,
        ) => json_error("There is no passkey for this account on this site."),
        Err(e) => failure(e),
    }
}

/// Finishes a sign-in with a passkey: the assertion checks the session `sign_in_start` made.
pub async fn sign_in_finish(
    State(svc): State<Arc<Service>>,
    headers: HeaderMap,
    Json(assertion): Json<Value>,
) -> Response {
    if !script_token_ok(&headers) {
        return forbidden();
    }
    let v = match visitor(&svc, &headers).await {
        Ok(Some(v)) if v.stage() == Stage::Started => v,
        Ok(_) => return json_error("Start again: the sign-in expired."),
        Err(e) => return failure(e),
    };
    let change = SessionChange {
        checks: SessionChecks {
            webauthn: Some(assertion),
            ..SessionChecks::default()
        },
        ..SessionChange::default()
    };
    match pages::change(&svc, &v, change).await {
        Ok((cookie, _)) => with_cookie(with_cookie(json_ok(), cookie), set_cookie(FORM_COOKIE, "")),
        Err(_) => json_error("The passkey was not accepted."),
    }
}
