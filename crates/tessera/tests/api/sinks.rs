//! Stand-ins for the delivery providers, real enough that the senders speak their actual
//! protocols to them: an SMTP server (Python's aiosmtpd, an independent implementation) and
//! an HTTP endpoint that records every request and answers from a script.
//!
//! ```ignore
//! let smtp = SmtpSink::start().await;            // or SmtpSink::start_with_auth("u", "p")
//! // … configure Tessera with smtp.url() and make it send …
//! let smtps = SmtpSink::start_tls(SinkTls::Implicit, Some(("u", "p"))).await;
//! // … smtps.url_with_credentials("u", "p") is smtps://…, trusting smtps.ca_file() …
//! let mail = smtp.next_message(WAIT).await;      // from, to, subject, text, html, code()
//!
//! let http = HttpSink::start().await;
//! http.fail_next(2, StatusCode::SERVICE_UNAVAILABLE);   // then the default reply (200 {})
//! // … point a sender at http.url("/sms") …
//! let request = http.next_request(WAIT).await;   // method, path, headers, body, json(), form()
//! ```

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use data_encoding::BASE64;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use serde::Deserialize;
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// How long the SMTP sink may take to start (a cold Python import of aiosmtpd).
const STARTUP: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------------
// SMTP
// ---------------------------------------------------------------------------------------

/// A real SMTP server on 127.0.0.1, killed when dropped. Recipients whose local part is
/// `reject` get a permanent 550, `defer` a temporary 451 (see `tests/smtp_sink.py`).
pub struct SmtpSink {
    process: SinkProcess,
    port: u16,
    messages: tokio::sync::Mutex<mpsc::UnboundedReceiver<String>>,
    tls: Option<(SinkTls, SinkCertificates)>,
}

/// How a TLS sink secures its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SinkTls {
    /// STARTTLS offered and required before mail or AUTH: `smtp+starttls://`.
    StartTls,
    /// TLS from the first byte: `smtps://`.
    Implicit,
}

impl SinkTls {
    fn scheme(self) -> &'static str {
        match self {
            SinkTls::StartTls => "smtp+starttls",
            SinkTls::Implicit => "smtps",
        }
    }

    fn flag(self) -> &'static str {
        match self {
            SinkTls::StartTls => "starttls",
            SinkTls::Implicit => "implicit",
        }
    }
}

/// A CA made for one sink and the certificate it issued to the sink for `localhost` and
/// 127.0.0.1, as PEM files in a temporary folder: `ca.pem` (what a sender is told to trust),
/// `cert.pem` and `key.pem` (what the sink serves).
struct SinkCertificates {
    dir: TempDir,
}

