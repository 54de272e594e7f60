//! Login sessions (ZITADEL's session service v2): a login UI creates a session, then proves
//! the user's factors one check at a time. The session records when each factor was checked;
//! one-time codes sent for OTP SMS / OTP Email challenges wait in it, as a keyed hash.
//!
//! Every change is written with the sequence it was read at, so two requests racing on one
//! session (say, the same code twice) cannot both apply.

use time::{Duration, OffsetDateTime};

use crate::{RealmId, UserId};

/// ZITADEL's OTP SMS / OTP Email codes: 8 digits, valid for 5 minutes.
pub const SESSION_OTP_DIGITS: usize = 8;
pub const SESSION_OTP_LIFETIME: Duration = Duration::minutes(5);
pub const SESSION_OTP_ATTEMPTS: i64 = 5;

/// A code sent for an OTP SMS or OTP Email challenge.
#[derive(Debug, Clone, PartialEq)]
pub struct OtpChallenge {
    pub code_hash: Vec<u8>,
    pub expires_at: OffsetDateTime,
    pub attempts_left: i64,
}

/// When each factor of the session was checked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CheckedFactors {
    pub user: Option<OffsetDateTime>,
    pub password: Option<OffsetDateTime>,
    pub totp: Option<OffsetDateTime>,
    pub otp_sms: Option<OffsetDateTime>,
    pub otp_email: Option<OffsetDateTime>,
    pub webauthn: Option<OffsetDateTime>,
    /// The security key verified its user (PIN or biometrics), not only their presence.
    pub webauthn_user_verified: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LoginSession {
    pub id: String,
    pub realm: RealmId,
    pub user: Option<UserId>,
    /// SHA-256 of the current session token.
    pub token_hash: Vec<u8>,
    pub checked: CheckedFactors,
    pub otp_sms: Option<OtpChallenge>,
    pub otp_email: Option<OtpChallenge>,
    /// A pending WebAuthn authentication (the WebAuthn library's state, as JSON).
    pub webauthn: Option<String>,
    /// A JSON object of base64 values (ZITADEL's `map<string, bytes>`).
    pub metadata: String,
    pub created_at: OffsetDateTime,
    pub changed_at: OffsetDateTime,
    pub expires_at: Option<OffsetDateTime>,
    /// Bumped by every change.
    pub sequence: i64,
}

impl LoginSession {
    pub fn expired(&self, now: OffsetDateTime) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}
