//! Password hashes brought from another system, so that migrated users keep their passwords.
//!
//! Identity Toolkit's `accounts:batchCreate` takes a user's `passwordHash` and `salt` with one
//! `hashAlgorithm` and its parameters for the whole batch; ZITADEL takes one self-describing
//! string (`encoded`). Such a hash is stored as it came and checked at sign-in with its own algorithm; the
//! first sign-in that matches replaces it with this server's Argon2id (see
//! `PasswordHasherPool::is_current`), as Firebase rehashes imported passwords with its own.
//!
//! Firebase does not publish how it applies each algorithm; these are the conventions others
//! observed production to accept:
//! - `MD5`: `x = md5(salt‖password)`, then `rounds` times `x = md5(x‖password)`; the stored
//!   hash is the lowercase hex of `x`.
//! - `SHA1`/`SHA256`/`SHA512`: `x = H(salt‖password)` (`password‖salt` with
//!   `PASSWORD_AND_SALT`), then `x = H(x)` until `H` has run `rounds` times.
//! - `HMAC_*`: `HMAC(signerKey, password‖salt)` (`salt‖password` with `SALT_AND_PASSWORD`).
//! - `PBKDF_SHA1`/`PBKDF2_SHA256`: PBKDF2 with `rounds` iterations, as long as the stored hash.
//! - `SCRYPT` (Firebase's own): AES-256-CTR with a zero IV, keyed by the first 32 bytes of
//!   `scrypt(password, salt‖saltSeparator, N = 2^memoryCost, r = rounds, p = 1)`, over the
//!   `signerKey`.
//! - `STANDARD_SCRYPT`: scrypt with `cpuMemCost` (N), `blockSize`, `parallelization`, `dkLen`.
//! - `BCRYPT`: the `$2a$`/`$2b$`/`$2y$` string itself.
//! - `ARGON2`: the raw output for `argon2Parameters`.
//!
//! ZITADEL's strings (`encoded`) add phpass's portable hashes, which are `MD5`'s construction
//! in crypt's base64 (`Portable`).

use aes::Aes256;
use ctr::Ctr128BE;
use ctr::cipher::{KeyIvInit, StreamCipher};
use data_encoding::{BASE64, BASE64URL_NOPAD};
use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Digest as _;
use subtle::ConstantTimeEq;

use super::encoded;

/// The most rounds production takes for `MD5`, `SHA*` (8192) and the PBKDF2s (120,000).
pub const MAX_DIGEST_ROUNDS: u32 = 8192;
/// The most rounds of a portable hash, as a power of two: Drupal 7 makes 2^15 SHA-512s,
/// WordPress 2^13 MD5s; 2^18 SHA-512s take tens of milliseconds.
pub const MAX_PORTABLE_LOG2_ROUNDS: u32 = 18;
/// crypt's base64 alphabet (phpass's `itoa64`), whose characters also count the rounds.
pub const CRYPT_ALPHABET: &str = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
pub const MAX_PBKDF2_ROUNDS: u32 = 120_000;
/// Firebase's scrypt: `rounds` 1-8, `memoryCost` 1-14, as the Admin SDKs check.
pub const MAX_FIREBASE_SCRYPT_ROUNDS: u32 = 8;
pub const MAX_FIREBASE_SCRYPT_MEMORY_COST: u8 = 14;
/// Bounds of this server's own, so that one sign-in cannot hold a hashing thread for long or
/// take much memory: 64 MiB for scrypt and Argon2, bcrypt's cost 16 (about 4 s a check).
pub const MAX_MEMORY_BYTES: u64 = 64 << 20;
pub const MAX_ARGON2_ITERATIONS: u32 = 16;
pub const MAX_PARALLELISM: u32 = 16;
pub const MAX_BCRYPT_COST: u32 = 16;
/// The longest derived key or stored hash checked, in bytes.
pub const MAX_HASH_BYTES: usize = 1024;
/// PBKDF2's work grows with its output (each digest's length of it costs `rounds` HMACs
/// more): at most a SHA-512's, 64 bytes.
pub const MAX_PBKDF2_BYTES: usize = 64;

