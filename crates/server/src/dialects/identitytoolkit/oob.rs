//! `accounts:sendOobCode` and `accounts:resetPassword`: Firebase's emailed action links, which
//! verify the user's address, change it, or reset the password, and their codes. An address
//! link's code is applied by `accounts:update` (`oobCode`, see `accounts.rs`). Checks come in
//! the emulator's order (its `sendOobCode` and `resetPassword` in operations.ts).

use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use tessera_core::oob::OobRequest;
use tessera_core::{DomainError, Realm};

use super::accounts::{realm_and_linking, realm_for};
use super::error::ItError;
use super::extract::{Body, Caller, api_key};
use super::input;
use super::mfa_wire::MfaEnrollment;
use super::wire::{
    ResetPasswordRequest, ResetPasswordResponse, SendOobCodeRequest, SendOobCodeResponse,
    SignInWithEmailLinkRequest, SignInWithEmailLinkResponse,
};
use crate::dialects::{Client, request_origin};
use crate::service::{Addressee, LinkDelivery, LinkSource, OobSend, Service};

/// What a link carries from the request: the API key it was made with, and, for dev mode's
/// links, the origin the request came to.
pub struct Source(pub LinkSource);

impl<S: Send + Sync> FromRequestParts<S> for Source {
    type Rejection = ItError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ItError> {
        Ok(Source(LinkSource {
            api_key: api_key(parts),
            origin: request_origin(&parts.headers),
        }))
    }
}

/// The other values of Identity Toolkit's `OobReqType`, which the emulator does not
/// implement either (a recovery link is sent only with a change of address, a link that
/// removes a factor only with its enrolment).
const UNIMPLEMENTED: [&str; 4] = [
    "OLD_EMAIL_AGREE",
    "NEW_EMAIL_ACCEPT",
    "RECOVER_EMAIL",
    "REVERT_SECOND_FACTOR_ADDITION",
];

fn request_type(raw: Option<&str>) -> Result<OobRequest, ItError> {
    match raw {
        None | Some("OOB_REQ_TYPE_UNSPECIFIED") => Err(ItError::code("MISSING_REQ_TYPE")),
        Some(raw) if UNIMPLEMENTED.contains(&raw) => Err(ItError::NotImplemented),
        Some(raw) => OobRequest::parse(raw).ok_or_else(|| ItError::BadRequest {
            message: format!(
                "Invalid value at 'request_type' \
                 (type.googleapis.com/google.cloud.identitytoolkit.v1.GetOobCodeRequest.OobReqType), \
                 \"{raw}\""
            ),
            reason: "invalid",
        }),
    }
}

fn continue_url(raw: Option<&str>) -> Result<Option<String>, ItError> {
    let Some(raw) = raw else { return Ok(None) };
    if !input::is_absolute_uri(raw) {
        return Err(ItError::with_detail(
            "INVALID_CONTINUE_URI",
            "((expected an absolute URI with valid scheme and host))",
        ));
    }
    Ok(Some(raw.to_owned()))
}

#[utoipa::path(post, path = "/v1/accounts:sendOobCode", tag = "accounts",
    request_body = SendOobCodeRequest, responses((status = 200, body = SendOobCodeResponse)))]
pub async fn send_oob_code(
    State(svc): State<Arc<Service>>,
    caller: Caller,
    Source(source): Source,
    Client(client): Client,
    Body(req): Body<SendOobCodeRequest>,
) -> Result<Json<SendOobCodeResponse>, ItError> {
    let request = request_type(req.request_type.as_deref())?;
    let return_link = req.return_oob_link.unwrap_or(false);
    if return_link && !matches!(caller, Caller::Admin { .. }) {
        return Err(ItError::code("INSUFFICIENT_PERMISSION"));
    }
    let continue_url = continue_url(req.continue_url.as_deref())?;
    let new_email = match request {
        OobRequest::VerifyAndChangeEmail => Some(input::email(
            req.new_email
                .as_deref()
                .ok_or(ItError::code("MISSING_NEW_EMAIL"))?,
        )?),
        OobRequest::VerifyEmail
        | OobRequest::PasswordReset
        | OobRequest::EmailSignIn
        | OobRequest::RecoverEmail
        | OobRequest::RevertSecondFactorAddition => None,
    };
    if request == OobRequest::EmailSignIn
        && continue_url
            .as_deref()
            .is_some_and(|url| !svc.may_hand_link_to(url))
    {
        return Err(ItError::with_detail(
            "UNAUTHORIZED_DOMAIN",
            "Domain not allowlisted by project",
        ));
    }
    let (realm, to) = addressee(&svc, &caller, request, return_link, &req).await?;
    let send = OobSend {
        request,
        to,
        new_email,
        continue_url,
        source,
        deliver: if return_link {
            LinkDelivery::Return
        } else {
            LinkDelivery::Email
        },
        url_template: None,
    };
    let sent = svc.send_oob_code(&realm, send, &client).await?;
    let (oob_code, oob_link) = sent.returned.unzip();
    Ok(Json(SendOobCodeResponse {
        kind: "identitytoolkit#GetOobConfirmationCodeResponse",
        email: sent.email.to_string(),
        oob_code,
        oob_link,
    }))
}

