//! Password hashing with Argon2id.
//!
//! Hashing is deliberately slow and memory-hard, so it runs on a few threads of its own, one
//! per core, never on the async workers. More hashes at once would not finish sooner (each
//! keeps a core busy), but each would hold its 19 MiB. Each hashing thread keeps one block
//! memory and reuses it for every hash: allocating 19 MiB per hash left glibc holding freed
//! blocks in every thread's arena, which grew the server to hundreds of megabytes after a burst
//! of sign-ins; now the memory is bounded by cores × `memory_kib`. Verification of a sign-in
//! for an unknown email runs against a dummy hash with the same parameters, so the response
//! time does not reveal whether the account exists.
//!
//! Passwords imported with another system's hash (`imported`) are checked with that hash's
//! algorithm on the same threads, and rehashed with Argon2id at their first match.

use std::cell::RefCell;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use argon2::password_hash::phc::{Output, ParamsString, Salt};
use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, Version};
use tessera_core::{DomainError, Password};
use tokio::sync::oneshot;

use crate::crypto::random_array;

pub mod encoded;
pub mod imported;

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
    params: Params,
    /// A hash no password matches, with the configured parameters: checking against it costs
    /// what checking a real hash costs.
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
        .map_err(internal("invalid Argon2 parameters"))?;
        let never_matches = [0u8; Params::DEFAULT_OUTPUT_LEN];
        let salt = random_array::<16>().map_err(internal("no random salt"))?;
        let dummy_hash = phc_string(&params, &salt, &never_matches)?;
        Ok(Self {
            params,
            dummy_hash: Arc::new(dummy_hash),
            jobs: spawn_hashers()?,
        })
    }

    pub async fn hash(&self, password: &Password) -> Result<String, DomainError> {
        self.hash_plain(password.expose()).await
    }

    /// The Argon2id hash of a password that has just matched a hash in another form, which
    /// it replaces: it is the user's, whether or not it meets today's rules.
    pub async fn rehash(&self, matched: &str) -> Result<String, DomainError> {
        self.hash_plain(matched).await
    }

    async fn hash_plain(&self, plain: &str) -> Result<String, DomainError> {
        let params = self.params.clone();
        let plain = plain.to_owned();
        let salt = random_array::<16>().map_err(internal("no random salt"))?;
        self.run(move || {
            let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
            argon2id(&params, plain.as_bytes(), &salt, &mut out)
                .map_err(internal("password hashing failed"))?;
            phc_string(&params, &salt, &out)
        })
        .await?
    }

    /// Checks `plain` against `stored`, or against the dummy hash when there is no stored
    /// hash, so both paths cost the same. An imported hash may cost far less than Argon2id
    /// (an HMAC, a few SHA rounds), so it is checked beside the dummy hash: the time of a
    /// wrong password tells an imported account from an unknown email no better than it
    /// does a native one. Returns `true` only for a real match.
    pub async fn verify(&self, plain: &str, stored: Option<&str>) -> Result<bool, DomainError> {
        let plain = plain.to_owned();
        let (hash, real) = match stored {
            Some(h) => (h.to_owned(), true),
            None => (self.dummy_hash.as_str().to_owned(), false),
        };
        let dummy = imported::is_imported(&hash).then(|| self.dummy_hash.clone());
        let matched = self
            .run(move || {
                let matched = matches(plain.as_bytes(), &hash);
                if let Some(dummy) = dummy {
                    // Kept from being optimised away: its cost is the point.
                    std::hint::black_box(matches(plain.as_bytes(), &dummy));
                }
                matched
            })
            .await?;
        Ok(real && matched)
    }

    /// Whether `stored` is an Argon2id hash with this server's parameters; any other hash
    /// that matches is replaced (`rehash`), so imported hashes and weaker parameters go
    /// with each user's next sign-in.
    pub fn is_current(&self, stored: &str) -> bool {
        PasswordHash::new(stored).is_ok_and(|parsed| {
            Algorithm::try_from(parsed.algorithm.as_str()) == Ok(Algorithm::Argon2id)
                && parsed.version.map(Version::try_from) == Some(Ok(Version::V0x13))
                && Params::try_from(&parsed).is_ok_and(|p| {
                    (p.m_cost(), p.t_cost(), p.p_cost())
                        == (
                            self.params.m_cost(),
                            self.params.t_cost(),
                            self.params.p_cost(),
                        )
                })
        })
    }
}

