//! Outstanding proofs: one-time codes sent to a phone (enrolment or sign-in), TOTP
//! enrolment sessions, and pending sign-ins (first factor passed, second outstanding).
//!
//! Clients hold a random bearer secret (`sessionInfo`, `mfaPendingCredential`); the store
//! holds only its SHA-256, and a code only as SHA-256(secret ‖ code), so a copy of the
//! database reveals neither. Single use and the attempt limit are enforced by conditional
//! updates in the store, so two nodes racing on one code cannot both win.

use time::{Duration, OffsetDateTime};

use crate::{FactorId, PhoneNumber, RealmId, UserId};

pub const SMS_CODE_LIFETIME: Duration = Duration::minutes(5);
pub const SMS_CODE_ATTEMPTS: i64 = 5;
pub const SMS_CODE_DIGITS: usize = 6;
/// How long a TOTP enrolment may take between `start` and `finalize`.
pub const TOTP_ENROLMENT_WINDOW: Duration = Duration::minutes(10);
pub const PENDING_SIGN_IN_LIFETIME: Duration = Duration::minutes(10);
pub const PENDING_SIGN_IN_ATTEMPTS: i64 = 5;
/// How long an expired code or pending sign-in is kept before the sweep deletes it: using
/// it meanwhile answers "expired" rather than "unknown", which tells a user what happened.
pub const EXPIRED_RETENTION: Duration = Duration::days(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Enrol,
    /// A second factor's code, for a pending sign-in.
    SignIn,
    /// A code that signs in (or up) with a phone number as the first factor.
    FirstFactor,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Enrol => "enrol",
            Purpose::SignIn => "sign_in",
            Purpose::FirstFactor => "first_factor",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "enrol" => Some(Purpose::Enrol),
            "sign_in" => Some(Purpose::SignIn),
            "first_factor" => Some(Purpose::FirstFactor),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Challenge {
    /// SHA-256 of the client's `sessionInfo`.
    pub id: Vec<u8>,
    pub realm: RealmId,
    /// The user the code is for; `None` for a first-factor code sent to a number that no
    /// account had (whoever uses it first signs that account up).
    pub user: Option<UserId>,
    /// The factor being enrolled (TOTP) or used (sign-in).
    pub factor: Option<FactorId>,
    pub purpose: Purpose,
    /// The phone a code went to (phone enrolment: the factor-to-be's number).
    pub destination: Option<PhoneNumber>,
    /// SHA-256(sessionInfo ‖ code); empty for TOTP enrolment sessions.
    pub code_hash: Vec<u8>,
    /// For sign-in challenges: the pending sign-in they belong to.
    pub pending: Option<Vec<u8>>,
    pub expires_at: OffsetDateTime,
    pub attempts_left: i64,
    pub consumed: bool,
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PendingSignIn {
    /// SHA-256 of the client's `mfaPendingCredential`.
    pub id: Vec<u8>,
    pub realm: RealmId,
    pub user: UserId,
    /// The first factor's provider id (`password`, …), for the tokens minted at the end.
    pub first_factor: String,
    pub expires_at: OffsetDateTime,
    /// Wrong TOTP codes left before the pending sign-in dies.
    pub attempts_left: i64,
    pub consumed: bool,
    pub created_at: OffsetDateTime,
}
