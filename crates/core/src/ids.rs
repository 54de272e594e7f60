//! Identifiers. A user id is a decimal string of up to 18 digits, so that it is at once a
//! valid ZITADEL user id (a snowflake-like decimal) and a Firebase `localId` (any string of
//! at most 128 characters).

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserId(String);

/// The rule for every id a caller may name: non-empty, at most 128 bytes, and no NUL, which
/// PostgreSQL cannot store in text. With the rule here, an id holding NUL is simply unknown on
/// both engines instead of a database error on one.
pub(crate) fn is_caller_id(raw: &str) -> bool {
    !raw.is_empty() && raw.len() <= 128 && !raw.contains('\0')
}

impl UserId {
    /// Ids chosen by a caller (Identity Toolkit admin `localId`) may be any non-empty string of
    /// at most 128 characters, as Firebase allows.
    pub fn parse(raw: &str) -> Option<Self> {
        is_caller_id(raw).then(|| Self(raw.to_owned()))
    }

    /// A fresh id of 18 decimal digits from 8 random bytes (the first digit never zero).
    pub fn from_random(bytes: [u8; 8]) -> Self {
        let n = u64::from_le_bytes(bytes) % 900_000_000_000_000_000 + 100_000_000_000_000_000;
        Self(n.to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Internal id of a realm row; never shown on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RealmId(pub String);

#[cfg(test)]
mod tests {
    use super::UserId;

    #[test]
    fn random_ids_have_eighteen_digits() {
        for bytes in [[0u8; 8], [0xff; 8], [7, 1, 2, 3, 4, 5, 6, 9]] {
            let id = UserId::from_random(bytes);
            assert_eq!(id.as_str().len(), 18);
            assert!(id.as_str().bytes().all(|b| b.is_ascii_digit()));
        }
    }
}
