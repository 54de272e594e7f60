//! Several nodes, one database: three `tessera serve` processes on one PostgreSQL database,
//! started at the same moment in dev mode with one master key file that none of them has
//! yet (the first creates it; the default realm and signing keys are created once). Any
//! node finishes what another began, and when the same SMS code, the same TOTP code or the
//! same pending credential reaches all three nodes at once, exactly one request wins, every
//! time, and the others get the Identity Toolkit's own error; so with ZITADEL's session,
//! authenticator and email codes, and ZITADEL's errors. The nodes count failures and
//! codes sent against limits no race reaches, as production does by default: every check and
//! every code sent then also charges and gives back its counters (`counters.rs` in
//! tessera-store), and the races show that no two writes lock the same rows in orders that
//! could deadlock (the store's order of locks, `attempts.rs` there).
//!
//! The database: a fresh one from `TEST_POSTGRES_URL`; without it, a fresh one on the usual
//! local server (`postgres://postgres@127.0.0.1:5432`) when that answers. Several processes
//! on one SQLite file are not a supported setup (DESIGN.md: several nodes share one
//! PostgreSQL database), so only when no PostgreSQL answers at all do these tests run one
//! node on SQLite, racing the same requests against it, and say so on stderr.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::any::AnyPoolOptions;
use tempfile::TempDir;

use crate::cluster::*;
use crate::helpers::{
    PROJECT, Reply, assert_it_error, assert_zitadel_error, claims, create_database, str_of,
};

const SIGN_IN_START: &str = "/v2/accounts/mfaSignIn:start";
const SIGN_IN_FINALIZE: &str = "/v2/accounts/mfaSignIn:finalize";
const ENROL_START: &str = "/v2/accounts/mfaEnrollment:start";
/// Rounds of each kind of race.
const ROUNDS: usize = 1000;
/// Rounds in flight at once, per kind.
const PARALLEL: usize = 12;
/// The server used when `TEST_POSTGRES_URL` is not set.
const LOCAL_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// Failure and delivery limits that are counted but never reached.
const LIMITS: &str = r#"
[failure_limits]
per_user = { count = 1000000, window_seconds = 3600 }
per_ip = { count = 1000000, window_seconds = 3600 }

[limits]
per_destination = { count = 1000000, window_seconds = 3600 }
per_country = { count = 1000000, window_seconds = 3600 }
per_ip = { count = 1000000, window_seconds = 3600 }
per_realm = { count = 1000000, window_seconds = 3600 }
"#;

struct Cluster {
    nodes: Vec<Node>,
    _dir: TempDir,
}

impl Cluster {
    /// Three nodes on a fresh PostgreSQL database, all started at once.
    async fn start() -> Cluster {
        let dir = tempfile::Builder::new()
            .prefix("tessera_nodes")
            .tempdir()
            .expect("temp dir");
        let (url, count) = match postgres(dir.path()).await {
            Some(url) => (url, 3),
            None => {
                eprintln!(
                    "nodes: no PostgreSQL at TEST_POSTGRES_URL or {LOCAL_POSTGRES}; \
                     racing against ONE node on SQLite instead of three"
                );
                let url = format!("sqlite://{}", dir.path().join("tessera.db").display());
                (url, 1)
            }
        };
        let key = dir.path().join("shared-master.key");
        let config = format!("{NODE_CONFIG}{LIMITS}");
        let mut starting = tokio::task::JoinSet::new();
        for i in 0..count {
            let (data, url, key, config) = (
                dir.path().join(format!("node{i}")),
                url.clone(),
                key.clone(),
                config.clone(),
            );
            starting.spawn(async move { Node::start_configured(&data, &url, &key, &config).await });
        }
        let nodes = starting.join_all().await;
        Cluster { nodes, _dir: dir }
    }

    /// Node `i`, round robin.
    fn node(&self, i: usize) -> &Node {
        &self.nodes[i % self.nodes.len()]
    }

    /// The same ZITADEL request to every node, all at once.
    async fn race_zitadel(&self, method: Method, path: &str, pat: &str, body: Value) -> [Reply; 3] {
        let send = |i| self.node(i).zitadel(method.clone(), path, pat, &body);
        let (a, b, c) = tokio::join!(send(0), send(1), send(2));
        [a, b, c]
    }

