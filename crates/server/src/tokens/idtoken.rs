//! ID tokens: the JWT every Firebase client and Admin SDK reads (spec §5.1).
//!
//! Signing runs on the blocking pool (an RSA private-key operation is about a millisecond of
//! CPU). Expiry is checked against the injected clock, not the library's wall clock.

use std::collections::BTreeMap;
use std::sync::Arc;

use jsonwebtoken::{Algorithm, Header, Validation};
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

/// Signs ID tokens with the active key.
#[derive(Clone)]
pub struct TokenSigner {
    keys: Arc<SigningKeys>,
}

impl TokenSigner {
    pub fn new(keys: Arc<SigningKeys>) -> Self {
        Self { keys }
    }

    pub async fn sign(&self, claims: IdTokenClaims) -> Result<String, DomainError> {
        let keys = self.keys.clone();
        tokio::task::spawn_blocking(move || {
            let mut header = Header::new(Algorithm::RS256);
            header.kid = Some(keys.active_kid.clone());
            jsonwebtoken::encode(&header, &claims, &keys.active)
        })
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "signing task failed");
            DomainError::Internal
        })?
        .map_err(|e| {
            tracing::error!(error = %e, "signing failed");
            DomainError::Internal
        })
    }
}

/// Checks signature, `kid`, issuer and audience; the caller checks expiry and revocation.
#[derive(Clone)]
pub struct TokenVerifier {
    keys: Arc<SigningKeys>,
}

impl TokenVerifier {
    pub fn new(keys: Arc<SigningKeys>) -> Self {
        Self { keys }
    }

    pub fn verify(&self, token: &str, project_id: &str) -> Result<IdTokenClaims, DomainError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| DomainError::InvalidIdToken)?;
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.keys.verifiers.get(kid))
            .ok_or(DomainError::InvalidIdToken)?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.validate_exp = false;
        validation.set_required_spec_claims(&["sub", "aud", "iss"]);
        validation.set_audience(&[project_id]);
        validation.set_issuer(&[issuer(project_id)]);
        jsonwebtoken::decode::<IdTokenClaims>(token, key, &validation)
            .map(|data| data.claims)
            .map_err(|_| DomainError::InvalidIdToken)
    }
}

pub fn issuer(project_id: &str) -> String {
    format!("https://securetoken.google.com/{project_id}")
}
