//! Request extraction for the Identity Toolkit dialect: who is calling (API key or admin
//! bearer) and the JSON body, parsed so that every malformed request gets Google's error
//! shape instead of axum's plain-text rejections.
//!
//! Bodies may use camelCase or snake_case keys (production and the emulator accept both);
//! keys are normalised to camelCase before typed deserialisation with unknown fields denied.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::to_bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::header;
use axum::http::request::Parts;
use http_body_util::LengthLimitError;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tessera_core::DomainError;

use super::error::ItError;
use crate::service::{KeyScope, Service};

/// The largest body an Identity Toolkit call accepts, but for imports.
pub const BODY_LIMIT: usize = 64 * 1024;

/// The largest `accounts:batchCreate` body: 1000 users with password hashes, salts, profiles
/// and second factors, as firebase-admin's `importUsers` sends them (about 300 KB), with room.
pub const IMPORT_BODY_LIMIT: usize = 4 * 1024 * 1024;

/// How an end-user or dual-use endpoint was called.
#[derive(Debug, Clone)]
pub enum Caller {
    User(KeyScope),
    Admin { key: Option<KeyScope> },
}

impl Caller {
    /// The projects whose ID tokens the caller may present: its API key's, or any for an
    /// administrator without one.
    pub fn token_scope(&self) -> KeyScope {
        match self {
            Caller::User(scope) | Caller::Admin { key: Some(scope) } => scope.clone(),
            Caller::Admin { key: None } => KeyScope::AnyProject,
        }
    }
}

/// An end user's API key (`key` query parameter or `x-goog-api-key` header).
#[derive(Debug, Clone)]
pub struct ApiKey(pub KeyScope);

/// An administrator's bearer token (`Authorization: Bearer …`).
#[derive(Debug, Clone, Copy)]
pub struct AdminBearer;

/// The `{project}` and optional `{tenant}` of an admin route.
#[derive(Debug, Clone)]
pub struct ProjectPath {
    pub project: String,
    pub tenant: Option<String>,
}

impl ProjectPath {
    /// The project or tenant of a route whose last segment ends in `:action` (Google's
    /// custom methods, as `projects/{p}:createSessionCookie`), if it ends in that one.
    pub fn of_action(mut self, action: &str) -> Option<Self> {
        let last = self.tenant.as_mut().unwrap_or(&mut self.project);
        let (name, called) = last.rsplit_once(':')?;
        if called != action {
            return None;
        }
        *last = name.to_owned();
        Some(self)
    }
}

