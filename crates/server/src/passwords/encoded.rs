//! Password hashes as one self-describing string, the form ZITADEL's `hashed_password` takes
//! (its `passwap` library reads the same): modular-crypt strings (bcrypt `$2b$…`, SHA-crypt
//! `$5$…`/`$6$…`, MD5-crypt `$1$…`), PHC strings (`$argon2id$…`, `$scrypt$…`, which passwap
//! also reads as `$7$…`), passlib's PBKDF2 strings (`$pbkdf2-sha256$…`), passwap's Firebase
//! scrypt string (`$firebasescrypt$…`), RFC 2307's salted and plain SHA (`{SSHA}…`,
//! OpenLDAP's), phpass's portable hashes (`$P$…`, `$H$…`: WordPress, phpBB; Drupal 7's
//! `$S$…`), and passwap's MD5 digests, salted (`$md5salted-prefix$…`, `$md5salted-suffix$…`)
//! or plain (32 hex digits).
//!
//! bcrypt, SHA-crypt and MD5-crypt strings are kept whole and checked by their crates; the
//! others are read into an `ImportedHash`. Every form is held to the costs one check may take.

use data_encoding::{BASE64, HEXLOWER_PERMISSIVE};
use subtle::ConstantTimeEq;

use super::imported::{
    Argon2Variant, BadHash, CRYPT_ALPHABET, Digest, ImportedHash, MAX_ARGON2_ITERATIONS,
    MAX_BCRYPT_COST, MAX_FIREBASE_SCRYPT_MEMORY_COST, MAX_FIREBASE_SCRYPT_ROUNDS, MAX_MEMORY_BYTES,
    MAX_PARALLELISM, MAX_PORTABLE_LOG2_ROUNDS, Order, Scheme, base64_bytes, portable_len,
    scrypt_memory_fits,
};

/// The most PBKDF2 iterations a string may ask for. Higher than Identity Toolkit's 120,000:
/// passlib and ZITADEL make 290,000 by default.
const MAX_PBKDF2_ROUNDS: u32 = 1_000_000;
/// The most SHA-crypt rounds (its own default is 5,000).
const MAX_SHA_CRYPT_ROUNDS: u32 = 1_000_000;

/// The modular-crypt hashes kept whole, each checked by its own crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crypt {
    Bcrypt,
    ShaCrypt,
    Md5Crypt,
}

impl Crypt {
    /// The scheme an `ImportedHash` of this kind names.
    pub fn scheme(self) -> Scheme {
        match self {
            Crypt::Bcrypt => Scheme::Bcrypt,
            Crypt::ShaCrypt => Scheme::ShaCrypt,
            Crypt::Md5Crypt => Scheme::Md5Crypt,
        }
    }
}

/// Which kept-whole hash `hash` is, when it is one this server can afford to check.
pub fn crypt_of(hash: &str) -> Option<Crypt> {
    if ["$2a$", "$2b$", "$2y$"].iter().any(|p| hash.starts_with(p)) {
        let parts = hash.parse::<bcrypt::HashParts>().ok()?;
        return (parts.get_cost() <= MAX_BCRYPT_COST).then_some(Crypt::Bcrypt);
    }
    if hash.starts_with("$5$") || hash.starts_with("$6$") {
        // `rounds=N` is optional; without it SHA-crypt runs 5,000.
        let rounds = match hash.split('$').nth(2)?.strip_prefix("rounds=") {
            Some(n) => n.parse::<u32>().ok()?,
            None => 5_000,
        };
        return (rounds <= MAX_SHA_CRYPT_ROUNDS).then_some(Crypt::ShaCrypt);
    }
    // `$1$<salt, at most 8>$<22 characters>`; its 1,000 rounds are fixed.
    let (salt, checksum) = hash.strip_prefix("$1$")?.split_once('$')?;
    (salt.len() <= 8 && !salt.contains('$') && checksum.len() == 22).then_some(Crypt::Md5Crypt)
}

