//! The REST mapping of grpc-gateway (spec §1): each route names an RPC; the request message is
//! the JSON body (for `body: "*"` rules), or the query string (repeated fields, for rules whose
//! body is not mapped), with the path parameters on top. The answer is the response message as
//! protojson. Routes are registered with their OpenAPI operation in one step.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawPathParams, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, on};
use axum::{Json, Router};
use prost::Message;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, Paths};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::{Content, ObjectBuilder, Required, ResponseBuilder};

use super::error::{BAD_BODY, ZitadelError};
use super::rpc::{Ctx, Rpc};
use crate::service::Service;

/// Where a route's request message comes from, besides the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// `body: "*"`: the JSON body is the message.
    Whole,
    /// No body mapping: the body is ignored and query parameters fill repeated fields.
    Query,
}

/// The HTTP side of a grpc-gateway rule.
#[derive(Debug, Clone, Copy)]
pub enum Verb {
    /// `POST` with `body: "*"`.
    Post,
    /// `POST` that creates: 201, as ZITADEL's v2 gateway answers.
    Create,
    /// A `_search`-style `POST` whose body is not mapped.
    Search,
    Get,
    /// `PUT` with `body: "*"`.
    Put,
    Patch,
    Delete,
    /// `DELETE` with `body: "*"` (v1's bulk removals).
    DeleteWhole,
}

impl Verb {
    fn mapping(self) -> (HttpMethod, MethodFilter, Body, StatusCode) {
        match self {
            Verb::Post => (
                HttpMethod::Post,
                MethodFilter::POST,
                Body::Whole,
                StatusCode::OK,
            ),
            Verb::Create => (
                HttpMethod::Post,
                MethodFilter::POST,
                Body::Whole,
                StatusCode::CREATED,
            ),
            Verb::Search => (
                HttpMethod::Post,
                MethodFilter::POST,
                Body::Query,
                StatusCode::OK,
            ),
            Verb::Get => (
                HttpMethod::Get,
                MethodFilter::GET,
                Body::Query,
                StatusCode::OK,
            ),
            Verb::Put => (
                HttpMethod::Put,
                MethodFilter::PUT,
                Body::Whole,
                StatusCode::OK,
            ),
            Verb::Patch => (
                HttpMethod::Patch,
                MethodFilter::PATCH,
                Body::Whole,
                StatusCode::OK,
            ),
            Verb::Delete => (
                HttpMethod::Delete,
                MethodFilter::DELETE,
                Body::Query,
                StatusCode::OK,
            ),
            Verb::DeleteWhole => (
                HttpMethod::Delete,
                MethodFilter::DELETE,
                Body::Whole,
                StatusCode::OK,
            ),
        }
    }
}

pub struct Gateway {
    router: Router<Arc<Service>>,
    paths: Paths,
}

/// `user_id` → `userId`: protojson's name for a proto field.
fn json_name(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut upper = false;
    for c in field.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// How query values are offered to the message, whose field types are not known here.
#[derive(Clone, Copy)]
enum QueryShape {
    /// A key given once as a one-element list (repeated fields such as `states`).
    Lists,
    /// As a string (such as `sessionToken`; protojson takes numbers and enums as strings too).
    Scalars,
    /// As a scalar, with grpc-gateway's spellings of true and false as JSON booleans (such as
    /// `domainQuery.includeWithoutDomain=true`).
    Booleans,
}

/// Query parameters as protojson fields; `a.b=v` sets field `b` of message field `a`.
fn query_fields(
    query: Option<&str>,
    shape: QueryShape,
) -> Result<Map<String, Value>, ZitadelError> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query.unwrap_or_default()).map_err(|_| BAD_BODY)?;
    let mut root = Map::new();
    for (key, value) in pairs {
        let mut path: Vec<String> = key.split('.').map(json_name).collect();
        let Some(leaf) = path.pop() else { continue };
        let mut object = &mut root;
        for segment in path {
            let child = object
                .entry(segment)
                .or_insert_with(|| Value::Object(Map::new()));
            let Value::Object(child) = child else {
                return Err(BAD_BODY);
            };
            object = child;
        }
        let value = match (shape, value.as_str()) {
            (QueryShape::Booleans, "true" | "True" | "TRUE" | "t" | "T" | "1") => Value::Bool(true),
            (QueryShape::Booleans, "false" | "False" | "FALSE" | "f" | "F" | "0") => {
                Value::Bool(false)
            }
            _ => Value::String(value),
        };
        match object.get_mut(&leaf) {
            Some(Value::Array(values)) => values.push(value),
            Some(single) => {
                let first = single.take();
                *single = Value::Array(vec![first, value]);
            }
            None if matches!(shape, QueryShape::Lists) => {
                object.insert(leaf, Value::Array(vec![value]));
            }
            None => {
                object.insert(leaf, value);
            }
        }
    }
    Ok(root)
}