/// Whether scrypt with N = 2^`log_n`, r = `block_size` and p = `parallelization` stays within
/// `MAX_MEMORY_BYTES`: it takes 128·r·(N + p) bytes.
pub fn scrypt_memory_fits(log_n: u8, block_size: u32, parallelization: u32) -> bool {
    1u64.checked_shl(u32::from(log_n))
        .and_then(|n| n.checked_add(u64::from(parallelization)))
        .and_then(|blocks| blocks.checked_mul(128 * u64::from(block_size)))
        .is_some_and(|memory| memory <= MAX_MEMORY_BYTES)
}

/// A digest function, as the algorithms' names spell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Digest {
    Md5,
    Sha1,
    Sha256,
    /// Only from ZITADEL's `{SHA384}`/`{SSHA384}`.
    Sha384,
    Sha512,
}

impl Digest {
    /// The length of its output, in bytes.
    pub fn output_len(self) -> usize {
        match self {
            Digest::Md5 => 16,
            Digest::Sha1 => 20,
            Digest::Sha256 => 32,
            Digest::Sha384 => 48,
            Digest::Sha512 => 64,
        }
    }
}

/// Which of salt and password comes first (Identity Toolkit's `passwordHashOrder`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Order {
    SaltAndPassword,
    PasswordAndSalt,
}

/// Argon2's three variants (`argon2Parameters.hashType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Argon2Variant {
    Argon2d,
    Argon2i,
    Argon2id,
}

/// How a batch of imported passwords was hashed, with the parameters every user shares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "algorithm", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Scheme {
    Md5 {
        rounds: u32,
    },
    /// `SHA1`, `SHA256`, `SHA512`; ZITADEL's SHA and MD5 digests (RFC 2307's, `md5plain`,
    /// `md5salted`).
    Sha {
        digest: Digest,
        rounds: u32,
        order: Order,
    },
    Hmac {
        digest: Digest,
        #[serde(with = "base64_field")]
        key: Vec<u8>,
        order: Order,
    },
    PbkdfSha1 {
        rounds: u32,
    },
    Pbkdf2Sha256 {
        rounds: u32,
    },
    /// Only from ZITADEL's `$pbkdf2-sha512$`.
    Pbkdf2Sha512 {
        rounds: u32,
    },
    /// Only from ZITADEL's `$pbkdf2-sha224$`.
    Pbkdf2Sha224 {
        rounds: u32,
    },
    /// Only from ZITADEL's `$pbkdf2-sha384$`.
    Pbkdf2Sha384 {
        rounds: u32,
    },
    FirebaseScrypt {
        #[serde(with = "base64_field")]
        key: Vec<u8>,
        #[serde(with = "base64_field")]
        separator: Vec<u8>,
        rounds: u32,
        memory_cost: u8,
    },
    StandardScrypt {
        log_n: u8,
        block_size: u32,
        parallelization: u32,
        dk_len: u32,
    },
    Bcrypt,
    /// `$5$`/`$6$` (ZITADEL's `sha2`), kept whole like bcrypt.
    ShaCrypt,
    /// `$1$` (ZITADEL's `md5`), kept whole like bcrypt.
    Md5Crypt,
    /// phpass's portable hashes, from ZITADEL's strings: WordPress's and phpBB's `$P$`/`$H$`
    /// (MD5) and Drupal 7's `$S$` (SHA-512). `MD5`'s construction with `digest` and
    /// 2^`log2_rounds` rounds, kept as the text of crypt's base64 (least significant bits
    /// first), Drupal's cut to 43 characters. `md5_first`: Drupal's `U$S$`, a Drupal 6 MD5
    /// hash upgraded in place, made from the password's MD5 (lowercase hex).
    Portable {
        digest: Digest,
        log2_rounds: u32,
        #[serde(default)]
        md5_first: bool,
    },
    Argon2 {
        variant: Argon2Variant,
        /// 0x10 or 0x13.
        version: u32,
        iterations: u32,
        memory_kib: u32,
        parallelism: u32,
        hash_len: u32,
        #[serde(with = "base64_field")]
        associated_data: Vec<u8>,
    },
}

