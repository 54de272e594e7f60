//! ZITADEL's passkeys: user service v2 (registration in two steps, codes that let a user
//! register without signing in, the listing, removal), and v1's "passwordless" calls of the
//! management and auth APIs over the same passkeys. A session checks them through its
//! WebAuthn challenge with user verification required (`sessions.rs`).

use tessera_core::{DomainError, FactorId, FactorState, Passkey};

use super::details::{created_v1, details_v1, details_v2};
use super::error::{
    BAD_BODY, Op, PASSKEY_LINK_NEEDS_TEMPLATE, PASSKEY_NAME_INVALID, TOKEN_NAME_INVALID,
    ZitadelError, check_name,
};
use super::rpc::Ctx;
use crate::proto::zitadel::auth::v1 as auth;
use crate::proto::zitadel::management::v1 as mgmt;
use crate::proto::zitadel::object::v2::ListDetails;
use crate::proto::zitadel::user::{v1 as user_v1, v2};
use crate::service::{Attachment, PasskeyCodeDelivery};

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
        )
        .await
        .map_err(passkey_error)?;
    Ok(v2::VerifyPasskeyRegistrationResponse {
        details: Some(details_v2(&ctx)),
    })
}

/// A code that lets the user (or whoever holds it) register a passkey without signing in:
/// returned, or emailed as the caller's `url_template`. Tessera has no registration page of
/// its own to send a link to, so an emailed link needs the template.
pub async fn create_passkey_registration_link(
    ctx: Ctx,
    req: v2::CreatePasskeyRegistrationLinkRequest,
) -> Result<v2::CreatePasskeyRegistrationLinkResponse, ZitadelError> {
    use v2::create_passkey_registration_link_request::Medium;
    let (ctx, id) = ctx.credential_of(&req.user_id).await?;
    let delivery = match req.medium {
        Some(Medium::ReturnCode(_)) => PasskeyCodeDelivery::Return,
        Some(Medium::SendLink(v2::SendPasskeyRegistrationLink {
            url_template: Some(url_template),
        })) if !url_template.is_empty() => PasskeyCodeDelivery::Email { url_template },
        Some(Medium::SendLink(_)) | None => return Err(PASSKEY_LINK_NEEDS_TEMPLATE),
    };
    let code = ctx
        .svc
        .create_passkey_code(&ctx.realm, &id, delivery, &ctx.client)
        .await
        .map_err(passkey_error)?;
    Ok(v2::CreatePasskeyRegistrationLinkResponse {
        details: Some(details_v2(&ctx)),
        code: code.map(|(id, code)| v2::PasskeyRegistrationCode { id, code }),
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
        .verify_passkey(&ctx.realm, &me, None, credential, &verification.token_name)
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
