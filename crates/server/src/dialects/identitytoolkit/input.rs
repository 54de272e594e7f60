//! Parsing wire requests into service inputs ("parse, don't validate"): every field is
//! checked here, at the edge, with the error code Identity Toolkit uses for it.

use tessera_core::{EmailAddress, Identity, Password, PhoneNumber, User, UserId};
use time::OffsetDateTime;

use super::error::ItError;
use super::hashes;
use super::mfa_wire::{MfaEnrollmentInput, parse_timestamp};
use super::wire::{
    ImportedUser, ProviderUserInfoInput, SignUpRequest, SignUpResponse, Tokens, UpdateRequest,
    UpdateResponse, provider_user_info,
};
use crate::passwords::imported::Scheme;
use crate::service::{AccountChanges, AdminFactor, NewAccount, NewPassword, Session};
use tessera_core::FactorId;

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

/// Whether `raw` is an absolute URI with a host, as a `continueUrl` must be.
pub fn is_absolute_uri(raw: &str) -> bool {
    url::Url::parse(raw).is_ok_and(|url| url.has_host())
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

/// A field that must be given and not empty (Google treats both alike), else the error `code`.
pub fn required<'a>(value: &'a Option<String>, code: &str) -> Result<&'a str, ItError> {
    value
        .as_deref()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ItError::code(code))
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

/// A new account and, for administrators, the second factors it starts with.
pub fn new_account(
    mut req: SignUpRequest,
    admin: bool,
) -> Result<(NewAccount, Vec<AdminFactor>), ItError> {
    admin_only(&req.local_id, admin)?;
    admin_only(&req.email_verified, admin)?;
    admin_only(&req.phone_number, admin)?;
    admin_only(&req.disabled, admin)?;
    admin_only(&req.mfa_info, admin)?;
    let factors = admin_factors(req.mfa_info.take().unwrap_or_default())?;
    // As in the emulator: an end user's email and password come together, and an empty one
    // is missing, not malformed; both are looked at before either is parsed.
    let given = |field: &Option<String>| field.as_deref().is_some_and(|v| !v.is_empty());
    if !admin && (req.id_token.is_some() || given(&req.email) || given(&req.password)) {
        if !given(&req.email) {
            return Err(ItError::code("MISSING_EMAIL"));
        }
        if !given(&req.password) {
            return Err(ItError::code("MISSING_PASSWORD"));
        }
    }
    let email = req.email.as_deref().map(email).transpose()?;
    let password = req.password.as_deref().map(password).transpose()?;
    let account = NewAccount {
        id: req.local_id.as_deref().map(local_id).transpose()?,
        email,
        password: password.map(NewPassword::Plain),
        email_verified: req.email_verified.unwrap_or(false),
        phone_number: req.phone_number.as_deref().map(phone).transpose()?,
        display_name: text(req.display_name).flatten(),
        photo_url: text(req.photo_url).flatten(),
        disabled: req.disabled.unwrap_or(false),
        ..NewAccount::default()
    };
    Ok((account, factors))
}

/// One user of `accounts:batchCreate` into the tenant `tenant` (`None`: the project), their
/// `passwordHash` made by `scheme`.
pub fn imported_account(
    mut user: ImportedUser,
    tenant: Option<&str>,
    scheme: Option<&Scheme>,
) -> Result<(NewAccount, Vec<AdminFactor>), ItError> {
    if user.tenant_id.is_some() && user.tenant_id.as_deref() != tenant {
        // The emulator's words: production's are not known.
        return Err(ItError::code(
            "Tenant id in userInfo does not match the tenant id in request.",
        ));
    }
    let factors = admin_factors(user.mfa_info.take().unwrap_or_default())?;
    // `passwordHash` wins over `rawPassword`, as in the emulator.
    let password = match hashes::imported_hash(scheme, &user)? {
        Some(imported) => Some(NewPassword::Imported(imported)),
        None => user
            .raw_password
            .as_deref()
            .map(password)
            .transpose()?
            .map(NewPassword::Plain),
    };
    let time = |ms: Option<i64>| {
        ms.map(|ms| OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000))
            .transpose()
            .map_err(|_| ItError::code("INVALID_TIMESTAMP"))
    };
    let account = NewAccount {
        id: Some(local_id(
            user.local_id
                .as_deref()
                .ok_or(ItError::code("MISSING_LOCAL_ID"))?,
        )?),
        email: user.email.as_deref().map(email).transpose()?,
        password,
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
        identities: user
            .provider_user_info
            .unwrap_or_default()
            .into_iter()
            .filter_map(|given| identity(given).transpose())
            .collect::<Result<_, _>>()?,
        ..NewAccount::default()
    };
    Ok((account, factors))
}

