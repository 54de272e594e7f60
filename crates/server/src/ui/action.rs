//! The page an emailed action link opens (`/ui/action`, see `service::oob`). It shows what the
//! link will do and does it when the button is pressed, never on the visit itself, so that a
//! mail scanner that follows links does not use the code up. A password-reset link asks for
//! the new password; a change of address sends the old one a recovery link, which carries
//! the API key the page was opened with. The code says what it is for; the link's `mode` is not needed. A sign-in
//! link is the app's to complete: the page hands it on (`hand_on`).

use std::sync::Arc;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use tessera_core::oob::{OobCode, OobRequest};
use tessera_core::{DomainError, Password};
use url::{Url, form_urlencoded};

use super::pages::{failure, forbidden, see, with_cookie};
use super::passkeys::UNUSABLE_LINK;
use super::templates::{self, Action, page};
use super::visitor::{FORM_COOKIE, double_submit_ok, set_cookie};
use crate::crypto::random_token;
use crate::dialects::{client_info, request_origin};
use crate::service::{LinkSource, Notice, Service};

#[derive(Deserialize)]
pub struct ActionQuery {
    #[serde(rename = "oobCode")]
    code: Option<String>,
    #[serde(rename = "continueUrl")]
    continue_url: Option<String>,
    notice: Option<String>,
    #[serde(rename = "apiKey")]
    api_key: Option<String>,
    lang: Option<String>,
    #[serde(rename = "tenantId")]
    tenant_id: Option<String>,
}

#[derive(Deserialize)]
pub struct ActionForm {
    csrf: String,
    #[serde(rename = "oobCode")]
    code: String,
    #[serde(rename = "continueUrl")]
    continue_url: String,
    #[serde(rename = "apiKey")]
    api_key: Option<String>,
    password: Option<String>,
}

const TITLE: &str = "Your account";
const ELSEWHERE: &str =
    "This link signs you in to the app you asked for it in. Open it on the device you asked from.";

/// Where "Continue" leads: the link's `continueUrl` when it is on one of the server's own
/// origins (anyone can put a `continueUrl` on a link), else the sign-in page.
fn next(svc: &Service, continue_url: Option<&str>) -> String {
    continue_url
        .filter(|url| svc.is_own_origin(url))
        .unwrap_or("/ui/sign-in")
        .to_owned()
}

pub(super) fn finished(status: StatusCode, next: String, message: &'static str) -> Response {
    let done = Action {
        notice: None,
        title: TITLE,
        csrf: String::new(),
        code: String::new(),
        api_key: String::new(),
        next,
        prompt: String::new(),
        button: "",
        password: false,
        message: Some(message),
    };
    page(status, &done)
}

/// What a form that uses `found` says and asks.
fn form(found: &OobCode, q: &ActionQuery, next: String, csrf: String) -> Action {
    let (prompt, button, password) = match (found.request, &found.new_email) {
        (OobRequest::PasswordReset, _) => (
            format!("Choose a new password for {}.", found.email),
            "Change password",
            true,
        ),
        (OobRequest::VerifyAndChangeEmail, Some(new)) => (
            format!(
                "Make {new} your account's email address instead of {}.",
                found.email
            ),
            "Change email address",
            false,
        ),
        (OobRequest::RecoverEmail, _) => (
            format!(
                "Change your account's email address back to {}. This signs out every device.",
                found.email
            ),
            "Change email address back",
            false,
        ),
        (OobRequest::RevertSecondFactorAddition, _) => (
            format!(
                "Remove the second factor just added to the account of {}. This signs out \
                 every device.",
                found.email
            ),
            "Remove second factor",
            false,
        ),
        _ => (
            format!("Confirm {} as your account's email address.", found.email),
            "Confirm email address",
            false,
        ),
    };
    Action {
        notice: templates::notice(q.notice.as_deref()),
        title: TITLE,
        csrf,
        code: q.code.clone().unwrap_or_default(),
        api_key: q.api_key.clone().unwrap_or_default(),
        next,
        prompt,
        button,
        password,
        message: None,
    }
}

