//! Password hashing with Argon2id.
//!
//! Hashing is deliberately slow and memory-hard, so it runs on a few threads of its own, one
//! per core, never on the async workers. More hashes at once would not finish sooner (each
//! keeps a core busy), but each would hold its 19 MiB; and on tokio's growing blocking pool
//! every thread's allocator arena kept those blocks, which grew the server to gigabytes under
//! a burst of sign-ins. Verification of a sign-in for an unknown email runs against a dummy
//! hash with the same parameters, so the response time does not reveal whether the account
//! exists.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version};
use tessera_core::{DomainError, Password};
use tokio::sync::oneshot;

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

type Job = Box<dyn FnOnce() + Send>;

#[derive(Clone)]
pub struct PasswordHasherPool {
    argon2: Arc<Argon2<'static>>,
    dummy_hash: Arc<String>,
    /// Work for the hashing threads; they end when the last pool handle is dropped.
    jobs: mpsc::Sender<Job>,
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
            jobs: spawn_hashers()?,
        })
    }

    pub async fn hash(&self, password: &Password) -> Result<String, DomainError> {
        let argon2 = self.argon2.clone();
        let plain = password.expose().to_owned();
        self.run(move || hash_with(&argon2, &plain)).await?
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
        let matched = self
            .run(move || {
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

impl PasswordHasherPool {
    /// Runs `f` on a hashing thread, in turn with the other waiting hashes.
    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, DomainError> {
        let (done, result) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(f());
        });
        if self.jobs.send(job).is_err() {
            tracing::error!("the password hashing threads are gone");
            return Err(DomainError::Internal);
        }
        result.await.map_err(|_| {
            tracing::error!("a password hashing job failed");
            DomainError::Internal
        })
    }
}

/// One hashing thread per core, sharing one queue.
fn spawn_hashers() -> Result<mpsc::Sender<Job>, DomainError> {
    let (jobs, queue) = mpsc::channel::<Job>();
    let queue = Arc::new(Mutex::new(queue));
    let threads = std::thread::available_parallelism().map_or(2, usize::from);
    for n in 0..threads {
        let queue = queue.clone();
        std::thread::Builder::new()
            .name(format!("argon2-{n}"))
            .spawn(move || {
                loop {
                    // The lock is held only while taking a job, not while hashing.
                    let next = queue.lock().map(|q| q.recv());
                    match next {
                        Ok(Ok(job)) => job(),
                        _ => break,
                    }
                }
            })
            .map_err(|e| {
                tracing::error!(error = %e, "cannot start a password hashing thread");
                DomainError::Internal
            })?;
    }
    Ok(jobs)
}
