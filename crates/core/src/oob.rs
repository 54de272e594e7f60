//! Out-of-band codes: the codes of the links Identity Toolkit emails (`accounts:sendOobCode`)
//! to verify a user's address, to change it to a new one, to reset a password, or to sign in
//! by email. A code is used once, within its lifetime; a new one of the same purpose replaces
//! the user's earlier one (a sign-in link, the address's: it may have no user yet); the store
//! keys it by its hash and keeps the code itself only sealed.

use time::{Duration, OffsetDateTime};

use crate::factor::Sealed;
use crate::{EmailAddress, FactorId, RealmId, UserId};

/// How long a link works.
pub const OOB_CODE_LIFETIME: Duration = Duration::hours(1);

/// What a code is for: Identity Toolkit's `requestType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OobRequest {
    VerifyEmail,
    PasswordReset,
    VerifyAndChangeEmail,
    EmailSignIn,
    /// Changes the user's address back to the one it was changed from (`RECOVER_EMAIL`):
    /// issued with an end user's change of address, not asked for.
    RecoverEmail,
    /// Removes a second factor just enrolled and ends the user's sessions
    /// (`REVERT_SECOND_FACTOR_ADDITION`): sent to the user's address with each enrolment, in
    /// case it was not its owner who enrolled it; not asked for.
    RevertSecondFactorAddition,
}

impl OobRequest {
    pub const ALL: [OobRequest; 6] = [
        OobRequest::VerifyEmail,
        OobRequest::PasswordReset,
        OobRequest::VerifyAndChangeEmail,
        OobRequest::EmailSignIn,
        OobRequest::RecoverEmail,
        OobRequest::RevertSecondFactorAddition,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OobRequest::VerifyEmail => "VERIFY_EMAIL",
            OobRequest::PasswordReset => "PASSWORD_RESET",
            OobRequest::VerifyAndChangeEmail => "VERIFY_AND_CHANGE_EMAIL",
            OobRequest::EmailSignIn => "EMAIL_SIGNIN",
            OobRequest::RecoverEmail => "RECOVER_EMAIL",
            OobRequest::RevertSecondFactorAddition => "REVERT_SECOND_FACTOR_ADDITION",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        OobRequest::ALL.into_iter().find(|r| r.as_str() == raw)
    }

    /// The link's `mode`, as Firebase's action handlers read it.
    pub fn mode(self) -> &'static str {
        match self {
            OobRequest::VerifyEmail => "verifyEmail",
            OobRequest::PasswordReset => "resetPassword",
            OobRequest::VerifyAndChangeEmail => "verifyAndChangeEmail",
            OobRequest::EmailSignIn => "signIn",
            OobRequest::RecoverEmail => "recoverEmail",
            OobRequest::RevertSecondFactorAddition => "revertSecondFactorAddition",
        }
    }
}

/// An issued code as the store keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct OobCode {
    /// The code's key (its hash); the code itself is not stored in the clear.
    pub key: Vec<u8>,
    pub realm: RealmId,
    /// The user the code is for; none for a sign-in link, which is for `email`, whoever has it
    /// when it is used (or nobody yet: the sign-in creates the user).
    pub user: Option<UserId>,
    pub request: OobRequest,
    /// The user's address when the code was issued; a sign-in link's address; the address a
    /// recovery link changes back to (and was sent to).
    pub email: EmailAddress,
    /// The address a `VerifyAndChangeEmail` code changes to (and was sent to); the address a
    /// recovery link's user was changed to.
    pub new_email: Option<EmailAddress>,
    /// The factor a `RevertSecondFactorAddition` code removes.
    pub factor: Option<FactorId>,
    pub expires_at: OffsetDateTime,
    /// The code and its link, sealed, for the dev outbox's `oobCodes`.
    pub sealed: Sealed,
}
