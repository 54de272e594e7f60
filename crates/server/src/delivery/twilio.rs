//! SMS through the Twilio Messages API, or any provider that speaks it (the base URL is a
//! setting for that reason): `POST {base}/2010-04-01/Accounts/{sid}/Messages.json` with a
//! form body `To`, `From`, `Body` and HTTP basic auth `sid:token`.
//!
//! A refusal keeps Twilio's numeric error code (21211 "invalid To number", 21610
//! "unsubscribed recipient", …) in the error, so operators can look it up, but never the
//! response's message text, which may quote the body and with it the code.

use std::fmt;

use async_trait::async_trait;
use reqwest::Url;
use serde::Deserialize;
use tessera_core::delivery::{SendError, SmsSender};

use super::{SetupError, http};

pub const TWILIO_BASE_URL: &str = "https://api.twilio.com";

pub struct TwilioSms {
    messages_url: Url,
    account_sid: String,
    auth_token: String,
    from: String,
    client: reqwest::Client,
}

/// The part of Twilio's error body that is safe to keep.
#[derive(Deserialize)]
struct TwilioError {
    code: Option<u64>,
}

impl TwilioSms {
    /// The `sms.twilio_*` settings and `sms.from` (a number or messaging service the account
    /// owns). `base_url` defaults to [`TWILIO_BASE_URL`].
    pub fn new(
        base_url: Option<&str>,
        account_sid: &str,
        auth_token: &str,
        from: &str,
    ) -> Result<Self, SetupError> {
        require("sms.twilio_account_sid", account_sid)?;
        require("sms.twilio_auth_token", auth_token)?;
        require("sms.from", from)?;
        Ok(Self {
            messages_url: messages_url(base_url.unwrap_or(TWILIO_BASE_URL), account_sid)?,
            account_sid: account_sid.to_owned(),
            auth_token: auth_token.to_owned(),
            from: from.to_owned(),
            client: http::client()?,
        })
    }
}

fn require(setting: &'static str, value: &str) -> Result<(), SetupError> {
    if value.trim().is_empty() {
        return Err(SetupError::invalid(setting, "must not be empty"));
    }
    Ok(())
}

/// Appends the API path to the base URL segment by segment, so a base URL with a path of
/// its own works and the account SID cannot inject `/`, `?` or `#`.
fn messages_url(base_url: &str, account_sid: &str) -> Result<Url, SetupError> {
    const SETTING: &str = "sms.twilio_base_url";
    let mut url = http::parse_url(SETTING, base_url)?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(SetupError::invalid(
            SETTING,
            "credentials belong in sms.twilio_account_sid and sms.twilio_auth_token",
        ));
    }
    url.set_query(None);
    url.set_fragment(None);
    url.path_segments_mut()
        .map_err(|()| SetupError::invalid(SETTING, "cannot be a base URL"))?
        .pop_if_empty()
        .extend(["2010-04-01", "Accounts", account_sid, "Messages.json"]);
    Ok(url)
}

/// `Twilio` or `Twilio (error 21211)`, for the error message.
async fn describe_refusal(response: reqwest::Response) -> String {
    match response.json::<TwilioError>().await {
        Ok(TwilioError { code: Some(code) }) => format!("Twilio (error {code})"),
        _ => "Twilio".to_owned(),
    }
}

#[async_trait]
impl SmsSender for TwilioSms {
    async fn send_sms(&self, to: &str, body: &str, _code: &str) -> Result<(), SendError> {
        let request = self
            .client
            .post(self.messages_url.clone())
            .basic_auth(&self.account_sid, Some(&self.auth_token))
            .form(&[("To", to), ("From", self.from.as_str()), ("Body", body)]);
        let response = http::send(request, "Twilio").await?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        http::classify(status, &describe_refusal(response).await)
    }
}

/// Everything but the auth token.
impl fmt::Debug for TwilioSms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TwilioSms")
            .field("messages_url", &self.messages_url.as_str())
            .field("account_sid", &self.account_sid)
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}
