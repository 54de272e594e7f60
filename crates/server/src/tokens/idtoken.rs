//! ID tokens: the JWT every Firebase client and Admin SDK reads (spec §5.1).
//!
//! RS256 signing runs on the blocking pool (an RSA private-key operation is about a
//! millisecond of CPU); ES256 signs in place. Expiry is checked against the injected clock, not the library's wall clock.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use data_encoding::BASE64URL_NOPAD;
use foldhash::HashMap;
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
    pub provider_id: Option<String>,
    pub firebase: FirebaseClaims,
    /// The profile's `name` and `picture` and the user's custom claims, at the top level;
    /// built by [`profile_and_custom_claims`] so that no name repeats one above.
    #[serde(flatten)]
    pub extra: Claims,
}

pub type Claims = serde_json::Map<String, serde_json::Value>;

/// The top-level names the token's own fields take, which a custom claim may not repeat.
const OWN_CLAIMS: &[&str] = &[
    "iss",
    "aud",
    "auth_time",
    "user_id",
    "sub",
    "iat",
    "exp",
    "email",
    "email_verified",
    "phone_number",
    "provider_id",
    "firebase",
];

/// Merges the profile's claims with the custom ones as Firebase does: a custom `name` or
/// `picture` replaces the profile's, while a custom `email`, `phone_number` or other claim the
/// token sets itself is dropped, even when the account has no such value. A JWT naming a claim
/// twice is ambiguous to its readers, and ours would refuse it.
pub fn profile_and_custom_claims(
    name: Option<&str>,
    picture: Option<&str>,
    custom: Claims,
) -> Claims {
    let mut claims: Claims = [("name", name), ("picture", picture)]
        .into_iter()
        .filter_map(|(claim, value)| Some((claim.to_owned(), value?.into())))
        .collect();
    claims.extend(
        custom
            .into_iter()
            .filter(|(claim, _)| !OWN_CLAIMS.contains(&claim.as_str())),
    );
    claims
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
    passed: Arc<Passed>,
}

/// Signed tokens that passed, each with its project and claims, so that a token presented
/// again is not checked again. A client sends the same ID token with every call for an hour,
/// and its RSA check was a fifth of an `accounts:lookup`'s CPU (`BENCHMARKS.md`).
///
/// A pass cannot turn into a failure while the process runs: the keys are fixed at start-up,
/// and the project is compared on every use. What can change (expiry by the clock, the user's
/// `validSince`, disabling) the caller checks every time. Only passes are kept, so only tokens
/// this server signed can fill the map; once full, it starts over.
#[derive(Default)]
struct Passed(Mutex<HashMap<String, (String, IdTokenClaims)>>);

/// Tokens kept in [`Passed`]: a few megabytes at most.
const PASSED_CAPACITY: usize = 4096;

impl Passed {
    fn get(&self, token: &str, project_id: &str) -> Option<IdTokenClaims> {
        let entries = self.lock();
        let (project, claims) = entries.get(token)?;
        (project == project_id).then(|| claims.clone())
    }

    fn put(&self, token: &str, project_id: &str, claims: &IdTokenClaims) {
        let mut entries = self.lock();
        if entries.len() >= PASSED_CAPACITY {
            entries.clear();
        }
        entries.insert(token.to_owned(), (project_id.to_owned(), claims.clone()));
    }