/// The request's API key: `?key=`, else `x-goog-api-key`.
pub(super) fn api_key(parts: &Parts) -> Option<String> {
    let from_query = Query::<HashMap<String, String>>::try_from_uri(&parts.uri)
        .ok()
        .and_then(|Query(q)| q.get("key").cloned());
    from_query
        .or_else(|| {
            parts
                .headers
                .get("x-goog-api-key")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
        .filter(|k| !k.is_empty())
}

fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

impl FromRequestParts<Arc<Service>> for ApiKey {
    type Rejection = ItError;

    async fn from_request_parts(parts: &mut Parts, svc: &Arc<Service>) -> Result<Self, ItError> {
        let key = api_key(parts).ok_or(ItError::MissingApiKey)?;
        Ok(ApiKey(svc.check_api_key(&key).await?))
    }
}

impl FromRequestParts<Arc<Service>> for AdminBearer {
    type Rejection = ItError;

    async fn from_request_parts(parts: &mut Parts, svc: &Arc<Service>) -> Result<Self, ItError> {
        let token = bearer(parts).ok_or(ItError::Domain(DomainError::AdminUnauthenticated))?;
        svc.check_admin_token(token).await?;
        Ok(AdminBearer)
    }
}

impl FromRequestParts<Arc<Service>> for Caller {
    type Rejection = ItError;

    async fn from_request_parts(parts: &mut Parts, svc: &Arc<Service>) -> Result<Self, ItError> {
        let key = match api_key(parts) {
            Some(k) => Some(svc.check_api_key(&k).await?),
            None => None,
        };
        match (bearer(parts), key) {
            (Some(token), key) => {
                svc.check_admin_token(token).await?;
                Ok(Caller::Admin { key })
            }
            (None, Some(key)) => Ok(Caller::User(key)),
            (None, None) => Err(ItError::MissingApiKey),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ProjectPath {
    type Rejection = ItError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ItError> {
        let Path(mut params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|_| ItError::NotFound)?;
        let project = params.remove("project").ok_or(ItError::NotFound)?;
        Ok(ProjectPath {
            project,
            tenant: params.remove("tenant"),
        })
    }
}

/// A JSON (or, for securetoken, form-encoded) body of type `T`, of at most `LIMIT` bytes.
pub struct Body<T, const LIMIT: usize = BODY_LIMIT>(pub T);

impl<S: Send + Sync, T: DeserializeOwned, const LIMIT: usize> FromRequest<S> for Body<T, LIMIT> {
    type Rejection = ItError;

    async fn from_request(req: Request, _: &S) -> Result<Self, ItError> {
        let is_form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        let bytes = to_bytes(req.into_body(), LIMIT).await.map_err(|e| {
            if e.into_inner().is::<LengthLimitError>() {
                ItError::PayloadTooLarge { limit: LIMIT }
            } else {
                bad_request(
                    "Invalid JSON payload received. The body could not be read.".to_owned(),
                    "parseError",
                )
            }
        })?;
        // A JSON object sent with curl's default form content type is still JSON.
        let looks_like_json = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
        let value = if is_form && !looks_like_json {
            form_value(&bytes)?
        } else {
            json_value(&bytes)?
        };
        parse_value(value).map(Body)
    }
}

fn bad_request(message: String, reason: &'static str) -> ItError {
    ItError::BadRequest { message, reason }
}

fn json_value(bytes: &[u8]) -> Result<Value, ItError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Default::default()));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        bad_request(
            format!("Invalid JSON payload received. Unexpected token.\n{e}"),
            "parseError",
        )
    })
}

fn form_value(bytes: &[u8]) -> Result<Value, ItError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(bytes)
        .map_err(|e| bad_request(format!("Invalid form payload received. {e}"), "parseError"))?;
    Ok(Value::Object(
        pairs
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect(),
    ))
}

/// Deserialises an already-parsed body, translating serde's complaints into Google's texts.
pub fn parse_value<T: DeserializeOwned>(value: Value) -> Result<T, ItError> {
    if !value.is_object() {
        return Err(bad_request(
            "Invalid JSON payload received. Expected an object at the top level.".to_owned(),
            "invalid",
        ));
    }
    serde_path_to_error::deserialize(camelize(value)).map_err(|e| {
        let path = e.path().to_string();
        let detail = e.into_inner().to_string();
        bad_request(describe(&path, &detail), "invalid")
    })
}

/// Google's wording for unknown fields and values of the wrong type.
fn describe(path: &str, detail: &str) -> String {
    if let Some(name) = between(detail, "unknown field `", "`") {
        let parent = path
            .strip_suffix(name)
            .unwrap_or(path)
            .trim_end_matches('.');
        return match parent {
            "" | "." => format!(
                "Invalid JSON payload received. Unknown name \"{name}\": Cannot find field."
            ),
            p => format!(
                "Invalid JSON payload received. Unknown name \"{name}\" at '{}': Cannot find field.",
                snake(p)
            ),
        };
    }
    if let Some(found) = between(detail, "invalid type: ", ", expected") {
        let shown = between(found, "`", "`")
            .or_else(|| found.strip_prefix("string "))
            .unwrap_or(found);
        let expected = detail.split(", expected").nth(1).unwrap_or_default();
        return format!(
            "Invalid value at '{}' ({}), {shown}",
            snake(path),
            proto_type(expected)
        );
    }
    format!("Invalid JSON payload received. {detail}")
}

fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = text.find(open)? + open.len();
    let len = text[start..].find(close)?;
    Some(&text[start..start + len])
}

fn proto_type(expected: &str) -> &'static str {
    if expected.contains("string") {
        "TYPE_STRING"
    } else if expected.contains("bool") {
        "TYPE_BOOL"
    } else if expected.contains("i32") {
        "TYPE_INT32"
    } else if expected.contains("int") || expected.contains("i64") {
        "TYPE_INT64"
    } else if expected.contains("sequence") {
        "TYPE_REPEATED"
    } else {
        "TYPE_MESSAGE"
    }
}

/// `returnSecureToken` → `return_secure_token`, the field names Google's errors use.
fn snake(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 4);
    for c in path.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Rewrites snake_case object keys to camelCase, recursively.
fn camelize(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (camel(&k), camelize(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(camelize).collect()),
        other => other,
    }
}

fn camel(key: &str) -> String {
    if !key.contains('_') {
        return key.to_owned();
    }
    let mut out = String::with_capacity(key.len());
    let mut upper = false;
    for c in key.chars() {
        match (c, upper) {
            ('_', _) => upper = !out.is_empty(),
            (c, true) => {
                out.push(c.to_ascii_uppercase());
                upper = false;
            }
            (c, false) => out.push(c),
        }
    }
    out
}

/// int64 fields arrive as JSON numbers from the Admin SDKs and as strings from
/// proto3-JSON clients; both are accepted.
pub mod int64 {
    use serde::{Deserialize, Deserializer, de::Error};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NumberOrString {
        Number(i64),
        Float(f64),
        String(String),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        number(d, "i64")
    }

    /// A number, or a string of one, as a field of the proto type `ty` (named in errors).
    pub(super) fn number<'de, D: Deserializer<'de>>(
        d: D,
        ty: &str,
    ) -> Result<Option<i64>, D::Error> {
        match Option::<NumberOrString>::deserialize(d)? {
            None => Ok(None),
            Some(NumberOrString::Number(n)) => Ok(Some(n)),
            Some(NumberOrString::Float(f)) if f.fract() == 0.0 && f.abs() < 9.0e15 => {
                Ok(Some(f as i64))
            }
            Some(NumberOrString::Float(f)) => Err(D::Error::custom(format!(
                "invalid type: `{f}`, expected {ty}"
            ))),
            Some(NumberOrString::String(s)) => s.trim().parse().map(Some).map_err(|_| {
                D::Error::custom(format!("invalid type: string \"{s}\", expected {ty}"))
            }),
        }
    }
}

/// An int32 field (`pageSize`), read as [`int64`] reads its values.
pub mod int32 {
    use serde::{Deserializer, de::Error};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i32>, D::Error> {
        super::int64::number(d, "i32")?
            .map(|n| {
                i32::try_from(n)
                    .map_err(|_| D::Error::custom(format!("invalid type: `{n}`, expected i32")))
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_keys_become_camel() {
        assert_eq!(camel("return_secure_token"), "returnSecureToken");
        assert_eq!(camel("returnSecureToken"), "returnSecureToken");
        assert_eq!(camel("_private"), "private");
    }

    #[test]
    fn describes_like_google() {
        assert_eq!(
            describe("foo", "unknown field `foo`, expected one of `a`"),
            "Invalid JSON payload received. Unknown name \"foo\": Cannot find field."
        );
        assert_eq!(
            describe(
                "returnSecureToken",
                "invalid type: string \"yes\", expected a boolean"
            ),
            "Invalid value at 'return_secure_token' (TYPE_BOOL), \"yes\""
        );
        assert_eq!(
            describe("email", "invalid type: integer `5`, expected a string"),
            "Invalid value at 'email' (TYPE_STRING), 5"
        );
        assert_eq!(
            describe("pageSize", "invalid type: string \"x\", expected i32"),
            "Invalid value at 'page_size' (TYPE_INT32), \"x\""
        );
    }
}
