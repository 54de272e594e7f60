//! Real `tessera serve` processes for the tests that need more than one process or a real
//! crash: several nodes on one database (`nodes.rs`), SIGKILL mid-load (`crash.rs`) and a
//! database that goes away under load (`outage.rs`).
//!
//! A `Node` is the binary cargo built for this test crate, started with `--listen
//! 127.0.0.1:0` (the address it reports in its log is read back, so no port is ever guessed
//! and raced for), its own `--data-dir` and a config file with cheap Argon2; it is ready once
//! `/readyz` says so. Its stdout and stderr go to `<data-dir>/node.log`, which a failing
//! test prints. `PrivatePostgres` is a throwaway PostgreSQL server that a test may stop and
//! start, since the machine's shared server is used by every other test at the same time.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::helpers::{KEY, PROJECT, Reply, str_of, totp};

const BIN: &str = env!("CARGO_BIN_EXE_tessera");

/// Settings every test node shares: Argon2 cheap enough for thousands of sign-ins, the
/// delivery worker polling often, and few connections (three nodes share one server with
/// the rest of the suite).
pub const NODE_CONFIG: &str = r#"
database_max_connections = 8

[passwords]
memory_kib = 1024
iterations = 1
parallelism = 1

[delivery]
poll_interval_ms = 50
"#;

/// How long a node may take to start (a cold PostgreSQL database is migrated first).
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// One `tessera serve` process.
pub struct Node {
    pub base: String,
    pub client: reqwest::Client,
    pub data_dir: PathBuf,
    pub database_url: String,
    master_key: PathBuf,
    child: Mutex<Option<Child>>,
}

impl Node {
    /// Starts a node and waits until it is ready. `master_key` is shared by all nodes of one
    /// database; in dev mode the first node to start creates it.
    pub async fn start(data_dir: &Path, database_url: &str, master_key: &Path) -> Node {
        Self::start_configured(data_dir, database_url, master_key, NODE_CONFIG).await
    }

    /// `start` with `config` as the node's configuration file.
    pub async fn start_configured(
        data_dir: &Path,
        database_url: &str,
        master_key: &Path,
        config: &str,
    ) -> Node {
        std::fs::create_dir_all(data_dir).expect("data dir");
        std::fs::write(data_dir.join("node.toml"), config).expect("node config");
        let mut node = Node {
            base: String::new(),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
            data_dir: data_dir.to_owned(),
            database_url: database_url.to_owned(),
            master_key: master_key.to_owned(),
            child: Mutex::new(None),
        };
        node.launch().await;
        node
    }

    fn log_path(&self) -> PathBuf {
        self.data_dir.join("node.log")
    }

