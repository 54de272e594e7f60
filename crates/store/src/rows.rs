//! Decoding rows into domain values, and the unit conversions both engines share.

use sqlx::any::{AnyRow, AnyTypeInfoKind};
use sqlx::{Any, Decode, Row, ValueRef};
use tessera_core::clock::{from_unix_millis, unix_millis};
use tessera_core::error::StoreError;
use tessera_core::store::{RefreshTokenRecord, SigningKeyRecord};
use tessera_core::{
    EmailAddress, FactorId, FactorKind, Gender, MfaConfig, Profile, Realm, RealmId, SecondFactor,
    User, UserId,
};
use time::OffsetDateTime;

use crate::db_err;

pub(crate) fn millis(t: OffsetDateTime) -> i64 {
    unix_millis(t)
}

/// Booleans come back as `bool` from PostgreSQL and as integers from SQLite. The value's own
/// type decides which to decode: a failed decode builds an error message, which cost a
/// lookup on SQLite 3 % of its instructions when every boolean was tried as `bool` first. The
/// value found is decoded in place rather than looked up by name a second time.
pub(crate) fn get_bool(row: &AnyRow, col: &str) -> Result<bool, StoreError> {
    let raw = row.try_get_raw(col).map_err(db_err)?;
    let decoded = if raw.type_info().kind == AnyTypeInfoKind::Bool {
        <bool as Decode<Any>>::decode(raw)
    } else {
        <i64 as Decode<Any>>::decode(raw).map(|i| i != 0)
    };
    decoded.map_err(|e| db_err(sqlx::Error::Decode(e)))
}

pub(crate) fn get<'r, T>(row: &'r AnyRow, col: &str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(col).map_err(db_err)
}

pub(crate) fn get_time(row: &AnyRow, col: &str) -> Result<OffsetDateTime, StoreError> {
    get::<i64>(row, col).map(from_unix_millis)
}

pub(crate) fn get_opt_time(row: &AnyRow, col: &str) -> Result<Option<OffsetDateTime>, StoreError> {
    get::<Option<i64>>(row, col).map(|t| t.map(from_unix_millis))
}

pub(crate) fn corrupt(what: &str) -> StoreError {
    tracing::error!(what, "stored value does not parse");
    StoreError::Internal(format!("corrupt {what}"))
}

pub(crate) const USER_COLUMNS: &str = "realm_id, id, email, email_verified, phone_number, display_name, \
     photo_url, password_hash, password_updated_at, disabled, valid_since, custom_attributes, \
     created_at, last_login_at, last_refresh_at, username, given_name, family_name, nick_name, \
     preferred_language, gender, locked, email_link_sign_in, identities, revision";

pub(crate) fn user_from_row(row: &AnyRow) -> Result<User, StoreError> {
    let email = match get::<Option<String>>(row, "email")? {
        Some(e) => Some(EmailAddress::parse(&e).ok_or_else(|| corrupt("email"))?),
        None => None,
    };
    Ok(User {
        id: UserId::parse(&get::<String>(row, "id")?).ok_or_else(|| corrupt("user id"))?,
        realm: RealmId(get(row, "realm_id")?),
        username: get(row, "username")?,
        profile: Profile {
            given_name: get(row, "given_name")?,
            family_name: get(row, "family_name")?,
            nick_name: get(row, "nick_name")?,
            preferred_language: get(row, "preferred_language")?,
            gender: match get::<Option<String>>(row, "gender")? {
                Some(g) => Some(Gender::parse(&g).ok_or_else(|| corrupt("gender"))?),
                None => None,
            },
        },
        email,
        email_verified: get_bool(row, "email_verified")?,
        phone_number: get(row, "phone_number")?,
        display_name: get(row, "display_name")?,
        photo_url: get(row, "photo_url")?,
        password_hash: get(row, "password_hash")?,
        password_updated_at: get_opt_time(row, "password_updated_at")?,
        disabled: get_bool(row, "disabled")?,
        locked: get_bool(row, "locked")?,
        valid_since: get_time(row, "valid_since")?,
        custom_attributes: get(row, "custom_attributes")?,
        created_at: get_time(row, "created_at")?,
        last_login_at: get_opt_time(row, "last_login_at")?,
        last_refresh_at: get_opt_time(row, "last_refresh_at")?,
        email_link_sign_in: get_bool(row, "email_link_sign_in")?,
        identities: match get::<Option<String>>(row, "identities")? {
            Some(json) => serde_json::from_str(&json).map_err(|_| corrupt("identities"))?,
            None => Vec::new(),
        },
        revision: get(row, "revision")?,
    })
}

pub(crate) fn realm_from_row(row: &AnyRow) -> Result<Realm, StoreError> {
    let tenant: String = get(row, "tenant_id")?;
    let mfa = match get::<Option<String>>(row, "mfa_config")? {
        Some(json) => serde_json::from_str(&json).map_err(|_| corrupt("mfa config"))?,
        None => MfaConfig::default(),
    };
    Ok(Realm {
        id: RealmId(get(row, "id")?),
        project_id: get(row, "project_id")?,
        tenant_id: (!tenant.is_empty()).then_some(tenant),
        org_id: get(row, "org_id")?,
        display_name: get(row, "display_name")?,
        mfa,
        relying_party: match get::<Option<String>>(row, "webauthn_config")? {
            Some(json) => {
                Some(serde_json::from_str(&json).map_err(|_| corrupt("webauthn config"))?)
            }
            None => None,
        },
        improved_email_privacy: get_bool(row, "improved_email_privacy")?,
        phone_sign_in: get_bool(row, "phone_sign_in")?,
        created_at: get_time(row, "created_at")?,
    })
}

pub(crate) fn refresh_from_row(row: &AnyRow) -> Result<RefreshTokenRecord, StoreError> {
    Ok(RefreshTokenRecord {
        token_hash: get(row, "token_hash")?,
        user: UserId::parse(&get::<String>(row, "user_id")?).ok_or_else(|| corrupt("user id"))?,
        realm: RealmId(get(row, "realm_id")?),
        issued_at: get_time(row, "issued_at")?,
        sign_in_provider: get(row, "sign_in_provider")?,
        auth_time: get_time(row, "auth_time")?,
        second_factor: match (
            get::<Option<String>>(row, "second_factor_kind")?,
            get::<Option<String>>(row, "second_factor_id")?,
        ) {
            (Some(kind), Some(id)) => Some(SecondFactor {
                kind: FactorKind::parse(&kind).ok_or_else(|| corrupt("factor kind"))?,
                id: FactorId::parse(&id).ok_or_else(|| corrupt("factor id"))?,
            }),
            _ => None,
        },
        developer_claims: get(row, "developer_claims")?,
    })
}

pub(crate) fn signing_key_from_row(row: &AnyRow) -> Result<SigningKeyRecord, StoreError> {
    Ok(SigningKeyRecord {
        kid: get(row, "kid")?,
        algorithm: get(row, "algorithm")?,
        master_key_id: get(row, "master_key_id")?,
        sealed_private_key: get(row, "sealed_private_key")?,
        certificate_pem: get(row, "certificate_pem")?,
        created_at: get_time(row, "created_at")?,
    })
}
