//! A user's state as ZITADEL changes it: deactivate and reactivate (user service v2 and
//! management v1). Deactivation is Firebase's `disabled`: a deactivated user cannot sign in
//! through either dialect, and its earlier tokens die.

use tessera_core::UserId;

use super::details::{details_v1, details_v2};
use super::error::ZitadelError;
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
