//! Password hashing with Argon2id.
//!
//! Hashing is deliberately slow, so it runs on tokio's blocking pool, never on the async
//! workers. Verification of a sign-in for an unknown email runs against a dummy hash with the
//! same parameters, so the response time does not reveal whether the account exists.

use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version};
use std::sync::Arc;
use tessera_core::{DomainError, Password};

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordParams {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for PasswordParams {
    /// OWASP Password Storage Cheat Sheet: Argon2id, m=19 MiB, t=2, p=1.
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
        }
    }
}

#[derive(Clone)]
pub struct PasswordHasherPool {
    argon2: Arc<Argon2<'static>>,
    dummy_hash: Arc<String>,
}

impl PasswordHasherPool {
    pub fn new(params: PasswordParams) -> Result<Self, DomainError> {
        let params = Params::new(
            params.memory_kib,
            params.iterations,
            params.parallelism,
            None,
        )
        .map_err(|e| {
            tracing::error!(error = %e, "invalid Argon2 parameters");
            DomainError::Internal
        })?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let dummy_hash = hash_with(&argon2, "tessera-dummy-password")?;
        Ok(Self {
            argon2: Arc::new(argon2),
            dummy_hash: Arc::new(dummy_hash),
        })
    }

    pub async fn hash(&self, password: &Password) -> Result<String, DomainError> {
        let argon2 = self.argon2.clone();
        let plain = password.expose().to_owned();
        blocking(move || hash_with(&argon2, &plain)).await?
    }

    /// Checks `plain` against `stored`, or against the dummy hash when there is no stored
    /// hash, so both paths cost the same. Returns `true` only for a real match.
    pub async fn verify(&self, plain: &str, stored: Option<&str>) -> Result<bool, DomainError> {
        let argon2 = self.argon2.clone();
        let plain = plain.to_owned();
        let (hash, real) = match stored {
            Some(h) => (h.to_owned(), true),
            None => (self.dummy_hash.as_str().to_owned(), false),
        };
        let matched = blocking(move || {
            PasswordHash::new(&hash)
                .is_ok_and(|parsed| argon2.verify_password(plain.as_bytes(), &parsed).is_ok())
        })
        .await?;
        Ok(real && matched)
    }
}

fn hash_with(argon2: &Argon2<'_>, plain: &str) -> Result<String, DomainError> {
    argon2
        .hash_password(plain.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| {
            tracing::error!(error = %e, "password hashing failed");
            DomainError::Internal
        })
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, DomainError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        tracing::error!(error = %e, "blocking task failed");
        DomainError::Internal
    })
}