/// Why a user's imported hash cannot be kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadHash {
    /// Not a hash this scheme produces (empty, the wrong length, not a bcrypt string, too
    /// costly to check).
    Hash,
}

/// One user's imported password: what `Scheme` made of their password and salt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportedHash {
    #[serde(flatten)]
    scheme: Scheme,
    #[serde(with = "base64_field")]
    salt: Vec<u8>,
    #[serde(with = "base64_field")]
    hash: Vec<u8>,
}

impl ImportedHash {
    /// The user's hash under `scheme`, refused when no password could ever match it.
    pub fn new(scheme: Scheme, salt: Vec<u8>, hash: Vec<u8>) -> Result<Self, BadHash> {
        let fits = match &scheme {
            Scheme::Bcrypt | Scheme::ShaCrypt | Scheme::Md5Crypt => std::str::from_utf8(&hash)
                .ok()
                .and_then(encoded::crypt_of)
                .is_some_and(|crypt| crypt.scheme() == scheme),
            Scheme::Argon2 { hash_len, .. } => usize::try_from(*hash_len) == Ok(hash.len()),
            // The signer key, encrypted.
            Scheme::FirebaseScrypt { key, .. } => !hash.is_empty() && hash.len() == key.len(),
            Scheme::StandardScrypt { dk_len, .. } => usize::try_from(*dk_len) == Ok(hash.len()),
            Scheme::PbkdfSha1 { .. }
            | Scheme::Pbkdf2Sha224 { .. }
            | Scheme::Pbkdf2Sha256 { .. }
            | Scheme::Pbkdf2Sha384 { .. }
            | Scheme::Pbkdf2Sha512 { .. } => (1..=MAX_PBKDF2_BYTES).contains(&hash.len()),
            Scheme::Portable { digest, .. } => hash.len() == portable_len(*digest),
            _ => !hash.is_empty() && hash.len() <= MAX_HASH_BYTES,
        };
        if !fits {
            return Err(BadHash::Hash);
        }
        Ok(Self { scheme, salt, hash })
    }

    /// The text the users table keeps: a bcrypt, SHA-crypt or MD5-crypt hash as itself, which
    /// `matches` reads as any such hash, and the others as JSON.
    pub fn stored(&self) -> Result<String, serde_json::Error> {
        match self.scheme {
            Scheme::Bcrypt | Scheme::ShaCrypt | Scheme::Md5Crypt => {
                Ok(String::from_utf8_lossy(&self.hash).into_owned())
            }
            _ => serde_json::to_string(self),
        }
    }

    /// Whether `plain` is the password this hash was made from, compared in constant time.
    fn matches(&self, plain: &[u8]) -> bool {
        derive(&self.scheme, plain, &self.salt, self.hash.len())
            .is_some_and(|derived| bool::from(derived.ct_eq(&self.hash)))
    }
}

/// Whether `stored` is one of the imported forms, rather than this server's Argon2 PHC
/// string.
pub fn is_imported(stored: &str) -> bool {
    stored.starts_with('{') || encoded::crypt_of(stored).is_some()
}

/// Whether `plain` matches an imported `stored` hash. Anything unreadable matches nothing.
pub fn matches(plain: &[u8], stored: &str) -> bool {
    match encoded::crypt_of(stored) {
        Some(crypt) => encoded::crypt_matches(crypt, plain, stored),
        None => serde_json::from_str::<ImportedHash>(stored)
            .is_ok_and(|imported| imported.matches(plain)),
    }
}

