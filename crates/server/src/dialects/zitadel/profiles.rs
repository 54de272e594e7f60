//! What ZITADEL's user service v2 answers of a user (`GetUserByID`): its state, login names
//! and profile. A Tessera user has one login name (its username, else its email address:
//! organizations here have no domains), and only a proven phone number is stored on the user.
//! The change date is the latest change the store records (creation or the last password).

use tessera_core::User;

use super::details::{stored_v2, timestamp};
use super::error::{Op, ZitadelError};
use super::rpc::Ctx;
use crate::proto::zitadel::object::v2::Details;
use crate::proto::zitadel::user::v2 as user;

pub async fn get_user_by_id(
    ctx: Ctx,
    req: user::GetUserByIdRequest,
) -> Result<user::GetUserByIdResponse, ZitadelError> {
    let (ctx, id) = ctx.read_of(&req.user_id).await?;
    let found = ctx
        .svc
        .get_account(&ctx.realm, &id)
        .await
        .map_err(|e| ZitadelError::from_domain(Op::Read, e))?;
    let details = stored_v2(
        ctx.org_id(),
        found.created_at,
        found
            .password_updated_at
            .map_or(found.created_at, |at| at.max(found.created_at)),
    );
    Ok(user::GetUserByIdResponse {
        details: Some(details.clone()),
        user: Some(user_v2(found, details)),
    })
}

fn user_v2(found: User, details: Details) -> user::User {
    let state = if found.disabled {
        user::UserState::Inactive
    } else {
        user::UserState::Active
    };
    let login_name = found.login_name().unwrap_or_default().to_owned();
    let login_names: Vec<String> = found.login_name().map(str::to_owned).into_iter().collect();
    let human = user::HumanUser {
        user_id: found.id.to_string(),
        state: state.into(),
        username: login_name.clone(),
        login_names: login_names.clone(),
        preferred_login_name: login_name.clone(),
        profile: Some(user::HumanProfile {
            given_name: found.given_name.unwrap_or_default(),
            family_name: found.family_name.unwrap_or_default(),
            display_name: found.display_name,
            avatar_url: found.photo_url.unwrap_or_default(),
            ..Default::default()
        }),
        email: found.email.map(|email| user::HumanEmail {
            email: email.as_str().to_owned(),
            is_verified: found.email_verified,
        }),
        phone: found.phone_number.map(|phone| user::HumanPhone {
            phone,
            is_verified: true,
        }),
        password_change_required: false,
        password_changed: found.password_updated_at.map(timestamp),
        mfa_init_skipped: None,
    };
    user::User {
        user_id: found.id.to_string(),
        details: Some(details),
        state: state.into(),
        username: login_name.clone(),
        login_names,
        preferred_login_name: login_name,
        r#type: Some(user::user::Type::Human(human)),
    }
}