    /// The node's log so far, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    async fn launch(&mut self) {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("node log");
        let offset = log.metadata().map(|m| m.len()).unwrap_or(0);
        let mut command = Command::new(BIN);
        // The node is configured by its flags and file only, whatever this process's
        // environment says.
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("TESSERA_") {
                command.env_remove(name);
            }
        }
        let child = command
            .env("RUST_LOG", "info,sqlx=warn")
            .env("NO_COLOR", "1")
            .arg("serve")
            .args(["--listen", "127.0.0.1:0"])
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(["--database-url", &self.database_url])
            .arg("--master-key-file")
            .arg(&self.master_key)
            .arg("--config")
            .arg(self.data_dir.join("node.toml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .expect("spawn tessera serve");
        *self.child.lock().expect("child") = Some(child);
        let addr = self.reported_address(offset).await;
        self.base = format!("http://{addr}");
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(reply) = self.try_call(Method::GET, "/readyz", None, None).await
                && reply.0 == StatusCode::OK
            {
                return;
            }
            assert!(Instant::now() < deadline, "never ready:\n{}", self.log());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Reads the log from `offset` until the node says where it listens.
    async fn reported_address(&self, offset: u64) -> String {
        let deadline = Instant::now() + START_TIMEOUT;
        let mut file = File::open(self.log_path()).expect("node log");
        file.seek(SeekFrom::Start(offset)).expect("seek");
        let mut text = String::new();
        loop {
            file.read_to_string(&mut text).expect("read log");
            if let Some(line) = text.lines().find(|l| l.contains("tessera listening")) {
                let addr = line
                    .split_whitespace()
                    .find_map(|word| word.strip_prefix("addr="))
                    .unwrap_or_else(|| panic!("no address in {line:?}"));
                return addr.to_owned();
            }
            let exited = self
                .child
                .lock()
                .expect("child")
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if let Some(status) = exited {
                panic!("tessera serve exited with {status}:\n{}", self.log());
            }
            assert!(Instant::now() < deadline, "never listened:\n{}", self.log());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGKILL: the process gets no chance to finish anything. (Through `&self`, so a test
    /// can kill a node its clients are still using.)
    pub fn kill(&self) {
        if let Some(mut child) = self.child.lock().expect("child").take() {
            // `Child::kill` is SIGKILL on Unix.
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the process again on the same data dir, database and master key (the port is
    /// new: clients follow `base`).
    pub async fn restart(&mut self) {
        self.kill();
        self.launch().await;
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// One request; transport failures (refused, reset, timed out) are returned, not panics,
    /// for tests that expect them.
    pub async fn try_call(
        &self,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<&Value>,
    ) -> Result<Reply, reqwest::Error> {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await?;
        let status = response.status();
        let text = response.text().await?;
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Ok((status, body))
    }

    /// `try_call` for the Identity Toolkit: POST with the API key.
    pub async fn try_post(&self, path: &str, body: &Value) -> Result<Reply, reqwest::Error> {
        let sep = if path.contains('?') { '&' } else { '?' };
        self.try_call(
            Method::POST,
            &format!("{path}{sep}key={KEY}"),
            None,
            Some(body),
        )
        .await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.try_post(path, &body).await.expect("request")
    }

    /// POST with `Bearer owner`, the dev-mode administrator.
    pub async fn admin_post(&self, path: &str, body: Value) -> Reply {
        self.try_call(Method::POST, path, Some("owner"), Some(&body))
            .await
            .expect("request")
    }

    /// A ZITADEL REST call with `Bearer pat`.
    pub async fn zitadel(&self, method: Method, path: &str, pat: &str, body: &Value) -> Reply {
        self.try_call(method, path, Some(pat), Some(body))
            .await
            .expect("request")
    }

    /// The dev-mode administrator PAT this node wrote to its data dir.
    pub fn pat(&self) -> String {
        std::fs::read_to_string(self.data_dir.join("admin.pat"))
            .expect("admin.pat")
            .trim()
            .to_owned()
    }

    /// A signed-up user whose email an administrator has verified, with a fresh session.
    pub async fn verified_user(&self, email: &str) -> Value {
        let (status, up) = self
            .post(
                "/v1/accounts:signUp",
                json!({"email": email, "password": "secret12", "returnSecureToken": true}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{up}");
        let (status, body) = self
            .admin_post(
                &format!("/v1/projects/{PROJECT}/accounts:update"),
                json!({"localId": up["localId"], "emailVerified": true}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, session) = self.sign_in(email).await;
        assert_eq!(status, StatusCode::OK, "{session}");
        session
    }

    pub async fn sign_in(&self, email: &str) -> Reply {
        self.post(
            "/v1/accounts:signInWithPassword",
            json!({"email": email, "password": "secret12", "returnSecureToken": true}),
        )
        .await
    }

    /// The code the dev outbox holds for `session_info`.
    pub async fn sms_code(&self, session_info: &str) -> String {
        let (status, body) = self
            .try_call(
                Method::GET,
                &format!("/emulator/v1/projects/{PROJECT}/verificationCodes"),
                None,
                None,
            )
            .await
            .expect("request");
        assert_eq!(status, StatusCode::OK, "{body}");
        body["verificationCodes"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["sessionInfo"] == session_info)
            .map(|c| str_of(c, "code").to_owned())
            .unwrap_or_else(|| panic!("no code for {session_info} in {body}"))
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The current RFC 6238 time step by this machine's clock, which the nodes share.
pub fn current_step() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp() / 30
}

/// A TOTP secret's code for step `from` or the first later step whose code no other step
/// within ten of it shares. The server accepts the first step of its window (±5) whose code
/// matches, so a code that also belongs to a neighbouring step (one chance in 10^5) could
/// be taken for that step; tests that count acceptances must not depend on that luck.
pub fn distinct_code(secret: &str, from: i64) -> (i64, String) {
    let mut step = from;
    loop {
        let code = totp(secret, step * 30);
        if (step - 10..=step + 10)
            .filter(|&other| other != step)
            .all(|other| totp(secret, other * 30) != code)
        {
            return (step, code);
        }
        step += 1;
    }
}

/// Waits until the server's window (current step ± 5) reaches `step`.
pub async fn until_in_window(step: i64) {
    while step > current_step() + 5 {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Starts and finalizes a TOTP enrolment through `start_on` and `finish_on`; returns the
/// factor id, its secret and the step the enrolment used.
pub async fn enrol_totp(
    start_on: &Node,
    finish_on: &Node,
    session: &Value,
) -> (String, String, i64) {
    let (status, started) = start_on
        .post(
            "/v2/accounts/mfaEnrollment:start",
            json!({"idToken": session["idToken"], "totpEnrollmentInfo": {}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{started}");
    let info = &started["totpSessionInfo"];
    let secret = str_of(info, "sharedSecretKey").to_owned();
    let (step, code) = distinct_code(&secret, current_step());
    until_in_window(step).await;
    let (status, done) = finish_on
        .post(
            "/v2/accounts/mfaEnrollment:finalize",
            json!({"idToken": session["idToken"], "displayName": "app",
                   "totpVerificationInfo": {"sessionInfo": info["sessionInfo"], "verificationCode": code}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    let id =
        crate::helpers::claims(str_of(&done, "idToken"))["firebase"]["second_factor_identifier"]
            .as_str()
            .expect("factor id")
            .to_owned();
    (id, secret, step)
}

/// Starts and finalizes a phone enrolment (the code read from the dev outbox); returns the
/// finalize reply.
pub async fn enrol_phone(node: &Node, session: &Value, phone: &str) -> Reply {
    let (status, started) = node
        .post(
            "/v2/accounts/mfaEnrollment:start",
            json!({"idToken": session["idToken"], "phoneEnrollmentInfo": {"phoneNumber": phone}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{started}");
    let session_info = str_of(&started["phoneSessionInfo"], "sessionInfo").to_owned();
    let code = node.sms_code(&session_info).await;
    node.post(
        "/v2/accounts/mfaEnrollment:finalize",
        json!({"idToken": session["idToken"],
               "phoneVerificationInfo": {"sessionInfo": session_info, "code": code}}),
    )
    .await
}

/// A PostgreSQL server of its own in a temporary folder, on a free port, with trust
/// authentication, that a test may stop (`-m immediate`, as a crash would) and start again on
/// the same port and data. PostgreSQL refuses to run as root, so as root its programs run as
/// the `postgres` user (`runuser`), which then owns the folder.
pub struct PrivatePostgres {
    dir: TempDir,
    pub port: u16,
    running: bool,
}

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

impl PrivatePostgres {
    pub fn start() -> PrivatePostgres {
        let dir = tempfile::Builder::new()
            .prefix("tessera-pg")
            .tempdir()
            .expect("temp dir");
        if is_root() {
            run(Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path()));
        }
        run(pg_command("initdb")
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
            .arg(dir.path().join("data")));
        // A free port now; it stays this server's across restarts (the server holds it
        // while running, and nothing else on this machine asks for a specific port).
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let mut pg = PrivatePostgres {
            dir,
            port,
            running: false,
        };
        pg.resume();
        pg
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the server at once: connections are cut, nothing is shut down cleanly.
    pub fn crash(&mut self) {
        run(pg_command("pg_ctl")
            .args(["-m", "immediate", "-w", "stop", "-D"])
            .arg(self.dir.path().join("data")));
        self.running = false;
    }

    /// Starts the server again on the same data and port; returns once it accepts connections.
    pub fn resume(&mut self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50",
            self.port,
            self.dir.path().display()
        );
        run(pg_command("pg_ctl")
            .args(["-w", "-t", "60", "-o", &options, "-l"])
            .arg(self.dir.path().join("postgres.log"))
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .arg("start"));
        self.running = true;
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        if self.running {
            let _ = pg_command("pg_ctl")
                .args(["-m", "immediate", "-w", "stop", "-D"])
                .arg(self.dir.path().join("data"))
                .output();
        }
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|out| out.stdout.trim_ascii() == b"0")
        .unwrap_or(false)
}

fn pg_command(program: &str) -> Command {
    let path = Path::new(PG_BIN).join(program);
    assert!(
        path.exists(),
        "{} is missing: the outage test needs PostgreSQL 15's server programs",
        path.display()
    );
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(path);
        command
    } else {
        Command::new(path)
    }
}

fn run(command: &mut Command) {
    let out = command.output().expect("run command");
    assert!(
        out.status.success(),
        "{command:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
