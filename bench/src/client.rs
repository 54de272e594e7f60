//! The calls the phases make, one request each: Identity Toolkit REST in the emulator's URL
//! layout (which Tessera serves too), the admin calls dev mode and the emulator accept with
//! `Bearer owner`, ZITADEL REST with the admin PAT, and ZITADEL gRPC over a few HTTP/2
//! channels. HTTP/1.1 keep-alive: one connection per request in flight (`http.rs`).
//! Also the dev outbox of SMS codes, read once per phase (`fetch_codes`).

use std::collections::HashMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use bytes::Bytes;
use hyper::{Method, StatusCode};
use serde_json::{Value, json};
use tessera_server::proto::zitadel::management::v1::ListHumanAuthFactorsRequest;
use tessera_server::proto::zitadel::management::v1::management_service_client::ManagementServiceClient;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::Channel;

use crate::http::{Body, Http};
use crate::target::Target;

/// Error bodies are cut to this length in the report.
const MAX_ERROR_BODY: usize = 400;

pub struct Client {
    http: Http,
    project: String,
    api_key: &'static str,
    pat: Option<String>,
    grpc: Vec<Channel>,
    grpc_auth: Option<MetadataValue<Ascii>>,
    next_channel: AtomicUsize,
    /// SMS codes by `sessionInfo`, as the last `fetch_codes` found them.
    codes: RwLock<HashMap<String, String>>,
}

impl Client {
    pub async fn new(target: &Target, grpc_channels: usize) -> anyhow::Result<Self> {
        let mut grpc = Vec::new();
        let mut grpc_auth = None;
        if let Some(pat) = &target.pat {
            for _ in 0..grpc_channels.max(1) {
                grpc.push(
                    Channel::from_shared(target.base.clone())?
                        .connect()
                        .await
                        .context("connecting the gRPC channel")?,
                );
            }
            grpc_auth = Some(format!("Bearer {pat}").parse()?);
        }
        Ok(Self {
            http: Http::new(&target.base, Duration::from_secs(60))?,
            project: target.project.clone(),
            api_key: "bench",
            pat: target.pat.clone(),
            grpc,
            grpc_auth,
            next_channel: AtomicUsize::new(0),
            codes: RwLock::new(HashMap::new()),
        })
    }

    /// `POST /identitytoolkit.googleapis.com/{path}?key=…` (`path` like `v1/accounts:signUp`).
    pub async fn identity_toolkit(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        let path = format!(
            "/identitytoolkit.googleapis.com/{path}?key={}",
            self.api_key
        );
        self.json(Method::POST, &path, None, body).await
    }

    /// An administrator's `POST /identitytoolkit.googleapis.com/v1/projects/{p}/{path}`.
    pub async fn admin(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        let path = format!(
            "/identitytoolkit.googleapis.com/v1/projects/{}/{path}",
            self.project
        );
        self.json(Method::POST, &path, Some("Bearer owner"), body)
            .await
    }

    /// An administrator's `PATCH /identitytoolkit.googleapis.com/v2/projects/{p}/config`
    /// (`update_mask` is a plain field path such as `mfa`).
    pub async fn patch_config(&self, update_mask: &str, body: &Value) -> anyhow::Result<Value> {
        let path = format!(
            "/identitytoolkit.googleapis.com/v2/projects/{}/config?updateMask={update_mask}",
            self.project
        );
        self.json(Method::PATCH, &path, Some("Bearer owner"), body)
            .await
    }

    /// The refresh-token grant, form-encoded as the JS SDK sends it.
    pub async fn refresh(&self, refresh_token: &str) -> anyhow::Result<Value> {
        let path = format!("/securetoken.googleapis.com/v1/token?key={}", self.api_key);
        let form = serde_urlencoded::to_string([
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ])?;
        self.call(Method::POST, &path, None, Body::Form(form)).await
    }

    /// A ZITADEL REST `POST {path}` with the admin PAT.
    pub async fn zitadel(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        let pat = self.pat.as_deref().context("no admin PAT")?;
        self.json(Method::POST, path, Some(&format!("Bearer {pat}")), body)
            .await
    }

    /// A request with a JSON body; its answer's JSON body.
    async fn json(
        &self,
        method: Method,
        path: &str,
        authorization: Option<&str>,
        body: &Value,
    ) -> anyhow::Result<Value> {
        let body = Body::Json(serde_json::to_vec(body)?);
        self.call(method, path, authorization, body).await
    }

    /// One request; its answer's JSON body (`json_of`).
    async fn call(
        &self,
        method: Method,
        path: &str,
        authorization: Option<&str>,
        body: Body,
    ) -> anyhow::Result<Value> {
        json_of(self.http.send(method, path, authorization, body).await?)
    }

    /// `zitadel.management.v1.ManagementService/ListHumanAuthFactors` over gRPC: the number
    /// of factors listed.
    pub async fn grpc_list_auth_factors(&self, user_id: &str) -> anyhow::Result<usize> {
        let auth = self.grpc_auth.clone().context("no admin PAT")?;
        let i = self.next_channel.fetch_add(1, Ordering::Relaxed) % self.grpc.len().max(1);
        let channel = self.grpc.get(i).context("no gRPC channel")?.clone();
        let mut request = tonic::Request::new(ListHumanAuthFactorsRequest {
            user_id: user_id.to_owned(),
        });
        request.metadata_mut().insert("authorization", auth);
        let response = ManagementServiceClient::new(channel)
            .list_human_auth_factors(request)
            .await
            .map_err(|status| anyhow!("gRPC {:?}: {}", status.code(), status.message()))?;
        Ok(response.into_inner().result.len())
    }

    /// Reads every outstanding SMS code from the dev outbox (the emulator's hook) at once.
    pub async fn fetch_codes(&self) -> anyhow::Result<()> {
        let path = format!("/emulator/v1/projects/{}/verificationCodes", self.project);
        let listed = self.call(Method::GET, &path, None, Body::Empty).await?;
        let codes: HashMap<String, String> = listed["verificationCodes"]
            .as_array()
            .context("no verificationCodes")?
            .iter()
            .filter_map(|c| Some((text(c, "sessionInfo").ok()?, text(c, "code").ok()?)))
            .collect();
        *self.codes.write().map_err(|_| anyhow!("poisoned"))? = codes;
        Ok(())
    }

    /// The SMS code sent for `session_info`, from the last `fetch_codes`.
    pub fn code_for(&self, session_info: &str) -> anyhow::Result<String> {
        let codes = self.codes.read().map_err(|_| anyhow!("poisoned"))?;
        codes
            .get(session_info)
            .cloned()
            .context("no SMS code in the outbox for this sessionInfo")
    }
}

/// The JSON body of a 2xx answer; anything else is an error that carries the status and body.
fn json_of((status, body): (StatusCode, Bytes)) -> anyhow::Result<Value> {
    if !status.is_success() {
        let mut text = String::from_utf8_lossy(&body).into_owned();
        if text.len() > MAX_ERROR_BODY {
            text.truncate(text.floor_char_boundary(MAX_ERROR_BODY));
            text.push('…');
        }
        bail!("HTTP {}: {text}", status.as_u16());
    }
    if body.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(&body).context("answer is not JSON")
}

/// The string at `key` of `value`, or an error that shows the answer.
pub fn text(value: &Value, key: &str) -> anyhow::Result<String> {
    match value.get(key).and_then(Value::as_str) {
        Some(s) => Ok(s.to_owned()),
        None => {
            let mut shown = value.to_string();
            shown.truncate(shown.floor_char_boundary(MAX_ERROR_BODY));
            bail!("no {key} in {shown}")
        }
    }
}
