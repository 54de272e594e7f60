//! Verification of a user's contact data (ZITADEL's `SetEmail` / `SetPhone` with a code, and
//! its invitations): the address or number waiting for proof, and the hash of the code that
//! proves it.

use time::{Duration, OffsetDateTime};

use crate::{RealmId, UserId};

/// ZITADEL's email and phone verification codes: 6 characters, valid for an hour.
pub const CONTACT_CODE_LIFETIME: Duration = Duration::hours(1);
pub const CONTACT_CODE_LEN: usize = 6;
pub const CONTACT_CODE_ATTEMPTS: i64 = 5;
/// ZITADEL's invite codes: valid for three days, and void after three wrong tries.
pub const INVITE_CODE_LIFETIME: Duration = Duration::hours(72);
pub const INVITE_CODE_ATTEMPTS: i64 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactKind {
    Email,
    Phone,
    /// An invitation (ZITADEL's invite code): it proves the email address it went to, and lets
    /// a user without any way to sign in choose one.
    Invite,
}

impl ContactKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ContactKind::Email => "email",
            ContactKind::Phone => "phone",
            ContactKind::Invite => "invite",
        }
    }

    /// How long a code of this kind is valid.
    pub fn lifetime(self) -> Duration {
        match self {
            ContactKind::Email | ContactKind::Phone => CONTACT_CODE_LIFETIME,
            ContactKind::Invite => INVITE_CODE_LIFETIME,
        }
    }

    /// How many tries a code of this kind allows.
    pub fn attempts(self) -> i64 {
        match self {
            ContactKind::Email | ContactKind::Phone => CONTACT_CODE_ATTEMPTS,
            ContactKind::Invite => INVITE_CODE_ATTEMPTS,
        }
    }
}

/// How an invitation was mailed, for a resend to mail it the same way (ZITADEL's
/// `ResendInviteCode` keeps the link template and application name of the invitation).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InviteMail {
    /// The caller's `url_template`; the server's invitation page when none.
    pub link_template: Option<String>,
    /// The application the mail names; the realm's name when none.
    pub app_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ContactCode {
    pub realm: RealmId,
    pub user: UserId,
    pub kind: ContactKind,
    /// The email address or E.164 number being verified (an invitation's: the address it
    /// went to).
    pub value: String,
    pub code_hash: Vec<u8>,
    pub expires_at: OffsetDateTime,
    pub attempts_left: i64,
    /// An invitation's mail; `None` for the other kinds, and for an invitation whose code was
    /// handed to the caller, which cannot be resent.
    pub invite_mail: Option<InviteMail>,
}