impl SinkCertificates {
    fn generate() -> SinkCertificates {
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "Tessera test CA");
        let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
        let key = KeyPair::generate().unwrap();
        let mut leaf =
            CertificateParams::new(["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
        leaf.distinguished_name
            .push(DnType::CommonName, "localhost");
        let leaf = leaf.signed_by(&key, &ca).unwrap();
        let dir = tempfile::tempdir().unwrap();
        for (file, pem) in [
            ("ca.pem", ca.pem()),
            ("cert.pem", leaf.pem()),
            ("key.pem", key.serialize_pem()),
        ] {
            std::fs::write(dir.path().join(file), pem).unwrap();
        }
        SinkCertificates { dir }
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// One message as the SMTP server received it, MIME already decoded (by Python's `email`).
#[derive(Debug, Clone, Deserialize)]
pub struct ReceivedMail {
    /// Envelope sender (`MAIL FROM`).
    pub mail_from: String,
    /// Envelope recipients (`RCPT TO`).
    #[serde(rename = "rcpt_tos")]
    pub rcpt_to: Vec<String>,
    /// The `From` header.
    pub from: String,
    /// The `To` header.
    pub to: String,
    pub subject: String,
    /// The text/plain part, line endings normalised to `\n`.
    pub text: String,
    /// The text/html part, line endings normalised to `\n`.
    pub html: String,
    /// The message as transmitted.
    #[serde(rename = "data")]
    pub raw: String,
    /// The user that authenticated, if the sink required AUTH.
    pub auth_login: Option<String>,
    /// The TLS version the message came over (`TLSv1.3`); `None` over plain TCP.
    pub tls: Option<String>,
}

impl ReceivedMail {
    /// The one-time code in the plain-text part.
    pub fn code(&self) -> String {
        extract_code(&self.text)
            .unwrap_or_else(|| panic!("no code in the email text:\n{}", self.text))
    }
}

/// The first run of 6 to 10 digits standing alone: a one-time code in a message text.
pub fn extract_code(text: &str) -> Option<String> {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|run| (6..=10).contains(&run.len()))
        .map(str::to_owned)
}

/// Kills the child when dropped, including when `start` panics half-way.
struct SinkProcess(Child);

impl Drop for SinkProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The venv that `scripts/test` sets up, else whatever `python3` is on the path.
fn python() -> PathBuf {
    let venv = workspace_root().join(".venv/bin/python");
    if venv.exists() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

impl SmtpSink {
    /// Accepts mail from anyone.
    pub async fn start() -> SmtpSink {
        Self::spawn(&[], None).await
    }

    /// Requires AUTH PLAIN or LOGIN as `user`/`password` (offered without TLS).
    pub async fn start_with_auth(user: &str, password: &str) -> SmtpSink {
        Self::spawn(&["--user", user, "--password", password], None).await
    }

    /// Speaks TLS (`tls`) with a certificate from a CA made for this sink (`ca_file()`), and
    /// with `auth` requires AUTH PLAIN or LOGIN as `(user, password)` (over TLS only).
    pub async fn start_tls(tls: SinkTls, auth: Option<(&str, &str)>) -> SmtpSink {
        let certificates = SinkCertificates::generate();
        let (cert, key) = (certificates.file("cert.pem"), certificates.file("key.pem"));
        let mut args = vec!["--tls", tls.flag()];
        args.extend(["--cert", path_arg(&cert), "--key", path_arg(&key)]);
        if let Some((user, password)) = auth {
            args.extend(["--user", user, "--password", password]);
        }
        Self::spawn(&args, Some((tls, certificates))).await
    }

    async fn spawn(args: &[&str], tls: Option<(SinkTls, SinkCertificates)>) -> SmtpSink {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/smtp_sink.py");
        let mut child = Command::new(python())
            .arg(&script)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the SMTP sink (python3)");
        let stdout = child.stdout.take().expect("piped stdout");
        let process = SinkProcess(child);
        let (lines, mut messages) = mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        let first = tokio::time::timeout(STARTUP, messages.recv())
            .await
            .expect("the SMTP sink did not start in time")
            .expect(
                "the SMTP sink exited before listening (see its stderr above); install aiosmtpd: \
                 python3 -m venv .venv && .venv/bin/pip install -r clients/python/requirements.txt",
            );
        let port = first
            .trim()
            .parse()
            .expect("the SMTP sink prints its port first");
        SmtpSink {
            process,
            port,
            messages: tokio::sync::Mutex::new(messages),
            tls,
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `smtp://127.0.0.1:PORT` (plain TCP), `smtp+starttls://…` or `smtps://…` as the sink
    /// was started; no credentials.
    pub fn url(&self) -> String {
        format!("{}://127.0.0.1:{}", self.scheme(), self.port)
    }

    /// `url()` with `USER:PASSWORD@`, both parts percent-encoded.
    pub fn url_with_credentials(&self, user: &str, password: &str) -> String {
        format!(
            "{}://{}:{}@127.0.0.1:{}",
            self.scheme(),
            percent_encode(user),
            percent_encode(password),
            self.port
        )
    }

    fn scheme(&self) -> &'static str {
        self.tls.as_ref().map_or("smtp", |(tls, _)| tls.scheme())
    }

    /// The PEM file of the CA that issued a TLS sink's certificate.
    pub fn ca_file(&self) -> PathBuf {
        let (_, certificates) = self.tls.as_ref().expect("ca_file() of a sink without TLS");
        certificates.file("ca.pem")
    }

    /// The next message received (in order), or a panic after `timeout`.
    pub async fn next_message(&self, timeout: Duration) -> ReceivedMail {
        let mut messages = self.messages.lock().await;
        let line = tokio::time::timeout(timeout, messages.recv())
            .await
            .unwrap_or_else(|_| panic!("no email arrived within {timeout:?}"))
            .unwrap_or_else(|| panic!("the SMTP sink (pid {}) exited", self.process.0.id()));
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("sink line {line:?}: {e}"))
    }
}

fn path_arg(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}

/// Every byte but unreserved ASCII as `%XX`.
fn percent_encode(raw: &str) -> String {
    raw.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------

/// One request as the HTTP sink received it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: Method,
    /// Path only; the query is in `query`.
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl RecordedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("request body is JSON")
    }

    /// An `application/x-www-form-urlencoded` body as a map.
    pub fn form(&self) -> HashMap<String, String> {
        url::form_urlencoded::parse(&self.body)
            .into_owned()
            .collect()
    }

    /// `(user, password)` from an `Authorization: Basic` header.
    pub fn basic_auth(&self) -> Option<(String, String)> {
        let encoded = self
            .header(AUTHORIZATION.as_str())?
            .strip_prefix("Basic ")?;
        let decoded = String::from_utf8(BASE64.decode(encoded.as_bytes()).ok()?).ok()?;
        let (user, password) = decoded.split_once(':')?;
        Some((user.to_owned(), password.to_owned()))
    }
}

#[derive(Debug, Clone)]
struct Reply {
    status: StatusCode,
    body: Value,
}

struct SinkState {
    log: Mutex<Vec<RecordedRequest>>,
    arrivals: mpsc::UnboundedSender<RecordedRequest>,
    /// Replies for the next requests, in order; when empty, `default` answers.
    script: Mutex<VecDeque<Reply>>,
    default: Mutex<Reply>,
}

/// An HTTP server on 127.0.0.1 inside the test process that records every request, whatever
/// its method or path, and answers `200 {}` unless told otherwise. Stops when dropped.
pub struct HttpSink {
    addr: SocketAddr,
    state: Arc<SinkState>,
    arrivals: tokio::sync::Mutex<mpsc::UnboundedReceiver<RecordedRequest>>,
    server: JoinHandle<()>,
}

impl HttpSink {
    pub async fn start() -> HttpSink {
        let (sender, arrivals) = mpsc::unbounded_channel();
        let state = Arc::new(SinkState {
            log: Mutex::new(Vec::new()),
            arrivals: sender,
            script: Mutex::new(VecDeque::new()),
            default: Mutex::new(Reply {
                status: StatusCode::OK,
                body: json!({}),
            }),
        });
        let app = Router::new().fallback(record).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        HttpSink {
            addr,
            state,
            arrivals: tokio::sync::Mutex::new(arrivals),
            server,
        }
    }

    /// `http://127.0.0.1:PORT{path}`; `url("")` is the base URL.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.log.lock().unwrap().clone()
    }

    /// The next request not yet returned by this method, or a panic after `timeout`.
    pub async fn next_request(&self, timeout: Duration) -> RecordedRequest {
        let mut arrivals = self.arrivals.lock().await;
        tokio::time::timeout(timeout, arrivals.recv())
            .await
            .unwrap_or_else(|_| panic!("no request arrived within {timeout:?}"))
            .expect("the sink is alive while borrowed")
    }

    /// Answers the next `n` requests with `status` and an empty JSON object.
    pub fn fail_next(&self, n: usize, status: StatusCode) {
        for _ in 0..n {
            self.reply_next(status, json!({}));
        }
    }

    /// Answers the next request not yet scripted with `status` and `body`.
    pub fn reply_next(&self, status: StatusCode, body: Value) {
        let mut script = self.state.script.lock().unwrap();
        script.push_back(Reply { status, body });
    }

    /// What unscripted requests get from now on (initially `200 {}`).
    pub fn reply_always(&self, status: StatusCode, body: Value) {
        *self.state.default.lock().unwrap() = Reply { status, body };
    }
}

impl Drop for HttpSink {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn record(
    State(state): State<Arc<SinkState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = RecordedRequest {
        method,
        path: uri.path().to_owned(),
        query: uri.query().map(str::to_owned),
        headers,
        body,
    };
    state.log.lock().unwrap().push(request.clone());
    let _ = state.arrivals.send(request);
    let scripted = state.script.lock().unwrap().pop_front();
    let reply = scripted.unwrap_or_else(|| state.default.lock().unwrap().clone());
    (
        reply.status,
        [(CONTENT_TYPE, "application/json")],
        reply.body.to_string(),
    )
        .into_response()
}
