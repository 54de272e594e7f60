//! Property tests of bad input over the wire (issue 8): generated requests against the real
//! server, for every operation of `/openapi.json` and every ZITADEL RPC on every transport
//! (Connect binary and JSON, gRPC-web, gRPC), and mutated tokens of every kind.
//!
//! What must hold for every request: an answer (a dropped connection means the handler
//! panicked), never a 5xx nor a gRPC `Internal`/`Unknown`, and every error in its dialect's
//! format. Operations come from the OpenAPI document and RPCs from the server's own table
//! (`tessera_server::dialects::zitadel::METHODS`), so new routes are covered without an edit
//! here. Request bodies follow each operation's schema (field names, types, enums) with
//! wrong types, unknown fields, arbitrary JSON and arbitrary bytes mixed in; protobuf bodies
//! are random but protobuf-shaped (valid tags and wire types), so most of them decode and
//! reach the service.
//!
//! Case counts: `PROPTEST_CASES` (per operation for the route tests, in total otherwise);
//! the defaults keep the module to well under a minute on CI's two cores.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestRunner};
use reqwest::{Method, StatusCode};
use serde_json::{Map, Value, json};

use crate::helpers::*;

/// Cases per operation (route tests) unless `PROPTEST_CASES` says otherwise.
const CASES_PER_OPERATION: u32 = 48;
/// Cases per ZITADEL RPC across its four transports.
const CASES_PER_RPC: u32 = 64;
/// Mutations per token kind.
const CASES_PER_TOKEN: u32 = 128;

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs `check` over `cases` values of `strategy` on this (multi-threaded) runtime, with
/// shrinking; a failure panics with the minimal request.
fn run<S>(strategy: S, cases: u32, check: impl AsyncCheck<S::Value>)
where
    S: Strategy,
    S::Value: fmt::Debug,
{
    let handle = tokio::runtime::Handle::current();
    tokio::task::block_in_place(|| {
        let mut runner = TestRunner::new(ProptestConfig {
            cases,
            failure_persistence: None,
            max_shrink_iters: 200,
            ..ProptestConfig::default()
        });
        if let Err(e) = runner.run(&strategy, |value| handle.block_on(check.check(value))) {
            panic!("{e}");
        }
    });
}

trait AsyncCheck<V> {
    fn check(&self, value: V) -> impl Future<Output = Result<(), TestCaseError>>;
}

impl<V, F, Fut> AsyncCheck<V> for F
where
    F: Fn(V) -> Fut,
    Fut: Future<Output = Result<(), TestCaseError>>,
{
    fn check(&self, value: V) -> impl Future<Output = Result<(), TestCaseError>> {
        self(value)
    }
}

// ----- the server under test, with data for requests to find ----------------------------

/// Values a request may carry so that it reaches past "not found": ids, tokens, numbers.
struct Seeds {
    pat: String,
    org: String,
    user_ids: Vec<String>,
    strings: Vec<String>,
}

async fn seeded_app() -> (TestApp, Arc<Seeds>) {
    let app = TestApp::spawn().await;
    let pat = app.pat();
    let session = app.verified_user("fuzz@example.com").await;
    app.enrol_totp(&session).await;
    let plain = app.sign_up("plain@example.com", "secret12").await;
    let realm = app.service.realm(PROJECT, None).await.unwrap();
    let org = app.service.ensure_org(realm).await.unwrap().org_id.unwrap();
    let user_ids = vec![
        str_of(&session, "localId").to_owned(),
        str_of(&plain, "localId").to_owned(),
    ];
    let mut strings = user_ids.clone();
    strings.extend(
        [
            str_of(&session, "idToken"),
            str_of(&session, "refreshToken"),
            str_of(&plain, "idToken"),
            "fuzz@example.com",
            "plain@example.com",
            "secret12",
            "+15555550100",
            PROJECT,
            org.as_str(),
            "123456",
            "SHA1",
            "password",
        ]
        .map(str::to_owned),
    );
    let seeds = Seeds {
        pat,
        org,
        user_ids,
        strings,
    };
    (app, Arc::new(seeds))
}

// ----- value strategies ------------------------------------------------------------------

