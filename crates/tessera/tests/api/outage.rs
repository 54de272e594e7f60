//! Database outage: PostgreSQL stops (immediate shutdown: connections cut mid-query) and
//! starts again while clients keep calling both dialects. Every request is answered within
//! `BOUND` — with success, or with the dialect's "unavailable" error (Identity Toolkit: HTTP
//! 503 `UNAVAILABLE`; ZITADEL: HTTP 503 with code 14 over REST, status 14 `Unavailable` over
//! gRPC, with its ErrorDetail) and never an internal error or a hang
//! — `/readyz` reports the outage, and the node serves again without a restart once the
//! database is back.
//!
//! The test starts its own PostgreSQL server (`PrivatePostgres`): stopping the machine's
//! shared one would break every other test running at the same time.
//!
//! Smaller outages: pooled PostgreSQL connections that the server closed while they were idle,
//! and a SQLite file whose write lock another process keeps.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::Connection;

use prost::Message;
use tessera_server::proto::google::rpc;
use tessera_server::proto::zitadel::management::v1::ListHumanAuthFactorsRequest;
use tessera_server::proto::zitadel::management::v1::management_service_client::ManagementServiceClient;
use tessera_server::proto::zitadel::v1::ErrorDetail;
use tonic::transport::Channel;

use crate::cluster::*;
use crate::helpers::{Reply, TestApp, assert_google_error, assert_zitadel_error, str_of};

/// The longest any request may take, outage or not (the store gives up waiting for a
/// connection after five seconds).
const BOUND: Duration = Duration::from_secs(10);
const WORKERS: usize = 6;

/// Numbers the accounts that sign-up calls create.
static SIGN_UPS: AtomicUsize = AtomicUsize::new(0);

const UP: u8 = 0;
const DOWN: u8 = 1;
const DONE: u8 = 2;

#[derive(Clone, Copy, Debug)]
enum Call {
    SignUp,
    SignIn,
    Lookup,
    Refresh,
    ZitadelList,
    /// The same ZITADEL call over gRPC.
    ZitadelGrpc,
}

const CALLS: [Call; 6] = [
    Call::SignUp,
    Call::SignIn,
    Call::Lookup,
    Call::Refresh,
    Call::ZitadelList,
    Call::ZitadelGrpc,
];

struct Fixture {
    node: Node,
    session: Value,
    pat: String,
    grpc: ManagementServiceClient<Channel>,
}

impl Fixture {
    async fn call(&self, call: Call) -> Reply {
        let user = str_of(&self.session, "localId");
        let reply = match call {
            Call::SignUp => {
                self.node
                    .try_post(
                        "/v1/accounts:signUp",
                        &json!({"email": format!("new{}@example.com", SIGN_UPS.fetch_add(1, Ordering::SeqCst)), "password": "secret12"}),
                    )
                    .await
            }
            Call::SignIn => {
                self.node
                    .try_post(
                        "/v1/accounts:signInWithPassword",
                        &json!({"email": "outage@example.com", "password": "secret12"}),
                    )
                    .await
            }
            Call::Lookup => {
                self.node
                    .try_post(
                        "/v1/accounts:lookup",
                        &json!({"idToken": self.session["idToken"]}),
                    )
                    .await
            }
            Call::Refresh => {
                self.node
                    .try_post(
                        "/v1/token",
                        &json!({"grant_type": "refresh_token", "refresh_token": self.session["refreshToken"]}),
                    )
                    .await
            }
            Call::ZitadelGrpc => {
                let mut request = tonic::Request::new(ListHumanAuthFactorsRequest {
                    user_id: user.to_owned(),
                });
                let bearer = format!("Bearer {}", self.pat).parse().expect("header");
                request.metadata_mut().insert("authorization", bearer);
                // A status is turned into ZITADEL's JSON form (code, "message (id)", the
                // ErrorDetail from grpc-status-details-bin) so one check covers both.
                return match self.grpc.clone().list_human_auth_factors(request).await {
                    Ok(_) => (StatusCode::OK, Value::Null),
                    Err(status) => {
                        let detail = rpc::Status::decode(status.details()).expect("details");
                        let inner = ErrorDetail::decode(detail.details[0].value.clone())
                            .expect("ErrorDetail");
                        assert_eq!(detail.code, status.code() as i32, "{status:?}");
                        (
                            StatusCode::SERVICE_UNAVAILABLE,
                            json!({"code": status.code() as i32, "message": status.message(),
                                   "details": [{"@type": detail.details[0].type_url,
                                                "id": inner.id, "message": inner.message}]}),
                        )
                    }
                };
            }
            Call::ZitadelList => {
                self.node
                    .try_call(
                        Method::POST,
                        &format!("/management/v1/users/{user}/auth_factors/_search"),
                        Some(&self.pat),
                        None,
                    )
                    .await
            }
        };
        reply.unwrap_or_else(|e| panic!("{call:?}: no answer: {e}"))
    }
}

