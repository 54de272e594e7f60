//! Verification of a user's contact data (ZITADEL's `SetEmail` / `SetPhone` with a code):
//! the address or number waiting for proof, and the hash of the code that proves it.

use time::{Duration, OffsetDateTime};

use crate::{RealmId, UserId};

/// ZITADEL's email and phone verification codes: 6 characters, valid for an hour.
pub const CONTACT_CODE_LIFETIME: Duration = Duration::hours(1);
pub const CONTACT_CODE_LEN: usize = 6;
pub const CONTACT_CODE_ATTEMPTS: i64 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactKind {
    Email,
    Phone,
}

impl ContactKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ContactKind::Email => "email",
            ContactKind::Phone => "phone",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ContactCode {
    pub realm: RealmId,
    pub user: UserId,
    pub kind: ContactKind,
    /// The email address or E.164 number being verified.
    pub value: String,
    pub code_hash: Vec<u8>,
    pub expires_at: OffsetDateTime,
    pub attempts_left: i64,
}
