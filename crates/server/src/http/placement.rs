//! Requests that write run beside SQLite's writer (`request_cpus = split`, see `cpus.rs`):
//! on a runtime of their own on the first CPU, which runs the writer and its committer, so that
//! a write's hand-offs stay on one CPU; requests that only read stay on the main runtime and
//! use every CPU.

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::runtime::Handle;

/// Sends a request that writes to `writes`, a runtime of its own; reads stay where they are.
pub(super) async fn on_writes(
    State(writes): State<Handle>,
    request: Request,
    next: Next,
) -> Response {
    if only_reads(&request) {
        return next.run(request).await;
    }
    match writes.spawn(next.run(request)).await {
        Ok(response) => response,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

/// Whether a request only reads: every GET, Identity Toolkit's `accounts:lookup` (v3:
/// `getAccountInfo`), ZITADEL's REST searches (`…/_search`) and its RPCs named `List…` or
/// `Get…`. Anything else is taken to write; a wrong guess costs speed, never correctness.
fn only_reads(request: &Request) -> bool {
    let path = request.uri().path();
    let rpc = path.rsplit('/').next().unwrap_or_default();
    request.method() == Method::GET
        || path.ends_with("accounts:lookup")
        || path.ends_with("/relyingparty/getAccountInfo")
        || path.ends_with("/_search")
        || (path.starts_with("/zitadel.") && (rpc.starts_with("List") || rpc.starts_with("Get")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: Method, path: &str) -> Result<Request, axum::http::Error> {
        Request::builder()
            .method(method)
            .uri(path)
            .body(axum::body::Body::empty())
    }

    #[test]
    fn reads_are_told_from_writes_by_method_and_path() -> Result<(), axum::http::Error> {
        for (method, path) in [
            (Method::GET, "/v1/projects/p/accounts:lookup"),
            (Method::POST, "/v1/accounts:lookup"),
            (
                Method::POST,
                "/identitytoolkit.googleapis.com/v1/accounts:lookup",
            ),
            (Method::POST, "/management/v1/users/1/auth_factors/_search"),
            (
                Method::POST,
                "/www.googleapis.com/identitytoolkit/v3/relyingparty/getAccountInfo",
            ),
            (
                Method::POST,
                "/zitadel.management.v1.ManagementService/ListHumanAuthFactors",
            ),
            (Method::POST, "/zitadel.user.v2.UserService/GetUserByID"),
        ] {
            assert!(only_reads(&request(method, path)?), "{path}");
        }
        for path in [
            "/v2/accounts/mfaEnrollment:start",
            "/v1/token",
            "/v2/users/1/totp",
            "/zitadel.user.v2.UserService/RegisterTOTP",
            "/zitadel.user.v2.UserService/VerifyTOTPRegistration",
        ] {
            assert!(!only_reads(&request(Method::POST, path)?), "{path}");
        }
        Ok(())
    }
}
