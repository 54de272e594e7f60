//! Changes to a human after it was added: v2's `UpdateHumanUser`, `SetPassword` and
//! `PasswordReset`, and management v1's `UpdateUserName`, `UpdateHumanProfile`, `UpdateHumanEmail` and
//! `SetHumanPassword`. A new password is what the Identity Toolkit checks from then on, and it
//! ends the user's earlier tokens there too.

use tessera_core::oob::OobRequest;
use tessera_core::{Password, ProfilePatch, UserId};

use super::details::{details_v1, details_v2};
use super::error::{
    BAD_BODY, FAMILY_NAME_EMPTY, GIVEN_NAME_EMPTY, HASH_NOT_SUPPORTED_ON_CHANGE,
    PASSWORD_TOO_SHORT, USERNAME_EMPTY, USERNAME_NOT_CHANGED, ZitadelError,
};
use super::profiles::gender_of;
use super::rpc::Ctx;
use super::users::{
    Names, change_human, domain, email, email_proof, hashed_password, phone, phone_proof, trimmed,
};
use crate::proto::zitadel::management::v1 as mgmt;
use crate::proto::zitadel::user::v2 as user;
use crate::proto::zitadel::v1::ObjectDetails;
use crate::service::{
    AccountChanges, Addressee, HumanChange, IfUnchanged, LinkDelivery, LinkSource, NewPassword,
    OobSend, Proof,
};

fn new_password(raw: Option<&str>) -> Result<NewPassword, ZitadelError> {
    raw.and_then(Password::parse)
        .map(NewPassword::Plain)
        .ok_or(PASSWORD_TOO_SHORT)
}

fn username(raw: &str) -> Result<String, ZitadelError> {
    trimmed(raw).ok_or(USERNAME_EMPTY)
}

/// A new password, proven by the current one or by a `PasswordReset` code, or set by a caller
/// allowed to write the user.
pub async fn set_password(
    ctx: Ctx,
    req: user::SetPasswordRequest,
) -> Result<user::SetPasswordResponse, ZitadelError> {
    use user::set_password_request::Verification::*;
    let (ctx, id) = ctx.write_of(&req.user_id).await?;
    let new = new_password(req.new_password.map(|p| p.password).as_deref())?;
    let mut change = HumanChange {
        changes: AccountChanges {
            password: Some(Some(new)),
            ..AccountChanges::default()
        },
        ..HumanChange::default()
    };
    match &req.verification {
        Some(CurrentPassword(current)) => change.current_password = Some(current),
        Some(VerificationCode(code)) => change.reset_code = Some(code),
        None => {}
    }
    change_human(&ctx, &id, change).await?;
    Ok(user::SetPasswordResponse {
        details: Some(details_v2(&ctx)),
    })
}

/// v2's `PasswordReset`: a code that lets whoever holds it set a new password
/// (`SetPassword` with `verificationCode`), emailed as a link (or sent by SMS to the proven
/// number), or returned. The link is `url_template` filled in, else the page `/ui/action`,
/// where the user sets the password without an application. The code is the one Identity
/// Toolkit's password-reset links carry, so either dialect's reset takes either's code.
pub async fn password_reset(
    ctx: Ctx,
    req: user::PasswordResetRequest,
) -> Result<user::PasswordResetResponse, ZitadelError> {
    use user::password_reset_request::Medium;
    let (ctx, id) = ctx.write_of(&req.user_id).await?;
    let (deliver, url_template) = match req.medium {
        Some(Medium::ReturnCode(_)) => (LinkDelivery::Return, None),
        Some(Medium::SendLink(link)) => {
            let sms = link.notification_type == user::NotificationType::Sms as i32;
            let deliver = if sms {
                LinkDelivery::Sms
            } else {
                LinkDelivery::Email
            };
            (deliver, link.url_template)
        }
        None => (LinkDelivery::Email, None),
    };
    let user = ctx.svc.get_account(&ctx.realm, &id).await.map_err(domain)?;
    let send = OobSend {
        request: OobRequest::PasswordReset,
        to: Addressee::User(Box::new(user)),
        new_email: None,
        continue_url: None,
        source: LinkSource::default(),
        deliver,
        url_template,
    };
    let sent = ctx
        .svc
        .send_oob_code(&ctx.realm, send, &ctx.client)
        .await
        .map_err(domain)?;
    Ok(user::PasswordResetResponse {
        details: Some(details_v2(&ctx)),
        verification_code: sent.returned.map(|(code, _)| code),
    })
}

/// v2's profile in an update: a field left out stays as it is; an optional one given blank is
/// cleared.
fn profile_patch(profile: &user::SetHumanProfile) -> (ProfilePatch, Option<Option<String>>) {
    let optional = |field: &Option<String>| field.as_deref().map(trimmed);
    let patch = ProfilePatch {
        given_name: trimmed(&profile.given_name).map(Some),
        family_name: trimmed(&profile.family_name).map(Some),
        nick_name: optional(&profile.nick_name),
        preferred_language: optional(&profile.preferred_language),
        gender: profile.gender.map(gender_of),
    };
    (patch, optional(&profile.display_name))
}

