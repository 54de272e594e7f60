//! User service v2's invitations: `CreateInviteCode` (mailed as a link to the caller's
//! `urlTemplate`, else to Tessera's invitation page, or returned), `ResendInviteCode` (a new
//! code mailed as the invitation was) and `VerifyInviteCode`, which proves the invited
//! address. The code is the proof in `VerifyInviteCode`, so any signed-in caller may use it,
//! as in ZITADEL; the other two need `user.write`. See `service::invites`.

use tessera_core::contact::InviteMail;

use super::details::details_v2;
use super::error::{Op, ZitadelError};
use super::rpc::Ctx;
use crate::proto::zitadel::user::v2 as user;
use crate::service::InviteDelivery;

fn nonempty(field: &Option<String>) -> Option<String> {
    field.clone().filter(|value| !value.is_empty())
}

pub async fn create_invite_code(
    ctx: Ctx,
    req: user::CreateInviteCodeRequest,
) -> Result<user::CreateInviteCodeResponse, ZitadelError> {
    use user::create_invite_code_request::Verification;
    let (ctx, id) = ctx.write_of(&req.user_id).await?;
    let delivery = match &req.verification {
        Some(Verification::ReturnCode(_)) => InviteDelivery::Return,
        Some(Verification::SendCode(send)) => InviteDelivery::Mail(InviteMail {
            link_template: nonempty(&send.url_template),
            app_name: nonempty(&send.application_name),
        }),
        None => InviteDelivery::Mail(InviteMail::default()),
    };
    let invite_code = ctx
        .svc
        .create_invite(&ctx.realm, &id, delivery, &ctx.client)
        .await
        .map_err(|e| ZitadelError::from_domain(Op::CreateInvite, e))?;
    Ok(user::CreateInviteCodeResponse {
        details: Some(details_v2(&ctx)),
        invite_code,
    })
}

pub async fn resend_invite_code(
    ctx: Ctx,
    req: user::ResendInviteCodeRequest,
) -> Result<user::ResendInviteCodeResponse, ZitadelError> {
    let (ctx, id) = ctx.write_of(&req.user_id).await?;
    ctx.svc
        .resend_invite(&ctx.realm, &id, &ctx.client)
        .await
        .map_err(|e| ZitadelError::from_domain(Op::ResendInvite, e))?;
    Ok(user::ResendInviteCodeResponse {
        details: Some(details_v2(&ctx)),
    })
}

pub async fn verify_invite_code(
    ctx: Ctx,
    req: user::VerifyInviteCodeRequest,
) -> Result<user::VerifyInviteCodeResponse, ZitadelError> {
    let (ctx, id) = ctx.located(&req.user_id).await?;
    ctx.svc
        .verify_invite(&ctx.realm, &id, &req.verification_code, None, &ctx.client)
        .await
        .map_err(|e| ZitadelError::from_domain(Op::VerifyInvite, e))?;
    Ok(user::VerifyInviteCodeResponse {
        details: Some(details_v2(&ctx)),
    })
}
