//! `accounts:batchCreate`'s password hashes: the request's `hashAlgorithm` with its
//! parameters, and each user's `passwordHash` and `salt`, read into `passwords::imported`'s
//! types with Identity Toolkit's error codes. A bad parameter refuses the whole request, a
//! bad hash only its user.

use super::error::ItError;
use super::wire::{Argon2Parameters, BatchCreateRequest, ImportedUser};
use crate::passwords::imported::{
    Argon2Variant, Digest, ImportedHash, MAX_ARGON2_ITERATIONS, MAX_DIGEST_ROUNDS,
    MAX_FIREBASE_SCRYPT_MEMORY_COST, MAX_FIREBASE_SCRYPT_ROUNDS, MAX_HASH_BYTES, MAX_MEMORY_BYTES,
    MAX_PARALLELISM, MAX_PBKDF2_ROUNDS, Order, Scheme, base64_bytes, scrypt_memory_fits,
};

/// The request's hash scheme; `None` when it names no `hashAlgorithm`.
pub fn scheme(req: &BatchCreateRequest) -> Result<Option<Scheme>, ItError> {
    let Some(algorithm) = req.hash_algorithm.as_deref() else {
        return Ok(None);
    };
    let rounds =
        |range: std::ops::RangeInclusive<u32>| within(req.rounds, range, "INVALID_HASH_ROUNDS");
    let order = |default| match req.password_hash_order.as_deref() {
        Some("SALT_AND_PASSWORD") => Order::SaltAndPassword,
        Some("PASSWORD_AND_SALT") => Order::PasswordAndSalt,
        _ => default,
    };
    let scheme = match algorithm {
        "MD5" => Scheme::Md5 {
            rounds: rounds(0..=MAX_DIGEST_ROUNDS)?,
        },
        "SHA1" | "SHA256" | "SHA512" => Scheme::Sha {
            digest: digest(algorithm),
            rounds: rounds(1..=MAX_DIGEST_ROUNDS)?,
            order: order(Order::SaltAndPassword),
        },
        "HMAC_MD5" | "HMAC_SHA1" | "HMAC_SHA256" | "HMAC_SHA512" => Scheme::Hmac {
            digest: digest(&algorithm["HMAC_".len()..]),
            key: signer_key(req)?,
            order: order(Order::PasswordAndSalt),
        },
        "PBKDF_SHA1" => Scheme::PbkdfSha1 {
            rounds: rounds(1..=MAX_PBKDF2_ROUNDS)?,
        },
        "PBKDF2_SHA256" => Scheme::Pbkdf2Sha256 {
            rounds: rounds(1..=MAX_PBKDF2_ROUNDS)?,
        },
        "SCRYPT" => Scheme::FirebaseScrypt {
            key: signer_key(req)?,
            separator: req
                .salt_separator
                .as_deref()
                .map(|s| base64_bytes(s).ok_or(ItError::code("INVALID_HASH_SALT_SEPARATOR")))
                .transpose()?
                .unwrap_or_default(),
            rounds: rounds(1..=MAX_FIREBASE_SCRYPT_ROUNDS)?,
            memory_cost: within(
                req.memory_cost,
                1..=u32::from(MAX_FIREBASE_SCRYPT_MEMORY_COST),
                "INVALID_HASH_MEMORY_COST",
            )?
            .try_into()
            .map_err(|_| ItError::code("INVALID_HASH_MEMORY_COST"))?,
        },
        "STANDARD_SCRYPT" => standard_scrypt(req)?,
        "BCRYPT" => Scheme::Bcrypt,
        "ARGON2" => argon2(req.argon2_parameters.as_ref())?,
        _ => return Err(ItError::code("INVALID_HASH_ALGORITHM")),
    };
    Ok(Some(scheme))
}

/// The user's imported hash, when they have one: `passwordHash` takes precedence over
/// `rawPassword`, as in the emulator.
pub fn imported_hash(
    scheme: Option<&Scheme>,
    user: &ImportedUser,
) -> Result<Option<ImportedHash>, ItError> {
    let Some(hash) = user.password_hash.as_deref() else {
        return Ok(None);
    };
    let scheme = scheme.ok_or(ItError::code("MISSING_HASH_ALGORITHM"))?;
    let hash = base64_bytes(hash).ok_or(ItError::code("INVALID_PASSWORD_HASH"))?;
    let salt = user
        .salt
        .as_deref()
        .map(|s| base64_bytes(s).ok_or(ItError::code("INVALID_PASSWORD_SALT")))
        .transpose()?
        .unwrap_or_default();
    ImportedHash::new(scheme.clone(), salt, hash)
        .map(Some)
        .map_err(|_| ItError::code("INVALID_PASSWORD_HASH"))
}