/// Whether `plain` matches the kept-whole `hash`.
pub fn crypt_matches(crypt: Crypt, plain: &[u8], hash: &str) -> bool {
    use sha_crypt::password_hash::PasswordVerifier;
    match crypt {
        Crypt::Bcrypt => bcrypt::verify(plain, hash).unwrap_or(false),
        Crypt::ShaCrypt => sha_crypt::ShaCrypt::default()
            .verify_password(plain, hash)
            .is_ok(),
        Crypt::Md5Crypt => hash
            .strip_prefix("$1$")
            .and_then(|rest| rest.split_once('$'))
            .is_some_and(|(salt, _)| {
                let made = md5crypt::md5crypt(plain, salt.as_bytes());
                bool::from(made.as_slice().ct_eq(hash.as_bytes()))
            }),
    }
}

/// The hash `encoded` stands for; `BadHash` for a form this server does not read or a cost
/// beyond its bounds.
pub fn from_encoded(encoded: &str) -> Result<ImportedHash, BadHash> {
    if let Some(crypt) = crypt_of(encoded) {
        return ImportedHash::new(crypt.scheme(), Vec::new(), encoded.as_bytes().to_vec());
    }
    if encoded.starts_with("$pbkdf2") {
        return passlib_pbkdf2(encoded);
    }
    // passwap reads its scrypt form under `$7$` too.
    if encoded.starts_with("$scrypt$") || encoded.starts_with("$7$") {
        return phc_scrypt(encoded);
    }
    if encoded.starts_with("$firebasescrypt$") {
        return firebase_scrypt(encoded);
    }
    if encoded.starts_with('{') {
        return rfc2307(encoded);
    }
    if encoded.starts_with("$P$") || encoded.starts_with("$H$") {
        return portable(encoded, Digest::Md5, false);
    }
    if encoded.starts_with("$S$") {
        return portable(encoded, Digest::Sha512, false);
    }
    if let Some(upgraded) = encoded.strip_prefix('U').filter(|s| s.starts_with("$S$")) {
        return portable(upgraded, Digest::Sha512, true);
    }
    if encoded.starts_with("$md5salted") {
        return md5_salted(encoded);
    }
    if encoded.len() == 32 && encoded.bytes().all(|b| b.is_ascii_hexdigit()) {
        return md5_plain(encoded);
    }
    phc_argon2(encoded)
}

/// A portable hash: `$P$`, `$H$` or `$S$`, one character of `CRYPT_ALPHABET` whose index is
/// the rounds' log2, 8 characters of salt, then the digest's characters. `md5_first` for
/// Drupal's `U$S$` (see `Scheme::Portable`).
fn portable(encoded: &str, digest: Digest, md5_first: bool) -> Result<ImportedHash, BadHash> {
    if !encoded.is_ascii() || encoded.len() != 12 + portable_len(digest) {
        return Err(BadHash::Hash);
    }
    let log2_rounds = CRYPT_ALPHABET
        .find(&encoded[3..4])
        .and_then(|i| u32::try_from(i).ok())
        .filter(|n| (7..=MAX_PORTABLE_LOG2_ROUNDS).contains(n))
        .ok_or(BadHash::Hash)?;
    let scheme = Scheme::Portable {
        digest,
        log2_rounds,
        md5_first,
    };
    let (salt, hash) = encoded.as_bytes()[4..].split_at(8);
    ImportedHash::new(scheme, salt.to_vec(), hash.to_vec())
}

/// passwap's `$md5salted-prefix$salt$base64(md5(salt‖password))`, or `-suffix` for
/// `md5(password‖salt)`.
fn md5_salted(encoded: &str) -> Result<ImportedHash, BadHash> {
    let [id, salt, hash] = fields(encoded)?;
    // passwap's parser finds no salt in an empty one, and refuses the string.
    if salt.is_empty() {
        return Err(BadHash::Hash);
    }
    let order = match id {
        "md5salted-prefix" => Order::SaltAndPassword,
        "md5salted-suffix" => Order::PasswordAndSalt,
        _ => return Err(BadHash::Hash),
    };
    let hash = BASE64.decode(hash.as_bytes()).map_err(|_| BadHash::Hash)?;
    md5_digest(order, salt.as_bytes().to_vec(), hash)
}

/// passwap's `md5plain`: the hex MD5 of the password, unsalted.
fn md5_plain(encoded: &str) -> Result<ImportedHash, BadHash> {
    let hash = HEXLOWER_PERMISSIVE
        .decode(encoded.as_bytes())
        .map_err(|_| BadHash::Hash)?;
    md5_digest(Order::SaltAndPassword, Vec::new(), hash)
}