/// Text of the kinds parsers meet: seeds, numbers, phone numbers, emails, JWT-like strings,
/// any Unicode (control characters included), and now and then a long run.
fn text(seeds: &Arc<Seeds>) -> BoxedStrategy<String> {
    prop_oneof![
        4 => select(seeds.strings.clone()),
        2 => "\\PC{0,24}",
        2 => any::<String>(),
        1 => "[0-9]{0,20}",
        1 => "\\+?[0-9 ()\\-]{0,18}",
        1 => "[a-z]{0,8}@[a-z.]{0,8}",
        1 => "[A-Za-z0-9_\\-]{0,30}\\.[A-Za-z0-9_\\-]{0,30}\\.[A-Za-z0-9_\\-]{0,30}",
        1 => "-?[0-9]{1,25}(\\.[0-9]{1,5})?([eE][+-]?[0-9]{1,4})?s?",
        1 => "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?Z?",
        1 => (0usize..5000).prop_map(|n| "\u{e9}".repeat(n)),
    ]
    .boxed()
}

/// Any JSON value, `depth` levels deep at most.
fn any_json(seeds: &Arc<Seeds>, depth: u32) -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        text(seeds).prop_map(Value::String),
    ];
    if depth == 0 {
        return leaf.boxed();
    }
    let inner = any_json(seeds, depth - 1);
    prop_oneof![
        3 => leaf,
        1 => proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
        1 => proptest::collection::btree_map("[a-zA-Z_]{1,12}", inner, 0..4)
            .prop_map(|m| Value::Object(m.into_iter().collect())),
    ]
    .boxed()
}

fn resolve<'a>(doc: &'a Value, mut schema: &'a Value) -> &'a Value {
    for _ in 0..8 {
        let Some(reference) = schema.get("$ref").and_then(Value::as_str) else {
            break;
        };
        let pointer = reference.trim_start_matches('#');
        schema = doc.pointer(pointer).unwrap_or(&Value::Null);
    }
    schema
}

/// A value for `schema`: mostly of the declared shape, sometimes anything at all.
fn schema_value(
    doc: &Arc<Value>,
    seeds: &Arc<Seeds>,
    schema: &Value,
    depth: u32,
) -> BoxedStrategy<Value> {
    if depth > 4 {
        return any_json(seeds, 0);
    }
    prop_oneof![
        8 => typed_value(doc, seeds, schema, depth),
        1 => any_json(seeds, 1),
    ]
    .boxed()
}

fn typed_value(
    doc: &Arc<Value>,
    seeds: &Arc<Seeds>,
    schema: &Value,
    depth: u32,
) -> BoxedStrategy<Value> {
    let schema = resolve(doc, schema);
    for key in ["oneOf", "anyOf"] {
        if let Some(alternatives) = schema.get(key).and_then(Value::as_array) {
            let options: Vec<BoxedStrategy<Value>> = alternatives
                .iter()
                .map(|alt| typed_value(doc, seeds, alt, depth + 1))
                .collect();
            if !options.is_empty() {
                return proptest::strategy::Union::new(options).boxed();
            }
        }
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array)
        && !values.is_empty()
    {
        return select(values.clone()).boxed();
    }
    let mut properties = Map::new();
    let mut parts = vec![schema];
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        parts.extend(all.iter().map(|s| resolve(doc, s)));
    }
    for part in &parts {
        if let Some(props) = part.get("properties").and_then(Value::as_object) {
            properties.extend(props.clone());
        }
    }
    let kind = match schema.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("null"),
        _ if !properties.is_empty() => "object",
        _ => "any",
    };
    match kind {
        "object" => object_value(doc, seeds, properties, depth),
        "array" => {
            let items = schema.get("items").cloned().unwrap_or(Value::Null);
            proptest::collection::vec(schema_value(doc, seeds, &items, depth + 1), 0..4)
                .prop_map(Value::Array)
                .boxed()
        }
        "string" => text(seeds).prop_map(Value::String).boxed(),
        "integer" => prop_oneof![
            (-3i64..100).prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
        ]
        .boxed(),
        "number" => any::<f64>().prop_map(Value::from).boxed(),
        "boolean" => any::<bool>().prop_map(Value::Bool).boxed(),
        _ => any_json(seeds, 1),
    }
}

/// An object with some of `properties` (each of its own schema) and now and then a field
/// the schema does not know.
fn object_value(
    doc: &Arc<Value>,
    seeds: &Arc<Seeds>,
    properties: Map<String, Value>,
    depth: u32,
) -> BoxedStrategy<Value> {
    let fields: Vec<BoxedStrategy<Option<(String, Value)>>> = properties
        .iter()
        .map(|(name, schema)| {
            proptest::option::weighted(
                0.6,
                (
                    Just(name.clone()),
                    schema_value(doc, seeds, schema, depth + 1),
                ),
            )
            .boxed()
        })
        .collect();
    let unknown = proptest::option::weighted(0.05, ("[a-zA-Z_]{1,12}", any_json(seeds, 1)));
    (fields, unknown)
        .prop_map(|(fields, unknown)| {
            Value::Object(fields.into_iter().flatten().chain(unknown).collect())
        })
        .boxed()
}