    /// `bodies[i]` to node `i`, all at once.
    async fn race(&self, path: &str, bodies: [Value; 3]) -> [Reply; 3] {
        let [a, b, c] = bodies;
        let (a, b, c) = tokio::join!(
            self.node(0).post(path, a),
            self.node(1).post(path, b),
            self.node(2).post(path, c)
        );
        [a, b, c]
    }
}

/// A fresh database on the PostgreSQL server the suite uses, if one answers.
pub async fn postgres(dir: &std::path::Path) -> Option<String> {
    let name = format!(
        "tessera_test_{}",
        dir.file_name().and_then(|n| n.to_str()).unwrap_or("x")
    );
    match std::env::var("TEST_POSTGRES_URL") {
        // CI names a server: it must answer (create_database fails the test otherwise).
        Ok(server) if !server.is_empty() => Some(create_database(&server, &name).await),
        _ => {
            sqlx::any::install_default_drivers();
            let reachable = AnyPoolOptions::new()
                .max_connections(1)
                .acquire_timeout(Duration::from_secs(3))
                .connect(LOCAL_POSTGRES)
                .await
                .is_ok();
            if reachable {
                Some(create_database(LOCAL_POSTGRES, &name).await)
            } else {
                None
            }
        }
    }
}

/// Exactly one success; every other reply is the Identity Toolkit error `loser`. Returns the
/// winner's index and body.
fn one_winner(replies: [Reply; 3], loser: &str) -> (usize, Value) {
    one_winner_by(replies, |reply| assert_it_error(reply, loser))
}

/// A ZITADEL error: HTTP status, gRPC code, message and id (`assert_zitadel_error`).
type ZitadelError = (u16, i64, &'static str, &'static str);

/// Exactly one success; every other reply is one of the ZITADEL errors `losers`.
fn one_zitadel_winner(replies: [Reply; 3], losers: &[ZitadelError]) -> Value {
    let (_, won) = one_winner_by(replies, |reply| {
        let id = &reply.1["details"][0]["id"];
        let Some(&(http, code, message, id)) = losers.iter().find(|loser| *id == loser.3) else {
            panic!("a loser that none of {losers:?} describes: {reply:?}");
        };
        assert_zitadel_error(reply, http, code, message, id);
    });
    won
}

/// Exactly one success; `loser` asserts each other reply. Returns the winner's index and
/// body.
fn one_winner_by(replies: [Reply; 3], loser: impl Fn(&Reply)) -> (usize, Value) {
    let mut winners = Vec::new();
    for (i, reply) in replies.into_iter().enumerate() {
        if reply.0 == StatusCode::OK {
            winners.push((i, reply.1));
        } else {
            loser(&reply);
        }
    }
    assert_eq!(winners.len(), 1, "one winner: {winners:?}");
    winners.pop().expect("one")
}

