//! `TestApp`: one running Tessera with its own data dir (and database), an injected clock,
//! and request helpers per endpoint.

use std::ffi::{OsStr, OsString};
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor};
use tempfile::TempDir;
use tessera::{Application, Config};
use tessera_core::ManualClock;
use tessera_core::delivery::DeliveryStatus;
use time::OffsetDateTime;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const KEY: &str = "test-api-key";
pub const PROJECT: &str = "demo-project";

pub type Reply = (StatusCode, Value);

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub clock: Arc<ManualClock>,
    pub config: Config,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
    pub service: Arc<tessera_server::service::Service>,
    _dir: Arc<TempDir>,
}

/// The database for one test: a SQLite file in the data dir, or a new PostgreSQL database.
pub async fn database_url(dir: &std::path::Path) -> String {
    match std::env::var("TEST_POSTGRES_URL") {
        Ok(server) if !server.is_empty() => {
            let name = format!(
                "tessera_test_{}",
                dir.file_name().and_then(|n| n.to_str()).unwrap_or("x")
            );
            create_database(&server, &name).await
        }
        _ => format!("sqlite://{}", dir.join("tessera.db").display()),
    }
}

/// Creates database `name` (made a safe identifier) on the PostgreSQL server that `server`
/// connects to, and returns its URL.
pub async fn create_database(server: &str, name: &str) -> String {
    sqlx::any::install_default_drivers();
    let name = name
        .to_lowercase()
        .replace(|c: char| !c.is_ascii_alphanumeric(), "_");
    let admin = AnyPoolOptions::new()
        .max_connections(1)
        .connect(server)
        .await
        .expect("TEST_POSTGRES_URL is set but PostgreSQL is unreachable");
    admin
        .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await
        .expect("create test database");
    admin.close().await;
    let (base, _) = server.rsplit_once('/').expect("database URL has a path");
    format!("{base}/{name}")
}