/// Success, or the dialect's "unavailable" error; `false` for the latter.
fn succeeded_or_unavailable(call: Call, reply: &Reply) -> bool {
    if reply.0 == StatusCode::OK {
        return true;
    }
    match call {
        Call::ZitadelList | Call::ZitadelGrpc => {
            assert_zitadel_error(reply, 503, 14, "Errors.Internal", "TESSERA-DB001")
        }
        _ => assert_google_error(
            reply,
            503,
            "UNAVAILABLE",
            "The service is currently unavailable.",
        ),
    }
    false
}

#[derive(Default, Debug)]
struct Tally {
    ok_up: usize,
    ok_down: usize,
    unavailable: usize,
    slowest: Duration,
}

/// Calls in a loop until the phase is `DONE`; while `UP` everything must succeed.
async fn client(fixture: Arc<Fixture>, phase: Arc<AtomicU8>, worker: usize) -> Tally {
    let mut tally = Tally::default();
    for n in 0.. {
        let now = phase.load(Ordering::SeqCst);
        if now == DONE {
            break;
        }
        let call = CALLS[(worker + n) % CALLS.len()];
        let began = Instant::now();
        let reply = fixture.call(call).await;
        let took = began.elapsed();
        assert!(took <= BOUND, "{call:?} took {took:?}: {reply:?}");
        tally.slowest = tally.slowest.max(took);
        let ok = succeeded_or_unavailable(call, &reply);
        match (ok, now) {
            (true, UP) => tally.ok_up += 1,
            (true, _) => tally.ok_down += 1,
            (false, UP) if phase.load(Ordering::SeqCst) == UP => {
                panic!("{call:?} failed while the database was up: {reply:?}")
            }
            (false, _) => tally.unavailable += 1,
        }
    }
    tally
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_outage_answers_unavailable_and_the_node_recovers() {
    let began = Instant::now();
    let mut pg = PrivatePostgres::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let node = Node::start(
        &dir.path().join("node"),
        &pg.url(),
        &dir.path().join("master.key"),
    )
    .await;
    let session = node.verified_user("outage@example.com").await;
    let pat = node.pat();
    let channel = Channel::from_shared(node.base.clone())
        .expect("uri")
        .connect()
        .await
        .expect("gRPC channel");
    let grpc = ManagementServiceClient::new(channel);
    let fixture = Arc::new(Fixture {
        node,
        session,
        pat,
        grpc,
    });

    let phase = Arc::new(AtomicU8::new(UP));
    let mut clients = tokio::task::JoinSet::new();
    for worker in 0..WORKERS {
        clients.spawn(client(fixture.clone(), phase.clone(), worker));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;

    // Down: the clients keep calling; readiness says so.
    phase.store(DOWN, Ordering::SeqCst);
    pg.crash();
    let down = Instant::now();
    // Each kind of call, while the database is down for certain, is refused as unavailable.
    let mut probes = tokio::task::JoinSet::new();
    for call in CALLS {
        let fixture = fixture.clone();
        probes.spawn(async move {
            let began = Instant::now();
            let reply = fixture.call(call).await;
            assert!(
                began.elapsed() <= BOUND,
                "{call:?} took {:?}",
                began.elapsed()
            );
            assert!(
                !succeeded_or_unavailable(call, &reply),
                "{call:?} succeeded without a database"
            );
        });
    }
    probes.join_all().await;
    let mut not_ready = false;
    while down.elapsed() < Duration::from_secs(6) {
        let (status, body) = fixture
            .node
            .try_call(Method::GET, "/readyz", None, None)
            .await
            .expect("readyz answers");
        if status == StatusCode::SERVICE_UNAVAILABLE {
            assert_eq!(
                body,
                json!({"status": "unavailable", "database": "unreachable"})
            );
            not_ready = true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(not_ready, "readyz never noticed the outage");

    // Back: without restarting the node, every kind of call succeeds again.
    pg.resume();
    let back = Instant::now();
    for call in CALLS {
        loop {
            let reply = fixture.call(call).await;
            if succeeded_or_unavailable(call, &reply) {
                break;
            }
            assert!(
                back.elapsed() < Duration::from_secs(30),
                "{call:?} still failing 30 s after the database came back"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let recovered = back.elapsed();
    phase.store(DONE, Ordering::SeqCst);
    let tallies = clients.join_all().await;
    for call in CALLS {
        for _ in 0..5 {
            let reply = fixture.call(call).await;
            assert_eq!(
                reply.0,
                StatusCode::OK,
                "{call:?} after recovery: {reply:?}"
            );
        }
    }
    assert_eq!(
        fixture
            .node
            .try_call(Method::GET, "/readyz", None, None)
            .await
            .expect("readyz")
            .0,
        StatusCode::OK
    );
    let unavailable: usize = tallies.iter().map(|t| t.unavailable).sum();
    assert!(unavailable > 0, "no client saw the outage: {tallies:?}");
    eprintln!(
        "outage: {tallies:?}; recovered {recovered:?} after PostgreSQL came back; {:?} in all",
        began.elapsed()
    );
}

/// Connections the database server closed while they sat idle in the pool (a restart, an
/// operator's `pg_terminate_backend`, an idle timeout) are replaced before a request gets
/// one: the pool pings a connection that has been idle for a second or more.
#[tokio::test]
async fn connections_the_server_dropped_while_idle_are_replaced_before_use() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = crate::nodes::postgres(dir.path())
        .await
        .expect("this test needs PostgreSQL: TEST_POSTGRES_URL or the local server");
    // The delivery worker polls once a minute here: its reads would otherwise come upon the
    // dead connections, and drop them, before the requests do.
    let config = NODE_CONFIG.replace("poll_interval_ms = 50", "poll_interval_ms = 60000");
    assert_ne!(
        config, NODE_CONFIG,
        "NODE_CONFIG no longer sets the poll interval"
    );
    let node = Arc::new(
        Node::start_configured(
            &dir.path().join("node"),
            &url,
            &dir.path().join("master.key"),
            &config,
        )
        .await,
    );
    // Requests at once, so that the pool holds several connections.
    let mut sign_ups = tokio::task::JoinSet::new();
    for n in 0..40 {
        let node = node.clone();
        let body = json!({"email": format!("before{n}@example.com"), "password": "secret12"});
        sign_ups.spawn(async move { node.post("/v1/accounts:signUp", body).await });
    }
    for (status, body) in sign_ups.join_all().await {
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    sqlx::any::install_default_drivers();
    let admin = sqlx::AnyPool::connect(&url)
        .await
        .expect("admin connection");
    let (terminated,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()) AS t",
    )
    .fetch_one(&admin)
    .await
    .expect("terminate the node's connections");
    admin.close().await;
    assert!(terminated > 1, "the node held {terminated} connection(s)");

    tokio::time::sleep(Duration::from_millis(1500)).await;
    for n in 0..10 {
        let reply = node
            .post(
                "/v1/accounts:signUp",
                json!({"email": format!("after{n}@example.com"), "password": "secret12"}),
            )
            .await;
        assert_eq!(reply.0, StatusCode::OK, "sign-up {n}: {reply:?}");
    }
}

/// Another process holding the SQLite file's write lock past the busy timeout (five seconds):
/// writes in both dialects answer "unavailable", change nothing, and succeed once the lock is
/// let go.
#[tokio::test]
async fn a_sqlite_file_another_process_keeps_locked_answers_unavailable() {
    let app = TestApp::spawn_with(|c| c.database_url = None).await;
    let session = app.verified_user("locked@example.com").await;
    let user = str_of(&session, "localId").to_owned();
    let pat = app.pat();
    let start = json!({"idToken": session["idToken"], "totpEnrollmentInfo": {}});
    let totp = format!("/v2/users/{user}/totp");

    let mut other = sqlx::AnyConnection::connect(app.config.database_url().expose())
        .await
        .expect("a second connection to the file");
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut other)
        .await
        .expect("the write lock");
    let before = app.fingerprint().await;
    let (google, zitadel) = tokio::join!(
        app.post("/v2/accounts/mfaEnrollment:start", start.clone()),
        app.zitadel(Method::POST, &totp, &pat, None, Some(json!({}))),
    );
    assert_google_error(
        &google,
        503,
        "UNAVAILABLE",
        "The service is currently unavailable.",
    );
    assert_zitadel_error(&zitadel, 503, 14, "Errors.Internal", "TESSERA-DB001");
    assert_eq!(app.fingerprint().await, before);

    sqlx::query("ROLLBACK")
        .execute(&mut other)
        .await
        .expect("let go of the lock");
    assert_eq!(
        app.post("/v2/accounts/mfaEnrollment:start", start).await.0,
        StatusCode::OK
    );
    let (status, body) = app
        .zitadel(Method::POST, &totp, &pat, None, Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