/// Standard or URL-safe base64, padded or not: the Admin SDKs send URL-safe, the CLI and
/// hand-written requests standard.
pub fn base64_bytes(text: &str) -> Option<Vec<u8>> {
    let url_safe: String = text
        .trim_end_matches('=')
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect();
    BASE64URL_NOPAD.decode(url_safe.as_bytes()).ok()
}

/// What `scheme` makes of `password` and `salt`, `len` bytes long where the scheme's output
/// length follows the stored hash. `None` when the parameters cannot run.
fn derive(scheme: &Scheme, password: &[u8], salt: &[u8], len: usize) -> Option<Vec<u8>> {
    Some(match scheme {
        Scheme::Md5 { rounds } => {
            let x = chained(Digest::Md5, password, salt, *rounds);
            data_encoding::HEXLOWER.encode(&x).into_bytes()
        }
        Scheme::Portable {
            digest: d,
            log2_rounds,
            md5_first,
        } => {
            let md5;
            let password = if *md5_first {
                md5 = data_encoding::HEXLOWER.encode(&digest(Digest::Md5, password));
                md5.as_bytes()
            } else {
                password
            };
            let x = chained(*d, password, salt, 1u32.checked_shl(*log2_rounds)?);
            let mut text = crypt_base64()?.encode(&x).into_bytes();
            text.truncate(portable_len(*d));
            text
        }
        Scheme::Sha {
            digest: d,
            rounds,
            order,
        } => {
            let mut x = digest(*d, &joined(*order, salt, password));
            for _ in 1..*rounds {
                x = digest(*d, &x);
            }
            x
        }
        Scheme::Hmac {
            digest: d,
            key,
            order,
        } => hmac(*d, key, &joined(*order, salt, password))?,
        Scheme::PbkdfSha1 { .. }
        | Scheme::Pbkdf2Sha224 { .. }
        | Scheme::Pbkdf2Sha256 { .. }
        | Scheme::Pbkdf2Sha384 { .. }
        | Scheme::Pbkdf2Sha512 { .. } => {
            let (hmac, rounds) = pbkdf2_of(scheme)?;
            let mut out = vec![0; len];
            hmac(password, salt, rounds, &mut out);
            out
        }
        Scheme::FirebaseScrypt {
            key,
            separator,
            rounds,
            memory_cost,
        } => {
            let params = scrypt::Params::new(*memory_cost, *rounds, 1).ok()?;
            let mut derived = [0u8; 64];
            scrypt::scrypt(password, &[salt, separator].concat(), &params, &mut derived).ok()?;
            let mut out = key.clone();
            Ctr128BE::<Aes256>::new_from_slices(&derived[..32], &[0u8; 16])
                .ok()?
                .apply_keystream(&mut out);
            out
        }
        Scheme::StandardScrypt {
            log_n,
            block_size,
            parallelization,
            ..
        } => {
            let params = scrypt::Params::new(*log_n, *block_size, *parallelization).ok()?;
            let mut out = vec![0; len];
            scrypt::scrypt(password, salt, &params, &mut out).ok()?;
            out
        }
        Scheme::Argon2 {
            variant,
            version,
            iterations,
            memory_kib,
            parallelism,
            hash_len,
            associated_data,
        } => {
            let params = argon2::ParamsBuilder::new()
                .m_cost(*memory_kib)
                .t_cost(*iterations)
                .p_cost(*parallelism)
                .output_len(usize::try_from(*hash_len).ok()?)
                .data(argon2::AssociatedData::new(associated_data).ok()?)
                .build()
                .ok()?;
            let algorithm = match variant {
                Argon2Variant::Argon2d => argon2::Algorithm::Argon2d,
                Argon2Variant::Argon2i => argon2::Algorithm::Argon2i,
                Argon2Variant::Argon2id => argon2::Algorithm::Argon2id,
            };
            let version = argon2::Version::try_from(*version).ok()?;
            let mut out = vec![0; len];
            argon2::Argon2::new(algorithm, version, params)
                .hash_password_into(password, salt, &mut out)
                .ok()?;
            out
        }
        Scheme::Bcrypt | Scheme::ShaCrypt | Scheme::Md5Crypt => return None,
    })
}