/// Field names of the ZITADEL messages (protojson spelling), read from the `.proto` files:
/// the keys that ZITADEL's JSON bodies are made of.
fn proto_field_names() -> Vec<String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../server/proto");
    let mut names = BTreeSet::new();
    let mut dirs = vec![root];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "proto") {
                let source = std::fs::read_to_string(&path).unwrap();
                for line in source.lines() {
                    let Some((left, _)) = line.split_once('=') else {
                        continue;
                    };
                    let words: Vec<&str> = left.split_whitespace().collect();
                    if let [.., _type, name] = words.as_slice()
                        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                        && name.starts_with(|c: char| c.is_ascii_lowercase())
                    {
                        names.insert(camel(name));
                    }
                }
            }
        }
    }
    names.into_iter().collect()
}

fn camel(field: &str) -> String {
    let mut out = String::new();
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

/// A JSON object of ZITADEL field names, nested a little.
fn proto_json(seeds: &Arc<Seeds>, names: &[String], depth: u32) -> BoxedStrategy<Value> {
    let value = if depth == 0 {
        any_json(seeds, 1)
    } else {
        prop_oneof![
            3 => any_json(seeds, 0),
            1 => proto_json(seeds, names, depth - 1),
            1 => proptest::collection::vec(any_json(seeds, 0), 0..3).prop_map(Value::Array),
        ]
        .boxed()
    };
    proptest::collection::vec((select(names.to_vec()), value), 0..6)
        .prop_map(|fields| Value::Object(fields.into_iter().collect()))
        .boxed()
}

/// Random protobuf wire data with valid tags and wire types: most of it decodes into the
/// target message (unknown fields are skipped), so the service sees the strings and numbers.
fn proto_bytes(seeds: &Arc<Seeds>, depth: u32) -> BoxedStrategy<Vec<u8>> {
    use prost::encoding::{WireType, encode_key, encode_varint};
    let nested = if depth == 0 {
        proptest::collection::vec(any::<u8>(), 0..16).boxed()
    } else {
        proto_bytes(seeds, depth - 1)
    };
    let payload = prop_oneof![
        3 => text(seeds).prop_map(String::into_bytes),
        2 => nested,
        1 => proptest::collection::vec(any::<u8>(), 0..24),
    ];
    let field = (
        1u32..=20,
        prop_oneof![
            any::<u64>().prop_map(|v| (WireType::Varint, v.to_le_bytes().to_vec())),
            (0u64..8).prop_map(|v| (WireType::Varint, v.to_le_bytes().to_vec())),
            payload.prop_map(|p| (WireType::LengthDelimited, p)),
            any::<[u8; 8]>().prop_map(|v| (WireType::SixtyFourBit, v.to_vec())),
            any::<[u8; 4]>().prop_map(|v| (WireType::ThirtyTwoBit, v.to_vec())),
        ],
    )
        .prop_map(|(tag, (wire, value))| {
            let mut out = Vec::new();
            encode_key(tag, wire, &mut out);
            match wire {
                WireType::Varint => {
                    let mut raw = [0u8; 8];
                    raw.copy_from_slice(&value[..8]);
                    encode_varint(u64::from_le_bytes(raw), &mut out);
                }
                WireType::LengthDelimited => {
                    encode_varint(value.len() as u64, &mut out);
                    out.extend(value);
                }
                _ => out.extend(value),
            }
            out
        });
    proptest::collection::vec(field, 0..6)
        .prop_map(|fields| fields.concat())
        .boxed()
}

// ----- requests --------------------------------------------------------------------------

/// One generated request; its `Debug` is what a failure prints.
#[derive(Clone)]
struct Call {
    method: Method,
    path: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
}

impl fmt::Debug for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path)?;
        for (name, value) in &self.headers {
            write!(f, "\n{name}: {value}")?;
        }
        if let Some(body) = &self.body {
            write!(f, "\n\n{}", String::from_utf8_lossy(body))?;
        }
        Ok(())
    }
}

/// Requests sent by this process's tests, for the count they print.
static SENT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
/// Of those, the ones that succeeded: how deep generation reaches.
static SUCCEEDED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