/// The request message: the body or the query, with the path parameters on top.
fn decode<Req: DeserializeOwned>(
    body: Body,
    bytes: &[u8],
    query: Option<&str>,
    params: &RawPathParams,
) -> Result<Req, ZitadelError> {
    let with_params = |mut object: Map<String, Value>| {
        for (field, value) in params {
            object.remove(field);
            object.insert(json_name(field), Value::String(value.to_owned()));
        }
        serde_json::from_value::<Req>(Value::Object(object)).map_err(|_| BAD_BODY)
    };
    match body {
        Body::Whole if bytes.iter().all(u8::is_ascii_whitespace) => with_params(Map::new()),
        Body::Whole => with_params(serde_json::from_slice(bytes).map_err(|_| BAD_BODY)?),
        Body::Query => [QueryShape::Lists, QueryShape::Scalars, QueryShape::Booleans]
            .into_iter()
            .map(|shape| with_params(query_fields(query, shape)?))
            .find(Result::is_ok)
            .unwrap_or(Err(BAD_BODY)),
    }
}

async fn call<Req, Resp>(
    svc: Arc<Service>,
    headers: HeaderMap,
    request: Req,
    status: StatusCode,
    rpc: impl Rpc<Req, Resp>,
) -> Result<Response, ZitadelError>
where
    Resp: Serialize,
{
    let ctx = Ctx::new(svc, &headers).await?;
    Ok((status, Json(rpc(ctx, request).await?)).into_response())
}

/// The route's OpenAPI operation; it answers `status` (201 for the creating `POST`s).
fn operation(
    name: &str,
    path: &str,
    body: Body,
    status: StatusCode,
) -> utoipa::openapi::path::Operation {
    let object = || Content::new(Some(ObjectBuilder::new().build()));
    let mut op = OperationBuilder::new()
        .tag("zitadel")
        .operation_id(Some(name))
        .response(
            status.as_str(),
            ResponseBuilder::new()
                .description("the response message, as protojson")
                .content("application/json", object()),
        );
    for segment in path.split('/') {
        if let Some(param) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            op = op.parameter(
                ParameterBuilder::new()
                    .name(param)
                    .parameter_in(ParameterIn::Path)
                    .required(Required::True)
                    .schema(Some(
                        ObjectBuilder::new().schema_type(utoipa::openapi::Type::String),
                    )),
            );
        }
    }
    if body == Body::Whole {
        op = op.request_body(Some(
            RequestBodyBuilder::new()
                .content("application/json", object())
                .build(),
        ));
    }
    op.build()
}

impl Gateway {
    pub fn new() -> Self {
        Gateway {
            router: Router::new(),
            paths: Paths::new(),
        }
    }

    /// Maps `verb path` to the RPC `name`.
    pub fn route<Req, Resp>(
        mut self,
        verb: Verb,
        path: &'static str,
        name: &'static str,
        rpc: impl Rpc<Req, Resp>,
    ) -> Self
    where
        Req: Message + Default + DeserializeOwned + Send + 'static,
        Resp: Serialize + Send + 'static,
    {
        let (method, filter, body, status) = verb.mapping();
        let handler = move |State(svc): State<Arc<Service>>,
                            params: RawPathParams,
                            RawQuery(query): RawQuery,
                            headers: HeaderMap,
                            bytes: Bytes| async move {
            let request = decode(body, &bytes, query.as_deref(), &params)?;
            call(svc, headers, request, status, rpc).await
        };
        self.router = self.router.route(path, on(filter, handler));
        self.paths
            .add_path_operation(path, vec![method], operation(name, path, body, status));
        self
    }

    pub fn into_parts(self) -> (Router<Arc<Service>>, Paths) {
        (self.router, self.paths)
    }
}
