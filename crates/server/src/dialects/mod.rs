//! The wire dialects: Identity Toolkit (REST) and ZITADEL (REST, Connect, gRPC, gRPC-web).
//! Each translates its messages to service calls and maps the domain error to its own format.

pub mod identitytoolkit;
pub mod zitadel;

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;

use crate::service::ClientInfo;

/// The header in which the HTTP layer hands every transport the client's address, after
/// replacing whatever a client sent in it (`crate::http` sets it on every request).
pub(crate) const CLIENT_IP_HEADER: &str = "x-tessera-client-ip";

/// The origin a request came to (`http://host:port`), which dev mode's links point back at.
pub(crate) fn request_origin(headers: &HeaderMap) -> Option<String> {
    let host = headers.get(axum::http::header::HOST)?.to_str().ok()?;
    Some(format!("http://{host}"))
}

/// What delivery needs to know of the requester, from the request's headers (gRPC metadata
/// included): its address, and its language — Firebase SDKs send `X-Firebase-Locale`, other
/// clients `Accept-Language`, whose first tag is taken.
pub(crate) fn client_info(headers: &HeaderMap) -> ClientInfo {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let locale = text("x-firebase-locale")
        .or_else(|| text("accept-language"))
        .and_then(|v| v.split([',', ';']).next())
        .map(str::trim)
        .filter(|tag| {
            !tag.is_empty()
                && *tag != "*"
                && tag.len() <= 35
                && tag
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .map(str::to_owned);
    ClientInfo {
        ip: text(CLIENT_IP_HEADER).and_then(|ip| ip.parse().ok()),
        locale,
        origin: request_origin(headers),
    }
}

/// `ClientInfo` as an extractor, for handlers that may send codes.
pub struct Client(pub ClientInfo);

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Client(client_info(&parts.headers)))
    }
}
