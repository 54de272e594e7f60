//! v2's `GenerateRecoveryCodes` and `RemoveRecoveryCodes`: the user itself, or a caller
//! allowed to change its credentials. The codes are answered once, here; a session's
//! `recoveryCode` check uses them (sessions.rs).

use super::details::details_v2;
use super::error::ZitadelError;
use super::rpc::Ctx;
use super::users::domain;
use crate::proto::zitadel::user::v2 as user;

pub async fn generate_recovery_codes(
    ctx: Ctx,
    req: user::GenerateRecoveryCodesRequest,
) -> Result<user::GenerateRecoveryCodesResponse, ZitadelError> {
    let (ctx, id) = ctx.credential_of(&req.user_id).await?;
    let count = u32::try_from(req.count).unwrap_or_default();
    let recovery_codes = ctx
        .svc
        .generate_recovery_codes(&ctx.realm, &id, count)
        .await
        .map_err(domain)?;
    Ok(user::GenerateRecoveryCodesResponse {
        details: Some(details_v2(&ctx)),
        recovery_codes,
    })
}

pub async fn remove_recovery_codes(
    ctx: Ctx,
    req: user::RemoveRecoveryCodesRequest,
) -> Result<user::RemoveRecoveryCodesResponse, ZitadelError> {
    let (ctx, id) = ctx.credential_of(&req.user_id).await?;
    ctx.svc
        .remove_recovery_codes(&ctx.realm, &id)
        .await
        .map_err(domain)?;
    Ok(user::RemoveRecoveryCodesResponse {
        details: Some(details_v2(&ctx)),
    })
}