fn second_factor(id_token: &Value) -> Value {
    claims(id_token.as_str().expect("idToken"))["firebase"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flow_started_on_one_node_finishes_on_another() {
    let cluster = Cluster::start().await;
    let n = |i| cluster.node(i);
    let email = "walker@example.com";
    let session = n(0).verified_user(email).await;

    // TOTP: started on node 1, finalized on node 2, signed in on 0 and 1, refreshed on 2.
    let (factor, secret, step) = enrol_totp(n(1), n(2), &session).await;
    let (status, first) = n(0).sign_in(email).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["mfaInfo"][0]["mfaEnrollmentId"], factor.as_str());
    let (step, code) = distinct_code(&secret, step + 1);
    until_in_window(step).await;
    let (status, signed_in) = n(1)
        .post(
            SIGN_IN_FINALIZE,
            json!({"mfaPendingCredential": first["mfaPendingCredential"], "mfaEnrollmentId": factor,
                   "totpVerificationInfo": {"verificationCode": code}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{signed_in}");
    assert_eq!(
        second_factor(&signed_in["idToken"])["second_factor_identifier"],
        factor.as_str()
    );
    // The same code on another node: its step is spent everywhere.
    let (_, again) = n(2).sign_in(email).await;
    assert_it_error(
        &n(2)
            .post(
                SIGN_IN_FINALIZE,
                json!({"mfaPendingCredential": again["mfaPendingCredential"], "mfaEnrollmentId": factor,
                       "totpVerificationInfo": {"verificationCode": code}}),
            )
            .await,
        "INVALID_CODE",
    );
    let (status, refreshed) = n(2)
        .post(
            "/v1/token",
            json!({"grant_type": "refresh_token", "refresh_token": signed_in["refreshToken"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    assert_eq!(
        second_factor(&refreshed["id_token"])["sign_in_second_factor"],
        "totp"
    );

    // Phone: started on node 2, its code read from node 0's outbox, finalized on node 1.
    let (status, started) = n(2)
        .post(
            ENROL_START,
            json!({"idToken": refreshed["id_token"], "phoneEnrollmentInfo": {"phoneNumber": "+16505550142"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{started}");
    let session_info = str_of(&started["phoneSessionInfo"], "sessionInfo").to_owned();
    let code = n(0).sms_code(&session_info).await;
    let (status, done) = n(1)
        .post(
            "/v2/accounts/mfaEnrollment:finalize",
            json!({"idToken": refreshed["id_token"],
                   "phoneVerificationInfo": {"sessionInfo": session_info, "code": code}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");

    // Every node sees both factors, through both dialects; a PAT written by one node works
    // on another (one machine user, created once).
    let (status, looked) = n(0)
        .post("/v1/accounts:lookup", json!({"idToken": done["idToken"]}))
        .await;
    assert_eq!(status, StatusCode::OK, "{looked}");
    let mfa = looked["users"][0]["mfaInfo"].as_array().expect("mfaInfo");
    assert_eq!(mfa.len(), 2, "{looked}");
    assert_eq!(mfa[1]["phoneInfo"], "+16505550142", "{looked}");
    let user = str_of(&session, "localId");
    let (status, listed) = n(2)
        .try_call(
            Method::POST,
            &format!("/management/v1/users/{user}/auth_factors/_search"),
            Some(&n(1).pat()),
            None,
        )
        .await
        .expect("request");
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert_eq!(
        listed,
        json!({"result": [{"state": "AUTH_FACTOR_STATE_READY", "otp": {}},
                          {"state": "AUTH_FACTOR_STATE_READY", "otpSms": {}}]})
    );
    // One signing key for all: the JWKS is the same everywhere.
    let mut sets = Vec::new();
    for i in 0..cluster.nodes.len() {
        let (status, set) = n(i)
            .try_call(Method::GET, "/.well-known/jwks.json", None, None)
            .await
            .expect("request");
        assert_eq!(status, StatusCode::OK, "{set}");
        sets.push(set);
    }
    assert!(sets.windows(2).all(|w| w[0] == w[1]), "{sets:?}");
}

/// Each node keeps a realm it read for one second (`service/recent.rs`). An administrator's
/// change holds on the node that made it at once, and on every other node once that second
/// has passed; administrators always read what is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_realm_change_holds_at_once_where_made_and_within_a_second_elsewhere() {
    let cluster = Cluster::start().await;
    let n = |i| cluster.node(i);
    let session = n(0).verified_user("config@example.com").await;
    let start = json!({"idToken": session["idToken"], "totpEnrollmentInfo": {}});
    let refused = "OPERATION_NOT_ALLOWED : TOTP based MFA not enabled.";
    for i in 0..cluster.nodes.len() {
        let (status, started) = n(i).post(ENROL_START, start.clone()).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "node {i} keeps the realm: {started}"
        );
    }

    let changed = Instant::now();
    let config = format!("/v2/projects/{PROJECT}/config");
    let (status, patched) = n(0)
        .try_call(
            Method::PATCH,
            &format!("{config}?updateMask=mfa.state"),
            Some("owner"),
            Some(&json!({"mfa": {"state": "DISABLED"}})),
        )
        .await
        .expect("request");
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_it_error(&n(0).post(ENROL_START, start.clone()).await, refused);
    for i in 1..cluster.nodes.len() {
        let (status, read) = n(i)
            .try_call(Method::GET, &config, Some("owner"), None)
            .await
            .expect("request");
        assert_eq!(status, StatusCode::OK, "{read}");
        assert_eq!(read["mfa"]["state"], "DISABLED", "node {i}: {read}");
    }

    tokio::time::sleep_until((changed + Duration::from_secs(1)).into()).await;
    for i in 1..cluster.nodes.len() {
        assert_it_error(&n(i).post(ENROL_START, start.clone()).await, refused);
    }
}

/// A tenant deleted on one node may still be kept by another for up to a second. A sign-up
/// there in that second refers to the deleted realm, which the database refuses: the caller
/// hears `TENANT_NOT_FOUND`, as it will once the second is over, never an internal error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_deleted_on_one_node_is_not_found_on_the_others_at_once() {
    let cluster = Cluster::start().await;
    let n = |i| cluster.node(i);
    let last = cluster.nodes.len() - 1;
    let tenants = format!("/v2/projects/{PROJECT}/tenants");
    let (status, created) = n(0)
        .admin_post(&tenants, json!({"displayName": "Brief"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let tenant = str_of(&created, "name")
        .rsplit('/')
        .next()
        .expect("id")
        .to_owned();
    let sign_up = |email: &str| {
        json!({"email": email, "password": "correct horse", "tenantId": tenant,
               "returnSecureToken": true})
    };
    let (status, body) = n(last)
        .post("/v1/accounts:signUp", sign_up("first@example.com"))
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "node {last} keeps the tenant: {body}"
    );

    let (status, deleted) = n(0)
        .try_call(
            Method::DELETE,
            &format!("{tenants}/{tenant}"),
            Some("owner"),
            None,
        )
        .await
        .expect("request");
    assert_eq!(status, StatusCode::OK, "{deleted}");
    for email in ["second@example.com", "third@example.com"] {
        assert_it_error(
            &n(last).post("/v1/accounts:signUp", sign_up(email)).await,
            "TENANT_NOT_FOUND",
        );
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_it_error(
        &n(last)
            .post("/v1/accounts:signUp", sign_up("fourth@example.com"))
            .await,
        "TENANT_NOT_FOUND",
    );
}

/// Dev mode, several nodes started at the same moment on one master key file that does not
/// exist yet: one creates it, the others use it (each was refused with "File exists", or
/// could read the file half written). Separate SQLite files here, so that no migration lock
/// spaces the starts out as it does on one PostgreSQL database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_started_together_share_the_master_key_one_of_them_creates() {
    let dir = tempfile::tempdir().expect("temp dir");
    let key = dir.path().join("shared.key");
    let mut starting = tokio::task::JoinSet::new();
    for i in 0..6 {
        let data = dir.path().join(format!("node{i}"));
        let url = format!("sqlite://{}", data.join("tessera.db").display());
        let key = key.clone();
        starting.spawn(async move { Node::start(&data, &url, &key).await });
    }
    // Every one of them started and is ready (`Node::start` waits for `/readyz`).
    assert_eq!(starting.join_all().await.len(), 6);
    let text = std::fs::read_to_string(&key).expect("key file");
    let id = serde_json::from_str::<Value>(&text).expect("json")["id"].clone();
    assert!(
        id.as_str().is_some_and(|id| id.starts_with("mk-")),
        "{text}"
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("dir")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("shared."))
        .collect();
    assert_eq!(leftovers, ["shared.key"], "no temporary key files left");
}

/// Runs `PARALLEL` workers of one kind; each gets the cluster, its index and the counter
/// its rounds are taken from. Returns how many rounds were asked for.
async fn rounds<F, Fut>(cluster: &Arc<Cluster>, round: F) -> usize
where
    F: Fn(Arc<Cluster>, usize, Arc<AtomicUsize>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..PARALLEL {
        workers.spawn(round(cluster.clone(), worker, next.clone()));
    }
    while let Some(done) = workers.join_next().await {
        done.expect("worker");
    }
    next.load(Ordering::SeqCst)
}

/// Takes the next round's number, or `None` once `ROUNDS` have been handed out.
fn take(next: &AtomicUsize) -> Option<usize> {
    take_of(next, ROUNDS)
}

/// Takes the next round's number, or `None` once `rounds` have been handed out.
fn take_of(next: &AtomicUsize, rounds: usize) -> Option<usize> {
    let round = next.fetch_add(1, Ordering::SeqCst);
    (round < rounds).then_some(round)
}

/// The same SMS code for one sign-in reaches all three nodes at once.
async fn sms_worker(cluster: Arc<Cluster>, worker: usize, next: Arc<AtomicUsize>) {
    let email = format!("sms{worker}@example.com");
    let session = cluster.node(worker).verified_user(&email).await;
    let phone = format!("+1650555{:04}", 1000 + worker);
    let (status, enrolled) = enrol_phone(cluster.node(worker + 1), &session, &phone).await;
    assert_eq!(status, StatusCode::OK, "{enrolled}");
    let factor = second_factor(&enrolled["idToken"])["second_factor_identifier"].clone();
    while let Some(round) = take(&next) {
        let (status, first) = cluster.node(round).sign_in(&email).await;
        assert_eq!(status, StatusCode::OK, "{first}");
        let (status, sent) = cluster
            .node(round + 1)
            .post(
                SIGN_IN_START,
                json!({"mfaPendingCredential": first["mfaPendingCredential"], "mfaEnrollmentId": factor,
                       "phoneSignInInfo": {"recaptchaToken": "t"}}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{sent}");
        let session_info = str_of(&sent["phoneResponseInfo"], "sessionInfo").to_owned();
        let code = cluster.node(round + 2).sms_code(&session_info).await;
        let body = json!({"mfaPendingCredential": first["mfaPendingCredential"],
                          "phoneVerificationInfo": {"sessionInfo": session_info, "code": code}});
        let (_, won) = one_winner(
            cluster
                .race(SIGN_IN_FINALIZE, [body.clone(), body.clone(), body])
                .await,
            SMS_LOSER,
        );
        let signed = second_factor(&won["idToken"]);
        assert_eq!(signed["sign_in_second_factor"], "phone");
        assert_eq!(signed["second_factor_identifier"], factor);
    }
}

/// What the losers of an SMS race hear: by the time they are refused, the sign-in they
/// name is over, as it would be had they come second.
const SMS_LOSER: &str = "INVALID_MFA_PENDING_CREDENTIAL";

/// Rounds of the enrolment race (fewer: it shares its code path with the sign-in race up to
/// the point where the code is used).
const ENROL_ROUNDS: usize = 300;

/// The same SMS code for one phone enrolment reaches all three nodes at once: one factor is
/// enrolled, the others hear that the session is used (they heard SESSION_EXPIRED when they
/// came between another node's read and its use of the code). The factor is withdrawn again
/// to stay under five.
async fn enrol_worker(cluster: Arc<Cluster>, worker: usize, next: Arc<AtomicUsize>) {
    let email = format!("enrol{worker}@example.com");
    let mut session = cluster.node(worker).verified_user(&email).await;
    while let Some(round) = take_of(&next, ENROL_ROUNDS) {
        let (status, started) = cluster
            .node(round)
            .post(
                ENROL_START,
                json!({"idToken": session["idToken"],
                       "phoneEnrollmentInfo": {"phoneNumber": format!("+1650556{:04}", round % 10_000)}}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{started}");
        let session_info = str_of(&started["phoneSessionInfo"], "sessionInfo").to_owned();
        let code = cluster.node(round + 1).sms_code(&session_info).await;
        let body = json!({"idToken": session["idToken"],
                          "phoneVerificationInfo": {"sessionInfo": session_info, "code": code}});
        let (_, won) = one_winner(
            cluster
                .race(
                    "/v2/accounts/mfaEnrollment:finalize",
                    [body.clone(), body.clone(), body],
                )
                .await,
            "INVALID_SESSION_INFO",
        );
        let factor = second_factor(&won["idToken"])["second_factor_identifier"].clone();
        let (status, withdrawn) = cluster
            .node(round + 2)
            .post(
                "/v2/accounts/mfaEnrollment:withdraw",
                json!({"idToken": won["idToken"], "mfaEnrollmentId": factor}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{withdrawn}");
        session = withdrawn;
    }
}

/// TOTP: each user has four factors and is used for five consecutive time steps. Per step,
/// (1) the same code of factor A with three fresh pending credentials at once: one wins,
/// the others are refused as a replayed code; (2) one pending credential with codes of
/// factors B, C and D at once: one wins, the others find the sign-in over.
async fn totp_worker(
    cluster: Arc<Cluster>,
    worker: usize,
    next_code: Arc<AtomicUsize>,
    next_credential: Arc<AtomicUsize>,
) {
    let mut user = 0;
    loop {
        let email = format!("totp{worker}-{user}@example.com");
        user += 1;
        let session = cluster.node(worker + user).verified_user(&email).await;
        let mut factors = Vec::new();
        for f in 0..4 {
            let (id, secret, step) = enrol_totp(
                cluster.node(worker + f),
                cluster.node(worker + f + 1),
                &session,
            )
            .await;
            factors.push((id, secret, step + 1));
        }
        // Sign-ins still open after losing a race (one attempt spent each), with their losses:
        // later rounds use them instead of signing in again.
        let mut spare: Vec<(Value, u32)> = Vec::new();
        for slot in 0..5 {
            let code_round = take(&next_code);
            let credential_round = take(&next_credential);
            if code_round.is_none() && credential_round.is_none() {
                return;
            }
            if code_round.is_some() {
                same_code_round(&cluster, &email, &mut factors[0], &mut spare, slot).await;
            }
            if credential_round.is_some() {
                same_credential_round(&cluster, &email, &mut factors[1..], &mut spare, slot).await;
            }
        }
    }
}

/// The next usable code of a factor whose next unused step is `next`.
async fn next_code(next: &mut i64, secret: &str) -> String {
    let (step, code) = distinct_code(secret, *next);
    until_in_window(step).await;
    *next = step + 1;
    code
}

/// An open sign-in of `email`: a spare one, or a new one from `node`.
async fn pending_credential(
    node: &Node,
    email: &str,
    spare: &mut Vec<(Value, u32)>,
) -> (Value, u32) {
    if let Some(open) = spare.pop() {
        return open;
    }
    let (status, first) = node.sign_in(email).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    (first["mfaPendingCredential"].clone(), 0)
}

async fn same_code_round(
    cluster: &Cluster,
    email: &str,
    factor: &mut (String, String, i64),
    spare: &mut Vec<(Value, u32)>,
    slot: usize,
) {
    let mut credentials = Vec::new();
    for i in 0..3 {
        credentials.push(pending_credential(cluster.node(slot + i), email, spare).await);
    }
    let code = next_code(&mut factor.2, &factor.1).await;
    let body = |credential: &Value| {
        json!({"mfaPendingCredential": credential, "mfaEnrollmentId": factor.0,
               "totpVerificationInfo": {"verificationCode": code}})
    };
    let (winner, won) = one_winner(
        cluster
            .race(
                SIGN_IN_FINALIZE,
                [
                    body(&credentials[0].0),
                    body(&credentials[1].0),
                    body(&credentials[2].0),
                ],
            )
            .await,
        "INVALID_CODE",
    );
    assert_eq!(
        second_factor(&won["idToken"])["second_factor_identifier"],
        factor.0.as_str()
    );
    // A pending sign-in allows five wrong codes; keep each well below that.
    for (i, (credential, losses)) in credentials.into_iter().enumerate() {
        if i != winner && losses < 2 {
            spare.push((credential, losses + 1));
        }
    }
}

async fn same_credential_round(
    cluster: &Cluster,
    email: &str,
    factors: &mut [(String, String, i64)],
    spare: &mut Vec<(Value, u32)>,
    slot: usize,
) {
    let (credential, _) = pending_credential(cluster.node(slot), email, spare).await;
    let mut bodies = Vec::new();
    for (id, secret, next) in factors.iter_mut() {
        let code = next_code(next, secret).await;
        bodies.push(
            json!({"mfaPendingCredential": credential, "mfaEnrollmentId": id,
                           "totpVerificationInfo": {"verificationCode": code}}),
        );
    }
    let bodies: [Value; 3] = bodies.try_into().expect("three factors");
    let (_, won) = one_winner(
        cluster.race(SIGN_IN_FINALIZE, bodies).await,
        "INVALID_MFA_PENDING_CREDENTIAL",
    );
    let id = second_factor(&won["idToken"])["second_factor_identifier"].clone();
    assert!(factors.iter().any(|f| id == f.0.as_str()), "{id}");
}

/// Rounds of the ZITADEL races (each round races four codes).
const ZITADEL_ROUNDS: usize = 250;

const SESSION_CODE_GONE: ZitadelError = (400, 9, "Code not found", "COMMAND-S34gh");
const TOTP_READY: ZitadelError = (400, 9, "Errors.Users.MFA.OTP.AlreadyReady", "COMMAND-qx4ls");
const CONTACT_CODE_GONE: ZitadelError = (400, 3, "Code is invalid", "COMMAND-eis9R");

/// ZITADEL's own code checks, each code reaching all three nodes at once, one winner each
/// time: a session's OTP SMS and then OTP Email code (the losers find the code used, whether
/// they read the session before the winner wrote it or after), a registered authenticator's first code (the losers find
/// it ready; it is removed again for the next round), and a new email address's code (the
/// losers find no code, as they would had they come second).
async fn zitadel_worker(cluster: Arc<Cluster>, worker: usize, next: Arc<AtomicUsize>) {
    let pat = cluster.node(0).pat();
    let call = async |node: usize, method: Method, path: &str, body: Value| {
        cluster.node(node).zitadel(method, path, &pat, &body).await
    };
    let race = async |method: Method, path: &str, body: Value| {
        cluster.race_zitadel(method, path, &pat, body).await
    };
    let (status, created) = call(
        worker,
        Method::POST,
        "/v2/users/human",
        json!({"profile": {"givenName": "Ada", "familyName": "Lovelace"},
               "email": {"email": format!("zitadel{worker}@example.com"), "isVerified": true},
               "phone": {"phone": format!("+1650557{:04}", 1000 + worker), "isVerified": true}}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let user = str_of(&created, "userId").to_owned();
    for (i, factor) in ["otp_sms", "otp_email"].into_iter().enumerate() {
        let path = format!("/v2/users/{user}/{factor}");
        let (status, body) = call(worker + i, Method::POST, &path, json!({})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    while let Some(round) = take_of(&next, ZITADEL_ROUNDS) {
        let (status, created) = call(
            round,
            Method::POST,
            "/v2/sessions",
            json!({"checks": {"user": {"userId": user}},
                   "challenges": {"otpSms": {"returnCode": true}, "otpEmail": {"returnCode": {}}}}),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let session = format!("/v2/sessions/{}", str_of(&created, "sessionId"));
        for check in ["otpSms", "otpEmail"] {
            let code = str_of(&created["challenges"], check);
            let body = json!({"checks": {check: {"code": code}}});
            let won = one_zitadel_winner(
                race(Method::PATCH, &session, body).await,
                &[SESSION_CODE_GONE],
            );
            assert!(won["sessionToken"].is_string(), "{won}");
        }

        let totp = format!("/v2/users/{user}/totp");
        let (status, registered) = call(round + 1, Method::POST, &totp, json!({})).await;
        assert_eq!(status, StatusCode::OK, "{registered}");
        let (step, code) = distinct_code(str_of(&registered, "secret"), current_step());
        until_in_window(step).await;
        let verify = format!("{totp}/verify");
        one_zitadel_winner(
            race(Method::POST, &verify, json!({"code": code})).await,
            &[TOTP_READY],
        );
        let (status, removed) = call(round + 2, Method::DELETE, &totp, json!({})).await;
        assert_eq!(status, StatusCode::OK, "{removed}");

        let email =
            json!({"email": format!("zitadel{worker}-{round}@example.com"), "returnCode": {}});
        let (status, set) = call(
            round,
            Method::POST,
            &format!("/v2/users/{user}/email"),
            email,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{set}");
        let body = json!({"verificationCode": set["verificationCode"]});
        let path = format!("/v2/users/{user}/email/verify");
        one_zitadel_winner(race(Method::POST, &path, body).await, &[CONTACT_CODE_GONE]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_nodes_accept_each_code_and_pending_credential_once() {
    let cluster = Arc::new(Cluster::start().await);
    let began = Instant::now();
    let next_code = Arc::new(AtomicUsize::new(0));
    let next_credential = Arc::new(AtomicUsize::new(0));
    let (code, credential) = (next_code.clone(), next_credential.clone());
    let totp = rounds(&cluster, move |cluster, worker, _| {
        totp_worker(cluster, worker, code.clone(), credential.clone())
    });
    let sms = rounds(&cluster, sms_worker);
    let enrol = rounds(&cluster, enrol_worker);
    let zitadel = rounds(&cluster, zitadel_worker);
    let (_, sms, enrol, zitadel) = tokio::join!(totp, sms, enrol, zitadel);
    assert!(sms >= ROUNDS);
    assert!(enrol >= ENROL_ROUNDS);
    assert!(zitadel >= ZITADEL_ROUNDS);
    assert!(next_code.load(Ordering::SeqCst) >= ROUNDS);
    assert!(next_credential.load(Ordering::SeqCst) >= ROUNDS);
    eprintln!(
        "nodes: {ROUNDS} rounds each of SMS sign-in, TOTP and pending-credential races, \
         {ENROL_ROUNDS} of SMS enrolment and {ZITADEL_ROUNDS} of ZITADEL's checks on {} \
         node(s) in {:?}",
        cluster.nodes.len(),
        began.elapsed()
    );
}