/// Whether `plain` is the password `stored` was made from: this server's Argon2id, or an
/// imported hash.
fn matches(plain: &[u8], stored: &str) -> bool {
    if imported::is_imported(stored) {
        imported::matches(plain, stored)
    } else {
        matches_argon2id(plain, stored)
    }
}

/// Whether `plain` hashes to the PHC string `stored`, compared in constant time. A hash this
/// server cannot read (another algorithm, broken encoding) matches nothing.
fn matches_argon2id(plain: &[u8], stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    if Algorithm::try_from(parsed.algorithm.as_str()) != Ok(Algorithm::Argon2id)
        || parsed
            .version
            .is_some_and(|v| Version::try_from(v) != Ok(Version::V0x13))
    {
        return false;
    }
    let mut out = vec![0u8; expected.len()];
    argon2id(&params, plain, &salt, &mut out).is_ok()
        && Output::new(&out).is_ok_and(|computed| computed == expected)
}

thread_local! {
    /// This hashing thread's Argon2 memory, reused by every hash it computes.
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Argon2id (version 0x13) of `plain` and `salt` into `out`, in the calling thread's memory.
fn argon2id(params: &Params, plain: &[u8], salt: &[u8], out: &mut [u8]) -> argon2::Result<()> {
    MEMORY.with_borrow_mut(|memory| {
        let blocks = params.block_count();
        if memory.len() > blocks {
            memory.truncate(blocks);
            memory.shrink_to_fit();
        }
        memory.resize(blocks, Block::new());
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
            .hash_password_into_with_memory(plain, salt, out, &mut memory[..])
    })
}

/// The PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`) every Argon2 library reads.
fn phc_string(params: &Params, salt: &[u8], output: &[u8]) -> Result<String, DomainError> {
    let encode = || -> Result<String, argon2::password_hash::Error> {
        Ok(PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(params)?,
            salt: Some(Salt::new(salt)?),
            hash: Some(Output::new(output)?),
        }
        .to_string())
    };
    encode().map_err(internal("cannot encode a password hash"))
}

fn internal<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> DomainError {
    move |e| {
        tracing::error!(error = %e, "{what}");
        DomainError::Internal
    }
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
    let threads = crate::cpus::given();
    for n in 0..threads {
        let queue = queue.clone();
        std::thread::Builder::new()
            .name(format!("argon2-{n}"))
            .spawn(move || {
                crate::cpus::compute_anywhere();
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

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::PasswordHasher;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    fn pool() -> Result<PasswordHasherPool, DomainError> {
        PasswordHasherPool::new(PasswordParams {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        })
    }

    #[tokio::test]
    async fn a_hash_matches_its_password_only() -> TestResult {
        let pool = pool()?;
        let password = Password::parse("correct horse").ok_or("too short")?;
        let hash = pool.hash(&password).await?;
        assert!(hash.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{hash}");
        assert!(pool.verify("correct horse", Some(&hash)).await?);
        assert!(!pool.verify("correct horsf", Some(&hash)).await?);
        assert!(!pool.verify("correct horse", None).await?);
        Ok(())
    }

    /// Hashes written by the argon2 crate's own hasher (and so by other Argon2 libraries,
    /// or by earlier versions of this server) still verify, whatever their parameters.
    #[tokio::test]
    async fn reads_hashes_from_other_argon2_implementations() -> TestResult {
        let other = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(128, 2, 1, None)?,
        )
        .hash_password_with_salt(b"s3cret", b"0123456789abcdef")?
        .to_string();
        let pool = pool()?;
        assert!(pool.verify("s3cret", Some(&other)).await?);
        assert!(!pool.verify("s3creT", Some(&other)).await?);
        Ok(())
    }

    #[tokio::test]
    async fn unreadable_hashes_match_nothing() -> TestResult {
        let pool = pool()?;
        for stored in [
            "",
            "plain text",
            "$argon2i$v=19$m=64,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "$argon2id$v=16$m=64,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "$argon2id$v=19$m=64,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg",
        ] {
            assert!(!pool.verify("", Some(stored)).await?, "{stored}");
        }
        Ok(())
    }
}