/// An account at an identity provider that an administrator gives; `None` for `password`
/// and `phone`, which are the user's address and number.
fn identity(given: ProviderUserInfoInput) -> Result<Option<Identity>, ItError> {
    let provider_id = given
        .provider_id
        .filter(|p| !p.is_empty())
        .ok_or(ItError::with_detail(
            "INVALID_PROVIDER_ID",
            "A providerId is required.",
        ))?;
    if matches!(provider_id.as_str(), "password" | "phone") {
        return Ok(None);
    }
    let raw_id = given
        .raw_id
        .filter(|r| !r.is_empty())
        .ok_or(ItError::with_detail(
            "INVALID_ARGUMENT",
            "A rawId is required.",
        ))?;
    Ok(Some(Identity {
        provider_id,
        raw_id,
        email: given
            .email
            .as_deref()
            .map(|raw| email(raw).map(|e| e.to_string()))
            .transpose()?,
        display_name: given.display_name,
        photo_url: given.photo_url,
        screen_name: given.screen_name,
    }))
}

pub fn account_changes(req: UpdateRequest, admin: bool) -> Result<AccountChanges, ItError> {
    admin_only(&req.email_verified, admin)?;
    admin_only(&req.disable_user, admin)?;
    admin_only(&req.phone_number, admin)?;
    admin_only(&req.custom_attributes, admin)?;
    admin_only(&req.valid_since, admin)?;
    admin_only(&req.mfa, admin)?;
    admin_only(&req.link_provider_user_info, admin)?;
    let mut changes = AccountChanges {
        email: req
            .email
            .as_deref()
            .map(|e| email(e).map(Some))
            .transpose()?,
        password: req
            .password
            .as_deref()
            .map(|p| password(p).map(|p| Some(NewPassword::Plain(p))))
            .transpose()?,
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
        link: match req.link_provider_user_info {
            Some(given) => Some(identity(given)?.ok_or(ItError::with_detail(
                "INVALID_PROVIDER_ID",
                "Only an identity provider's account can be linked this way.",
            ))?),
            None => None,
        },
        ..AccountChanges::default()
    };
    for attribute in req.delete_attribute.unwrap_or_default() {
        match attribute.as_str() {
            "DISPLAY_NAME" => changes.display_name = Some(None),
            "PHOTO_URL" => changes.photo_url = Some(None),
            "EMAIL" => changes.email = Some(None),
            "PASSWORD" => changes.password = Some(None),
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
            // As in the emulator: the address goes with the password.
            "password" => {
                changes.email = Some(None);
                changes.password = Some(None);
            }
            _ => changes.unlink.push(provider),
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

/// Second factors as an administrator sets them (`mfaInfo`, `mfa.enrollments`). Phone
/// factors are created or replaced; a TOTP entry can only keep an existing factor by id,
/// since its secret never leaves the server.
pub fn admin_factors(list: Vec<MfaEnrollmentInput>) -> Result<Vec<AdminFactor>, ItError> {
    let mut factors: Vec<AdminFactor> = Vec::with_capacity(list.len());
    for entry in list {
        let id = match entry.mfa_enrollment_id.as_deref() {
            Some(raw) => Some(FactorId::parse(raw).ok_or(ItError::with_detail(
                "INVALID_MFA_ENROLLMENT_ID",
                "mfaEnrollmentId must be defined.",
            ))?),
            None => None,
        };
        if id.is_some() && factors.iter().any(|f| f.id == id) {
            return Err(ItError::code("DUPLICATE_MFA_ENROLLMENT_ID"));
        }
        let phone = match (&entry.phone_info, &entry.totp_info, &id) {
            (Some(p), None, _) => Some(PhoneNumber::parse(p).ok_or(ItError::with_detail(
                "INVALID_MFA_PHONE_NUMBER",
                "Invalid format.",
            ))?),
            (None, Some(_), Some(_)) => None,
            _ => return Err(tessera_core::DomainError::FactorKindUnsupported.into()),
        };
        let enrolled_at = match entry.enrolled_at.as_deref() {
            Some(raw) => Some(parse_timestamp(raw).ok_or(ItError::with_detail(
                "INVALID_ARGUMENT",
                "enrolledAt must be an RFC 3339 timestamp.",
            ))?),
            None => None,
        };
        factors.push(AdminFactor {
            id,
            display_name: text(entry.display_name).flatten(),
            phone,
            enrolled_at,
        });
    }
    Ok(factors)
}
