//! Small, sharp cryptographic helpers: the master key that seals secrets at rest, hashing of
//! bearer secrets before they touch the store, and randomness for ids and tokens.
//!
//! Sealing uses AES-256-GCM with a random 96-bit nonce per message and the master key's id
//! plus a purpose label as associated data, so a sealed value cannot be moved to another
//! column or decrypted under another key id without detection.
//!
//! A node holds a `Keyring`: one primary key that seals, and older keys that still open what
//! was sealed before a rotation. Every sealed record names its key, so opening picks the
//! right one; codes stored as MACs name no key, so they are checked against every key.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::{digest, hmac};
use data_encoding::BASE64URL_NOPAD;
use tessera_core::factor::Sealed;
use time::OffsetDateTime;

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("sealed value is corrupt or was sealed under another key")]
    Unseal,
    #[error("the system random generator failed")]
    Random,
    #[error("master key material is malformed: {0}")]
    MasterKey(&'static str),
    #[error("sealed under master key {0}, which the key file does not hold")]
    UnknownKey(String),
    #[error("the key file names master key {0} twice")]
    DuplicateKey(String),
}

/// The key that seals every secret at rest. Named by an id so that keys can rotate: each
/// sealed value records the id of the key it was sealed under.
pub struct MasterKey {
    id: String,
    key: LessSafeKey,
    /// For codes stored without a client secret to bind them (see `mac`).
    mac_key: hmac::Key,
}

impl MasterKey {
    pub fn new(id: impl Into<String>, bytes: &[u8]) -> Result<Self, CryptoError> {
        let unbound = UnboundKey::new(&AES_256_GCM, bytes)
            .map_err(|_| CryptoError::MasterKey("need 32 bytes"))?;
        let derived = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, bytes), b"tessera:mac");
        Ok(Self {
            id: id.into(),
            key: LessSafeKey::new(unbound),
            mac_key: hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref()),
        })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// HMAC-SHA256 of a short code under a key derived from the master key: a database dump
    /// alone cannot brute-force codes stored this way.
    pub fn mac(&self, purpose: &str, data: &str) -> Vec<u8> {
        hmac::sign(&self.mac_key, format!("{purpose}:{data}").as_bytes())
            .as_ref()
            .to_vec()
    }

    /// `nonce || ciphertext || tag`.
    pub fn seal(&self, purpose: &str, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let nonce_bytes: [u8; NONCE_LEN] = random_array()?;
        let mut buffer = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce_bytes),
                self.aad(purpose),
                &mut buffer,
            )
            .map_err(|_| CryptoError::Random)?;
        let mut sealed = nonce_bytes.to_vec();
        sealed.extend_from_slice(&buffer);
        Ok(sealed)
    }

    pub fn open(&self, purpose: &str, sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if sealed.len() < NONCE_LEN {
            return Err(CryptoError::Unseal);
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError::Unseal)?;
        let mut buffer = body.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, self.aad(purpose), &mut buffer)
            .map_err(|_| CryptoError::Unseal)?;
        Ok(plain.to_vec())
    }

    fn aad(&self, purpose: &str) -> Aad<Vec<u8>> {
        Aad::from(format!("tessera/{}/{purpose}", self.id).into_bytes())
    }
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MasterKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Every master key a node knows. The primary seals and MACs; all of them open and check, so
/// records sealed before a rotation stay readable until `tessera keys rotate` re-seals them
/// and the old key is retired.
pub struct Keyring {
    primary: MasterKey,
    older: Vec<MasterKey>,
}

impl Keyring {
    pub fn new(primary: MasterKey, older: Vec<MasterKey>) -> Result<Self, CryptoError> {
        let mut seen = std::collections::HashSet::new();
        for key in std::iter::once(&primary).chain(&older) {
            if !seen.insert(key.id()) {
                return Err(CryptoError::DuplicateKey(key.id().to_owned()));
            }
        }
        Ok(Self { primary, older })
    }

    /// The id of the primary key, the one new records are sealed under.
    pub fn id(&self) -> &str {
        self.primary.id()
    }