/// `config` in production mode, with a master key written beforehand into its data dir, as an
/// operator would, and senders that point nowhere.
pub fn production(config: &mut Config) {
    let key = config.data_dir.join("operator-master.key");
    tessera::master_key::generate(&key).expect("master key");
    config.mode = tessera::config::Mode::Production;
    config.master_key_file = Some(key);
    config.sms.provider = tessera::config::SmsProvider::Webhook;
    config.sms.webhook_url = Some(tessera::config::Secret::new("http://127.0.0.1:9/sms"));
    config.sms.webhook_secret = Some(tessera::config::Secret::new("unused"));
    config.email.smtp_url = Some(tessera::config::Secret::new("smtp://127.0.0.1:9"));
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
        let dir = tempfile::Builder::new()
            .prefix("tessera")
            .tempdir()
            .expect("temp dir");
        let mut config = Config::for_tests(dir.path());
        config.database_url = Some(tessera::config::Secret::new(database_url(dir.path()).await));
        adjust(&mut config);
        let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
        Self::start(config, clock, Arc::new(dir)).await
    }

    /// Production mode with a master key written beforehand, as an operator would, and
    /// senders that point nowhere (tests that send use `spawn_production_with`).
    pub async fn spawn_production() -> TestApp {
        Self::spawn_production_with(|_| {}).await
    }

    pub async fn spawn_production_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
        Self::spawn_with(|c| {
            production(c);
            adjust(c);
        })
        .await
    }

    /// `body` posted to `path` (with the API key) is refused with the Identity Toolkit error
    /// `message`, and nothing changes.
    pub async fn refused(&self, path: &str, body: Value, message: &str) {
        self.settled().await;
        let before = self.fingerprint().await;
        assert_it_error(&self.post(path, body).await, message);
        assert_eq!(self.fingerprint().await, before);
    }

    /// A production server's project `PROJECT` and an API key for it, made with the admin
    /// commands an operator runs; the key.
    pub async fn production_api_key(&self) -> String {
        let master = self
            .config
            .master_key_file
            .clone()
            .expect("a master key file");
        let master = master.to_str().expect("a UTF-8 path");
        let admin = |command: &'static str| {
            let flags = ["--mode", "production", "--master-key-file", master];
            [["admin"].as_slice(), &flags, &[command, PROJECT]].concat()
        };
        self.run_tessera(admin("create-project")).await;
        self.run_tessera_ok(admin("create-api-key"))
            .await
            .trim()
            .to_owned()
    }

    async fn start(config: Config, clock: Arc<ManualClock>, dir: Arc<TempDir>) -> TestApp {
        let app = Application::build_with_clock(&config, clock.clone())
            .await
            .expect("server starts");
        let base = format!("http://{}", app.local_addr());
        let service = app.service();
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            app.run(async {
                let _ = stopped.await;
            })
            .await
            .expect("server runs");
        });
        TestApp {
            base,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
            clock,
            config,
            stop: Some(stop),
            server: Some(server),
            service,
            _dir: dir,
        }
    }

    /// Stops the server gracefully and starts a new one on the same data and database.
    pub async fn restart(mut self) -> TestApp {
        self.shutdown().await;
        let mut config = self.config.clone();
        config.listen = "127.0.0.1:0".parse().expect("addr");
        Self::start(config, self.clock.clone(), self._dir.clone()).await
    }

    /// Another node on the same database, master key and clock, as behind a load balancer.
    pub async fn another_node(&self, adjust: impl FnOnce(&mut Config)) -> TestApp {
        let mut config = self.config.clone();
        config.listen = "127.0.0.1:0".parse().expect("addr");
        adjust(&mut config);
        Self::start(config, self.clock.clone(), self._dir.clone()).await
    }

    /// Ends the server abruptly, as a crash would: nothing is drained or finished.
    pub fn kill(&mut self) {
        self.stop.take();
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }

    pub async fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("server task");
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn advance(&self, seconds: i64) {
        self.clock.advance(time::Duration::seconds(seconds));
    }

    pub async fn reply(response: reqwest::Response) -> Reply {
        let status = response.status();
        let text = response.text().await.expect("body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, body)
    }

    /// POST with the test API key in `?key=`.
    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.post_with_key(path, KEY, body).await
    }

    /// POST with the API key `key` in `?key=` (a production key, say).
    pub async fn post_with_key(&self, path: &str, key: &str, body: Value) -> Reply {
        let sep = if path.contains('?') { '&' } else { '?' };
        let response = self
            .client
            .post(self.url(&format!("{path}{sep}key={key}")))
            .json(&body)
            .send()
            .await
            .expect("request");
        Self::reply(response).await
    }

    /// POST with `Authorization: Bearer owner`, what Admin SDKs send to an emulator.
    pub async fn admin_post(&self, path: &str, body: Value) -> Reply {
        self.bearer_post(path, "owner", body).await
    }

    pub async fn bearer_post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.bearer(reqwest::Method::POST, path, token, body).await
    }

    /// PATCH with `Authorization: Bearer {token}` (`owner` in dev mode, an admin token in
    /// production), as the Admin SDKs change configurations.
    pub async fn bearer_patch(&self, path: &str, token: &str, body: Value) -> Reply {
        self.bearer(reqwest::Method::PATCH, path, token, body).await
    }

    async fn bearer(&self, method: reqwest::Method, path: &str, token: &str, body: Value) -> Reply {
        let response = self
            .client
            .request(method, self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("request");
        Self::reply(response).await
    }

    /// A new tenant of the default project, by an administrator; its id.
    pub async fn create_tenant(&self, display_name: &str) -> String {
        let (status, created) = self
            .admin_post(
                &format!("/v2/projects/{PROJECT}/tenants"),
                json!({"displayName": display_name}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{created}");
        let name = str_of(&created, "name");
        name.rsplit('/').next().expect("a tenant id").to_owned()
    }

    pub async fn admin_get(&self, path: &str) -> Reply {
        let response = self
            .client
            .get(self.url(path))
            .bearer_auth("owner")
            .send()
            .await
            .expect("request");
        Self::reply(response).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        Self::reply(
            self.client
                .get(self.url(path))
                .send()
                .await
                .expect("request"),
        )
        .await
    }

    pub async fn raw_post(
        &self,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> Reply {
        let response = self
            .client
            .post(self.url(path))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("request");
        Self::reply(response).await
    }

    // ----- endpoint helpers -----

    pub async fn sign_up(&self, email: &str, password: &str) -> Value {
        let (status, body) = self
            .post(
                "/v1/accounts:signUp",
                json!({"email": email, "password": password, "returnSecureToken": true}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> Reply {
        self.post(
            "/v1/accounts:signInWithPassword",
            json!({"email": email, "password": password, "returnSecureToken": true}),
        )
        .await
    }

    pub async fn lookup(&self, id_token: &str) -> Reply {
        self.post("/v1/accounts:lookup", json!({"idToken": id_token}))
            .await
    }

    pub async fn refresh(&self, refresh_token: &str) -> Reply {
        self.post(
            "/v1/token",
            json!({"grant_type": "refresh_token", "refresh_token": refresh_token}),
        )
        .await
    }

    pub async fn admin_user(&self, local_id: &str) -> Option<Value> {
        let (status, body) = self
            .admin_post(
                &format!("/v1/projects/{PROJECT}/accounts:lookup"),
                json!({"localId": [local_id]}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["users"].get(0).cloned()
    }

    /// A connection to the app's database, for tests that inspect or tamper with it.
    pub async fn db(&self) -> AnyPool {
        sqlx::any::install_default_drivers();
        AnyPoolOptions::new()
            .max_connections(1)
            .connect(self.config.database_url().expose())
            .await
            .expect("db")
    }

    /// Waits until the delivery worker has recorded how every queued message went: it does so
    /// after the request that queued it has answered, so a fingerprint taken before then could
    /// see the worker's bookkeeping as a change.
    pub async fn settled(&self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let rows = self
                .service
                .deliveries(None, 100)
                .await
                .expect("the outbox");
            if rows.iter().all(|d| d.status != DeliveryStatus::Queued) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the outbox never settled: {rows:#?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Everything the store holds that a request could change, as comparable text; used to
    /// prove that a rejected request changed nothing.
    pub async fn fingerprint(&self) -> Vec<String> {
        let pool = self.db().await;
        let mut rows = Vec::new();
        for sql in [
            "SELECT realm_id || '|' || id || '|' || COALESCE(email, '') || '|' || COALESCE(display_name, '') || '|' \
             || COALESCE(photo_url, '') || '|' || COALESCE(phone_number, '') || '|' || COALESCE(password_hash, '') || '|' \
             || CAST(valid_since AS TEXT) || '|' || CAST(disabled AS TEXT) || '|' || CAST(locked AS TEXT) || '|' || CAST(email_verified AS TEXT) || '|' \
             || COALESCE(custom_attributes, '') || '|' || COALESCE(CAST(last_login_at AS TEXT), '') || '|' \
             || COALESCE(username, '') || '|' || COALESCE(given_name, '') || '|' || COALESCE(family_name, '') || '|' \
             || COALESCE(nick_name, '') || '|' || COALESCE(preferred_language, '') || '|' || COALESCE(gender, '') || '|' \
             || CAST(revision AS TEXT) FROM users",
            "SELECT CAST(COUNT(*) AS TEXT) FROM refresh_tokens",
            "SELECT id || '|' || project_id || '|' || tenant_id FROM realms",
            "SELECT kid FROM signing_keys",
            "SELECT id || '|' || state FROM factors",
            "SELECT id || '|' || username || '|' || role FROM machine_users",
            "SELECT user_id || '|' || kind || '|' || value FROM contact_codes",
            "SELECT COALESCE(user_id, '') || '|' || email || '|' || request_type || '|' || CAST(expires_at AS TEXT) FROM oob_codes",
            "SELECT id || '|' || CAST(sequence AS TEXT) FROM login_sessions",
            "SELECT user_id || '|' || CAST(COUNT(*) AS TEXT) FROM recovery_codes GROUP BY user_id",
            "SELECT CAST(COUNT(*) AS TEXT) FROM challenges",
            "SELECT id || '|' || status || '|' || CAST(attempts AS TEXT) FROM deliveries",
            // A counter at 0 counts nothing: a charge given back may leave one behind.
            "SELECT key || '|' || CAST(count AS TEXT) FROM rate_counters WHERE count > 0",
        ] {
            let mut found: Vec<String> = sqlx::query_scalar(sql)
                .fetch_all(&pool)
                .await
                .expect("fingerprint query");
            found.sort();
            rows.extend(found);
        }
        pool.close().await;
        rows
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Asserts an Identity Toolkit business error: HTTP 400, the exact message, reason `invalid`.
pub fn assert_it_error(reply: &Reply, message: &str) {
    let (status, body) = reply;
    assert_eq!(*status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], 400, "{body}");
    assert_eq!(body["error"]["message"], message, "{body}");
    assert_eq!(body["error"]["errors"][0]["message"], message, "{body}");
    assert_eq!(body["error"]["errors"][0]["reason"], "invalid", "{body}");
    assert_eq!(body["error"]["errors"][0]["domain"], "global", "{body}");
    assert!(
        body["error"].get("status").is_none(),
        "business errors carry no status: {body}"
    );
}

/// Asserts a transport-level error with a `status`.
pub fn assert_google_error(reply: &Reply, code: u16, status: &str, message: &str) {
    let (http, body) = reply;
    assert_eq!(http.as_u16(), code, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert_eq!(body["error"]["status"], status, "{body}");
    assert_eq!(body["error"]["message"], message, "{body}");
}

/// A JWT's payload as the signer wrote it, before any JSON parser merges repeated names.
pub fn payload_text(token: &str) -> String {
    let payload = token.split('.').nth(1).expect("three segments");
    let bytes = data_encoding::BASE64URL_NOPAD
        .decode(payload.as_bytes())
        .expect("base64url");
    String::from_utf8(bytes).expect("utf-8")
}

/// The names of a JSON object's members in order, repeats included, which a parsed `Value`
/// would have merged.
pub fn member_names(json: &str) -> Vec<String> {
    struct Names;
    impl<'de> serde::de::Visitor<'de> for Names {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Self::Value, A::Error> {
            let mut names = Vec::new();
            while let Some((name, serde::de::IgnoredAny)) = map.next_entry()? {
                names.push(name);
            }
            Ok(names)
        }
    }
    serde::Deserializer::deserialize_map(&mut serde_json::Deserializer::from_str(json), Names)
        .expect("a JSON object")
}

/// Decodes a JWT's payload without verifying it (verification has its own tests).
pub fn claims(token: &str) -> Value {
    serde_json::from_str(&payload_text(token)).expect("json")
}

pub fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} missing in {v}"))
}

/// RFC 6238 TOTP (SHA-1, 6 digits, 30 s) for `unix_time`, written here independently of
/// the server's implementation.
pub fn totp(base32_secret: &str, unix_time: i64) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let secret = data_encoding::BASE32_NOPAD
        .decode(base32_secret.as_bytes())
        .expect("base32 secret");
    let counter = (unix_time / 30) as u64;
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(&secret).expect("any key length");
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[19] & 0x0f);
    let value = u32::from_be_bytes([
        digest[offset],
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]) & 0x7fff_ffff;
    format!("{:06}", value % 1_000_000)
}

impl TestApp {
    pub fn now(&self) -> i64 {
        tessera_core::Clock::now(self.clock.as_ref()).unix_timestamp()
    }

    /// The user's `lastLoginAt`, in whole seconds.
    pub async fn last_login(&self, local_id: &str) -> i64 {
        let user = self.admin_user(local_id).await.expect("user");
        let millis: i64 = str_of(&user, "lastLoginAt").parse().expect("milliseconds");
        millis / 1000
    }

    /// A signed-up user whose email an administrator has verified (MFA requires it), with a
    /// fresh session.
    pub async fn verified_user(&self, email: &str) -> Value {
        let up = self.sign_up(email, "secret12").await;
        let (status, body) = self
            .admin_post(
                &format!("/v1/projects/{PROJECT}/accounts:update"),
                json!({"localId": up["localId"], "emailVerified": true}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, session) = self.sign_in(email, "secret12").await;
        assert_eq!(status, StatusCode::OK, "{session}");
        session
    }

    /// Starts a TOTP enrolment for the session's user; returns its `totpSessionInfo`.
    pub async fn start_totp(&self, session: &Value) -> Value {
        let (status, started) = self
            .post(
                "/v2/accounts/mfaEnrollment:start",
                json!({"idToken": session["idToken"], "totpEnrollmentInfo": {}}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{started}");
        started["totpSessionInfo"].clone()
    }

    /// Enrols a TOTP factor for the session's user; returns (secret, finalize response).
    pub async fn enrol_totp(&self, session: &Value) -> (String, Value) {
        let info = &self.start_totp(session).await;
        let secret = str_of(info, "sharedSecretKey").to_owned();
        let (status, done) = self
            .post(
                "/v2/accounts/mfaEnrollment:finalize",
                json!({"idToken": session["idToken"], "displayName": "Authenticator",
                       "totpVerificationInfo": {"sessionInfo": info["sessionInfo"], "verificationCode": totp(&secret, self.now())}}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{done}");
        (secret, done)
    }

    /// POSTs every body at once (each on its own task) and returns the statuses.
    pub async fn concurrently(&self, path: &str, bodies: Vec<Value>) -> Vec<StatusCode> {
        let url = self.url(&format!("{path}?key={KEY}"));
        let requests = bodies
            .iter()
            .map(|body| self.client.post(&url).json(body))
            .collect();
        let replies = Self::all_at_once(requests).await;
        replies.into_iter().map(|(status, _)| status).collect()
    }

    /// Sends every request at once (each on its own task) and returns the replies.
    pub async fn all_at_once(requests: Vec<reqwest::RequestBuilder>) -> Vec<Reply> {
        let mut tasks = tokio::task::JoinSet::new();
        for request in requests {
            tasks.spawn(async move { Self::reply(request.send().await.expect("request")).await });
        }
        tasks.join_all().await
    }

    /// The code the dev outbox holds for `session_info`.
    pub async fn sms_code(&self, session_info: &str) -> String {
        let (status, body) = self
            .get(&format!(
                "/emulator/v1/projects/{PROJECT}/verificationCodes"
            ))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["verificationCodes"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["sessionInfo"] == session_info)
            .map(|c| str_of(c, "code").to_owned())
            .unwrap_or_else(|| panic!("no code for {session_info} in {body}"))
    }

    /// Enrols a phone factor; returns the finalize response.
    pub async fn enrol_phone(&self, session: &Value, phone: &str) -> Value {
        let (status, started) = self
            .post(
                "/v2/accounts/mfaEnrollment:start",
                json!({"idToken": session["idToken"], "phoneEnrollmentInfo": {"phoneNumber": phone, "recaptchaToken": "t"}}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{started}");
        let session_info = str_of(&started["phoneSessionInfo"], "sessionInfo").to_owned();
        let code = self.sms_code(&session_info).await;
        let (status, done) = self
            .post(
                "/v2/accounts/mfaEnrollment:finalize",
                json!({"idToken": session["idToken"], "phoneVerificationInfo": {"sessionInfo": session_info, "code": code}}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{done}");
        done
    }
}

impl TestApp {
    /// Runs the `tessera` binary with `args` against this app's data dir and database, to its
    /// end, on a blocking thread. The app runs on the test's own thread; blocking that thread
    /// could stop its SQLite writer mid-batch, holding the write lock the command then waits
    /// for until its busy timeout runs out.
    pub async fn run_tessera<S: AsRef<OsStr>>(
        &self,
        args: impl IntoIterator<Item = S>,
    ) -> std::process::Output {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"));
        command
            .env_remove("TESSERA_CONFIG")
            .env("TESSERA_DATA_DIR", &self.config.data_dir)
            .env("TESSERA_DATABASE_URL", self.config.database_url().expose())
            .env("RUST_LOG", "warn")
            .args(args);
        tokio::task::spawn_blocking(move || command.output().expect("run tessera"))
            .await
            .expect("the tessera command's thread")
    }

    /// `run_tessera`, which must succeed: its standard output.
    pub async fn run_tessera_ok<S: AsRef<OsStr>>(
        &self,
        args: impl IntoIterator<Item = S>,
    ) -> String {
        let args: Vec<OsString> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
        let out = self.run_tessera(&args).await;
        assert!(
            out.status.success(),
            "tessera {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("UTF-8 output")
    }

    /// The dev-mode administrator PAT written to `<data-dir>/admin.pat`.
    pub fn pat(&self) -> String {
        std::fs::read_to_string(self.config.data_dir.join("admin.pat"))
            .expect("admin.pat")
            .trim()
            .to_owned()
    }

    /// The PAT of a new machine user `name` with `role`, in the organization `org` (the
    /// default project's when `None`).
    pub async fn machine_pat(
        &self,
        org: Option<&str>,
        name: &str,
        role: tessera_core::Role,
    ) -> String {
        let realm = match org {
            Some(org) => self.service.org_realm(org).await.unwrap(),
            None => self.service.realm(PROJECT, None).await.unwrap(),
        };
        let machine = self
            .service
            .create_machine_user(&realm, name, role)
            .await
            .unwrap();
        self.service.create_pat(&machine.id).await.unwrap()
    }

    /// A ZITADEL REST call with `Authorization: Bearer token` and an optional org header.
    pub async fn zitadel(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        org: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut request = self
            .client
            .request(method, self.url(path))
            .bearer_auth(token);
        if let Some(org) = org {
            request = request.header("x-zitadel-orgid", org);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        Self::reply(request.send().await.expect("request")).await
    }
}

/// A ZITADEL REST call by dev mode's administrator (an IAM owner), with a JSON body.
pub async fn call(app: &TestApp, method: reqwest::Method, path: &str, body: Value) -> Reply {
    app.zitadel(method, path, &app.pat(), None, Some(body))
        .await
}

/// A user as ZITADEL's v2 GetUserByID shows it.
pub async fn v2_profile(app: &TestApp, user: &str) -> Value {
    call_ok(
        app,
        reqwest::Method::GET,
        &format!("/v2/users/{user}"),
        json!({}),
    )
    .await["user"]
        .clone()
}

/// `call` that must succeed (any 2xx); the reply's body.
pub async fn call_ok(app: &TestApp, method: reqwest::Method, path: &str, body: Value) -> Value {
    let (status, reply) = call(app, method, path, body).await;
    assert!(status.is_success(), "{status}: {reply}");
    reply
}

/// A ZITADEL refusal: HTTP status, gRPC code, message and ZITADEL's error id.
pub type Refusal<'a> = (u16, i64, &'a str, &'a str);

/// Asserts that `request`, sent after the store's fingerprint is taken (a future runs only
/// when awaited), is refused with `refusal` and changes nothing.
pub async fn assert_refused_unchanged(
    app: &TestApp,
    request: impl std::future::Future<Output = Reply>,
    (http, code, message, id): Refusal<'_>,
) {
    let before = app.fingerprint().await;
    assert_zitadel_error(&request.await, http, code, message, id);
    assert_eq!(app.fingerprint().await, before);
}

/// Asserts a ZITADEL error: HTTP status, gRPC code, `"<message> (<id>)"` and the ErrorDetail.
pub fn assert_zitadel_error(reply: &Reply, http: u16, code: i64, message: &str, id: &str) {
    let (status, body) = reply;
    assert_eq!(status.as_u16(), http, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["message"], format!("{message} ({id})"), "{body}");
    assert_eq!(
        body["details"][0]["@type"], "type.googleapis.com/zitadel.v1.ErrorDetail",
        "{body}"
    );
    assert_eq!(body["details"][0]["id"], id, "{body}");
    assert_eq!(body["details"][0]["message"], message, "{body}");
}

/// `message` (protobuf bytes) posted as one gRPC call over HTTP/2 with the admin PAT, for
/// tests that read the raw answer's headers.
pub async fn grpc_h2(app: &TestApp, path: &str, message: &[u8]) -> reqwest::Response {
    let mut frame = vec![0u8];
    frame.extend_from_slice(&u32::try_from(message.len()).unwrap().to_be_bytes());
    frame.extend_from_slice(message);
    reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap()
        .post(app.url(path))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .bearer_auth(app.pat())
        .body(frame)
        .send()
        .await
        .unwrap()
}

/// The login page's origin in WebAuthn tests: the default relying party is `localhost`, any
/// port.
pub fn origin() -> webauthn_authenticator_rs::prelude::Url {
    webauthn_authenticator_rs::prelude::Url::parse("http://localhost:3000").unwrap()
}

/// A `google.protobuf.Struct` as a browser reads it: protobuf numbers are doubles (`-7.0`),
/// JavaScript numbers have no such distinction, the WebAuthn types want integers.
pub fn as_browser_json(value: &Value) -> Value {
    match value {
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 => json!(f as i64),
            _ => value.clone(),
        },
        Value::Array(items) => Value::Array(items.iter().map(as_browser_json).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), as_browser_json(v)))
                .collect(),
        ),
        _ => value.clone(),
    }
}

/// Answers a session's WebAuthn challenge with `assertion`.
pub async fn webauthn_check(
    app: &TestApp,
    session: &str,
    assertion: &impl serde::Serialize,
) -> Reply {
    call(
        app,
        reqwest::Method::PATCH,
        &format!("/v2/sessions/{session}"),
        json!({"checks": {"webAuthN": {"credentialAssertionData": assertion}}}),
    )
    .await
}