fn digest(name: &str) -> Digest {
    match name {
        "MD5" => Digest::Md5,
        "SHA1" => Digest::Sha1,
        "SHA256" => Digest::Sha256,
        _ => Digest::Sha512,
    }
}

/// `value` when it lies in `range`; absent counts as 0.
fn within(
    value: Option<i64>,
    range: std::ops::RangeInclusive<u32>,
    code: &str,
) -> Result<u32, ItError> {
    u32::try_from(value.unwrap_or(0))
        .ok()
        .filter(|v| range.contains(v))
        .ok_or(ItError::code(code))
}

fn signer_key(req: &BatchCreateRequest) -> Result<Vec<u8>, ItError> {
    let key = req.signer_key.as_deref().unwrap_or_default();
    let key = base64_bytes(key).ok_or(ItError::code("INVALID_HASH_KEY"))?;
    if key.is_empty() {
        return Err(ItError::code("EMPTY_HASH_KEY"));
    }
    Ok(key)
}

/// Standard scrypt: N is `cpuMemCost` (the Node Admin SDK) or `memoryCost` (the Go one), a
/// power of two, within this server's memory bound (`scrypt_memory_fits`).
fn standard_scrypt(req: &BatchCreateRequest) -> Result<Scheme, ItError> {
    let n = req.cpu_mem_cost.or(req.memory_cost).unwrap_or(0);
    let log_n = u64::try_from(n)
        .ok()
        .filter(|n| *n > 1 && n.is_power_of_two())
        .map(u64::trailing_zeros)
        .and_then(|log_n| u8::try_from(log_n).ok())
        .ok_or(ItError::code("INVALID_HASH_MEMORY_COST"))?;
    let block_size = within(req.block_size, 1..=u32::MAX, "INVALID_HASH_BLOCK_SIZE")?;
    let parallelization = within(
        req.parallelization,
        1..=MAX_PARALLELISM,
        "INVALID_HASH_PARALLELIZATION",
    )?;
    let dk_len = within(
        req.dk_len,
        1..=u32::try_from(MAX_HASH_BYTES).unwrap_or(u32::MAX),
        "INVALID_HASH_DERIVED_KEY_LENGTH",
    )?;
    if !scrypt_memory_fits(log_n, block_size, parallelization) {
        return Err(ItError::code("INVALID_HASH_MEMORY_COST"));
    }
    Ok(Scheme::StandardScrypt {
        log_n,
        block_size,
        parallelization,
        dk_len,
    })
}

fn argon2(params: Option<&Argon2Parameters>) -> Result<Scheme, ItError> {
    let params = params.ok_or(ItError::code("MISSING_ARGON2_PARAMETERS"))?;
    let variant = match params.hash_type.as_deref() {
        Some("ARGON2_D") => Argon2Variant::Argon2d,
        Some("ARGON2_I") => Argon2Variant::Argon2i,
        Some("ARGON2_ID") => Argon2Variant::Argon2id,
        _ => return Err(ItError::code("INVALID_ARGON2_HASH_TYPE")),
    };
    let version = match params.version.as_deref() {
        None | Some("VERSION_UNSPECIFIED" | "VERSION_13") => 0x13,
        Some("VERSION_10") => 0x10,
        Some(_) => return Err(ItError::code("INVALID_ARGON2_VERSION")),
    };
    let max_kib = u32::try_from(MAX_MEMORY_BYTES / 1024).unwrap_or(u32::MAX);
    Ok(Scheme::Argon2 {
        variant,
        version,
        iterations: within(
            params.iterations,
            1..=MAX_ARGON2_ITERATIONS,
            "INVALID_ARGON2_ITERATIONS",
        )?,
        memory_kib: within(
            params.memory_cost_kib,
            1..=max_kib,
            "INVALID_ARGON2_MEMORY_COST",
        )?,
        parallelism: within(
            params.parallelism,
            1..=MAX_PARALLELISM,
            "INVALID_ARGON2_PARALLELISM",
        )?,
        hash_len: within(
            params.hash_length_bytes,
            4..=u32::try_from(MAX_HASH_BYTES).unwrap_or(u32::MAX),
            "INVALID_ARGON2_HASH_LENGTH",
        )?,
        associated_data: params
            .associated_data
            .as_deref()
            .map(|d| base64_bytes(d).ok_or(ItError::code("INVALID_ARGON2_ASSOCIATED_DATA")))
            .transpose()?
            .unwrap_or_default(),
    })
}
