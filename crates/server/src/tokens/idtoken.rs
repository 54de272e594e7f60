//! ID tokens: the JWT every Firebase client and Admin SDK reads (spec §5.1).
//!
//! RS256 signing runs on the blocking pool (an RSA private-key operation is about a
//! millisecond of CPU); ES256 signs in place. Expiry is checked against the injected clock, not the library's wall clock.

use std::collections::BTreeMap;
use std::sync::Arc;

use data_encoding::BASE64URL_NOPAD;
use jsonwebtoken::Validation;
use serde::{Deserialize, Serialize};
use tessera_core::DomainError;

use super::SigningKeys;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct IdTokenClaims {
    pub iss: String,
    pub aud: String,
    pub auth_time: i64,
    pub user_id: String,
    pub sub: String,
    pub iat: i64,
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub picture: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_id: Option<String>,
    pub firebase: FirebaseClaims,
    /// The user's custom claims (`customAttributes`), merged at the top level.
    #[serde(flatten)]
    pub custom: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FirebaseClaims {
    pub identities: BTreeMap<String, Vec<String>>,
    pub sign_in_provider: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// `phone` or `totp` for sessions that passed a second factor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_in_second_factor: Option<String>,
    /// The `mfaEnrollmentId` of that factor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub second_factor_identifier: Option<String>,
}

/// How ID tokens are signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signing {
    /// With the shared active key (RS256 or ES256); the default, and the only choice in
    /// production.
    Signed,
    /// `alg: none`, as the Firebase Auth emulator issues them. An explicit dev-mode option:
    /// firebase-admin for Node, in emulator mode, accepts nothing else in `verifyIdToken`.
    Unsigned,
}

/// The emulator's header: `{"alg":"none","typ":"JWT"}`.
const UNSIGNED_HEADER: &str = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0";

/// Signs ID tokens with the active key (or not at all, in the emulator-compatible mode).
#[derive(Clone)]
pub struct TokenSigner {
    keys: Arc<SigningKeys>,
    signing: Signing,
}

impl TokenSigner {
    pub fn new(keys: Arc<SigningKeys>, signing: Signing) -> Self {
        Self { keys, signing }
    }

    pub async fn sign(&self, claims: IdTokenClaims) -> Result<String, DomainError> {
        if self.signing == Signing::Unsigned {
            let payload = serde_json::to_vec(&claims).map_err(|_| DomainError::Internal)?;
            return Ok(format!(
                "{UNSIGNED_HEADER}.{}.",
                BASE64URL_NOPAD.encode(&payload)
            ));
        }
        if self.keys.signs_cheaply() {
            return self.keys.sign(&claims);
        }
        let keys = self.keys.clone();
        tokio::task::spawn_blocking(move || {
            crate::cpus::compute_anywhere();
            keys.sign(&claims)
        })
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "signing task failed");
            DomainError::Internal
        })?
    }
}

/// Checks signature, `kid`, issuer and audience; the caller checks expiry and revocation.
/// Unsigned tokens pass only in the emulator-compatible mode.
#[derive(Clone)]
pub struct TokenVerifier {
    keys: Arc<SigningKeys>,
    signing: Signing,
}

impl TokenVerifier {
    pub fn new(keys: Arc<SigningKeys>, signing: Signing) -> Self {
        Self { keys, signing }
    }

    pub fn verify(&self, token: &str, project_id: &str) -> Result<IdTokenClaims, DomainError> {
        if let Some(payload) = token
            .strip_prefix(UNSIGNED_HEADER)
            .and_then(|rest| rest.strip_prefix('.'))
        {
            return match self.signing {
                Signing::Unsigned => unsigned_claims(payload, project_id),
                Signing::Signed => Err(DomainError::InvalidIdToken),
            };
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| DomainError::InvalidIdToken)?;
        let (key, algorithm) = header
            .kid
            .as_deref()
            .and_then(|kid| self.keys.verifiers.get(kid))
            .ok_or(DomainError::InvalidIdToken)?;
        // Only the algorithm of the key the token names: no RS256/HS256 confusion.
        let mut validation = Validation::new(*algorithm);
        validation.validate_exp = false;
        validation.set_required_spec_claims(&["sub", "aud", "iss"]);
        validation.set_audience(&[project_id]);
        validation.set_issuer(&[issuer(project_id)]);
        jsonwebtoken::decode::<IdTokenClaims>(token, key, &validation)
            .map(|data| data.claims)
            .map_err(|_| DomainError::InvalidIdToken)
    }
}

/// The claims of an unsigned token, with the same issuer and audience checks.
fn unsigned_claims(rest: &str, project_id: &str) -> Result<IdTokenClaims, DomainError> {
    let payload = rest.strip_suffix('.').ok_or(DomainError::InvalidIdToken)?;
    let bytes = BASE64URL_NOPAD
        .decode(payload.as_bytes())
        .map_err(|_| DomainError::InvalidIdToken)?;
    let claims: IdTokenClaims =
        serde_json::from_slice(&bytes).map_err(|_| DomainError::InvalidIdToken)?;
    if claims.aud != project_id || claims.iss != issuer(project_id) || claims.sub.is_empty() {
        return Err(DomainError::InvalidIdToken);
    }
    Ok(claims)
}

pub fn issuer(project_id: &str) -> String {
    format!("https://securetoken.google.com/{project_id}")
}
