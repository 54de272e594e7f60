//! Custom tokens: what a backend makes with the Admin SDKs' `createCustomToken` for a user id
//! of its choosing, to be exchanged for a session (`signInWithCustomToken`). A production
//! server takes only tokens signed (RS256) by one of the service accounts it is configured
//! with, each by its public key, within the hour Firebase allows them; dev mode takes them as
//! the Firebase Auth emulator does: a JWT whose signature, `iat` and `exp` are not checked
//! (the Admin SDKs sign none for an emulator), or a plain JSON object.

use std::collections::HashMap;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

use super::jwt_payload;
use time::OffsetDateTime;

/// The audience every custom token names.
pub const CUSTOM_TOKEN_AUDIENCE: &str =
    "https://identitytoolkit.googleapis.com/google.identity.identitytoolkit.v1.IdentityToolkit";

/// The longest a custom token may live, as in Firebase.
const MAX_LIFETIME_SECS: i64 = 3600;

/// How far a token's `iat` may lie ahead of this server's clock.
const CLOCK_SKEW_SECS: i64 = 300;

/// How custom tokens are taken.
pub enum CustomTokens {
    /// As the emulator takes them (dev mode).
    Unchecked,
    /// Signed by one of these service accounts (by email), with its RSA public key.
    Signed(HashMap<String, DecodingKey>),
}

/// What a custom token says.
#[derive(Debug)]
pub struct CustomToken {
    pub payload: Map<String, Value>,
    /// Whether it came as a JWT (plain JSON names no audience or tenant).
    pub jwt: bool,
}

/// Why a custom token is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CustomTokenError {
    #[error("not a JWT")]
    Format,
    #[error("neither strict JSON nor a JWT")]
    NotJson,
    #[error("for another audience: {0}")]
    Audience(String),
    #[error("not signed by a known service account")]
    UnknownSigner,
    #[error("the signature or the claims do not check out")]
    Invalid,
    #[error("expired, or living longer than an hour")]
    Expired,
}

impl CustomTokens {
    /// Tokens signed by `signers`, each a service account's email and its RSA public key as
    /// PEM; the email of one whose key is not that, as the error.
    pub fn signed(signers: Vec<(String, Vec<u8>)>) -> Result<Self, String> {
        let mut keys = HashMap::new();
        for (email, pem) in signers {
            match DecodingKey::from_rsa_pem(&pem) {
                Ok(key) => keys.insert(email, key),
                Err(_) => return Err(email),
            };
        }
        Ok(CustomTokens::Signed(keys))
    }

    /// The token `raw`, if it is one this server takes at `now`.
    pub fn read(&self, raw: &str, now: OffsetDateTime) -> Result<CustomToken, CustomTokenError> {
        if matches!(self, CustomTokens::Unchecked) && raw.starts_with('{') {
            return Ok(CustomToken {
                payload: serde_json::from_str(raw).map_err(|_| CustomTokenError::NotJson)?,
                jwt: false,
            });
        }
        let unchecked = jwt_payload(raw).ok_or(CustomTokenError::Format)?;
        audience(&unchecked)?;
        let CustomTokens::Signed(signers) = self else {
            return Ok(CustomToken {
                payload: unchecked,
                jwt: true,
            });
        };
        let key = unchecked
            .get("iss")
            .and_then(Value::as_str)
            .and_then(|iss| signers.get(iss))
            .ok_or(CustomTokenError::UnknownSigner)?;
        let payload = checked_payload(raw, key)?;
        lifetime(&payload, now)?;
        Ok(CustomToken { payload, jwt: true })
    }
}

fn audience(payload: &Map<String, Value>) -> Result<(), CustomTokenError> {
    match payload.get("aud") {
        Some(Value::String(aud)) if aud == CUSTOM_TOKEN_AUDIENCE => Ok(()),
        aud => Err(CustomTokenError::Audience(
            aud.map(Value::to_string).unwrap_or_default(),
        )),
    }
}

/// The payload of a token signed with `key` (RS256 only), issued by its subject (the service
/// account) for the custom-token audience.
fn checked_payload(raw: &str, key: &DecodingKey) -> Result<Map<String, Value>, CustomTokenError> {
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_exp = false;
    validation.set_required_spec_claims(&["iss", "sub", "aud", "iat", "exp"]);
    validation.set_audience(&[CUSTOM_TOKEN_AUDIENCE]);
    let payload = jsonwebtoken::decode::<Map<String, Value>>(raw, key, &validation)
        .map_err(|_| CustomTokenError::Invalid)?
        .claims;
    if payload.get("iss") != payload.get("sub") {
        return Err(CustomTokenError::Invalid);
    }
    Ok(payload)
}

/// Whether the token is current at `now` by this server's clock, and lives an hour at most.
fn lifetime(payload: &Map<String, Value>, now: OffsetDateTime) -> Result<(), CustomTokenError> {
    let time = |name| payload.get(name).and_then(Value::as_i64);
    let (Some(iat), Some(exp)) = (time("iat"), time("exp")) else {
        return Err(CustomTokenError::Invalid);
    };
    let now = now.unix_timestamp();
    if exp <= now || iat > now + CLOCK_SKEW_SECS || exp - iat > MAX_LIFETIME_SECS {
        return Err(CustomTokenError::Expired);
    }
    Ok(())
}