fn joined(order: Order, salt: &[u8], password: &[u8]) -> Vec<u8> {
    match order {
        Order::SaltAndPassword => [salt, password].concat(),
        Order::PasswordAndSalt => [password, salt].concat(),
    }
}

/// One of `pbkdf2::pbkdf2_hmac`'s instances: password, salt, rounds, output.
type Pbkdf2Hmac = fn(&[u8], &[u8], u32, &mut [u8]);

/// A PBKDF2 scheme's HMAC and rounds.
fn pbkdf2_of(scheme: &Scheme) -> Option<(Pbkdf2Hmac, u32)> {
    Some(match *scheme {
        Scheme::PbkdfSha1 { rounds } => (pbkdf2::pbkdf2_hmac::<sha1::Sha1>, rounds),
        Scheme::Pbkdf2Sha224 { rounds } => (pbkdf2::pbkdf2_hmac::<sha2::Sha224>, rounds),
        Scheme::Pbkdf2Sha256 { rounds } => (pbkdf2::pbkdf2_hmac::<sha2::Sha256>, rounds),
        Scheme::Pbkdf2Sha384 { rounds } => (pbkdf2::pbkdf2_hmac::<sha2::Sha384>, rounds),
        Scheme::Pbkdf2Sha512 { rounds } => (pbkdf2::pbkdf2_hmac::<sha2::Sha512>, rounds),
        _ => return None,
    })
}

/// `x = d(salt‖password)`, then `rounds` times `x = d(x‖password)`: Firebase's `MD5`, and
/// phpass's portable hashes.
fn chained(d: Digest, password: &[u8], salt: &[u8], rounds: u32) -> Vec<u8> {
    let mut x = digest(d, &[salt, password].concat());
    for _ in 0..rounds {
        x = digest(d, &[x.as_slice(), password].concat());
    }
    x
}

/// How many characters of a portable hash's digest are kept: all of MD5's 16 bytes (22),
/// Drupal's first 43 of SHA-512's.
pub fn portable_len(d: Digest) -> usize {
    match d {
        Digest::Md5 => 22,
        _ => 43,
    }
}

/// crypt's base64: `CRYPT_ALPHABET`, least significant bits first, unpadded.
fn crypt_base64() -> Option<data_encoding::Encoding> {
    let mut spec = data_encoding::Specification::new();
    spec.symbols.push_str(CRYPT_ALPHABET);
    spec.bit_order = data_encoding::BitOrder::LeastSignificantFirst;
    spec.encoding().ok()
}

fn digest(d: Digest, input: &[u8]) -> Vec<u8> {
    match d {
        Digest::Md5 => md5::Md5::digest(input).to_vec(),
        Digest::Sha1 => sha1::Sha1::digest(input).to_vec(),
        Digest::Sha256 => sha2::Sha256::digest(input).to_vec(),
        Digest::Sha384 => sha2::Sha384::digest(input).to_vec(),
        Digest::Sha512 => sha2::Sha512::digest(input).to_vec(),
    }
}

fn hmac(d: Digest, key: &[u8], message: &[u8]) -> Option<Vec<u8>> {
    fn run<M: Mac + KeyInit>(key: &[u8], message: &[u8]) -> Option<Vec<u8>> {
        let mut mac = <M as KeyInit>::new_from_slice(key).ok()?;
        mac.update(message);
        Some(mac.finalize().into_bytes().to_vec())
    }
    match d {
        Digest::Md5 => run::<hmac::Hmac<md5::Md5>>(key, message),
        Digest::Sha1 => run::<hmac::Hmac<sha1::Sha1>>(key, message),
        Digest::Sha256 => run::<hmac::Hmac<sha2::Sha256>>(key, message),
        Digest::Sha384 => run::<hmac::Hmac<sha2::Sha384>>(key, message),
        Digest::Sha512 => run::<hmac::Hmac<sha2::Sha512>>(key, message),
    }
}