async fn send(
    app: &TestApp,
    client: &reqwest::Client,
    call: &Call,
) -> Result<reqwest::Response, TestCaseError> {
    SENT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut request = client.request(call.method.clone(), app.url(&call.path));
    for (name, value) in &call.headers {
        request = request.header(name, value);
    }
    if let Some(body) = &call.body {
        request = request.body(body.clone());
    }
    let response = request.send().await.map_err(|e| {
        if e.is_builder() {
            // A URL over the http crate's limit of 65,534 bytes (long runs in a path and a
            // query): no client built on that crate can send it, so it says nothing about
            // the server.
            TestCaseError::reject(format!("the client cannot send this: {e}"))
        } else {
            TestCaseError::fail(format!("no answer (did the handler panic?): {e}"))
        }
    })?;
    if response.status().is_success() && response.headers().get("grpc-status").is_none() {
        SUCCEEDED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    Ok(response)
}

fn segment(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// One operation of the OpenAPI document, as much of it as generation needs.
#[derive(Debug, Clone)]
struct Operation {
    method: Method,
    path: String,
    zitadel: bool,
    path_params: Vec<String>,
    query_params: Vec<(String, Value)>,
    body: Option<Value>,
}

async fn operations(app: &TestApp) -> (Arc<Value>, Vec<Operation>) {
    let (status, doc) = app.get("/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    let mut found = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (name, method) in [
            ("get", Method::GET),
            ("post", Method::POST),
            ("put", Method::PUT),
            ("patch", Method::PATCH),
            ("delete", Method::DELETE),
        ] {
            let Some(op) = item.get(name) else { continue };
            let mut path_params = Vec::new();
            let mut query_params = Vec::new();
            let parameters = op["parameters"].as_array().into_iter().flatten();
            for param in parameters.chain(item["parameters"].as_array().into_iter().flatten()) {
                let param = resolve(&doc, param);
                let name = param["name"].as_str().unwrap_or_default().to_owned();
                match param["in"].as_str() {
                    Some("path") => path_params.push(name),
                    Some("query") => query_params.push((name, param["schema"].clone())),
                    _ => {}
                }
            }
            let body = op
                .pointer("/requestBody/content/application~1json/schema")
                .cloned();
            let zitadel = op["tags"]
                .as_array()
                .is_some_and(|tags| tags.iter().any(|t| t == "zitadel"));
            found.push(Operation {
                method,
                path: path.clone(),
                zitadel,
                path_params,
                query_params,
                body,
            });
        }
    }
    (Arc::new(doc), found)
}

/// Requests for `op`: path parameters from the seeds or anything, the declared query
/// parameters, credentials (mostly valid), and a body of its schema or of anything.
fn calls_for(
    op: &Operation,
    doc: &Arc<Value>,
    seeds: &Arc<Seeds>,
    zitadel_names: &[String],
) -> BoxedStrategy<Call> {
    let params: Vec<BoxedStrategy<String>> = op
        .path_params
        .iter()
        .map(|name| {
            let likely = match name.as_str() {
                "project" => Just(PROJECT.to_owned()).boxed(),
                "tenant" => Just("tenant-1".to_owned()).boxed(),
                n if n.contains("user") => select(seeds.user_ids.clone()).boxed(),
                _ => "[0-9]{1,18}".boxed(),
            };
            prop_oneof![3 => likely, 1 => text(seeds).prop_filter("a path segment", |s| !s.is_empty())].boxed()
        })
        .collect();
    let query: Vec<BoxedStrategy<Option<(String, String)>>> = op
        .query_params
        .iter()
        .map(|(name, schema)| {
            let value = schema_value(doc, seeds, schema, 3).prop_map(|v| match v {
                Value::String(s) => s,
                other => other.to_string(),
            });
            proptest::option::of((Just(name.clone()), value)).boxed()
        })
        .collect();
    let extra_query = if op.zitadel {
        proptest::collection::vec((select(zitadel_names.to_vec()), text(seeds)), 0..3).boxed()
    } else {
        Just(Vec::new()).boxed()
    };
    let auth = if op.zitadel {
        let pat = format!("Bearer {}", seeds.pat);
        prop_oneof![
            8 => Just(vec![("authorization".to_owned(), pat.clone())]),
            1 => Just(vec![
                ("authorization".to_owned(), pat),
                ("x-zitadel-orgid".to_owned(), seeds.org.clone()),
            ]),
            1 => Just(Vec::new()),
            1 => "[ -~]{0,40}".prop_map(|v| vec![("authorization".to_owned(), v)]),
        ]
        .boxed()
    } else {
        prop_oneof![
            6 => Just(vec![("x-goog-api-key".to_owned(), KEY.to_owned())]),
            3 => Just(vec![
                ("x-goog-api-key".to_owned(), KEY.to_owned()),
                ("authorization".to_owned(), "Bearer owner".to_owned()),
            ]),
            1 => Just(Vec::new()),
            1 => "[ -~]{0,40}".prop_map(|v| vec![("authorization".to_owned(), v)]),
        ]
        .boxed()
    };
    let schema_body = match &op.body {
        Some(schema) if op.zitadel && schema.get("properties").is_none() => {
            proto_json(seeds, zitadel_names, 2)
        }
        Some(schema) => schema_value(doc, seeds, schema, 0),
        None => any_json(seeds, 1),
    };
    let body = prop_oneof![
        8 => schema_body.prop_map(|v| Some(("application/json", v.to_string().into_bytes()))),
        1 => any_json(seeds, 2).prop_map(|v| Some(("application/json", v.to_string().into_bytes()))),
        1 => proptest::collection::vec(any::<u8>(), 0..64).prop_map(|b| Some(("application/json", b))),
        1 => text(seeds).prop_map(|t| Some(("application/x-www-form-urlencoded", t.into_bytes()))),
        1 => Just(None),
    ];
    let (method, template) = (op.method.clone(), op.path.clone());
    let names = op.path_params.clone();
    let has_body = op.body.is_some() || op.method == Method::POST;
    (params, query, extra_query, auth, body)
        .prop_map(move |(values, query, extra, mut headers, body)| {
            let mut path = template.clone();
            for (name, value) in names.iter().zip(&values) {
                path = path.replace(&format!("{{{name}}}"), &segment(value));
            }
            let pairs: Vec<(String, String)> = query.into_iter().flatten().chain(extra).collect();
            if !pairs.is_empty() {
                let encoded = url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(pairs)
                    .finish();
                path = format!("{path}?{encoded}");
            }
            let body = body.filter(|_| has_body).map(|(content_type, bytes)| {
                headers.push(("content-type".to_owned(), content_type.to_owned()));
                bytes
            });
            Call {
                method: method.clone(),
                path,
                headers,
                body,
            }
        })
        .boxed()
}

/// The error body of a failed call is in the format of the dialect that answered.
fn check_error_format(
    status: StatusCode,
    body: &Value,
    zitadel: bool,
) -> Result<(), TestCaseError> {
    let google = body["error"]["code"] == status.as_u16() && body["error"]["message"].is_string();
    let zitadel_rest = body["code"].is_i64() && body["message"].is_string();
    prop_assert!(
        google || (zitadel && zitadel_rest),
        "a {status} error outside the dialect's format: {body}"
    );
    Ok(())
}

async fn check_route(
    app: &TestApp,
    client: &reqwest::Client,
    call: Call,
    zitadel: bool,
) -> Result<(), TestCaseError> {
    let response = send(app, client, &call).await?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    prop_assert!(status.as_u16() < 500, "{status}: {text}");
    if status.is_client_error() {
        let body: Value = serde_json::from_str(&text).map_err(|_| {
            TestCaseError::fail(format!("{status} with a body that is not JSON: {text}"))
        })?;
        check_error_format(status, &body, zitadel)?;
    }
    Ok(())
}

/// Every operation of the OpenAPI document: no 5xx, no dropped connection, errors in the
/// dialect's format.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_openapi_operation_survives_generated_requests() {
    let (mut app, seeds) = seeded_app().await;
    let (doc, ops) = operations(&app).await;
    assert!(
        ops.len() > 30,
        "the OpenAPI document lists {} operations",
        ops.len()
    );
    let names = proto_field_names();
    let client = reqwest::Client::new();
    let per_op = cases(CASES_PER_OPERATION);
    for op in &ops {
        let zitadel = op.zitadel;
        let (app, client) = (&app, &client);
        run(
            calls_for(op, &doc, &seeds, &names),
            per_op,
            move |call: Call| async move { check_route(app, client, call, zitadel).await },
        );
    }
    let (status, _) = app.get("/healthz").await;
    assert_eq!(status, StatusCode::OK);
    report();
    app.shutdown().await;
}