    /// Every key id, the primary first.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        std::iter::once(&self.primary)
            .chain(&self.older)
            .map(MasterKey::id)
    }

    pub fn get(&self, id: &str) -> Option<&MasterKey> {
        std::iter::once(&self.primary)
            .chain(&self.older)
            .find(|k| k.id() == id)
    }

    /// Seals under the primary key.
    pub fn seal(&self, purpose: &str, plaintext: &[u8]) -> Result<Sealed, CryptoError> {
        Ok(Sealed {
            master_key_id: self.primary.id().to_owned(),
            bytes: self.primary.seal(purpose, plaintext)?,
        })
    }

    /// Opens a value sealed under the key `key_id`, whichever of ours that is.
    pub fn open(&self, key_id: &str, purpose: &str, sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.get(key_id)
            .ok_or_else(|| CryptoError::UnknownKey(key_id.to_owned()))?
            .open(purpose, sealed)
    }

    /// A MAC under the primary key (see `MasterKey::mac`).
    pub fn mac(&self, purpose: &str, data: &str) -> Vec<u8> {
        self.primary.mac(purpose, data)
    }

    /// The MACs of `data` under each of our keys, the primary first: what a long-lived MAC
    /// (a recovery code) may be stored as, whichever key was primary when it was made.
    pub fn macs(&self, purpose: &str, data: &str) -> Vec<Vec<u8>> {
        std::iter::once(&self.primary)
            .chain(&self.older)
            .map(|key| key.mac(purpose, data))
            .collect()
    }

    /// Whether `expected` is the MAC of `data` under any of our keys: a code issued just
    /// before a rotation still verifies. Every key is tried, so the time taken does not
    /// depend on which one matched.
    pub fn mac_matches(&self, purpose: &str, data: &str, expected: &[u8]) -> bool {
        std::iter::once(&self.primary)
            .chain(&self.older)
            .fold(false, |found, key| {
                same_digest(&key.mac(purpose, data), expected) | found
            })
    }
}

impl From<MasterKey> for Keyring {
    fn from(primary: MasterKey) -> Self {
        Self {
            primary,
            older: Vec::new(),
        }
    }
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("ids", &self.ids().collect::<Vec<_>>())
            .finish()
    }
}

/// SHA-256, the form in which refresh tokens, API keys and admin tokens are stored. These
/// are 256-bit random values, so a fast hash is enough: there is nothing to brute-force.
pub fn sha256(data: &[u8]) -> Vec<u8> {
    digest::digest(&digest::SHA256, data).as_ref().to_vec()
}

pub fn random_array<const N: usize>() -> Result<[u8; N], CryptoError> {
    let mut bytes = [0u8; N];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| CryptoError::Random)?;
    Ok(bytes)
}

/// A bearer secret: 256 random bits, base64url without padding (43 characters).
pub fn random_token() -> Result<String, CryptoError> {
    Ok(BASE64URL_NOPAD.encode(&random_array::<32>()?))
}

/// A bearer secret that names a row (a code's `sessionInfo`, a pending sign-in's
/// `mfaPendingCredential`, a refresh token): the moment it was issued (Unix milliseconds, 8
/// bytes big endian) and 256 random bits, base64url without padding (54 characters). The
/// moment leads the key the row is stored under (`session_key`), for the reason
/// `time_ordered_id` gives.
pub fn session_token(at: OffsetDateTime) -> Result<String, CryptoError> {
    let millis = u64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or_default();
    let mut bytes = [0u8; SESSION_TOKEN_LEN];
    bytes[..8].copy_from_slice(&millis.to_be_bytes());
    bytes[8..].copy_from_slice(&random_array::<32>()?);
    Ok(BASE64URL_NOPAD.encode(&bytes))
}

const SESSION_TOKEN_LEN: usize = 40;

/// The key of the row named by a `session_token`: the moment the token carries, then the
/// token's SHA-256 (the store never sees the token itself). Tokens of any other shape, such
/// as the bare 256 random bits issued before the moment led them, are keyed by the hash alone.
pub fn session_key(token: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(8 + 32);
    if let Ok(bytes) = BASE64URL_NOPAD.decode(token.as_bytes())
        && bytes.len() == SESSION_TOKEN_LEN
    {
        key.extend_from_slice(&bytes[..8]);
    }
    key.extend_from_slice(digest::digest(&digest::SHA256, token.as_bytes()).as_ref());
    key
}

/// A row id that sorts by creation time: a UUIDv7 of `at` and 74 random bits. Rows inserted
/// together then share the last leaf of their primary key's index, where random ids would
/// each dirty a leaf of their own in the commit that inserts them.
pub fn time_ordered_id(at: OffsetDateTime) -> Result<String, CryptoError> {
    let millis = u64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or_default();
    let uuid = uuid::Builder::from_unix_timestamp_millis(millis, &random_array()?).into_uuid();
    Ok(uuid.to_string())
}

/// `n` uniformly random decimal digits.
pub fn random_digits(n: usize) -> Result<String, CryptoError> {
    random_chars(n, b"0123456789")
}

