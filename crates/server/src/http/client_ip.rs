//! Who is calling: the client's address for per-IP limits, taken from the connection, or,
//! behind a proxy the operator names, from the header that proxy sets. The result goes into
//! one internal header on every request (whatever a client sent there is replaced), so every
//! transport — REST, Connect, gRPC metadata — reads it the same way. An HTTP/2 request names
//! its host in the URI's authority, not in `Host`, and gRPC metadata carries only headers, so
//! the authority is copied into `Host` here too: links back to the server's own pages (dev
//! mode's) then come out the same whatever the transport.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request};
use axum::http::HeaderValue;
use axum::http::header::HOST;
use axum::middleware::Next;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use crate::dialects::CLIENT_IP_HEADER;

/// Where the client's address comes from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientIpSource {
    /// The TCP peer: Tessera faces clients directly.
    #[default]
    Peer,
    /// The last address of `X-Forwarded-For`: the one the operator's proxy appended, which a
    /// client cannot forge (addresses before it can be).
    XForwardedFor,
    /// `X-Real-IP`, as nginx sets it.
    XRealIp,
}

impl ClientIpSource {
    fn client_ip(&self, request: &Request) -> Option<IpAddr> {
        let header = |name: &str| request.headers().get(name)?.to_str().ok();
        match self {
            ClientIpSource::Peer => request
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(peer)| peer.ip()),
            ClientIpSource::XForwardedFor => header("x-forwarded-for")?
                .rsplit(',')
                .next()?
                .trim()
                .parse()
                .ok(),
            ClientIpSource::XRealIp => header("x-real-ip")?.trim().parse().ok(),
        }
    }
}

pub async fn stamp(source: ClientIpSource, mut request: Request, next: Next) -> Response {
    let ip = source.client_ip(&request);
    let headers = request.headers_mut();
    headers.remove(CLIENT_IP_HEADER);
    if let Some(value) = ip.and_then(|ip| HeaderValue::from_str(&ip.to_string()).ok()) {
        headers.insert(CLIENT_IP_HEADER, value);
    }
    if !request.headers().contains_key(HOST)
        && let Some(authority) = request.uri().authority()
        && let Ok(value) = HeaderValue::from_str(authority.as_str())
    {
        request.headers_mut().insert(HOST, value);
    }
    next.run(request).await
}
