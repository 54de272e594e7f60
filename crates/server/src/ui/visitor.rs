//! Who is looking at the self-service page: a login session (ZITADEL's session service, the
//! same sessions the API checks) named by an HttpOnly, SameSite=Strict cookie that carries its
//! id and current token. Forms carry a token bound to the session (see `Service::form_token`);
//! the sign-in form, before any session exists, a double-submit cookie.

use axum::http::header::{COOKIE, HOST};
use axum::http::{HeaderMap, HeaderValue};
use tessera_core::login_session::LoginSession;
use tessera_core::{DomainError, Factor, FactorState, Realm, User};

use crate::crypto::same_digest;
use crate::service::Service;

pub const SESSION_COOKIE: &str = "tessera_ui";
pub const FORM_COOKIE: &str = "tessera_form";
/// Session metadata: the user had no second factor when signing in, so the password alone
/// signed them in, and factors they add now do not lock them out of this session.
pub const PASSWORD_ONLY: &str = "tessera.ui.password_only";

pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// A `Set-Cookie` value for the page's cookies (empty `value`: delete it).
pub fn set_cookie(name: &str, value: &str) -> HeaderValue {
    let max_age = if value.is_empty() { "; Max-Age=0" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/ui; HttpOnly; Secure; SameSite=Strict{max_age}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The session cookie naming login session `id` with its current `token`.
pub fn session_cookie(id: &str, token: &str) -> HeaderValue {
    set_cookie(SESSION_COOKIE, &format!("{id}.{token}"))
}

/// Whether `sent` is the double-submit token of a page shown before any session exists (the
/// sign-in form, an action link's page): a form's field, or the script's `x-csrf-token`.
pub fn double_submit_ok(headers: &HeaderMap, sent: &str) -> bool {
    let expected = cookie(headers, FORM_COOKIE).unwrap_or_default();
    !expected.is_empty() && same_digest(expected.as_bytes(), sent.as_bytes())
}

/// The relying-party id for security keys: the host the page was loaded from.
pub fn host(headers: &HeaderMap) -> String {
    let host = headers
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    host.rsplit_once(':')
        .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
        .map_or(host, |(name, _)| name)
        .to_owned()
}

pub struct Visitor {
    pub realm: Realm,
    pub session: LoginSession,
    pub token: String,
    pub user: User,
    pub factors: Vec<Factor>,
}

/// How far a visitor's session has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Nothing checked yet but who the user is (a passkey sign-in under way): the pages
    /// treat it as no session, so nobody reaches the second-factor page without the password.
    Started,
    /// Past the password, a second factor to go.
    SecondFactor,
    /// Past the password, and past a second factor if the user had one at sign-in; or
    /// signed in with a passkey, which verifies its user and is both at once.
    SignedIn,
}

impl Visitor {
    pub fn stage(&self) -> Stage {
        let checked = &self.session.checked;
        let second = checked.totp.is_some()
            || checked.otp_sms.is_some()
            || checked.otp_email.is_some()
            || checked.webauthn.is_some();
        let password_only = self.session.metadata.contains(PASSWORD_ONLY);
        let passkey = checked.webauthn.is_some() && checked.webauthn_user_verified;
        match (checked.password.is_some(), second || password_only) {
            _ if passkey => Stage::SignedIn,
            (true, true) => Stage::SignedIn,
            (true, false) => Stage::SecondFactor,
            (false, _) => Stage::Started,
        }
    }

    pub fn ready(&self) -> impl Iterator<Item = &Factor> {
        self.factors
            .iter()
            .filter(|f| f.state == FactorState::Ready)
    }

    pub fn form_token(&self, svc: &Service) -> String {
        svc.form_token(&self.session.id)
    }

    pub fn form_token_ok(&self, svc: &Service, sent: &str) -> bool {
        svc.form_token_ok(&self.session.id, sent)
    }
}

/// The visitor the session cookie names, if its session is alive and has a user.
pub async fn visitor(svc: &Service, headers: &HeaderMap) -> Result<Option<Visitor>, DomainError> {
    let Some((id, token)) = cookie(headers, SESSION_COOKIE).and_then(|c| c.split_once('.')) else {
        return Ok(None);
    };
    let realm = svc.realm(svc.default_project(), None).await?;
    let (session, user) = match svc.login_session(&realm, id, Some(token)).await {
        Ok((session, Some(user))) => (session, user),
        Ok((_, None)) | Err(DomainError::SessionNotFound | DomainError::LoginSessionExpired) => {
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    let (user, factors) = svc.user_factors(&realm, &user.id).await?;
    Ok(Some(Visitor {
        realm,
        session,
        token: token.to_owned(),
        user,
        factors,
    }))
}