fn report() {
    use std::sync::atomic::Ordering::Relaxed;
    eprintln!(
        "{} generated requests, {} of them answered with success",
        SENT.load(Relaxed),
        SUCCEEDED.load(Relaxed)
    );
}

// ----- ZITADEL RPCs on every transport ---------------------------------------------------

#[derive(Debug, Clone, Copy)]
enum Transport {
    ConnectProto,
    ConnectJson,
    GrpcWeb,
    Grpc,
}

#[derive(Clone)]
struct RpcCall {
    rpc: (&'static str, &'static str),
    transport: Transport,
    headers: Vec<(String, String)>,
    payload: Vec<u8>,
}

impl fmt::Debug for RpcCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} /{}/{} {:?}\npayload: {:?}\n(as text: {})",
            self.transport,
            self.rpc.0,
            self.rpc.1,
            self.headers,
            self.payload,
            String::from_utf8_lossy(&self.payload)
        )
    }
}

fn rpc_calls(
    rpc: (&'static str, &'static str),
    seeds: &Arc<Seeds>,
    names: &[String],
) -> BoxedStrategy<RpcCall> {
    let transport = prop_oneof![
        Just(Transport::ConnectProto),
        Just(Transport::ConnectJson),
        Just(Transport::GrpcWeb),
        Just(Transport::Grpc),
    ];
    let pat = format!("Bearer {}", seeds.pat);
    let headers = prop_oneof![
        8 => Just(vec![("authorization".to_owned(), pat)]),
        1 => Just(Vec::new()),
        1 => "[ -~]{0,40}".prop_map(|v| vec![("authorization".to_owned(), v)]),
    ];
    let binary = prop_oneof![
        6 => proto_bytes(seeds, 2),
        1 => proptest::collection::vec(any::<u8>(), 0..64),
    ];
    let json = prop_oneof![
        6 => proto_json(seeds, names, 2).prop_map(|v| v.to_string().into_bytes()),
        1 => any_json(seeds, 2).prop_map(|v| v.to_string().into_bytes()),
        1 => proptest::collection::vec(any::<u8>(), 0..64),
    ];
    (transport, headers, binary, json)
        .prop_map(move |(transport, headers, binary, json)| RpcCall {
            rpc,
            transport,
            headers,
            payload: match transport {
                Transport::ConnectJson => json,
                _ => binary,
            },
        })
        .boxed()
}

