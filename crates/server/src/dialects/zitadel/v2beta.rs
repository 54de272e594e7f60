//! ZITADEL's `v2beta` user and session services, served as the `v2` ones they became:
//! `@zitadel/node` and the beta APIs of the other SDKs call `zitadel.user.v2beta.UserService`,
//! `zitadel.session.v2beta.SessionService` and `/v2beta/…`. Their messages are v2's on the
//! wire, field for field, but for what v2 added (a user's `details` and `passwordChanged`,
//! which a v2beta client skips as unknown) and the older v2beta `organisation` of
//! `AddHumanUser` (field 3, read as v2's `organization`). One REST path moved: `UpdateHumanUser`
//! was `PUT /v2beta/users/{id}`. The path is rewritten before routing, so every transport
//! (REST, Connect, gRPC, gRPC-web) serves both names.

use axum::extract::Request;
use axum::http::{Method, Uri};

const SERVICES: [(&str, &str); 2] = [
    ("/zitadel.user.v2beta.", "/zitadel.user.v2."),
    ("/zitadel.session.v2beta.", "/zitadel.session.v2."),
];

/// Rewrites a v2beta request's path to v2's, before routing (the gRPC dispatcher calls it for
/// every request, so no middleware of its own is needed).
pub fn alias(request: &mut Request) {
    let Some(path) = v2_path(request.method(), request.uri().path()) else {
        return;
    };
    let path_and_query = match request.uri().query() {
        Some(query) => format!("{path}?{query}"),
        None => path,
    };
    let mut parts = request.uri().clone().into_parts();
    if let Ok(rewritten) = path_and_query.parse() {
        parts.path_and_query = Some(rewritten);
        if let Ok(uri) = Uri::from_parts(parts) {
            *request.uri_mut() = uri;
        }
    }
}

/// The v2 path of a v2beta one; `None` for every other path.
fn v2_path(method: &Method, path: &str) -> Option<String> {
    if let Some((beta, v2)) = SERVICES.iter().find(|(beta, _)| path.starts_with(beta)) {
        return Some(format!("{v2}{}", &path[beta.len()..]));
    }
    let rest = path.strip_prefix("/v2beta/")?;
    if !(rest.starts_with("users") || rest.starts_with("sessions")) {
        return None;
    }
    match rest.strip_prefix("users/") {
        Some(id) if method == Method::PUT && !id.contains('/') => {
            Some(format!("/v2/users/human/{id}"))
        }
        _ => Some(format!("/v2/{rest}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2beta_paths_become_v2_ones() {
        let cases = [
            (
                Method::POST,
                "/zitadel.user.v2beta.UserService/RegisterTOTP",
                Some("/zitadel.user.v2.UserService/RegisterTOTP"),
            ),
            (
                Method::POST,
                "/zitadel.session.v2beta.SessionService/CreateSession",
                Some("/zitadel.session.v2.SessionService/CreateSession"),
            ),
            (Method::POST, "/v2beta/users/human", Some("/v2/users/human")),
            (Method::PUT, "/v2beta/users/42", Some("/v2/users/human/42")),
            (Method::DELETE, "/v2beta/users/42", Some("/v2/users/42")),
            (
                Method::POST,
                "/v2beta/users/42/totp/verify",
                Some("/v2/users/42/totp/verify"),
            ),
            (Method::PATCH, "/v2beta/sessions/7", Some("/v2/sessions/7")),
            (Method::POST, "/v2beta/organizations", None),
            (
                Method::POST,
                "/zitadel.settings.v2beta.SettingsService/GetLoginSettings",
                None,
            ),
            (Method::POST, "/v2/users/human", None),
        ];
        for (method, path, expected) in cases {
            assert_eq!(
                v2_path(&method, path).as_deref(),
                expected,
                "{method} {path}"
            );
        }
    }
}