/// One MD5 of salt and password in `order`.
fn md5_digest(order: Order, salt: Vec<u8>, hash: Vec<u8>) -> Result<ImportedHash, BadHash> {
    if hash.len() != Digest::Md5.output_len() {
        return Err(BadHash::Hash);
    }
    let scheme = Scheme::Sha {
        digest: Digest::Md5,
        rounds: 1,
        order,
    };
    ImportedHash::new(scheme, salt, hash)
}

/// RFC 2307's `{SCHEME}base64(digest‖salt)`, as OpenLDAP's `userPassword` keeps it (passwap's
/// `ssha`): one digest of password‖salt for `{SSHA}`, `{SSHA256}`, `{SSHA384}` and
/// `{SSHA512}`, of the password alone for `{SHA}`, `{SHA256}`, `{SHA384}` and `{SHA512}`.
fn rfc2307(encoded: &str) -> Result<ImportedHash, BadHash> {
    let (name, rest) = encoded[1..].split_once('}').ok_or(BadHash::Hash)?;
    let (salted, digest) = match name.strip_prefix('S') {
        Some(base @ ("SHA" | "SHA256" | "SHA384" | "SHA512")) => (true, base),
        _ => (false, name),
    };
    let digest = match digest {
        "SHA" => Digest::Sha1,
        "SHA256" => Digest::Sha256,
        "SHA384" => Digest::Sha384,
        "SHA512" => Digest::Sha512,
        _ => return Err(BadHash::Hash),
    };
    let decoded = BASE64.decode(rest.as_bytes()).map_err(|_| BadHash::Hash)?;
    if decoded.len() < digest.output_len() || (!salted && decoded.len() != digest.output_len()) {
        return Err(BadHash::Hash);
    }
    let (hash, salt) = decoded.split_at(digest.output_len());
    let scheme = Scheme::Sha {
        digest,
        rounds: 1,
        order: Order::PasswordAndSalt,
    };
    ImportedHash::new(scheme, salt.to_vec(), hash.to_vec())
}

/// passlib's `$pbkdf2[-sha256|-sha512]$rounds$salt$hash`, in its base64 with `.` for `+`, and passwap's
/// same form with `-sha224` and `-sha384`.
fn passlib_pbkdf2(encoded: &str) -> Result<ImportedHash, BadHash> {
    let [id, rounds, salt, hash] = fields(encoded)?;
    let rounds = rounds
        .parse::<u32>()
        .ok()
        .filter(|r| (1..=MAX_PBKDF2_ROUNDS).contains(r))
        .ok_or(BadHash::Hash)?;
    let scheme = match id {
        "pbkdf2" => Scheme::PbkdfSha1 { rounds },
        "pbkdf2-sha224" => Scheme::Pbkdf2Sha224 { rounds },
        "pbkdf2-sha256" => Scheme::Pbkdf2Sha256 { rounds },
        "pbkdf2-sha384" => Scheme::Pbkdf2Sha384 { rounds },
        "pbkdf2-sha512" => Scheme::Pbkdf2Sha512 { rounds },
        _ => return Err(BadHash::Hash),
    };
    let adapted = |text: &str| base64_bytes(&text.replace('.', "+")).ok_or(BadHash::Hash);
    ImportedHash::new(scheme, adapted(salt)?, adapted(hash)?)
}

/// passwap's Firebase scrypt string,
/// `$firebasescrypt$ln=<memoryCost>,r=<rounds>$<salt>$<hash>$<saltSeparator>$<signerKey>`,
/// base64 standard or URL-safe, as Firebase's exports and Admin SDKs write it.
fn firebase_scrypt(encoded: &str) -> Result<ImportedHash, BadHash> {
    let [_, params, salt, hash, separator, key] = fields(encoded)?;
    let (memory_cost, rounds) = params
        .strip_prefix("ln=")
        .and_then(|rest| rest.split_once(",r="))
        .ok_or(BadHash::Hash)?;
    let memory_cost = memory_cost
        .parse::<u8>()
        .ok()
        .filter(|m| (1..=MAX_FIREBASE_SCRYPT_MEMORY_COST).contains(m))
        .ok_or(BadHash::Hash)?;
    let rounds = rounds
        .parse::<u32>()
        .ok()
        .filter(|r| (1..=MAX_FIREBASE_SCRYPT_ROUNDS).contains(r))
        .ok_or(BadHash::Hash)?;
    let decoded = |text: &str| base64_bytes(text).ok_or(BadHash::Hash);
    let scheme = Scheme::FirebaseScrypt {
        key: decoded(key)?,
        separator: decoded(separator)?,
        rounds,
        memory_cost,
    };
    ImportedHash::new(scheme, decoded(salt)?, decoded(hash)?)
}

