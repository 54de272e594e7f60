//! SMS through the operator's own HTTP endpoint, for any provider Tessera has no adapter for.
//!
//! The request is a JSON POST `{"to","body","code"}`; the code travels beside the rendered
//! body for gateways that compose their own text. The endpoint learns that the request is
//! ours from `X-Tessera-Signature: sha256=<hex HMAC-SHA256 of the exact body bytes>` under
//! the shared secret, so it must verify the signature over the raw bytes before parsing them.

use std::fmt;

use async_trait::async_trait;
use aws_lc_rs::hmac;
use data_encoding::HEXLOWER;
use reqwest::Url;
use reqwest::header::CONTENT_TYPE;
use serde::Serialize;
use tessera_core::delivery::{SendError, SmsSender};

use super::{SetupError, http};

/// The header that carries the body's signature.
pub const SIGNATURE_HEADER: &str = "X-Tessera-Signature";

/// What error messages call the endpoint.
const PROVIDER: &str = "webhook";

pub struct WebhookSms {
    url: Url,
    key: hmac::Key,
    client: reqwest::Client,
}

#[derive(Serialize)]
struct Payload<'a> {
    to: &'a str,
    body: &'a str,
    code: &'a str,
}

impl WebhookSms {
    /// `url` is `sms.webhook_url`, `secret` is `sms.webhook_secret` (must not be empty: an
    /// empty key would make the signature something anybody can compute).
    pub fn new(url: &str, secret: &str) -> Result<Self, SetupError> {
        let url = http::parse_url("sms.webhook_url", url)?;
        if secret.is_empty() {
            return Err(SetupError::invalid(
                "sms.webhook_secret",
                "must not be empty",
            ));
        }
        Ok(Self {
            url,
            key: hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes()),
            client: http::client()?,
        })
    }

    /// `sha256=<lowercase hex>` over exactly `body`.
    fn signature(&self, body: &[u8]) -> String {
        format!(
            "sha256={}",
            HEXLOWER.encode(hmac::sign(&self.key, body).as_ref())
        )
    }
}

#[async_trait]
impl SmsSender for WebhookSms {
    async fn send_sms(&self, to: &str, body: &str, code: &str) -> Result<(), SendError> {
        let payload = serde_json::to_vec(&Payload { to, body, code })
            .map_err(|_| SendError::Permanent("cannot encode the webhook body".into()))?;
        let request = self
            .client
            .post(self.url.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, self.signature(&payload))
            .body(payload);
        let response = http::send(request, PROVIDER).await?;
        http::classify(response.status(), PROVIDER)
    }
}

/// Only the host: the path or query of a webhook URL may hold a token.
impl fmt::Debug for WebhookSms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookSms")
            .field("host", &self.url.host_str().unwrap_or_default())
            .finish_non_exhaustive()
    }
}
