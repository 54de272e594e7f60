//! ZITADEL's passkeys: user service v2 (registration in two steps, codes that let a user
//! register without signing in, the listing, removal), and v1's "passwordless" calls of the
//! management and auth APIs over the same passkeys. A session checks them through its
//! WebAuthn challenge with user verification required (`sessions.rs`).

use tessera_core::passkey::PASSKEY_CODE_LIFETIME;
use tessera_core::{DomainError, FactorId, FactorState, Passkey, UserId};

use super::details::{created_v1, details_v1, details_v2};
use super::error::{
    BAD_BODY, Op, PASSKEY_NAME_INVALID, TOKEN_NAME_INVALID, ZitadelError, check_name,
};
use super::rpc::Ctx;
use crate::proto::zitadel::auth::v1 as auth;
use crate::proto::zitadel::management::v1 as mgmt;
use crate::proto::zitadel::object::v2::ListDetails;
use crate::proto::zitadel::user::{v1 as user_v1, v2};
use crate::service::{Attachment, IssuedPasskeyCode, PasskeyCodeDelivery};

fn passkey_error(e: DomainError) -> ZitadelError {
    ZitadelError::from_domain(Op::Passkey, e)
}

fn passkey_id(raw: &str) -> Result<FactorId, ZitadelError> {
    FactorId::parse(raw).ok_or(passkey_error(DomainError::FactorNotFound))
}

fn attachment(raw: i32) -> Result<Option<Attachment>, ZitadelError> {
    match v2::PasskeyAuthenticator::try_from(raw) {
        Ok(v2::PasskeyAuthenticator::Unspecified) => Ok(None),
        Ok(v2::PasskeyAuthenticator::Platform) => Ok(Some(Attachment::Platform)),
        Ok(v2::PasskeyAuthenticator::CrossPlatform) => Ok(Some(Attachment::CrossPlatform)),
        Err(_) => Err(BAD_BODY),
    }
}

/// v1's `WebAuthNToken`; v2's `Passkey` has its layout and field numbers.
fn token_v1(passkey: &Passkey) -> user_v1::WebAuthNToken {
    let state = match passkey.state {
        FactorState::Ready => user_v1::AuthFactorState::Ready,
        FactorState::NotReady => user_v1::AuthFactorState::NotReady,
        FactorState::Removed => user_v1::AuthFactorState::Removed,
    };
    user_v1::WebAuthNToken {
        id: passkey.id.to_string(),
        state: state.into(),
        name: passkey.name.clone().unwrap_or_default(),
    }
}

fn passkey_v2(passkey: &Passkey) -> v2::Passkey {
    let token = token_v1(passkey);
    v2::Passkey {
        id: token.id,
        state: token.state,
        name: token.name,
    }
}

async fn listed(ctx: &Ctx, id: &tessera_core::UserId) -> Result<Vec<Passkey>, ZitadelError> {
    ctx.svc
        .ready_passkeys(&ctx.realm, id)
        .await
        .map_err(|e| ZitadelError::from_domain(Op::Read, e))
}

/// With a registration code, any caller may start it (the code is the user's consent, as in
/// ZITADEL, whose login UI registers passkeys so); without one, the user or a caller allowed
/// to manage the user's credentials.
pub async fn register_passkey(
    ctx: Ctx,
    req: v2::RegisterPasskeyRequest,
) -> Result<v2::RegisterPasskeyResponse, ZitadelError> {
    let (ctx, id) = match &req.code {
        Some(_) => ctx.located(&req.user_id).await?,
        None => ctx.credential_of(&req.user_id).await?,
    };
    let attachment = attachment(req.authenticator)?;
    let code = req.code.as_ref().map(|c| (c.id.as_str(), c.code.as_str()));
    let (passkey, options) = ctx
        .svc
        .register_passkey(&ctx.realm, &id, code, Some(req.domain.as_str()), attachment)
        .await
        .map_err(passkey_error)?;
    Ok(v2::RegisterPasskeyResponse {
        details: Some(details_v2(&ctx)),
        passkey_id: passkey.id.to_string(),
        public_key_credential_creation_options: Some(
            serde_json::from_value(options).map_err(|_| passkey_error(DomainError::Internal))?,
        ),
    })
}

/// Any caller may finish a registration, as in ZITADEL: only the browser that was given the
/// creation options can answer their challenge, and whoever started it was allowed to (a
/// login UI with a registration code starts it and finishes it).
pub async fn verify_passkey_registration(
    ctx: Ctx,
    req: v2::VerifyPasskeyRegistrationRequest,
) -> Result<v2::VerifyPasskeyRegistrationResponse, ZitadelError> {
    let (ctx, id) = ctx.located(&req.user_id).await?;
    check_name(&req.passkey_name, PASSKEY_NAME_INVALID)?;
    let credential = serde_json::to_value(req.public_key_credential.unwrap_or_default())
        .map_err(|_| BAD_BODY)?;
    ctx.svc
        .verify_passkey(
            &ctx.realm,
            &id,
            Some(&passkey_id(&req.passkey_id)?),
            credential,
            &req.passkey_name,
            None,
        )
        .await
        .map_err(passkey_error)?;
    Ok(v2::VerifyPasskeyRegistrationResponse {
        details: Some(details_v2(&ctx)),
    })
}

