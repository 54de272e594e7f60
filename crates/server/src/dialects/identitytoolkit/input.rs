//! Parsing wire requests into service inputs ("parse, don't validate"): every field is
//! checked here, at the edge, with the error code Identity Toolkit uses for it.

use tessera_core::{EmailAddress, Password, PhoneNumber, User, UserId};
use time::OffsetDateTime;

use super::error::ItError;
use super::wire::{
    ImportedUser, SignUpRequest, SignUpResponse, Tokens, UpdateRequest, UpdateResponse,
    provider_user_info,
};
use crate::service::{AccountChanges, NewAccount, Session};

/// Claims a custom-claims object may not set: they belong to the token itself.
const RESERVED_CLAIMS: &[&str] = &[
    "acr",
    "amr",
    "at_hash",
    "aud",
    "auth_time",
    "azp",
    "cnf",
    "c_hash",
    "exp",
    "iat",
    "iss",
    "jti",
    "nbf",
    "nonce",
    "sub",
    "firebase",
    "user_id",
];
const MAX_CLAIMS_LEN: usize = 1000;

pub fn email(raw: &str) -> Result<EmailAddress, ItError> {
    EmailAddress::parse(raw).ok_or(ItError::code("INVALID_EMAIL"))
}

pub fn password(raw: &str) -> Result<Password, ItError> {
    Password::parse(raw).ok_or(ItError::with_detail(
        "WEAK_PASSWORD",
        "Password should be at least 6 characters",
    ))
}

pub fn phone(raw: &str) -> Result<PhoneNumber, ItError> {
    PhoneNumber::parse(raw).ok_or(ItError::with_detail(
        "INVALID_PHONE_NUMBER",
        "Invalid format.",
    ))
}

pub fn local_id(raw: &str) -> Result<UserId, ItError> {
    UserId::parse(raw).ok_or(ItError::code("INVALID_LOCAL_ID"))
}

fn admin_only<T>(field: &Option<T>, admin: bool) -> Result<(), ItError> {
    if field.is_some() && !admin {
        return Err(ItError::code("INSUFFICIENT_PERMISSION"));
    }
    Ok(())
}

/// Empty strings clear an attribute, as the Admin SDKs expect.
fn text(value: Option<String>) -> Option<Option<String>> {
    value.map(|v| (!v.is_empty()).then_some(v))
}

/// Validates a custom-claims JSON object; `{}` clears the claims.
pub fn custom_attributes(raw: &str) -> Result<Option<String>, ItError> {
    if raw.len() > MAX_CLAIMS_LEN {
        return Err(ItError::code("CLAIMS_TOO_LARGE"));
    }
    let parsed: serde_json::Value =
        serde_json::from_str(raw).map_err(|_| ItError::code("INVALID_CLAIMS"))?;
    let object = parsed.as_object().ok_or(ItError::code("INVALID_CLAIMS"))?;
    if let Some(reserved) = object
        .keys()
        .find(|k| RESERVED_CLAIMS.contains(&k.as_str()))
    {
        return Err(ItError::with_detail("FORBIDDEN_CLAIM", reserved));
    }
    Ok((!object.is_empty()).then(|| raw.to_owned()))
}

pub fn new_account(req: SignUpRequest, admin: bool) -> Result<NewAccount, ItError> {
    admin_only(&req.local_id, admin)?;
    admin_only(&req.email_verified, admin)?;
    admin_only(&req.phone_number, admin)?;
    admin_only(&req.disabled, admin)?;
    let email = req.email.as_deref().map(email).transpose()?;
    let password = req.password.as_deref().map(password).transpose()?;
    if !admin {
        match (&email, &password) {
            (Some(_), None) => return Err(ItError::code("MISSING_PASSWORD")),
            (None, Some(_)) => return Err(ItError::code("MISSING_EMAIL")),
            _ => {}
        }
    }
    Ok(NewAccount {
        id: req.local_id.as_deref().map(local_id).transpose()?,
        email,
        password,
        email_verified: req.email_verified.unwrap_or(false),
        phone_number: req.phone_number.as_deref().map(phone).transpose()?,
        display_name: text(req.display_name).flatten(),
        photo_url: text(req.photo_url).flatten(),
        disabled: req.disabled.unwrap_or(false),
        ..NewAccount::default()
    })
}

