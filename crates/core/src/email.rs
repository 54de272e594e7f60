//! Email addresses, parsed once at the edge. Stored and compared in lower case, because
//! both Firebase Auth and ZITADEL treat addresses case-insensitively for lookup.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(raw: &str) -> Option<Self> {
        let trimmed = raw.trim();
        if trimmed.len() > 254 || !email_address::EmailAddress::is_valid(trimmed) {
            return None;
        }
        Some(Self(trimmed.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::EmailAddress;

    #[test]
    fn accepts_and_normalises() {
        let e = EmailAddress::parse(" Alice@Example.COM ").map(|e| e.as_str().to_owned());
        assert_eq!(e.as_deref(), Some("alice@example.com"));
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["", "alice", "alice@", "@example.com", "a b@example.com"] {
            assert!(EmailAddress::parse(bad).is_none(), "{bad}");
        }
    }
}