/// Issues a registration code for user `id` and its link: emailed with `delivery`
/// `Email`; the link leads to the caller's `url_template`, else to Tessera's registration
/// page.
async fn issue_code(
    ctx: &Ctx,
    id: &UserId,
    delivery: PasskeyCodeDelivery,
    url_template: Option<&str>,
) -> Result<IssuedPasskeyCode, ZitadelError> {
    ctx.svc
        .create_passkey_code(&ctx.realm, id, delivery, url_template, &ctx.client)
        .await
        .map_err(passkey_error)
}

/// How long a registration code lives, as v1's `expiration`.
fn code_lifetime() -> pbjson_types::Duration {
    pbjson_types::Duration {
        seconds: PASSKEY_CODE_LIFETIME.whole_seconds(),
        nanos: 0,
    }
}

/// A code that lets the user (or whoever holds it) register a passkey without signing in:
/// returned (`returnCode`), or emailed as a link (`sendLink`, and no medium at all, as in
/// ZITADEL) to the caller's `urlTemplate`, else to Tessera's registration page.
pub async fn create_passkey_registration_link(
    ctx: Ctx,
    req: v2::CreatePasskeyRegistrationLinkRequest,
) -> Result<v2::CreatePasskeyRegistrationLinkResponse, ZitadelError> {
    use v2::create_passkey_registration_link_request::Medium;
    let (ctx, id) = ctx.credential_of(&req.user_id).await?;
    let (delivery, url_template) = match &req.medium {
        Some(Medium::ReturnCode(_)) => (PasskeyCodeDelivery::Return, None),
        Some(Medium::SendLink(link)) => (
            PasskeyCodeDelivery::Email,
            link.url_template.as_deref().filter(|t| !t.is_empty()),
        ),
        None => (PasskeyCodeDelivery::Email, None),
    };
    let issued = issue_code(&ctx, &id, delivery, url_template).await?;
    Ok(v2::CreatePasskeyRegistrationLinkResponse {
        details: Some(details_v2(&ctx)),
        code: (delivery == PasskeyCodeDelivery::Return).then_some(v2::PasskeyRegistrationCode {
            id: issued.id,
            code: issued.code,
        }),
    })
}

/// The user's ready passkeys.
pub async fn list_passkeys(
    ctx: Ctx,
    req: v2::ListPasskeysRequest,
) -> Result<v2::ListPasskeysResponse, ZitadelError> {
    let (ctx, id) = ctx.read_of(&req.user_id).await?;
    let result: Vec<_> = listed(&ctx, &id).await?.iter().map(passkey_v2).collect();
    Ok(v2::ListPasskeysResponse {
        details: Some(ListDetails {
            total_result: result.len() as u64,
            ..ListDetails::default()
        }),
        result,
    })
}

pub async fn remove_passkey(
    ctx: Ctx,
    req: v2::RemovePasskeyRequest,
) -> Result<v2::RemovePasskeyResponse, ZitadelError> {
    let (ctx, id) = ctx.credential_of(&req.user_id).await?;
    ctx.svc
        .remove_passkey(&ctx.realm, &id, &passkey_id(&req.passkey_id)?)
        .await
        .map_err(passkey_error)?;
    Ok(v2::RemovePasskeyResponse {
        details: Some(details_v2(&ctx)),
    })
}

// ---- management v1 ---------------------------------------------------------------------

pub async fn list_human_passwordless(
    ctx: Ctx,
    req: mgmt::ListHumanPasswordlessRequest,
) -> Result<mgmt::ListHumanPasswordlessResponse, ZitadelError> {
    let (ctx, id) = ctx.org_read_of(&req.user_id).await?;
    Ok(mgmt::ListHumanPasswordlessResponse {
        result: listed(&ctx, &id).await?.iter().map(token_v1).collect(),
    })
}

/// A registration link for the caller to pass on (to Tessera's registration page).
pub async fn add_passwordless_registration(
    ctx: Ctx,
    req: mgmt::AddPasswordlessRegistrationRequest,
) -> Result<mgmt::AddPasswordlessRegistrationResponse, ZitadelError> {
    let (ctx, id) = ctx.org_credential_of(&req.user_id).await?;
    let issued = issue_code(&ctx, &id, PasskeyCodeDelivery::Return, None).await?;
    Ok(mgmt::AddPasswordlessRegistrationResponse {
        details: Some(created_v1(&ctx, ctx.org_id())),
        link: issued.link,
        expiration: Some(code_lifetime()),
    })
}

/// A registration link emailed to the user.
pub async fn send_passwordless_registration(
    ctx: Ctx,
    req: mgmt::SendPasswordlessRegistrationRequest,
) -> Result<mgmt::SendPasswordlessRegistrationResponse, ZitadelError> {
    let (ctx, id) = ctx.org_write_of(&req.user_id).await?;
    issue_code(&ctx, &id, PasskeyCodeDelivery::Email, None).await?;
    Ok(mgmt::SendPasswordlessRegistrationResponse {
        details: Some(created_v1(&ctx, ctx.org_id())),
    })
}

