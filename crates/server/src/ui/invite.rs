//! The page an invitation's link opens (`INVITE_PAGE`, the path of ZITADEL's login UI): the
//! invited user chooses a password, which uses the invitation's code and proves the address it
//! went to. The visit only shows the form, so a mail scanner that follows the link uses
//! nothing up; a wrong code or a weak password shows the form again with the link's
//! parameters, and each wrong code is one of the invitation's three tries.

use std::sync::Arc;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use tessera_core::{DomainError, Password, UserId};
use url::form_urlencoded;

use super::pages::{failure, forbidden, see, with_cookie};
use super::passkeys::UNUSABLE_LINK;
use super::templates::{self, Invite, page};
use super::visitor::{FORM_COOKIE, double_submit_ok, set_cookie};
use crate::crypto::random_token;
use crate::dialects::client_info;
use crate::service::{INVITE_PAGE, Service};

/// An invitation link's parameters, as ZITADEL names them; the form posts them back.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Link {
    #[serde(rename = "userID")]
    user_id: String,
    #[serde(rename = "orgID")]
    org_id: String,
    loginname: String,
    code: String,
}

#[derive(Deserialize)]
pub struct PageQuery {
    #[serde(flatten)]
    link: Link,
    notice: Option<String>,
}

#[derive(Deserialize)]
pub struct InviteForm {
    csrf: String,
    #[serde(flatten)]
    link: Link,
    password: String,
}

const ACCEPTED: &str =
    "Your account is ready, and your email address is confirmed. Sign in with your new password.";

fn shown(status: StatusCode, link: Link, csrf: String, notice: Option<&str>) -> Response {
    let form = Invite {
        notice: templates::notice(notice),
        csrf,
        user_id: link.user_id,
        org_id: link.org_id,
        login_name: link.loginname,
        code: link.code,
        message: None,
    };
    page(status, &form)
}

fn finished(status: StatusCode, message: &'static str) -> Response {
    let done = Invite {
        notice: None,
        csrf: String::new(),
        user_id: String::new(),
        org_id: String::new(),
        login_name: String::new(),
        code: String::new(),
        message: Some(message),
    };
    with_cookie(page(status, &done), set_cookie(FORM_COOKIE, ""))
}

/// The form again, with the link's parameters and `notice`.
fn again(link: &Link, notice: &str) -> Response {
    let query: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("userID", &link.user_id)
        .append_pair("orgID", &link.org_id)
        .append_pair("loginname", &link.loginname)
        .append_pair("code", &link.code)
        .append_pair("notice", notice)
        .finish();
    see(&format!("{INVITE_PAGE}?{query}"))
}

pub async fn invite_page(Query(q): Query<PageQuery>) -> Response {
    let Ok(token) = random_token() else {
        return failure(DomainError::Internal);
    };
    let form = shown(StatusCode::OK, q.link, token.clone(), q.notice.as_deref());
    with_cookie(form, set_cookie(FORM_COOKIE, &token))
}

pub async fn accept_invite(
    State(svc): State<Arc<Service>>,
    headers: HeaderMap,
    Form(form): Form<InviteForm>,
) -> Response {
    if !double_submit_ok(&headers, &form.csrf) {
        return forbidden();
    }
    let Some(password) = Password::parse(&form.password) else {
        return again(&form.link, "weak-password");
    };
    let Some(id) = UserId::parse(&form.link.user_id) else {
        return finished(StatusCode::BAD_REQUEST, UNUSABLE_LINK);
    };
    let accepted = async {
        let realm = svc.link_realm(Some(&form.link.org_id), &id).await?;
        let client = client_info(&headers);
        svc.verify_invite(&realm, &id, &form.link.code, Some(password), &client)
            .await
    };
    match accepted.await {
        Ok(()) => finished(StatusCode::OK, ACCEPTED),
        Err(DomainError::InvalidVerificationCode) => again(&form.link, "invalid-code"),
        Err(
            DomainError::VerificationCodeNotFound
            | DomainError::UserNotFound
            | DomainError::OrgNotFound,
        ) => finished(StatusCode::BAD_REQUEST, UNUSABLE_LINK),
        Err(e) => failure(e),
    }
}