    /// The map, even if a thread panicked holding it: each entry is written by one insert.
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (String, IdTokenClaims)>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl TokenVerifier {
    pub fn new(keys: Arc<SigningKeys>, signing: Signing) -> Self {
        Self {
            keys,
            signing,
            passed: Arc::default(),
        }
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
        if let Some(claims) = self.passed.get(token, project_id) {
            return Ok(claims);
        }
        let claims = self.check_signed(token, project_id)?;
        self.passed.put(token, project_id, &claims);
        Ok(claims)
    }

    fn check_signed(&self, token: &str, project_id: &str) -> Result<IdTokenClaims, DomainError> {
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

/// The issuer of a project's session cookies, which verifiers check.
pub fn session_cookie_issuer(project_id: &str) -> String {
    format!("https://session.firebase.google.com/{project_id}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::TokenAlgorithm;

    fn claims(project_id: &str) -> IdTokenClaims {
        IdTokenClaims {
            iss: issuer(project_id),
            aud: project_id.to_owned(),
            auth_time: 1,
            user_id: "u1".into(),
            sub: "u1".into(),
            iat: 1,
            exp: 2,
            email: None,
            email_verified: None,
            phone_number: None,
            provider_id: None,
            firebase: FirebaseClaims {
                identities: BTreeMap::new(),
                sign_in_provider: "password".into(),
                tenant: None,
                sign_in_second_factor: None,
                second_factor_identifier: None,
            },
            extra: Claims::new(),
        }
    }

    async fn signed() -> Result<(TokenVerifier, String), DomainError> {
        let keys = Arc::new(SigningKeys::fresh(TokenAlgorithm::Es256).await?);
        let signer = TokenSigner::new(keys.clone(), Signing::Signed);
        let token = signer.sign(claims("p1")).await?;
        Ok((TokenVerifier::new(keys, Signing::Signed), token))
    }

    #[tokio::test]
    async fn a_token_that_passed_passes_again_for_its_project_only() -> Result<(), DomainError> {
        let (verifier, token) = signed().await?;
        assert_eq!(
            verifier.verify(&token, "p2"),
            Err(DomainError::InvalidIdToken)
        );
        assert_eq!(verifier.verify(&token, "p1"), Ok(claims("p1")));
        assert_eq!(verifier.passed.lock().len(), 1);
        assert_eq!(verifier.verify(&token, "p1"), Ok(claims("p1")));
        assert_eq!(
            verifier.verify(&token, "p2"),
            Err(DomainError::InvalidIdToken),
            "a kept pass is for its own project"
        );
        Ok(())
    }

    #[tokio::test]
    async fn a_changed_token_is_checked_afresh_after_the_original_passed() -> Result<(), DomainError>
    {
        let (verifier, token) = signed().await?;
        assert!(verifier.verify(&token, "p1").is_ok());
        let (signed_part, signature) = token.rsplit_once('.').ok_or(DomainError::Internal)?;
        let other_signature = format!(
            "{signed_part}.{}",
            signature.replace(&signature[..4], "AAAA")
        );
        let (header, _) = signed_part.split_once('.').ok_or(DomainError::Internal)?;
        let other_user = IdTokenClaims {
            sub: "u2".into(),
            ..claims("p1")
        };
        let other_claims = BASE64URL_NOPAD
            .encode(&serde_json::to_vec(&other_user).map_err(|_| DomainError::Internal)?);
        let forged = format!("{header}.{other_claims}.{signature}");
        for changed in [other_signature, forged] {
            assert_eq!(
                verifier.verify(&changed, "p1"),
                Err(DomainError::InvalidIdToken)
            );
        }
        assert_eq!(verifier.passed.lock().len(), 1, "failures are not kept");
        Ok(())
    }

    #[test]
    fn own_claims_name_every_field_but_the_extra_ones() -> Result<(), serde_json::Error> {
        let every_field = IdTokenClaims {
            email: Some("a@example.com".into()),
            email_verified: Some(true),
            phone_number: Some("+16505550101".into()),
            provider_id: Some("anonymous".into()),
            ..claims("p1")
        };
        let serde_json::Value::Object(fields) = serde_json::to_value(every_field)? else {
            return Err(serde::ser::Error::custom("claims are an object"));
        };
        let mut names: Vec<&str> = fields.keys().map(String::as_str).collect();
        let mut own = OWN_CLAIMS.to_vec();
        names.sort_unstable();
        own.sort_unstable();
        assert_eq!(names, own);
        Ok(())
    }

    #[test]
    fn custom_claims_replace_the_profile_and_give_way_to_the_token() -> Result<(), serde_json::Error>
    {
        let custom = serde_json::from_value(
            serde_json::json!({"name": 7, "email": "b@example.com", "sub": "u2", "role": "x"}),
        )?;
        let merged = profile_and_custom_claims(Some("Ann"), Some("p.png"), custom);
        assert_eq!(
            serde_json::Value::Object(merged),
            serde_json::json!({"name": 7, "picture": "p.png", "role": "x"})
        );
        Ok(())
    }

    #[test]
    fn a_full_map_of_passes_starts_over() {
        let passed = Passed::default();
        for i in 0..PASSED_CAPACITY {
            passed.put(&i.to_string(), "p1", &claims("p1"));
        }
        assert_eq!(passed.lock().len(), PASSED_CAPACITY);
        passed.put("last", "p1", &claims("p1"));
        assert_eq!(passed.lock().len(), 1);
        assert_eq!(passed.get("last", "p1"), Some(claims("p1")));
        assert_eq!(passed.get("0", "p1"), None);
    }
}
