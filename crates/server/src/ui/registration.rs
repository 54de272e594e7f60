//! The page a passkey registration link opens (`PASSKEY_REGISTRATION_PAGE`, the path of
//! ZITADEL's login UI): whoever holds the link adds a passkey to its user's account without
//! signing in, as ZITADEL's login UI lets them. The visit only shows the form (after checking
//! the link, so that a wrong one shows nothing of the account), and the code is used up only
//! by a passkey that works: a mail scanner that follows the link, a cancelled dialog or an
//! authenticator that cannot verify its user leave the link usable. The browser's side is in
//! `assets/ui.js`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use tessera_core::{DomainError, Realm, User, UserId};

use super::action::finished;
use super::pages::{
    KeyFinish, Reply, failure, forbidden, json_error, registration_started, with_cookie,
};
use super::passkeys::{UNUSABLE_LINK, finish_registration, script_token_ok};
use super::templates::{PasskeyRegistration, page};
use super::visitor::{FORM_COOKIE, host, set_cookie};
use crate::crypto::random_token;
use crate::service::Service;

/// A registration link's parameters, as ZITADEL names them; the page's script posts them back.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Link {
    #[serde(rename = "userID")]
    user_id: String,
    #[serde(rename = "orgID")]
    org_id: String,
    #[serde(rename = "codeID")]
    code_id: String,
    code: String,
}

#[derive(Deserialize)]
pub struct LinkFinish {
    #[serde(flatten)]
    link: Link,
    #[serde(flatten)]
    finish: KeyFinish,
}

impl Link {
    fn code(&self) -> (&str, &str) {
        (&self.code_id, &self.code)
    }

    /// The realm and user of a link whose code is live; `None` for a link that cannot be
    /// used, whatever the reason, so that the page tells nobody which users exist.
    async fn user(&self, svc: &Service) -> Result<Option<(Realm, User)>, DomainError> {
        let Some(id) = UserId::parse(&self.user_id) else {
            return Ok(None);
        };
        let found = async {
            let realm = svc.link_realm(Some(&self.org_id), &id).await?;
            let user = svc.passkey_code_user(&realm, &id, self.code()).await?;
            Ok((realm, user))
        };
        match found.await {
            Ok(found) => Ok(Some(found)),
            Err(
                DomainError::InvalidVerificationCode
                | DomainError::UserNotFound
                | DomainError::OrgNotFound,
            ) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

pub async fn registration_page(
    State(svc): State<Arc<Service>>,
    Query(link): Query<Link>,
) -> Response {
    let user = match link.user(&svc).await {
        Ok(Some((_, user))) => user,
        Ok(None) => return finished(StatusCode::BAD_REQUEST, "/ui/sign-in".into(), UNUSABLE_LINK),
        Err(e) => return failure(e),
    };
    let Ok(token) = random_token() else {
        return failure(DomainError::Internal);
    };
    let account = match (&user.email, &user.username) {
        (Some(email), _) => email.to_string(),
        (None, Some(username)) => username.clone(),
        (None, None) => user.id.to_string(),
    };
    let form = PasskeyRegistration {
        notice: None,
        csrf: token.clone(),
        account,
        user_id: link.user_id,
        org_id: link.org_id,
        code_id: link.code_id,
        code: link.code,
    };
    with_cookie(page(StatusCode::OK, &form), set_cookie(FORM_COOKIE, &token))
}

/// The realm and user of the link the page's script posts back: the page's token checked,
/// and the link live.
async fn posted(
    svc: &Service,
    headers: &HeaderMap,
    link: &Link,
) -> Result<(Realm, User), Response> {
    if !script_token_ok(headers) {
        return Err(forbidden());
    }
    match link.user(svc).await {
        Ok(Some(found)) => Ok(found),
        Ok(None) => Err(json_error(UNUSABLE_LINK)),
        Err(e) => Err(failure(e)),
    }
}

/// The creation options of a passkey for the link's user on the page's host; the link's
/// code is checked, not used.
pub async fn registration_start(
    State(svc): State<Arc<Service>>,
    headers: HeaderMap,
    Json(link): Json<Link>,
) -> Reply {
    let (realm, user) = posted(&svc, &headers, &link).await?;
    let (passkey, options) = svc
        .register_passkey(&realm, &user.id, None, Some(&host(&headers)), None)
        .await
        .map_err(failure)?;
    Ok(registration_started(&passkey.id, options))
}

/// Stores the passkey and uses the link's code up.
pub async fn registration_finish(
    State(svc): State<Arc<Service>>,
    headers: HeaderMap,
    Json(LinkFinish { link, finish }): Json<LinkFinish>,
) -> Reply {
    let (realm, user) = posted(&svc, &headers, &link).await?;
    let reply = finish_registration(&svc, &realm, &user.id, finish, Some(link.code())).await;
    if reply.status().is_success() {
        Ok(with_cookie(reply, set_cookie(FORM_COOKIE, "")))
    } else {
        Err(reply)
    }
}