/// `ImportHumanUser`'s `requestPasswordlessRegistration`: a registration link for the new
/// user, returned with the user.
pub async fn import_registration(
    ctx: &Ctx,
    id: &UserId,
) -> Result<mgmt::import_human_user_response::PasswordlessRegistration, ZitadelError> {
    let issued = issue_code(ctx, id, PasskeyCodeDelivery::Return, None).await?;
    Ok(mgmt::import_human_user_response::PasswordlessRegistration {
        link: issued.link,
        lifetime: Some(code_lifetime()),
        expiration: Some(code_lifetime()),
    })
}

pub async fn remove_human_passwordless(
    ctx: Ctx,
    req: mgmt::RemoveHumanPasswordlessRequest,
) -> Result<mgmt::RemoveHumanPasswordlessResponse, ZitadelError> {
    let (ctx, id) = ctx.org_write_of(&req.user_id).await?;
    ctx.svc
        .remove_passkey(&ctx.realm, &id, &passkey_id(&req.token_id)?)
        .await
        .map_err(passkey_error)?;
    Ok(mgmt::RemoveHumanPasswordlessResponse {
        details: Some(details_v1(&ctx)),
    })
}

// ---- auth v1: the signed-in user's own -------------------------------------------------

pub async fn list_my_passwordless(
    ctx: Ctx,
    _: auth::ListMyPasswordlessRequest,
) -> Result<auth::ListMyPasswordlessResponse, ZitadelError> {
    let me = ctx.me()?;
    Ok(auth::ListMyPasswordlessResponse {
        result: listed(&ctx, &me).await?.iter().map(token_v1).collect(),
    })
}

/// The creation options travel as JSON bytes (`WebAuthNKey.public_key`), as for U2F.
pub async fn add_my_passwordless(
    ctx: Ctx,
    _: auth::AddMyPasswordlessRequest,
) -> Result<auth::AddMyPasswordlessResponse, ZitadelError> {
    let me = ctx.me()?;
    let (_, options) = ctx
        .svc
        .register_passkey(&ctx.realm, &me, None, None, None)
        .await
        .map_err(passkey_error)?;
    Ok(auth::AddMyPasswordlessResponse {
        key: Some(user_v1::WebAuthNKey {
            public_key: serde_json::to_vec(&options)
                .map_err(|_| passkey_error(DomainError::Internal))?,
        }),
        details: Some(created_v1(&ctx, ctx.org_id())),
    })
}

/// A registration link for the signed-in user to open elsewhere (another device).
pub async fn add_my_passwordless_link(
    ctx: Ctx,
    _: auth::AddMyPasswordlessLinkRequest,
) -> Result<auth::AddMyPasswordlessLinkResponse, ZitadelError> {
    let me = ctx.me()?;
    let issued = issue_code(&ctx, &me, PasskeyCodeDelivery::Return, None).await?;
    Ok(auth::AddMyPasswordlessLinkResponse {
        details: Some(created_v1(&ctx, ctx.org_id())),
        link: issued.link,
        expiration: Some(code_lifetime()),
    })
}

/// A registration link emailed to the signed-in user.
pub async fn send_my_passwordless_link(
    ctx: Ctx,
    _: auth::SendMyPasswordlessLinkRequest,
) -> Result<auth::SendMyPasswordlessLinkResponse, ZitadelError> {
    let me = ctx.me()?;
    issue_code(&ctx, &me, PasskeyCodeDelivery::Email, None).await?;
    Ok(auth::SendMyPasswordlessLinkResponse {
        details: Some(created_v1(&ctx, ctx.org_id())),
    })
}

/// Finishes the user's latest registration: v1 names none.
pub async fn verify_my_passwordless(
    ctx: Ctx,
    req: auth::VerifyMyPasswordlessRequest,
) -> Result<auth::VerifyMyPasswordlessResponse, ZitadelError> {
    let me = ctx.me()?;
    let verification = req.verification.unwrap_or_default();
    check_name(&verification.token_name, TOKEN_NAME_INVALID)?;
    let credential = serde_json::from_slice(&verification.public_key_credential)
        .map_err(|_| passkey_error(DomainError::InvalidCredential))?;
    ctx.svc
        .verify_passkey(
            &ctx.realm,
            &me,
            None,
            credential,
            &verification.token_name,
            None,
        )
        .await
        .map_err(passkey_error)?;
    Ok(auth::VerifyMyPasswordlessResponse {
        details: Some(details_v1(&ctx)),
    })
}

pub async fn remove_my_passwordless(
    ctx: Ctx,
    req: auth::RemoveMyPasswordlessRequest,
) -> Result<auth::RemoveMyPasswordlessResponse, ZitadelError> {
    let me = ctx.me()?;
    ctx.svc
        .remove_passkey(&ctx.realm, &me, &passkey_id(&req.token_id)?)
        .await
        .map_err(passkey_error)?;
    Ok(auth::RemoveMyPasswordlessResponse {
        details: Some(details_v1(&ctx)),
    })
}
