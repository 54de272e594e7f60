//! Delivery adapters: the senders behind `tessera_core::delivery::{SmsSender, EmailSender}`
//! and the message templates.
//!
//! Every sender sorts its failures into `SendError::Temporary` (the worker backs off and
//! tries again) and `SendError::Permanent` (the message fails now). Error text is stored with
//! the message and shown to operators, so it never carries the code, a password, a token or a
//! URL (webhook URLs often hold a token of their own).
//!
//! Senders are built once at start-up from the delivery settings; a bad setting stops the
//! server there (`SetupError`) instead of failing every message later.

mod http;
mod outbox;
mod smtp;
mod templates;
mod twilio;
mod webhook;

pub use outbox::DevOutbox;
pub use smtp::SmtpEmail;
pub use templates::{TemplateError, Templates};
pub use twilio::{TWILIO_BASE_URL, TwilioSms};
pub use webhook::{SIGNATURE_HEADER, WebhookSms};

/// A delivery setting that cannot work, found while building a sender.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// `setting` is the documented name (`sms.webhook_url`, `email.smtp_url`, …).
    #[error("invalid {setting}: {reason}")]
    Invalid {
        setting: &'static str,
        reason: String,
    },
    #[error("cannot build the HTTP client: {0}")]
    HttpClient(String),
}

impl SetupError {
    fn invalid(setting: &'static str, reason: impl Into<String>) -> Self {
        SetupError::Invalid {
            setting,
            reason: reason.into(),
        }
    }
}
