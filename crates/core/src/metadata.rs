//! Metadata (ZITADEL's): key–value pairs an application keeps on a user or an organization,
//! whose values Tessera stores as given and never reads. They go with their owner.

use time::OffsetDateTime;

use crate::{DomainError, RealmId, UserId};

/// Whose metadata: a user's, or an organization's (its realm's own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetadataOwner<'a> {
    User(&'a RealmId, &'a UserId),
    Org(&'a RealmId),
}

/// ZITADEL's request validation: keys of 1 to 200 characters, values of 1 to 500,000 bytes.
pub const MAX_KEY_CHARS: usize = 200;
pub const MAX_VALUE_BYTES: usize = 500_000;

#[derive(Debug, Clone, PartialEq)]
pub struct Metadata {
    pub key: String,
    pub value: Vec<u8>,
    pub created_at: OffsetDateTime,
    /// The last time the value changed; setting the same value again changes nothing.
    pub changed_at: OffsetDateTime,
}

/// Entries to set: at least one, each with a key and a value of the allowed sizes.
pub fn check_entries(entries: &[(String, Vec<u8>)]) -> Result<(), DomainError> {
    if entries.is_empty() {
        return Err(DomainError::NoMetadata);
    }
    let valid = |(key, value): &(String, Vec<u8>)| {
        (1..=MAX_KEY_CHARS).contains(&key.chars().count())
            && (1..=MAX_VALUE_BYTES).contains(&value.len())
    };
    if entries.iter().all(valid) {
        Ok(())
    } else {
        Err(DomainError::MetadataInvalid)
    }
}

/// Keys to remove: at least one, none empty.
pub fn check_keys(keys: &[String]) -> Result<(), DomainError> {
    if keys.is_empty() {
        Err(DomainError::NoMetadata)
    } else if keys.iter().any(String::is_empty) {
        Err(DomainError::MetadataKeyMissing)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str, len: usize) -> (String, Vec<u8>) {
        (key.to_owned(), vec![7; len])
    }

    #[test]
    fn entries_are_checked_as_zitadel_does() {
        assert_eq!(check_entries(&[]), Err(DomainError::NoMetadata));
        assert_eq!(check_entries(&[entry("k", 1)]), Ok(()));
        let longest = "é".repeat(MAX_KEY_CHARS);
        assert_eq!(check_entries(&[entry(&longest, MAX_VALUE_BYTES)]), Ok(()));
        for bad in [
            entry("", 1),
            entry("k", 0),
            entry(&"k".repeat(MAX_KEY_CHARS + 1), 1),
            entry("k", MAX_VALUE_BYTES + 1),
        ] {
            assert_eq!(
                check_entries(&[entry("ok", 1), bad]),
                Err(DomainError::MetadataInvalid)
            );
        }
    }

    #[test]
    fn keys_are_checked() {
        assert_eq!(check_keys(&[]), Err(DomainError::NoMetadata));
        assert_eq!(check_keys(&["a".into()]), Ok(()));
        assert_eq!(
            check_keys(&["a".into(), String::new()]),
            Err(DomainError::MetadataKeyMissing)
        );
    }
}