pub async fn action_page(
    State(svc): State<Arc<Service>>,
    Query(q): Query<ActionQuery>,
) -> Response {
    let next = next(&svc, q.continue_url.as_deref());
    let code = q.code.clone().unwrap_or_default();
    let found = match svc.check_oob_code(None, &code).await {
        Ok(found) => found,
        Err(DomainError::InvalidOobCode | DomainError::ExpiredOobCode) => {
            return finished(StatusCode::BAD_REQUEST, next, UNUSABLE_LINK);
        }
        Err(e) => return failure(e),
    };
    if found.request == OobRequest::EmailSignIn {
        return hand_on(&svc, &q, &code);
    }
    let Ok(token) = random_token() else {
        return failure(DomainError::Internal);
    };
    let html = page(StatusCode::OK, &form(&found, &q, next, token.clone()));
    with_cookie(html, set_cookie(FORM_COOKIE, &token))
}

/// Sends a sign-in link on to the app that asked for it, as Firebase's handler does with a
/// link the app handles itself: to the link's `continueUrl`, with the link's parameters, where
/// the SDKs' `signInWithEmailLink` takes the code from the address the app was opened at.
/// Whoever arrives there with the code can sign in, so it is followed only where
/// `Service::may_hand_link_to` allows (`sendOobCode` refuses the others).
fn hand_on(svc: &Service, q: &ActionQuery, code: &str) -> Response {
    let target = q
        .continue_url
        .as_deref()
        .filter(|url| svc.may_hand_link_to(url))
        .and_then(|url| Url::parse(url).ok());
    let Some(mut target) = target else {
        return finished(StatusCode::OK, next(svc, None), ELSEWHERE);
    };
    {
        let mut query = target.query_pairs_mut();
        if let Some(key) = &q.api_key {
            query.append_pair("apiKey", key);
        }
        query
            .append_pair("oobCode", code)
            .append_pair("mode", OobRequest::EmailSignIn.mode())
            .append_pair("lang", q.lang.as_deref().unwrap_or("en"));
        if let Some(tenant) = &q.tenant_id {
            query.append_pair("tenantId", tenant);
        }
    }
    see(target.as_str())
}

pub async fn use_action(
    State(svc): State<Arc<Service>>,
    headers: HeaderMap,
    Form(form): Form<ActionForm>,
) -> Response {
    if !double_submit_ok(&headers, &form.csrf) {
        return forbidden();
    }
    let next = next(&svc, Some(&form.continue_url));
    let done = match form.password.as_deref() {
        Some(raw) => match Password::parse(raw) {
            Some(password) => svc
                .reset_password(None, &form.code, password)
                .await
                .map(|_| "Your password is changed. Sign in with the new one."),
            None => {
                let again: String = form_urlencoded::Serializer::new(String::new())
                    .append_pair("oobCode", &form.code)
                    .append_pair("continueUrl", &form.continue_url)
                    .append_pair("notice", "weak-password")
                    .finish();
                return see(&format!("/ui/action?{again}"));
            }
        },
        None => {
            let source = LinkSource {
                api_key: form.api_key.filter(|key| !key.is_empty()),
                origin: request_origin(&headers),
            };
            let client = client_info(&headers);
            let notice = Notice {
                source: &source,
                client: &client,
            };
            svc.apply_oob_code(None, &form.code, notice)
                .await
                .map(|(found, _)| match found.request {
                    OobRequest::RecoverEmail => {
                        "Your email address is changed back, and every device is signed out. \
                         If you did not change it, change your password too."
                    }
                    OobRequest::RevertSecondFactorAddition => {
                        "The second factor is removed, and every device is signed out. If you \
                         did not add it, change your password too."
                    }
                    _ => "Your email address is confirmed.",
                })
        }
    };
    match done {
        Ok(message) => with_cookie(
            finished(StatusCode::OK, next, message),
            set_cookie(FORM_COOKIE, ""),
        ),
        Err(DomainError::InvalidOobCode | DomainError::ExpiredOobCode) => {
            finished(StatusCode::BAD_REQUEST, next, UNUSABLE_LINK)
        }
        Err(e) => failure(e),
    }
}