/// gRPC codes a bad request must never produce: Unknown, Unimplemented (for a served
/// method), Internal, Unavailable, DataLoss.
const SERVER_FAULTS: [i64; 5] = [2, 12, 13, 14, 15];

/// The `grpc-status` of a gRPC-web answer: in the headers (trailers-only) or in the trailer
/// frame at the end of the body.
fn grpc_web_status(headers: &reqwest::header::HeaderMap, body: &[u8]) -> Option<i64> {
    if let Some(status) = headers.get("grpc-status") {
        return status.to_str().ok()?.parse().ok();
    }
    let mut rest = body;
    while rest.len() >= 5 {
        let flag = rest[0];
        let len = u32::from_be_bytes([rest[1], rest[2], rest[3], rest[4]]) as usize;
        let frame = rest.get(5..5 + len)?;
        if flag & 0x80 != 0 {
            let trailers = String::from_utf8_lossy(frame);
            return trailers.lines().find_map(|line| {
                line.strip_prefix("grpc-status:")
                    .and_then(|v| v.trim().parse().ok())
            });
        }
        rest = &rest[5 + len..];
    }
    None
}

fn framed(payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0];
    out.extend((payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

async fn check_rpc(
    app: &TestApp,
    http1: &reqwest::Client,
    http2: &reqwest::Client,
    call: RpcCall,
) -> Result<(), TestCaseError> {
    let path = format!("/{}/{}", call.rpc.0, call.rpc.1);
    let (content_type, body, client) = match call.transport {
        Transport::ConnectProto => ("application/proto", call.payload.clone(), http1),
        Transport::ConnectJson => ("application/json", call.payload.clone(), http1),
        Transport::GrpcWeb => ("application/grpc-web+proto", framed(&call.payload), http1),
        Transport::Grpc => ("application/grpc", framed(&call.payload), http2),
    };
    let mut headers = call.headers.clone();
    headers.push(("content-type".to_owned(), content_type.to_owned()));
    if matches!(call.transport, Transport::Grpc) {
        headers.push(("te".to_owned(), "trailers".to_owned()));
    }
    let request = Call {
        method: Method::POST,
        path,
        headers,
        body: Some(body),
    };
    let response = send(app, client, &request).await?;
    let status = response.status();
    let response_headers = response.headers().clone();
    let bytes = response.bytes().await.unwrap_or_default();
    match call.transport {
        Transport::ConnectProto | Transport::ConnectJson => {
            prop_assert!(
                status.as_u16() < 500,
                "{status}: {}",
                String::from_utf8_lossy(&bytes)
            );
            if !status.is_success() {
                let body: Value = serde_json::from_slice(&bytes).map_err(|_| {
                    TestCaseError::fail(format!("{status} without a Connect error body"))
                })?;
                prop_assert!(
                    body["code"].is_string() && body["message"].is_string(),
                    "{body}"
                );
            }
        }
        Transport::GrpcWeb | Transport::Grpc => {
            prop_assert_eq!(status, StatusCode::OK);
            // A successful unary gRPC answer carries its status in HTTP/2 trailers, which this
            // client does not read; errors come trailers-only, in the headers.
            let code = grpc_web_status(&response_headers, &bytes);
            if matches!(call.transport, Transport::GrpcWeb) {
                prop_assert!(code.is_some(), "a gRPC-web answer without grpc-status");
            }
            if let Some(code) = code {
                prop_assert!(
                    !SERVER_FAULTS.contains(&code),
                    "grpc-status {code}: {:?}",
                    response_headers.get("grpc-message")
                );
            }
        }
    }
    Ok(())
}

/// Every ZITADEL RPC, on Connect (binary and JSON), gRPC-web and gRPC, with protobuf-shaped
/// and arbitrary bodies: never a 5xx or a server-fault gRPC status, never a dropped stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_zitadel_rpc_survives_arbitrary_messages() {
    let (mut app, seeds) = seeded_app().await;
    let names = proto_field_names();
    let http1 = reqwest::Client::new();
    let http2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let per_rpc = cases(CASES_PER_RPC);
    assert!(!tessera_server::dialects::zitadel::METHODS.is_empty());
    for &rpc in tessera_server::dialects::zitadel::METHODS {
        let (app, http1, http2) = (&app, &http1, &http2);
        run(
            rpc_calls(rpc, &seeds, &names),
            per_rpc,
            move |call: RpcCall| async move { check_rpc(app, http1, http2, call).await },
        );
    }
    let (status, _) = app.get("/healthz").await;
    assert_eq!(status, StatusCode::OK);
    report();
    app.shutdown().await;
}

// ----- tokens ----------------------------------------------------------------------------

/// One edit of a token: replace, insert or delete a character, or cut the token short.
#[derive(Debug, Clone)]
enum Edit {
    Replace(Index, char),
    Insert(Index, char),
    Delete(Index),
    Truncate(Index),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    // No whitespace: a header value or a bearer token is trimmed on the way in, which is no
    // change of the token.
    let token_char = prop_oneof![
        8 => proptest::char::ranges(vec!['A'..='Z', 'a'..='z', '0'..='9'].into()),
        2 => select(vec!['-', '_', '.', '=', '+', '/', '%']),
        1 => any::<char>().prop_filter("not whitespace", |c| !c.is_whitespace() && !c.is_control()),
    ];
    let edit = prop_oneof![
        4 => (any::<Index>(), token_char.clone()).prop_map(|(i, c)| Edit::Replace(i, c)),
        2 => (any::<Index>(), token_char).prop_map(|(i, c)| Edit::Insert(i, c)),
        2 => any::<Index>().prop_map(Edit::Delete),
        1 => any::<Index>().prop_map(Edit::Truncate),
    ];
    proptest::collection::vec(edit, 1..4)
}

fn mutate(token: &str, edits: &[Edit]) -> String {
    let mut chars: Vec<char> = token.chars().collect();
    for edit in edits {
        let len = chars.len().max(1);
        match edit {
            Edit::Replace(i, c) if !chars.is_empty() => chars[i.index(len)] = *c,
            Edit::Insert(i, c) => chars.insert(i.index(len + 1).min(chars.len()), *c),
            Edit::Delete(i) if !chars.is_empty() => {
                chars.remove(i.index(len));
            }
            Edit::Truncate(i) => chars.truncate(i.index(len)),
            _ => {}
        }
    }
    chars.into_iter().collect()
}

#[derive(Debug, Clone, Copy)]
enum TokenKind {
    Id,
    Refresh,
    Pat,
    Session,
}

/// Mutated ID tokens, refresh tokens, PATs and ZITADEL session tokens are refused (and do
/// not crash anything); so are arbitrary strings in their place.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutated_tokens_are_never_accepted() {
    let mut app = TestApp::spawn().await;
    let pat = app.pat();
    let session = app.verified_user("tokens@example.com").await;
    let id_token = str_of(&session, "idToken").to_owned();
    let refresh_token = str_of(&session, "refreshToken").to_owned();
    let user_id = str_of(&session, "localId").to_owned();
    let (status, created) = app
        .zitadel(
            Method::POST,
            "/v2/sessions",
            &pat,
            None,
            Some(json!({"checks": {"user": {"loginName": "tokens@example.com"}}})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let session_id = str_of(&created, "sessionId").to_owned();
    let session_token = str_of(&created, "sessionToken").to_owned();
    let originals = [
        (TokenKind::Id, id_token.clone()),
        (TokenKind::Refresh, refresh_token.clone()),
        (TokenKind::Pat, pat.clone()),
        (TokenKind::Session, session_token.clone()),
    ];

    // Each original is accepted, so a refusal below is the mutation's doing.
    let accepted = |kind: TokenKind, token: String| {
        let (app, pat, session_id, user_id) = (&app, &pat, &session_id, &user_id);
        async move {
            SENT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            match kind {
                TokenKind::Id => {
                    let (status, body) = app.lookup(&token).await;
                    if status == StatusCode::OK {
                        return Ok(true);
                    }
                    prop_assert_eq!(status, StatusCode::BAD_REQUEST, "{}", body);
                    prop_assert!(
                        body["error"]["message"]
                            .as_str()
                            .is_some_and(|m| m.starts_with("INVALID_ID_TOKEN")),
                        "{}",
                        body
                    );
                    Ok(false)
                }
                TokenKind::Refresh => {
                    let (status, body) = app.refresh(&token).await;
                    if status == StatusCode::OK {
                        return Ok(true);
                    }
                    prop_assert_eq!(status, StatusCode::BAD_REQUEST, "{}", body);
                    prop_assert!(body["error"]["message"].is_string(), "{}", body);
                    Ok(false)
                }
                TokenKind::Pat => {
                    let response = app
                        .client
                        .get(app.url(&format!("/v2/users/{user_id}/authentication_methods")))
                        .header("authorization", format!("Bearer {token}"))
                        .send()
                        .await;
                    let Ok(response) = response else {
                        // reqwest refuses to send a header value it cannot encode.
                        return Ok(false);
                    };
                    let (status, body) = TestApp::reply(response).await;
                    if status.is_success() {
                        return Ok(true);
                    }
                    prop_assert_eq!(status, StatusCode::UNAUTHORIZED, "{}", body);
                    prop_assert_eq!(&body["code"], &json!(16), "{}", body);
                    Ok(false)
                }
                TokenKind::Session => {
                    let path =
                        format!("/v2/sessions/{session_id}?sessionToken={}", segment(&token));
                    let (status, body) = app.zitadel(Method::GET, &path, pat, None, None).await;
                    if status == StatusCode::OK {
                        return Ok(true);
                    }
                    prop_assert!(status.is_client_error(), "{} {}", status, body);
                    Ok(false)
                }
            }
        }
    };
    for (kind, token) in &originals {
        assert!(
            accepted(*kind, token.clone()).await.unwrap(),
            "{kind:?} is accepted"
        );
    }

    let per_token = cases(CASES_PER_TOKEN);
    for (kind, original) in originals {
        let accepted = &accepted;
        let strategy = prop_oneof![
            6 => edits().prop_map({
                let original = original.clone();
                move |e| mutate(&original, &e)
            }),
            1 => "[ -~]{0,60}",
            1 => any::<String>(),
        ];
        run(strategy, per_token, move |token: String| {
            let original = original.clone();
            async move {
                // An empty session token means "no token" (ZITADEL's own rule): not a forgery.
                if token == original || token.trim().is_empty() {
                    return Ok(());
                }
                let was_accepted = accepted(kind, token.clone()).await?;
                prop_assert!(!was_accepted, "a mutated {:?} token was accepted", kind);
                Ok(())
            }
        });
    }
    report();
    app.shutdown().await;
}

/// The OpenAPI document says how every operation fails (a `default` response in its dialect's
/// envelope) and what it answers on success (201 for ZITADEL's creating `POST`s): what lets
/// schemathesis check status codes and error bodies (`clients/schemathesis/run.py`).
#[tokio::test]
async fn the_openapi_document_declares_errors_and_success_codes() {
    let app = TestApp::spawn().await;
    let (_, doc) = app.get("/openapi.json").await;
    let (_, ops) = operations(&app).await;
    for op in &ops {
        let method = op.method.as_str().to_lowercase();
        let responses = &doc["paths"][&op.path][&method]["responses"];
        let error = &responses["default"]["content"]["application/json"]["schema"];
        assert!(
            error.is_object(),
            "{} {} declares no error",
            op.method,
            op.path
        );
    }
    let created = &doc["paths"]["/v2/sessions"]["post"]["responses"];
    assert!(
        created["201"].is_object() && created["200"].is_null(),
        "{created}"
    );
}
