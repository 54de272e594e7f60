//! What the HTTP senders (webhook, Twilio) share: the client settings and the one reading of
//! an HTTP outcome as sent, worth retrying, or hopeless.
//!
//! Redirects are not followed: following one would carry a signed body or basic-auth
//! credentials to a host nobody configured. A provider that moves must be reconfigured.
//! Errors name the provider and the status, never the URL (webhook URLs often carry a token)
//! or the response body (a provider may echo the message, and with it the code).

use std::error::Error as StdError;
use std::time::Duration;

use reqwest::{StatusCode, Url};
use tessera_core::delivery::SendError;

use super::SetupError;

/// Long enough for a slow provider, short enough that a hung one does not hold a worker.
const TIMEOUT: Duration = Duration::from_secs(10);

pub(super) fn client() -> Result<reqwest::Client, SetupError> {
    reqwest::Client::builder()
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("tessera/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|error| SetupError::HttpClient(describe(&error.without_url())))
}

/// An absolute `http://` or `https://` URL from the setting named `setting`.
pub(super) fn parse_url(setting: &'static str, raw: &str) -> Result<Url, SetupError> {
    let url = Url::parse(raw).map_err(|error| SetupError::invalid(setting, error.to_string()))?;
    match url.scheme() {
        "http" | "https" if url.has_host() => Ok(url),
        _ => Err(SetupError::invalid(
            setting,
            "need an http:// or https:// URL",
        )),
    }
}

/// Sends `request`; a failure before any response arrives is classified here.
pub(super) async fn send(
    request: reqwest::RequestBuilder,
    provider: &str,
) -> Result<reqwest::Response, SendError> {
    request
        .send()
        .await
        .map_err(|error| transport_error(error, provider))
}

/// 2xx is sent. 408, 429 and 5xx may pass if tried later; any other status (4xx, or a 3xx
/// redirect that is not followed) will fail the same way every time.
pub(super) fn classify(status: StatusCode, provider: &str) -> Result<(), SendError> {
    if status.is_success() {
        return Ok(());
    }
    let message = format!("HTTP {} from {provider}", status.as_u16());
    let temporary = status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error();
    Err(if temporary {
        SendError::Temporary(message)
    } else {
        SendError::Permanent(message)
    })
}

/// No response: refused or reset connections, DNS and TLS failures and timeouts may all
/// clear up; only a request that could not even be built never will.
fn transport_error(error: reqwest::Error, provider: &str) -> SendError {
    let error = error.without_url();
    let detail = describe(&error);
    if error.is_builder() {
        SendError::Permanent(format!("cannot build the request to {provider}: {detail}"))
    } else if error.is_timeout() {
        SendError::Temporary(format!("{provider} timed out: {detail}"))
    } else if error.is_connect() {
        SendError::Temporary(format!("cannot connect to {provider}: {detail}"))
    } else {
        SendError::Temporary(format!("request to {provider} failed: {detail}"))
    }
}

/// The error and its sources, `outer: inner: innermost` (reqwest's own text says only
/// "error sending request"; the cause is further down).
fn describe(error: &dyn StdError) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
