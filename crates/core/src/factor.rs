//! Second factors and their life cycle.
//!
//! ```text
//!   start (TOTP)                  finalize (code checked)         withdraw / admin replace
//!  ─────────────▶ NotReady ──────────────────────────▶ Ready ───────────────────────▶ Removed
//!                    │            (phone factors are created Ready at finalize:
//!                    ▼             until then the phone number lives in the challenge)
//!                 abandoned: never listed by Identity Toolkit; listed NOT_READY by ZITADEL
//!                 until a new TOTP start or registration, in either dialect, replaces it
//! ```
//!
//! A user has at most `MAX_READY_FACTORS` ready factors and one ready factor per phone number;
//! the store enforces both atomically so that two nodes cannot race past them.

use std::fmt;

use time::OffsetDateTime;

use crate::{EmailAddress, PhoneNumber, RealmId, UserId};

/// Identity Toolkit's limit (`SECOND_FACTOR_LIMIT_EXCEEDED`).
pub const MAX_READY_FACTORS: i64 = 5;

/// A factor's id: 18 decimal digits, valid as an Identity Toolkit `mfaEnrollmentId` and as
/// a ZITADEL factor id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FactorId(String);

impl FactorId {
    pub fn parse(raw: &str) -> Option<Self> {
        crate::ids::is_caller_id(raw).then(|| Self(raw.to_owned()))
    }

    pub fn from_random(bytes: [u8; 8]) -> Self {
        Self(UserId::from_random(bytes).as_str().to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FactorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A factor named whole. Its id is its user's own (as Firebase's `mfaEnrollmentId` is:
/// an administrator may give two users' factors one id), so the realm and user come with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FactorKey {
    pub realm: RealmId,
    pub user: UserId,
    pub id: FactorId,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactorKind {
    Totp,
    SmsOtp,
    EmailOtp,
    WebAuthn,
}

impl FactorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FactorKind::Totp => "totp",
            FactorKind::SmsOtp => "sms_otp",
            FactorKind::EmailOtp => "email_otp",
            FactorKind::WebAuthn => "webauthn",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [
            FactorKind::Totp,
            FactorKind::SmsOtp,
            FactorKind::EmailOtp,
            FactorKind::WebAuthn,
        ]
        .into_iter()
        .find(|k| k.as_str() == raw)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactorState {
    NotReady,
    Ready,
    Removed,
}

impl FactorState {
    pub fn as_str(self) -> &'static str {
        match self {
            FactorState::NotReady => "not_ready",
            FactorState::Ready => "ready",
            FactorState::Removed => "removed",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [
            FactorState::NotReady,
            FactorState::Ready,
            FactorState::Removed,
        ]
        .into_iter()
        .find(|s| s.as_str() == raw)
    }
}

/// A secret sealed under the master key `master_key_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub master_key_id: String,
    pub bytes: Vec<u8>,
}

/// What each kind of factor keeps.
#[derive(Debug, Clone, PartialEq)]
pub enum FactorData {
    Totp {
        secret: Sealed,
        spec: crate::totp::TotpSpec,
    },
    SmsOtp {
        phone: PhoneNumber,
    },
    EmailOtp {
        email: EmailAddress,
    },
    /// A security key: the WebAuthn library's state as JSON, kept opaque here — the pending
    /// registration ceremony until verified, then the credential (public key, sign counter).
    WebAuthn {
        credential: String,
    },
}

impl FactorData {
    pub fn kind(&self) -> FactorKind {
        match self {
            FactorData::Totp { .. } => FactorKind::Totp,
            FactorData::SmsOtp { .. } => FactorKind::SmsOtp,
            FactorData::EmailOtp { .. } => FactorKind::EmailOtp,
            FactorData::WebAuthn { .. } => FactorKind::WebAuthn,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Factor {
    pub id: FactorId,
    pub realm: RealmId,
    pub user: UserId,
    pub state: FactorState,
    pub display_name: Option<String>,
    pub data: FactorData,
    pub created_at: OffsetDateTime,
    pub enrolled_at: Option<OffsetDateTime>,
    pub last_used_at: Option<OffsetDateTime>,
    /// The last TOTP time step a code was accepted for; a code must match a later one.
    pub last_used_step: Option<i64>,
}

impl Factor {
    pub fn key(&self) -> FactorKey {
        FactorKey {
            realm: self.realm.clone(),
            user: self.user.clone(),
            id: self.id.clone(),
        }
    }

    pub fn kind(&self) -> FactorKind {
        self.data.kind()
    }

    pub fn phone(&self) -> Option<&PhoneNumber> {
        match &self.data {
            FactorData::SmsOtp { phone } => Some(phone),
            _ => None,
        }
    }
}

/// The second factor a session was signed in with, carried into its ID tokens
/// (`sign_in_second_factor`, `second_factor_identifier`) and kept across refreshes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecondFactor {
    pub kind: FactorKind,
    pub id: FactorId,
}
