//! What ZITADEL answers of a user in `GetUserByID` (user service v2 and management v1) and
//! `ListUsers`: its state, login names and profile. A Tessera user has one login name (its
//! username, else its email address: organizations here have no domains). Only a proven phone
//! number is stored on the user; `GetUserByID` shows one awaiting its code instead, unverified,
//! as ZITADEL does (`ListUsers` shows the proven one). The change date is the latest change
//! the store records (creation or the last password).

use tessera_core::contact::ContactKind;
use tessera_core::{AccountState, Gender, User, UserId};
use time::OffsetDateTime;

use super::details::{stored_v1, stored_v2, timestamp};
use super::error::ZitadelError;
use super::rpc::Ctx;
use super::users::domain;
use crate::proto::zitadel::management::v1 as mgmt;
use crate::proto::zitadel::object::v2::Details;
use crate::proto::zitadel::user::v1 as user_v1;
use crate::proto::zitadel::user::v2 as user;
use crate::proto::zitadel::v1::ObjectDetails;

pub async fn get_user_by_id(
    ctx: Ctx,
    req: user::GetUserByIdRequest,
) -> Result<user::GetUserByIdResponse, ZitadelError> {
    let (ctx, id) = ctx.read_of(&req.user_id).await?;
    let (found, phone) = account(&ctx, &id).await?;
    let details = stored_v2(ctx.org_id(), found.created_at, changed_at(&found));
    Ok(user::GetUserByIdResponse {
        details: Some(details.clone()),
        user: Some(user_v2(found, phone, details)),
    })
}

pub async fn get_user_by_id_v1(
    ctx: Ctx,
    req: mgmt::GetUserByIdRequest,
) -> Result<mgmt::GetUserByIdResponse, ZitadelError> {
    let (ctx, id) = ctx.org_read_of(&req.id).await?;
    let (found, phone) = account(&ctx, &id).await?;
    let details = stored_v1(ctx.org_id(), found.created_at, changed_at(&found));
    Ok(mgmt::GetUserByIdResponse {
        user: Some(user_v1(found, phone, details)),
    })
}

/// The user, and the phone number to show: one awaiting its code (unverified), else the
/// proven one.
async fn account(ctx: &Ctx, id: &UserId) -> Result<(User, Option<(String, bool)>), ZitadelError> {
    let found = ctx.svc.get_account(&ctx.realm, id).await.map_err(domain)?;
    let pending = ctx
        .svc
        .pending_contact(&ctx.realm, id, ContactKind::Phone)
        .await
        .map_err(domain)?;
    let phone = match pending {
        Some(number) => Some((number, false)),
        None => proven_phone(&found),
    };
    Ok((found, phone))
}

/// The user's proven phone number, as `(number, verified)`.
pub(super) fn proven_phone(found: &User) -> Option<(String, bool)> {
    found.phone_number.clone().map(|number| (number, true))
}

pub(super) fn changed_at(found: &User) -> OffsetDateTime {
    found
        .password_updated_at
        .map_or(found.created_at, |at| at.max(found.created_at))
}

/// The user's login name, and the list of them (empty for a user with neither a username nor
/// an email address).
fn login_names(found: &User) -> (String, Vec<String>) {
    let name = found.login_name().map(str::to_owned);
    (name.clone().unwrap_or_default(), name.into_iter().collect())
}

/// A gender's number on the wire; v1's and v2's `Gender` enums number theirs alike.
fn gender_number(gender: Gender) -> i32 {
    match gender {
        Gender::Female => user::Gender::Female,
        Gender::Male => user::Gender::Male,
        Gender::Diverse => user::Gender::Diverse,
    }
    .into()
}

/// The gender a request's number names (v1 or v2); none for unspecified or unknown.
pub(super) fn gender_of(number: i32) -> Option<Gender> {
    Gender::ALL
        .into_iter()
        .find(|g| gender_number(*g) == number)
}

/// ZITADEL's state of the user; v1 and v2 number their states alike.
fn state_number(found: &User) -> i32 {
    match found.state() {
        AccountState::Active => user::UserState::Active,
        AccountState::Disabled => user::UserState::Inactive,
        AccountState::Locked => user::UserState::Locked,
    }
    .into()
}

/// `phone` as `(number, verified)`.
pub(super) fn user_v2(found: User, phone: Option<(String, bool)>, details: Details) -> user::User {
    let state = state_number(&found);
    let (login_name, login_names) = login_names(&found);
    let human = user::HumanUser {
        user_id: found.id.to_string(),
        state,
        username: login_name.clone(),
        login_names: login_names.clone(),
        preferred_login_name: login_name.clone(),
        profile: Some(user::HumanProfile {
            given_name: found.profile.given_name.unwrap_or_default(),
            family_name: found.profile.family_name.unwrap_or_default(),
            nick_name: found.profile.nick_name,
            display_name: found.display_name,
            preferred_language: found.profile.preferred_language,
            gender: found.profile.gender.map(gender_number),
            avatar_url: found.photo_url.unwrap_or_default(),
        }),
        email: found.email.map(|email| user::HumanEmail {
            email: email.as_str().to_owned(),
            is_verified: found.email_verified,
        }),
        phone: phone.map(|(phone, is_verified)| user::HumanPhone { phone, is_verified }),
        password_change_required: false,
        password_changed: found.password_updated_at.map(timestamp),
        mfa_init_skipped: None,
    };
    user::User {
        user_id: found.id.to_string(),
        details: Some(details),
        state,
        username: login_name.clone(),
        login_names,
        preferred_login_name: login_name,
        r#type: Some(user::user::Type::Human(human)),
    }
}

/// `phone` as `(number, verified)`.
fn user_v1(found: User, phone: Option<(String, bool)>, details: ObjectDetails) -> user_v1::User {
    let state = state_number(&found);
    let (login_name, login_names) = login_names(&found);
    let human = user_v1::Human {
        profile: Some(user_v1::Profile {
            first_name: found.profile.given_name.unwrap_or_default(),
            last_name: found.profile.family_name.unwrap_or_default(),
            nick_name: found.profile.nick_name.unwrap_or_default(),
            display_name: found.display_name.unwrap_or_default(),
            preferred_language: found.profile.preferred_language.unwrap_or_default(),
            gender: found
                .profile
                .gender
                .map_or(user_v1::Gender::Unspecified.into(), gender_number),
            avatar_url: found.photo_url.unwrap_or_default(),
        }),
        email: found.email.map(|email| user_v1::Email {
            email: email.as_str().to_owned(),
            is_email_verified: found.email_verified,
        }),
        phone: phone.map(|(phone, is_phone_verified)| user_v1::Phone {
            phone,
            is_phone_verified,
        }),
        password_changed: found.password_updated_at.map(timestamp),
    };
    user_v1::User {
        id: found.id.to_string(),
        details: Some(details),
        state,
        user_name: login_name.clone(),
        login_names,
        preferred_login_name: login_name,
        r#type: Some(user_v1::user::Type::Human(human)),
    }
}
