//! Delivery of one-time codes by SMS and email: what a queued message is, the limits that
//! guard against abuse, and the sender ports the adapters implement.
//!
//! A message is queued in the same transaction as the code it carries (the durable outbox)
//! and sent later by a worker on any node, so a node that dies after answering still gets
//! the code out. Its content is sealed under the master key, like every secret at rest; the
//! destination stays readable because operators must see where a message went.
//!
//! ```text
//!   queued ──claim──▶ sending ──ok──▶ sent
//!     ▲                  │
//!     └──temporary error─┤ (attempts left, not expired: back off and retry)
//!                        └──permanent error, out of attempts, or code expired──▶ failed
//! ```

use async_trait::async_trait;
use time::{Duration, OffsetDateTime};

use crate::RealmId;
use crate::factor::Sealed;

/// How long a claimed message stays with the node that claimed it. A node that dies while
/// sending leaves its claim behind; another node takes the message over after this.
pub const CLAIM_LEASE: Duration = Duration::minutes(2);
/// Attempts before a message is given up on (its code expires long before anyway).
pub const MAX_ATTEMPTS: i64 = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    Sms,
    Email,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Sms => "sms",
            Channel::Email => "email",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "sms" => Some(Channel::Sms),
            "email" => Some(Channel::Email),
            _ => None,
        }
    }
}

/// What a code is for; it picks the message's template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// Enrolling a second factor (Identity Toolkit phone enrolment).
    Enrol,
    /// Signing in with a second factor (Identity Toolkit phone sign-in, ZITADEL OTP SMS/Email).
    SignIn,
    /// Proving an email address or phone number (ZITADEL `SetEmail`, `SetPhone`).
    VerifyContact,
    /// A link that verifies the user's address (Identity Toolkit `VERIFY_EMAIL`).
    VerifyEmail,
    /// A link that resets the user's password (`PASSWORD_RESET`).
    ResetPassword,
    /// A link that makes a new address the user's (`VERIFY_AND_CHANGE_EMAIL`).
    ChangeEmail,
    /// A link that signs in by email, without a password (`EMAIL_SIGNIN`).
    SignInLink,
    /// The notice to the address an end user's email was changed from, with a link that
    /// changes it back (`RECOVER_EMAIL`).
    RecoverEmail,
    /// The notice of a second factor enrolled, to the user's address, with a link that removes
    /// it (`REVERT_SECOND_FACTOR_ADDITION`).
    RevertSecondFactor,
    /// A link that lets the user register a passkey without signing in (ZITADEL's
    /// `CreatePasskeyRegistrationLink`).
    PasskeyRegistration,
    /// An invitation to choose a way to sign in, with a link that carries its code (ZITADEL's
    /// `CreateInviteCode`).
    Invite,
}

impl MessageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Enrol => "enrol",
            MessageKind::SignIn => "sign_in",
            MessageKind::VerifyContact => "verify_contact",
            MessageKind::VerifyEmail => "verify_email",
            MessageKind::ResetPassword => "reset_password",
            MessageKind::ChangeEmail => "change_email",
            MessageKind::SignInLink => "sign_in_link",
            MessageKind::RecoverEmail => "recover_email",
            MessageKind::RevertSecondFactor => "revert_second_factor",
            MessageKind::PasskeyRegistration => "passkey_registration",
            MessageKind::Invite => "invite",
        }
    }
}

/// The secret part of a message, sealed at rest: what the worker renders and sends.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MessageContent {
    pub kind: MessageKind,
    pub code: String,
    /// BCP 47 language tag the user asked for (`X-Firebase-Locale`, `Accept-Language`).
    pub locale: Option<String>,
    /// How long the code is valid, for "expires in N minutes".
    pub valid_minutes: i64,
    /// Identity Toolkit's `sessionInfo`, which the emulator's `verificationCodes` returns.
    pub session_info: Option<String>,
    /// The link that carries `code`, for the kinds a link completes (`{{link}}`).
    #[serde(default)]
    pub link: Option<String>,
    /// The address the user's email was changed to, for the notice to the old one
    /// (`{{new_email}}`).
    #[serde(default)]
    pub new_email: Option<String>,
    /// The application the message names instead of the realm's (`{{app_name}}`): an
    /// invitation's, as its caller named it.
    #[serde(default)]
    pub app_name: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    Queued,
    Sent,
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Queued => "queued",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Failed => "failed",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "queued" => Some(DeliveryStatus::Queued),
            "sent" => Some(DeliveryStatus::Sent),
            "failed" => Some(DeliveryStatus::Failed),
            _ => None,
        }
    }
}

/// A message in the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub id: String,
    pub realm: RealmId,
    pub channel: Channel,
    /// E.164 number or email address.
    pub destination: String,
    /// `MessageContent` as JSON, sealed under the master key.
    pub content: Sealed,
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub next_attempt_at: OffsetDateTime,
    /// The code is useless after this: an undelivered message then fails instead of sending.
    pub expires_at: OffsetDateTime,
    pub last_error: Option<String>,
    pub created_at: OffsetDateTime,
    pub sent_at: Option<OffsetDateTime>,
}

/// How one attempt to send a claimed message ended.
#[derive(Debug, Clone, PartialEq)]
pub enum DeliveryOutcome {
    Sent,
    /// Try again at `at`.
    Retry {
        at: OffsetDateTime,
        error: String,
    },
    /// Give up.
    Failed {
        error: String,
    },
}