/// The PHC string `$scrypt$ln=…,r=…,p=…$salt$hash`, within the memory bound.
fn phc_scrypt(encoded: &str) -> Result<ImportedHash, BadHash> {
    let [_, params, salt, hash] = fields(encoded)?;
    let (mut log_n, mut block_size, mut parallelization) = (None, None, None);
    for param in params.split(',') {
        match param.split_once('=').ok_or(BadHash::Hash)? {
            ("ln", v) => log_n = v.parse::<u8>().ok(),
            ("r", v) => block_size = v.parse::<u32>().ok(),
            ("p", v) => parallelization = v.parse::<u32>().ok(),
            _ => return Err(BadHash::Hash),
        }
    }
    let (Some(log_n), Some(block_size), Some(parallelization)) =
        (log_n, block_size, parallelization)
    else {
        return Err(BadHash::Hash);
    };
    if !scrypt_memory_fits(log_n, block_size, parallelization) || parallelization > MAX_PARALLELISM
    {
        return Err(BadHash::Hash);
    }
    let hash = base64_bytes(hash).ok_or(BadHash::Hash)?;
    let scheme = Scheme::StandardScrypt {
        log_n,
        block_size,
        parallelization,
        dk_len: u32::try_from(hash.len()).map_err(|_| BadHash::Hash)?,
    };
    ImportedHash::new(scheme, base64_bytes(salt).ok_or(BadHash::Hash)?, hash)
}

/// An Argon2 PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`), within the bounds.
fn phc_argon2(encoded: &str) -> Result<ImportedHash, BadHash> {
    let parsed = argon2::PasswordHash::new(encoded).map_err(|_| BadHash::Hash)?;
    let variant = match parsed.algorithm.as_str() {
        "argon2d" => Argon2Variant::Argon2d,
        "argon2i" => Argon2Variant::Argon2i,
        "argon2id" => Argon2Variant::Argon2id,
        _ => return Err(BadHash::Hash),
    };
    let params = argon2::Params::try_from(&parsed).map_err(|_| BadHash::Hash)?;
    let (Some(salt), Some(hash)) = (parsed.salt, parsed.hash) else {
        return Err(BadHash::Hash);
    };
    if u64::from(params.m_cost()) * 1024 > MAX_MEMORY_BYTES
        || params.t_cost() > MAX_ARGON2_ITERATIONS
        || params.p_cost() > MAX_PARALLELISM
    {
        return Err(BadHash::Hash);
    }
    let scheme = Scheme::Argon2 {
        variant,
        // A PHC string without `v=` is of the first version.
        version: parsed.version.unwrap_or(0x10),
        iterations: params.t_cost(),
        memory_kib: params.m_cost(),
        parallelism: params.p_cost(),
        hash_len: u32::try_from(hash.len()).map_err(|_| BadHash::Hash)?,
        associated_data: params.data().to_vec(),
    };
    ImportedHash::new(scheme, salt.as_ref().to_vec(), hash.as_bytes().to_vec())
}

/// The `N` `$`-separated fields of `$id$a$b…`, no more and no fewer.
fn fields<const N: usize>(encoded: &str) -> Result<[&str; N], BadHash> {
    let mut fields = encoded.strip_prefix('$').ok_or(BadHash::Hash)?.split('$');
    let taken = [(); N].map(|()| fields.next());
    if fields.next().is_some() || taken.iter().any(Option::is_none) {
        return Err(BadHash::Hash);
    }
    Ok(taken.map(Option::unwrap_or_default))
}