/// `n` characters drawn uniformly from `alphabet` (rejection sampling, so none is favoured).
pub fn random_chars(n: usize, alphabet: &[u8]) -> Result<String, CryptoError> {
    let size = alphabet.len() as u32;
    let limit = u32::MAX - u32::MAX % size;
    let mut out = String::with_capacity(n);
    while out.len() < n {
        let value = u32::from_le_bytes(random_array()?);
        if value < limit {
            out.push(char::from(alphabet[(value % size) as usize]));
        }
    }
    Ok(out)
}

/// The stored form of a one-time code: SHA-256(session secret ‖ ":" ‖ code). Without the
/// session secret, which the store never sees, a leaked hash cannot be brute-forced.
pub fn code_hash(session_secret: &str, code: &str) -> Vec<u8> {
    sha256(format!("{session_secret}:{code}").as_bytes())
}

/// Constant-time equality of two digests.
pub fn same_digest(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_tokens_key_their_rows_by_time_then_hash() -> Result<(), CryptoError> {
        let at = time::macros::datetime!(2026-12-04 14:00:00.250 UTC);
        let token = session_token(at)?;
        assert_eq!(token.len(), 54);
        let key = session_key(&token);
        assert_eq!(key[..8], 1_796_392_800_250u64.to_be_bytes());
        assert_eq!(key[8..], sha256(token.as_bytes())[..]);
        let later = session_key(&session_token(at + time::Duration::milliseconds(1))?);
        assert!(later > key);
        // The tokens issued before: 256 random bits, keyed by their hash alone.
        let old = random_token()?;
        assert_eq!(session_key(&old), sha256(old.as_bytes()));
        assert_eq!(session_key("not base64!"), sha256(b"not base64!"));
        Ok(())
    }

    #[test]
    fn time_ordered_ids_sort_by_time_and_are_uuid_v7() -> Result<(), CryptoError> {
        let at = time::macros::datetime!(2026-12-02 23:00:00.123 UTC);
        let id = time_ordered_id(at)?;
        // RFC 9562: 48 bits of Unix milliseconds (1,796,252,400,123 = 0x01a238fc79fb), then
        // the version nibble 7.
        assert_eq!(&id[..13], "01a238fc-79fb");
        assert_eq!(&id[14..15], "7");
        assert_eq!(id.len(), 36);
        let mut ids = Vec::new();
        for step in 0..200 {
            ids.push(time_ordered_id(at + time::Duration::milliseconds(step))?);
        }
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
        assert_ne!(time_ordered_id(at)?, id);
        Ok(())
    }

    #[test]
    fn seal_round_trips_and_binds_purpose() -> Result<(), CryptoError> {
        let key = MasterKey::new("k1", &[7u8; 32])?;
        let sealed = key.seal("signing-key", b"secret")?;
        assert_eq!(key.open("signing-key", &sealed)?, b"secret");
        assert!(key.open("totp", &sealed).is_err());
        let other = MasterKey::new("k2", &[7u8; 32])?;
        assert!(other.open("signing-key", &sealed).is_err());
        Ok(())
    }

    #[test]
    fn keyring_seals_under_the_primary_and_opens_under_any() -> Result<(), CryptoError> {
        let old = Keyring::from(MasterKey::new("k1", &[1u8; 32])?);
        let before = old.seal("totp-secret", b"secret")?;
        let mac = old.mac("code", "123456");
        let ring = Keyring::new(
            MasterKey::new("k2", &[2u8; 32])?,
            vec![MasterKey::new("k1", &[1u8; 32])?],
        )?;
        assert_eq!(before.master_key_id, "k1");
        assert_eq!(
            ring.open(&before.master_key_id, "totp-secret", &before.bytes)?,
            b"secret"
        );
        let after = ring.seal("totp-secret", b"secret")?;
        assert_eq!(after.master_key_id, "k2");
        assert!(
            old.open(&after.master_key_id, "totp-secret", &after.bytes)
                .is_err()
        );
        assert!(ring.mac_matches("code", "123456", &mac));
        assert!(!ring.mac_matches("code", "654321", &mac));
        assert!(matches!(
            Keyring::new(
                MasterKey::new("k1", &[1u8; 32])?,
                vec![MasterKey::new("k1", &[2u8; 32])?]
            ),
            Err(CryptoError::DuplicateKey(_))
        ));
        Ok(())
    }

    #[test]
    fn random_digits_are_digits() -> Result<(), CryptoError> {
        let code = random_digits(6)?;
        assert_eq!(code.len(), 6);
        assert!(code.bytes().all(|b| b.is_ascii_digit()));
        Ok(())
    }
}
