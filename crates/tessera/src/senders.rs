//! The senders the configuration names. A production server refuses to start with the dev
//! outbox for SMS or email: codes that never leave the database would lock users out (and the
//! outbox is only meant to be read by tests). Admin commands send nothing and need no senders.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use tessera_core::delivery::{EmailSender, SmsSender};
use tessera_server::delivery::{DevOutbox, SmtpEmail, Templates, TwilioSms, WebhookSms};
use tessera_server::service::DeliverySetup;
use url::Url;

use crate::config::{Config, Mode, Secret, SmsProvider};

pub fn delivery_setup(config: &Config) -> anyhow::Result<DeliverySetup> {
    let templates =
        Templates::load(config.email.templates_dir.as_deref()).context("email.templates_dir")?;
    Ok(DeliverySetup {
        sms: sms_sender(config)?,
        email: email_sender(config)?,
        templates,
        limits: config.delivery_limits(),
        action_url: config
            .email
            .action_url
            .as_deref()
            .map(Url::parse)
            .transpose()
            .context("email.action_url is not a URL")?,
        poll_interval: Duration::from_millis(config.delivery.poll_interval_ms.max(10)),
    })
}

fn sms_sender(config: &Config) -> anyhow::Result<Arc<dyn SmsSender>> {
    let sms = &config.sms;
    let exposed = |s: &Option<Secret>| {
        s.as_ref()
            .map(Secret::expose)
            .unwrap_or_default()
            .to_owned()
    };
    Ok(match sms.provider {
        SmsProvider::Outbox => Arc::new(DevOutbox),
        SmsProvider::Webhook => Arc::new(WebhookSms::new(
            &exposed(&sms.webhook_url),
            &exposed(&sms.webhook_secret),
        )?),
        SmsProvider::Twilio => Arc::new(TwilioSms::new(
            sms.twilio_base_url.as_deref(),
            sms.twilio_account_sid.as_deref().unwrap_or_default(),
            &exposed(&sms.twilio_auth_token),
            sms.from.as_deref().unwrap_or_default(),
        )?),
    })
}

fn email_sender(config: &Config) -> anyhow::Result<Arc<dyn EmailSender>> {
    let email = &config.email;
    Ok(match &email.smtp_url {
        Some(url) => Arc::new(SmtpEmail::new(
            url.expose(),
            &email.from,
            email.smtp_ca_file.as_deref(),
        )?),
        None => Arc::new(DevOutbox),
    })
}

/// A production server must deliver codes for real.
pub fn require_real_senders(config: &Config) -> anyhow::Result<()> {
    if config.mode != Mode::Production {
        return Ok(());
    }
    if config.sms.provider == SmsProvider::Outbox {
        bail!(
            "production mode needs a real SMS sender: set sms.provider (TESSERA_SMS_PROVIDER) to webhook or twilio"
        );
    }
    if config.email.smtp_url.is_none() {
        bail!("production mode needs a real email sender: set email.smtp_url (TESSERA_SMTP_URL)");
    }
    Ok(())
}
