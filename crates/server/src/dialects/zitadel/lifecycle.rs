//! A user's state as ZITADEL changes it, in user service v2 and management v1: deactivate
//! and reactivate (Firebase's `disabled`: a deactivated user cannot sign in through either
//! dialect, and its earlier tokens die), lock and unlock (a locked user signs in nowhere, and
//! Firebase sees it as disabled, until it is unlocked).

use tessera_core::UserId;

use super::details::{details_v1, details_v2};
use super::error::ZitadelError;
use super::rpc::Ctx;
use super::users::domain;
use crate::proto::zitadel::management::v1 as mgmt;
use crate::proto::zitadel::object::v2::Details;
use crate::proto::zitadel::user::v2 as user;
use crate::proto::zitadel::v1::ObjectDetails;

#[derive(Clone, Copy)]
enum Change {
    Deactivate,
    Reactivate,
    Lock,
    Unlock,
}

async fn apply(ctx: &Ctx, id: &UserId, change: Change) -> Result<(), ZitadelError> {
    let (svc, realm) = (&ctx.svc, &ctx.realm);
    match change {
        Change::Deactivate => svc.set_disabled(realm, id, true).await,
        Change::Reactivate => svc.set_disabled(realm, id, false).await,
        Change::Lock => svc.set_locked(realm, id, true).await,
        Change::Unlock => svc.set_locked(realm, id, false).await,
    }
    .map(drop)
    .map_err(domain)
}

/// v2: a user of any organization the caller may write in.
async fn v2(ctx: Ctx, raw: &str, change: Change) -> Result<Option<Details>, ZitadelError> {
    let (ctx, id) = ctx.write_of(raw).await?;
    apply(&ctx, &id, change).await?;
    Ok(Some(details_v2(&ctx)))
}

/// Management v1: a user of the call's organization.
async fn v1(ctx: Ctx, raw: &str, change: Change) -> Result<Option<ObjectDetails>, ZitadelError> {
    let (ctx, id) = ctx.org_write_of(raw).await?;
    apply(&ctx, &id, change).await?;
    Ok(Some(details_v1(&ctx)))
}

pub async fn deactivate_user(
    ctx: Ctx,
    req: user::DeactivateUserRequest,
) -> Result<user::DeactivateUserResponse, ZitadelError> {
    let details = v2(ctx, &req.user_id, Change::Deactivate).await?;
    Ok(user::DeactivateUserResponse { details })
}

pub async fn reactivate_user(
    ctx: Ctx,
    req: user::ReactivateUserRequest,
) -> Result<user::ReactivateUserResponse, ZitadelError> {
    let details = v2(ctx, &req.user_id, Change::Reactivate).await?;
    Ok(user::ReactivateUserResponse { details })
}

pub async fn lock_user(
    ctx: Ctx,
    req: user::LockUserRequest,
) -> Result<user::LockUserResponse, ZitadelError> {
    let details = v2(ctx, &req.user_id, Change::Lock).await?;
    Ok(user::LockUserResponse { details })
}

pub async fn unlock_user(
    ctx: Ctx,
    req: user::UnlockUserRequest,
) -> Result<user::UnlockUserResponse, ZitadelError> {
    let details = v2(ctx, &req.user_id, Change::Unlock).await?;
    Ok(user::UnlockUserResponse { details })
}

pub async fn deactivate_user_v1(
    ctx: Ctx,
    req: mgmt::DeactivateUserRequest,
) -> Result<mgmt::DeactivateUserResponse, ZitadelError> {
    let details = v1(ctx, &req.id, Change::Deactivate).await?;
    Ok(mgmt::DeactivateUserResponse { details })
}

pub async fn reactivate_user_v1(
    ctx: Ctx,
    req: mgmt::ReactivateUserRequest,
) -> Result<mgmt::ReactivateUserResponse, ZitadelError> {
    let details = v1(ctx, &req.id, Change::Reactivate).await?;
    Ok(mgmt::ReactivateUserResponse { details })
}

pub async fn lock_user_v1(
    ctx: Ctx,
    req: mgmt::LockUserRequest,
) -> Result<mgmt::LockUserResponse, ZitadelError> {
    let details = v1(ctx, &req.id, Change::Lock).await?;
    Ok(mgmt::LockUserResponse { details })
}

pub async fn unlock_user_v1(
    ctx: Ctx,
    req: mgmt::UnlockUserRequest,
) -> Result<mgmt::UnlockUserResponse, ZitadelError> {
    let details = v1(ctx, &req.id, Change::Unlock).await?;
    Ok(mgmt::UnlockUserResponse { details })
}