pub fn imported_account(user: ImportedUser) -> Result<NewAccount, ItError> {
    if user.password_hash.is_some() {
        return Err(ItError::with_detail(
            "UNSUPPORTED_HASH",
            "Import passwords as rawPassword.",
        ));
    }
    let time = |ms: Option<i64>| {
        ms.map(|ms| OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000))
            .transpose()
            .map_err(|_| ItError::code("INVALID_TIMESTAMP"))
    };
    Ok(NewAccount {
        id: Some(local_id(
            user.local_id
                .as_deref()
                .ok_or(ItError::code("MISSING_LOCAL_ID"))?,
        )?),
        email: user.email.as_deref().map(email).transpose()?,
        password: user.raw_password.as_deref().map(password).transpose()?,
        email_verified: user.email_verified.unwrap_or(false),
        phone_number: user.phone_number.as_deref().map(phone).transpose()?,
        display_name: text(user.display_name).flatten(),
        photo_url: text(user.photo_url).flatten(),
        disabled: user.disabled.unwrap_or(false),
        custom_attributes: user
            .custom_attributes
            .as_deref()
            .map(custom_attributes)
            .transpose()?
            .flatten(),
        created_at: time(user.created_at)?,
        last_login_at: time(user.last_login_at)?,
    })
}

pub fn account_changes(req: UpdateRequest, admin: bool) -> Result<AccountChanges, ItError> {
    admin_only(&req.email_verified, admin)?;
    admin_only(&req.disable_user, admin)?;
    admin_only(&req.phone_number, admin)?;
    admin_only(&req.custom_attributes, admin)?;
    admin_only(&req.valid_since, admin)?;
    let mut changes = AccountChanges {
        email: req
            .email
            .as_deref()
            .map(|e| email(e).map(Some))
            .transpose()?,
        password: req.password.as_deref().map(password).transpose()?,
        email_verified: req.email_verified,
        phone_number: req
            .phone_number
            .as_deref()
            .map(|p| phone(p).map(Some))
            .transpose()?,
        display_name: text(req.display_name),
        photo_url: text(req.photo_url),
        disabled: req.disable_user,
        valid_since: req
            .valid_since
            .map(|s| {
                OffsetDateTime::from_unix_timestamp(s)
                    .map_err(|_| ItError::code("INVALID_TIMESTAMP"))
            })
            .transpose()?,
        custom_attributes: req
            .custom_attributes
            .as_deref()
            .map(custom_attributes)
            .transpose()?,
    };
    for attribute in req.delete_attribute.unwrap_or_default() {
        match attribute.as_str() {
            "DISPLAY_NAME" => changes.display_name = Some(None),
            "PHOTO_URL" => changes.photo_url = Some(None),
            "EMAIL" => changes.email = Some(None),
            other => {
                return Err(ItError::with_detail(
                    "INVALID_ARGUMENT",
                    &format!("Unsupported deleteAttribute {other}."),
                ));
            }
        }
    }
    for provider in req.delete_provider.unwrap_or_default() {
        match provider.as_str() {
            "phone" => changes.phone_number = Some(None),
            other => {
                return Err(ItError::with_detail(
                    "INVALID_ARGUMENT",
                    &format!("Unsupported deleteProvider {other}."),
                ));
            }
        }
    }
    Ok(changes)
}

pub fn sign_up_response(user: &User, session: Option<Session>) -> SignUpResponse {
    SignUpResponse {
        kind: "identitytoolkit#SignupNewUserResponse",
        local_id: user.id.to_string(),
        email: user.email.as_ref().map(ToString::to_string),
        display_name: user.display_name.clone(),
        tokens: session.into(),
    }
}

pub fn update_response(user: &User, session: Option<Session>) -> UpdateResponse {
    UpdateResponse {
        kind: "identitytoolkit#SetAccountInfoResponse",
        local_id: user.id.to_string(),
        email: user.email.as_ref().map(ToString::to_string),
        display_name: user.display_name.clone(),
        photo_url: user.photo_url.clone(),
        email_verified: user.email_verified,
        provider_user_info: provider_user_info(user),
        tokens: Tokens::from(session),
    }
}
