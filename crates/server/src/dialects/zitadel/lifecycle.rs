//! A user's state and password as ZITADEL changes them: deactivate and reactivate (user
//! service v2 and management v1), and `SetPassword` (v2). Deactivation is Firebase's
//! `disabled`: a deactivated user cannot sign in through either dialect, and its earlier
//! tokens die.

use tessera_core::{DomainError, Password, UserId};

use super::details::{details_v1, details_v2};
use super::error::{PASSWORD_TOO_SHORT, ZitadelError};
use super::rpc::Ctx;
use super::users::domain;
use crate::proto::zitadel::management::v1 as mgmt;
use crate::proto::zitadel::user::v2 as user;

pub async fn deactivate_user(
    ctx: Ctx,
    req: user::DeactivateUserRequest,
) -> Result<user::DeactivateUserResponse, ZitadelError> {
    let (ctx, id) = ctx.write_of(&req.user_id).await?;
    set_disabled(&ctx, &id, true).await?;
    Ok(user::DeactivateUserResponse {
        details: Some(details_v2(&ctx)),
    })
}

pub async fn reactivate_user(
    ctx: Ctx,
    req: user::ReactivateUserRequest,
) -> Result<user::ReactivateUserResponse, ZitadelError> {
    let (ctx, id) = ctx.write_of(&req.user_id).await?;
    set_disabled(&ctx, &id, false).await?;
    Ok(user::ReactivateUserResponse {
        details: Some(details_v2(&ctx)),
    })
}

/// Management v1: a user of the call's organization.
pub async fn deactivate_user_v1(
    ctx: Ctx,
    req: mgmt::DeactivateUserRequest,
) -> Result<mgmt::DeactivateUserResponse, ZitadelError> {
    let (ctx, id) = ctx.org_write_of(&req.id).await?;
    set_disabled(&ctx, &id, true).await?;
    Ok(mgmt::DeactivateUserResponse {
        details: Some(details_v1(&ctx)),
    })
}

pub async fn reactivate_user_v1(
    ctx: Ctx,
    req: mgmt::ReactivateUserRequest,
) -> Result<mgmt::ReactivateUserResponse, ZitadelError> {
    let (ctx, id) = ctx.org_write_of(&req.id).await?;
    set_disabled(&ctx, &id, false).await?;
    Ok(mgmt::ReactivateUserResponse {
        details: Some(details_v1(&ctx)),
    })
}

async fn set_disabled(ctx: &Ctx, id: &UserId, disabled: bool) -> Result<(), ZitadelError> {
    ctx.svc
        .set_disabled(&ctx.realm, id, disabled)
        .await
        .map(drop)
        .map_err(domain)
}

/// A new password, proven by the current one, or set by a caller allowed to write the user.
/// A `verificationCode` comes from `PasswordReset`, which Tessera does not serve, so it never
/// matches: ZITADEL's answer when no reset was asked for.
pub async fn set_password(
    ctx: Ctx,
    req: user::SetPasswordRequest,
) -> Result<user::SetPasswordResponse, ZitadelError> {
    use user::set_password_request::Verification;
    let (ctx, id) = ctx.write_of(&req.user_id).await?;
    let new = new_password(req.new_password.map(|p| p.password).as_deref())?;
    let current = match &req.verification {
        Some(Verification::CurrentPassword(current)) => Some(current.as_str()),
        Some(Verification::VerificationCode(_)) => {
            return Err(domain(DomainError::VerificationCodeNotFound));
        }
        None => None,
    };
    ctx.svc
        .set_password(&ctx.realm, &id, current, new)
        .await
        .map_err(domain)?;
    Ok(user::SetPasswordResponse {
        details: Some(details_v2(&ctx)),
    })
}

pub fn new_password(raw: Option<&str>) -> Result<Password, ZitadelError> {
    raw.and_then(Password::parse).ok_or(PASSWORD_TOO_SHORT)
}
