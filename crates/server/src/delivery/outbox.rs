//! The development sender: sends nothing and reports success.
//!
//! Every message is already in the database before any sender sees it (the durable
//! outbox), and that is where development tools read it: the emulator's
//! `verificationCodes` view lists the codes. So "delivering" here only means saying so in
//! the log, at debug level and without the code, because logs travel further than the
//! database.

use async_trait::async_trait;
use tessera_core::delivery::{Email, EmailSender, SendError, SmsSender};

#[derive(Debug, Clone, Copy, Default)]
pub struct DevOutbox;

#[async_trait]
impl SmsSender for DevOutbox {
    async fn send_sms(&self, to: &str, _body: &str, _code: &str) -> Result<(), SendError> {
        tracing::debug!(to, "dev outbox: SMS kept in the database, not sent");
        Ok(())
    }
}

#[async_trait]
impl EmailSender for DevOutbox {
    async fn send_email(&self, to: &str, _email: &Email) -> Result<(), SendError> {
        tracing::debug!(to, "dev outbox: email kept in the database, not sent");
        Ok(())
    }
}