/// Byte fields of the stored JSON, as standard base64.
mod base64_field {
    use super::{BASE64, base64_bytes};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&BASE64.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        base64_bytes(&text).ok_or_else(|| serde::de::Error::custom("not base64"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    fn b64(text: &str) -> Result<Vec<u8>, String> {
        base64_bytes(text).ok_or(format!("not base64: {text}"))
    }

    /// The sample in Firebase's own scrypt repository (firebase/scrypt, README): a project's
    /// parameters, a user's salt and the hash of `user1password`.
    #[test]
    fn firebase_scrypt_matches_firebases_published_sample() -> TestResult {
        let key = "jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==";
        let scheme = Scheme::FirebaseScrypt {
            key: b64(key)?,
            separator: b64("Bw==")?,
            rounds: 8,
            memory_cost: 14,
        };
        let hash = b64(
            "lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==",
        )?;
        let imported = ImportedHash::new(scheme, b64("42xEC+ixf3L2lw==")?, hash)
            .map_err(|e| format!("{e:?}"))?;
        let stored = imported.stored()?;
        assert!(is_imported(&stored));
        assert!(matches(b"user1password", &stored));
        assert!(!matches(b"user1passwore", &stored));
        Ok(())
    }

    /// PBKDF2-HMAC-SHA256 from RFC 7914 §11, and SHA-256 of "abc" (FIPS 180-2) for a single
    /// round with an empty salt.
    #[test]
    fn pbkdf2_and_sha_match_published_vectors() -> TestResult {
        let pbkdf2 = ImportedHash::new(
            Scheme::Pbkdf2Sha256 { rounds: 1 },
            b"salt".to_vec(),
            data_encoding::HEXLOWER.decode(
                b"55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc\
                  49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783",
            )?,
        )
        .map_err(|e| format!("{e:?}"))?
        .stored()?;
        assert!(matches(b"passwd", &pbkdf2));
        assert!(!matches(b"passwe", &pbkdf2));
        let sha = ImportedHash::new(
            Scheme::Sha {
                digest: Digest::Sha256,
                rounds: 1,
                order: Order::SaltAndPassword,
            },
            Vec::new(),
            data_encoding::HEXLOWER
                .decode(b"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")?,
        )
        .map_err(|e| format!("{e:?}"))?
        .stored()?;
        assert!(matches(b"abc", &sha));
        assert!(!matches(b"abd", &sha));
        Ok(())
    }

    #[test]
    fn unusable_hashes_are_refused_or_match_nothing() {
        assert_eq!(
            ImportedHash::new(Scheme::Bcrypt, Vec::new(), b"$1$not-bcrypt".to_vec()),
            Err(BadHash::Hash)
        );
        let costly = "$2b$31$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy";
        assert_eq!(
            ImportedHash::new(Scheme::Bcrypt, Vec::new(), costly.as_bytes().to_vec()),
            Err(BadHash::Hash)
        );
        let long = Scheme::Pbkdf2Sha256 { rounds: 1 };
        assert_eq!(
            ImportedHash::new(long, Vec::new(), vec![0; 65]),
            Err(BadHash::Hash)
        );
        let empty = Scheme::Md5 { rounds: 0 };
        assert_eq!(
            ImportedHash::new(empty, Vec::new(), Vec::new()),
            Err(BadHash::Hash)
        );
        for stored in ["{}", "{\"algorithm\":\"MD5\"}", "$2b$04$short", "$2x$04$"] {
            assert!(!matches(b"", stored), "{stored}");
        }
    }

    #[test]
    fn base64_reads_both_alphabets_padded_or_not() {
        for text in ["+/8=", "-_8", "-_8=", "+/8"] {
            assert_eq!(base64_bytes(text), Some(vec![0xfb, 0xff]), "{text}");
        }
        assert_eq!(base64_bytes("a"), None);
        assert_eq!(base64_bytes("a*b="), None);
    }
}