impl DeliveryOutcome {
    pub fn as_str(&self) -> &'static str {
        match self {
            DeliveryOutcome::Sent => "sent",
            DeliveryOutcome::Retry { .. } => "retry",
            DeliveryOutcome::Failed { .. } => "failed",
        }
    }
}

impl Delivery {
    /// What comes after an attempt (`attempts` already counts it) that ended with `result`:
    /// a temporary failure is retried with exponential back-off (1 s, 2 s, 4 s, … at most a
    /// minute) while attempts are left and the code would still be valid on arrival.
    pub fn after_attempt(
        &self,
        result: Result<(), SendError>,
        now: OffsetDateTime,
    ) -> DeliveryOutcome {
        match result {
            Ok(()) => DeliveryOutcome::Sent,
            Err(SendError::Permanent(error)) => DeliveryOutcome::Failed { error },
            Err(SendError::Temporary(error)) => {
                let at = now + backoff(self.attempts);
                if self.attempts < MAX_ATTEMPTS && at < self.expires_at {
                    DeliveryOutcome::Retry { at, error }
                } else {
                    DeliveryOutcome::Failed { error }
                }
            }
        }
    }
}

/// The wait after the `attempts`-th failed attempt.
fn backoff(attempts: i64) -> Duration {
    let doublings = attempts.clamp(1, 7) - 1;
    Duration::seconds(1_i64 << doublings).min(Duration::minutes(1))
}

/// A limit charged when a message is queued: at most `limit` messages per `window` for
/// `key`, counted in the database so every node sees the same count. Windows are fixed
/// (aligned to multiples of their length), so a burst at a boundary can reach twice the
/// limit over one window's length; that is the price of one atomic statement per limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quota {
    /// e.g. `phone:+15555550100`, `prefix:+44`, `ip:203.0.113.7`, `realm:<id>`.
    pub key: String,
    pub limit: i64,
    pub window: Duration,
}

impl Quota {
    /// The start of the window `now` falls in, in Unix milliseconds.
    pub fn window_start(&self, now: OffsetDateTime) -> i64 {
        let len = self.window.whole_milliseconds().max(1) as i64;
        let now = crate::clock::unix_millis(now);
        now - now.rem_euclid(len)
    }
}

/// How a sender failed: worth trying again later, or never going to work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    #[error("temporary delivery failure: {0}")]
    Temporary(String),
    #[error("permanent delivery failure: {0}")]
    Permanent(String),
}

/// A rendered email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Sends text messages (the dev outbox, an HTTPS webhook, a Twilio-compatible API).
#[async_trait]
pub trait SmsSender: Send + Sync + 'static {
    /// `code` travels beside the rendered `body` for providers that verify codes themselves.
    async fn send_sms(&self, to: &str, body: &str, code: &str) -> Result<(), SendError>;
}

/// Sends email (the dev outbox, SMTP).
#[async_trait]
pub trait EmailSender: Send + Sync + 'static {
    async fn send_email(&self, to: &str, email: &Email) -> Result<(), SendError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queued(attempts: i64, expires_in: Duration) -> Delivery {
        let now = OffsetDateTime::UNIX_EPOCH;
        Delivery {
            id: "d".to_owned(),
            realm: RealmId("r".to_owned()),
            channel: Channel::Sms,
            destination: "+15555550100".to_owned(),
            content: Sealed {
                master_key_id: "mk".to_owned(),
                bytes: Vec::new(),
            },
            status: DeliveryStatus::Queued,
            attempts,
            next_attempt_at: now,
            expires_at: now + expires_in,
            last_error: None,
            created_at: now,
            sent_at: None,
        }
    }

    #[test]
    fn temporary_failures_back_off_exponentially_up_to_a_minute() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let waits: Vec<i64> = (1..MAX_ATTEMPTS)
            .map(|attempts| {
                match queued(attempts, Duration::hours(1))
                    .after_attempt(Err(SendError::Temporary("503".into())), now)
                {
                    DeliveryOutcome::Retry { at, .. } => (at - now).whole_seconds(),
                    other => -1 - i64::from(other == DeliveryOutcome::Sent),
                }
            })
            .collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60]);
    }

    #[test]
    fn gives_up_when_out_of_attempts_expired_or_permanent() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let temporary = || Err(SendError::Temporary("timeout".into()));
        let failed = |error: &str| DeliveryOutcome::Failed {
            error: error.to_owned(),
        };
        assert_eq!(
            queued(MAX_ATTEMPTS, Duration::hours(1)).after_attempt(temporary(), now),
            failed("timeout")
        );
        // The retry would land after the code expired.
        assert_eq!(
            queued(3, Duration::seconds(3)).after_attempt(temporary(), now),
            failed("timeout")
        );
        assert_eq!(
            queued(1, Duration::hours(1))
                .after_attempt(Err(SendError::Permanent("HTTP 400".into())), now),
            failed("HTTP 400")
        );
        assert_eq!(
            queued(1, Duration::hours(1)).after_attempt(Ok(()), now),
            DeliveryOutcome::Sent
        );
    }

    #[test]
    fn quota_windows_are_aligned() {
        let quota = Quota {
            key: "k".to_owned(),
            limit: 1,
            window: Duration::minutes(10),
        };
        let at = OffsetDateTime::UNIX_EPOCH + Duration::minutes(25);
        assert_eq!(quota.window_start(at), 20 * 60 * 1000);
    }
}