/// v2's `UpdateHumanUser`: username, profile, password, email address and phone number (each
/// as `SetEmail` and `SetPhone` would set it, but left as it is when unchanged), checked
/// whole and written as one: a wrong current password, a taken address or a delivery limit
/// changes nothing. A blank phone number removes the phone.
pub async fn update_human_user(
    ctx: Ctx,
    req: user::UpdateHumanUserRequest,
) -> Result<user::UpdateHumanUserResponse, ZitadelError> {
    use user::set_password::{PasswordType, Verification};
    let (ctx, id) = ctx.write_of(&req.user_id).await?;
    let email = req
        .email
        .as_ref()
        .map(|e| Ok::<_, ZitadelError>((email(&e.email)?, email_proof(e.verification.as_ref()))))
        .transpose()?;
    let phone = req
        .phone
        .as_ref()
        .map(|p| match p.phone.trim() {
            "" => Ok(None),
            number => Ok(Some((phone(number)?, phone_proof(p.verification.as_ref())))),
        })
        .transpose()?;
    let (profile, display_name) = req.profile.as_ref().map(profile_patch).unwrap_or_default();
    let mut change = HumanChange {
        changes: AccountChanges {
            username: req.username.as_deref().map(username).transpose()?,
            profile,
            display_name,
            ..AccountChanges::default()
        },
        email,
        phone,
        ..HumanChange::default()
    };
    if let Some(set) = &req.password {
        change.changes.password = Some(Some(match &set.password_type {
            Some(PasswordType::Password(p)) => new_password(Some(&p.password))?,
            Some(PasswordType::HashedPassword(h)) => {
                hashed_password(&h.hash, HASH_NOT_SUPPORTED_ON_CHANGE)?
            }
            None => return Err(BAD_BODY),
        }));
        match &set.verification {
            Some(Verification::CurrentPassword(c)) => change.current_password = Some(c),
            Some(Verification::VerificationCode(code)) => change.reset_code = Some(code),
            None => {}
        }
    }
    let codes = change_human(&ctx, &id, change).await?;
    Ok(user::UpdateHumanUserResponse {
        details: Some(details_v2(&ctx)),
        email_code: codes.email,
        phone_code: codes.phone,
    })
}

/// Management v1: a user of the call's organization, changed as `changes` says.
async fn update_v1(
    ctx: &Ctx,
    id: &UserId,
    changes: AccountChanges,
) -> Result<Option<ObjectDetails>, ZitadelError> {
    ctx.svc
        .update_account(&ctx.realm, id, changes)
        .await
        .map_err(domain)?;
    Ok(Some(details_v1(ctx)))
}

pub async fn update_user_name(
    ctx: Ctx,
    req: mgmt::UpdateUserNameRequest,
) -> Result<mgmt::UpdateUserNameResponse, ZitadelError> {
    let (ctx, id) = ctx.org_write_of(&req.user_id).await?;
    let name = username(&req.user_name)?;
    let found = ctx.svc.get_account(&ctx.realm, &id).await.map_err(domain)?;
    if found.username.as_deref() == Some(name.as_str()) {
        return Err(USERNAME_NOT_CHANGED);
    }
    let changes = AccountChanges {
        username: Some(name),
        ..AccountChanges::default()
    };
    let details = update_v1(&ctx, &id, changes).await?;
    Ok(mgmt::UpdateUserNameResponse { details })
}

/// v1 replaces the whole profile; given and family name are required.
pub async fn update_human_profile(
    ctx: Ctx,
    req: mgmt::UpdateHumanProfileRequest,
) -> Result<mgmt::UpdateHumanProfileResponse, ZitadelError> {
    let (ctx, id) = ctx.org_write_of(&req.user_id).await?;
    if req.first_name.trim().is_empty() {
        return Err(GIVEN_NAME_EMPTY);
    }
    if req.last_name.trim().is_empty() {
        return Err(FAMILY_NAME_EMPTY);
    }
    let names = Names::new(
        &req.first_name,
        &req.last_name,
        &req.nick_name,
        &req.display_name,
        &req.preferred_language,
        req.gender,
    );
    let changes = AccountChanges {
        profile: ProfilePatch::replacing(names.profile),
        display_name: Some(names.display),
        ..AccountChanges::default()
    };
    let details = update_v1(&ctx, &id, changes).await?;
    Ok(mgmt::UpdateHumanProfileResponse { details })
}

/// v1 sends a code to an address it is not told is verified.
pub async fn update_human_email(
    ctx: Ctx,
    req: mgmt::UpdateHumanEmailRequest,
) -> Result<mgmt::UpdateHumanEmailResponse, ZitadelError> {
    let (ctx, id) = ctx.org_write_of(&req.user_id).await?;
    let proof = if req.is_email_verified {
        Proof::Verified
    } else {
        Proof::SendCode
    };
    let change = HumanChange {
        email: Some((email(&req.email)?, proof)),
        if_unchanged: IfUnchanged::Refuse,
        ..HumanChange::default()
    };
    change_human(&ctx, &id, change).await?;
    Ok(mgmt::UpdateHumanEmailResponse {
        details: Some(details_v1(&ctx)),
    })
}

pub async fn set_human_password(
    ctx: Ctx,
    req: mgmt::SetHumanPasswordRequest,
) -> Result<mgmt::SetHumanPasswordResponse, ZitadelError> {
    let (ctx, id) = ctx.org_write_of(&req.user_id).await?;
    let changes = AccountChanges {
        password: Some(Some(new_password(Some(&req.password))?)),
        ..AccountChanges::default()
    };
    let details = update_v1(&ctx, &id, changes).await?;
    Ok(mgmt::SetHumanPasswordResponse { details })
}