/// Whom a link is for: the address itself for a sign-in link, the owner of the address for a
/// password reset (with the realm's email privacy on, an address without one too, unless an
/// administrator wants the link back), else the ID token's user (or, for an administrator getting the link back,
/// the owner of `email`).
async fn addressee(
    svc: &Service,
    caller: &Caller,
    request: OobRequest,
    return_link: bool,
    req: &SendOobCodeRequest,
) -> Result<(Realm, Addressee), ItError> {
    let tenant = req.tenant_id.as_deref();
    let address = async || {
        let email = input::email(req.email.as_deref().ok_or(ItError::code("MISSING_EMAIL"))?)?;
        let realm = realm_for(svc, caller, req.target_project_id.as_deref(), tenant).await?;
        Ok::<_, ItError>((realm, email))
    };
    match (request, &req.id_token) {
        (OobRequest::EmailSignIn, _) => {
            let (realm, email) = address().await?;
            Ok((realm, Addressee::Address(email)))
        }
        (OobRequest::PasswordReset, _) => {
            let (realm, email) = address().await?;
            let to = match svc.user_by_email(&realm, &email).await? {
                Some(user) => Addressee::User(Box::new(user)),
                // An administrator asking for the link back is told there is none to make.
                None if realm.improved_email_privacy && !return_link => Addressee::Unknown(email),
                None => return Err(DomainError::EmailNotFound.into()),
            };
            Ok((realm, to))
        }
        (_, None) if return_link => {
            let (realm, email) = address().await?;
            let user = svc
                .user_by_email(&realm, &email)
                .await?
                .ok_or(DomainError::UserNotFound)?;
            Ok((realm, Addressee::User(Box::new(user))))
        }
        (_, None) => Err(ItError::code("MISSING_ID_TOKEN")),
        (_, Some(token)) => {
            let me = svc
                .authenticate(&caller.token_scope(), tenant, token)
                .await?;
            if me.user.email.is_none() {
                return Err(ItError::code("MISSING_EMAIL"));
            }
            Ok((me.realm, Addressee::User(Box::new(me.user))))
        }
    }
}

#[utoipa::path(post, path = "/v1/accounts:resetPassword", tag = "accounts",
    request_body = ResetPasswordRequest, responses((status = 200, body = ResetPasswordResponse)))]
pub async fn reset_password(
    State(svc): State<Arc<Service>>,
    caller: Caller,
    Body(req): Body<ResetPasswordRequest>,
) -> Result<Json<ResetPasswordResponse>, ItError> {
    let code = req
        .oob_code
        .as_deref()
        .ok_or(ItError::code("MISSING_OOB_CODE"))?;
    let target = (req.target_project_id.as_deref(), req.tenant_id.as_deref());
    let realm = realm_for(&svc, &caller, target.0, target.1).await?;
    let found = svc.check_oob_code(Some(&realm.id), code).await?;
    if let Some(raw) = req.new_password.as_deref() {
        if found.request != OobRequest::PasswordReset {
            return Err(DomainError::InvalidOobCode.into());
        }
        let password = input::password(raw)?;
        svc.reset_password(Some(&realm.id), code, password).await?;
    }
    let mfa_info = match found.request {
        OobRequest::RevertSecondFactorAddition => Some(MfaEnrollment::new(
            &svc.factor_to_revert(&found).await?,
            true,
        )),
        _ => None,
    };
    Ok(Json(ResetPasswordResponse {
        kind: "identitytoolkit#ResetPasswordResponse",
        request_type: found.request.as_str(),
        email: (found.request != OobRequest::EmailSignIn).then(|| found.email.to_string()),
        new_email: found.new_email.map(|e| e.to_string()),
        mfa_info,
    }))
}

/// Signs in with a sign-in link (the SDKs' `signInWithEmailLink`): checks in the emulator's
/// order, the ID token first.
#[utoipa::path(post, path = "/v1/accounts:signInWithEmailLink", tag = "accounts",
    request_body = SignInWithEmailLinkRequest, responses((status = 200, body = SignInWithEmailLinkResponse)))]
pub async fn sign_in_with_email_link(
    State(svc): State<Arc<Service>>,
    caller: Caller,
    Body(req): Body<SignInWithEmailLinkRequest>,
) -> Result<Json<SignInWithEmailLinkResponse>, ItError> {
    let tenant = req.tenant_id.as_deref();
    let (realm, linking) =
        realm_and_linking(&svc, &caller, tenant, req.id_token.as_deref()).await?;
    let email = input::email(req.email.as_deref().ok_or(ItError::code("MISSING_EMAIL"))?)?;
    let code = req
        .oob_code
        .as_deref()
        .ok_or(ItError::code("MISSING_OOB_CODE"))?;
    let signed_in = svc
        .sign_in_with_email_link(&realm, &email, code, linking.as_ref())
        .await?;
    Ok(Json(SignInWithEmailLinkResponse {
        kind: "identitytoolkit#EmailLinkSigninResponse",
        email: email.to_string(),
        local_id: signed_in.user.id.to_string(),
        is_new_user: signed_in.is_new,
        outcome: signed_in.outcome.into(),
    }))
}
