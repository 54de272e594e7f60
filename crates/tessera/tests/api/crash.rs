//! Crash safety: a node is killed with SIGKILL in the middle of concurrent enrolments (TOTP
//! and phone), withdrawals, sign-ins and refreshes, then started again on the same data.
//! Everything a client was told succeeded is still there — each acknowledged enrolment is
//! listed by both dialects, each acknowledged withdrawal stays withdrawn, each refresh token
//! handed out still refreshes — and nothing is half written: the tables agree with each other
//! (checked in SQL). Runs on SQLite, or on PostgreSQL when `TEST_POSTGRES_URL` is set.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::any::AnyPoolOptions;

use crate::cluster::*;
use crate::helpers::{PROJECT, Reply, claims, database_url, str_of};

/// Clients driving the node at once.
const WORKERS: usize = 8;

/// What the node acknowledged with a success, and so must keep.
#[derive(Default)]
struct Ledger {
    /// (user, factor) enrolments.
    enrolled: Vec<(String, String)>,
    withdrawn: BTreeSet<String>,
    /// Withdrawals sent, answered or not: one cut off by the kill may have happened.
    withdrawing: BTreeSet<String>,
    refresh_tokens: Vec<String>,
    sign_ins: usize,
}

type Shared = Arc<Mutex<Ledger>>;

/// One client's loop: enrol a TOTP factor, enrol a phone, withdraw both, sign in another
/// user with a password and refresh, and again, until a request gets no answer (the node is
/// gone). Every answer that does arrive must be a success.
async fn client(node: Arc<Node>, worker: usize, ledger: Shared) {
    let mfa_email = format!("mfa{worker}@example.com");
    let plain_email = format!("plain{worker}@example.com");
    let mut session = node.verified_user(&mfa_email).await;
    let user = str_of(&session, "localId").to_owned();
    node.verified_user(&plain_email).await;
    let mut mine: Vec<String> = Vec::new();
    for round in 0.. {
        let result = match round % 5 {
            0 => totp_enrolment(&node, &session).await,
            1 => {
                let phone = format!("+1650555{:04}", round % 10_000);
                phone_enrolment(&node, &session, &phone).await
            }
            2 | 3 => match mine.first() {
                Some(factor) => {
                    let attempt = factor.clone();
                    ledger.lock().expect("ledger").withdrawing.insert(attempt);
                    withdrawal(&node, &session, factor).await
                }
                None => continue,
            },
            _ => sign_in_and_refresh(&node, &plain_email, &ledger).await,
        };
        let Some(body) = result else { return };
        let mut ledger = ledger.lock().expect("ledger");
        if let Some(token) = body["refreshToken"].as_str() {
            ledger.refresh_tokens.push(token.to_owned());
        }
        match round % 5 {
            0 | 1 => {
                let factor =
                    claims(str_of(&body, "idToken"))["firebase"]["second_factor_identifier"]
                        .as_str()
                        .expect("factor")
                        .to_owned();
                ledger.enrolled.push((user.clone(), factor.clone()));
                mine.push(factor);
                session = body;
            }
            2 | 3 => {
                ledger.withdrawn.insert(mine.remove(0));
                session = body;
            }
            _ => ledger.sign_ins += 1,
        }
    }
}

/// A reply that must be a success, or `None` if the node did not answer.
fn success(reply: Result<Reply, reqwest::Error>) -> Option<Value> {
    let (status, body) = reply.ok()?;
    assert_eq!(status, StatusCode::OK, "{body}");
    Some(body)
}

async fn totp_enrolment(node: &Node, session: &Value) -> Option<Value> {
    let started = success(
        node.try_post(
            "/v2/accounts/mfaEnrollment:start",
            &json!({"idToken": session["idToken"], "totpEnrollmentInfo": {}}),
        )
        .await,
    )?;
    let info = &started["totpSessionInfo"];
    let (step, code) = distinct_code(str_of(info, "sharedSecretKey"), current_step());
    until_in_window(step).await;
    success(
        node.try_post(
            "/v2/accounts/mfaEnrollment:finalize",
            &json!({"idToken": session["idToken"],
                    "totpVerificationInfo": {"sessionInfo": info["sessionInfo"], "verificationCode": code}}),
        )
        .await,
    )
}

async fn phone_enrolment(node: &Node, session: &Value, phone: &str) -> Option<Value> {
    let started = success(
        node.try_post(
            "/v2/accounts/mfaEnrollment:start",
            &json!({"idToken": session["idToken"], "phoneEnrollmentInfo": {"phoneNumber": phone}}),
        )
        .await,
    )?;
    let session_info = str_of(&started["phoneSessionInfo"], "sessionInfo").to_owned();
    let codes = success(
        node.try_call(
            Method::GET,
            &format!("/emulator/v1/projects/{PROJECT}/verificationCodes"),
            None,
            None,
        )
        .await,
    )?;
    let code = codes["verificationCodes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["sessionInfo"] == session_info.as_str())
        .map(|c| c["code"].clone())
        .unwrap_or_else(|| panic!("no code for {session_info} in {codes}"));
    success(
        node.try_post(
            "/v2/accounts/mfaEnrollment:finalize",
            &json!({"idToken": session["idToken"],
                    "phoneVerificationInfo": {"sessionInfo": session_info, "code": code}}),
        )
        .await,
    )
}

async fn withdrawal(node: &Node, session: &Value, factor: &str) -> Option<Value> {
    success(
        node.try_post(
            "/v2/accounts/mfaEnrollment:withdraw",
            &json!({"idToken": session["idToken"], "mfaEnrollmentId": factor}),
        )
        .await,
    )
}

/// A password sign-in, then a refresh of its token; the sign-in's reply is what is kept.
async fn sign_in_and_refresh(node: &Node, email: &str, ledger: &Shared) -> Option<Value> {
    let signed_in = success(
        node.try_post(
            "/v1/accounts:signInWithPassword",
            &json!({"email": email, "password": "secret12", "returnSecureToken": true}),
        )
        .await,
    )?;
    ledger
        .lock()
        .expect("ledger")
        .refresh_tokens
        .push(str_of(&signed_in, "refreshToken").to_owned());
    success(
        node.try_post(
            "/v1/token",
            &json!({"grant_type": "refresh_token", "refresh_token": signed_in["refreshToken"]}),
        )
        .await,
    )
    .map(|_| json!({}))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_under_load_loses_no_acknowledged_write() {
    let began = Instant::now();
    let dir = tempfile::Builder::new()
        .prefix("tessera_crash")
        .tempdir()
        .expect("temp dir");
    let url = database_url(dir.path()).await;
    let key = dir.path().join("master.key");
    let node = Arc::new(Node::start(&dir.path().join("node"), &url, &key).await);
    let ledger = Shared::default();
    let mut clients = tokio::task::JoinSet::new();
    for worker in 0..WORKERS {
        clients.spawn(client(node.clone(), worker, ledger.clone()));
    }

    // Kill once enough has been acknowledged, with every client mid-flight.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        {
            let l = ledger.lock().expect("ledger");
            if l.enrolled.len() >= 60 && l.withdrawn.len() >= 30 && l.sign_ins >= 10 {
                break;
            }
        }
        assert!(Instant::now() < deadline, "load too slow:\n{}", node.log());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    node.kill();
    // Every client sees the node go away (a reset or refused connection) and stops.
    tokio::time::timeout(Duration::from_secs(60), clients.join_all())
        .await
        .expect("clients stop once the node is gone");
    let mut node = Arc::try_unwrap(node).ok().expect("no client left");
    node.restart().await;
    let ledger = Arc::try_unwrap(ledger)
        .ok()
        .expect("no client left")
        .into_inner()
        .expect("ledger");
    check_acknowledged(&node, &ledger).await;
    check_tables_agree(&url).await;

    // And it serves again.
    let session = node.verified_user("after@example.com").await;
    enrol_totp(&node, &node, &session).await;
    eprintln!(
        "crash: {} enrolments, {} withdrawals, {} refresh tokens acknowledged before SIGKILL; {:?} in all",
        ledger.enrolled.len(),
        ledger.withdrawn.len(),
        ledger.refresh_tokens.len(),
        began.elapsed()
    );
}

/// Every acknowledged enrolment is listed (Identity Toolkit and ZITADEL), unless its
/// withdrawal was acknowledged too; every handed-out refresh token refreshes.
async fn check_acknowledged(node: &Node, ledger: &Ledger) {
    let mut by_user: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (user, factor) in &ledger.enrolled {
        by_user.entry(user).or_default().push(factor);
    }
    let pat = node.pat();
    for (user, factors) in by_user {
        let (status, found) = node
            .admin_post(
                &format!("/v1/projects/{PROJECT}/accounts:lookup"),
                json!({"localId": [user]}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{found}");
        let listed: BTreeSet<&str> = found["users"][0]["mfaInfo"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|f| f["mfaEnrollmentId"].as_str().expect("id"))
            .collect();
        for factor in factors {
            if ledger.withdrawn.contains(factor) {
                assert!(
                    !listed.contains(factor),
                    "withdrawn {factor} is back: {found}"
                );
            } else if !ledger.withdrawing.contains(factor) {
                assert!(
                    listed.contains(factor),
                    "enrolled {factor} is lost: {found}"
                );
            }
        }
        let (status, zitadel) = node
            .try_call(
                Method::POST,
                &format!("/management/v1/users/{user}/auth_factors/_search"),
                Some(&pat),
                None,
            )
            .await
            .expect("request");
        assert_eq!(status, StatusCode::OK, "{zitadel}");
        let ready = zitadel["result"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|f| f["state"] == "AUTH_FACTOR_STATE_READY")
            .count();
        assert_eq!(ready, listed.len(), "{zitadel} against {found}");
        let not_ready = zitadel["result"].as_array().map_or(0, Vec::len) - ready;
        assert!(
            not_ready <= 1,
            "one unfinished TOTP enrolment at most: {zitadel}"
        );
    }
    for token in &ledger.refresh_tokens {
        let (status, body) = node
            .post(
                "/v1/token",
                json!({"grant_type": "refresh_token", "refresh_token": token}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
}

/// The tables agree: the ready-factor count each user row keeps is the number of ready
/// factors; a ready factor has what it needs (a TOTP secret under a master key, a phone
/// number); every factor that became ready has its enrolment event and used up its
/// enrolment challenge, every removed one its removal event.
async fn check_tables_agree(url: &str) {
    sqlx::any::install_default_drivers();
    let db = AnyPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .expect("db");
    for (what, sql) in [
        (
            "users whose ready_factors is not their number of ready factors",
            "SELECT COUNT(*) FROM users u WHERE u.ready_factors <> (SELECT COUNT(*) FROM factors f \
             WHERE f.realm_id = u.realm_id AND f.user_id = u.id AND f.state = 'ready')",
        ),
        (
            "ready TOTP factors without a sealed secret",
            "SELECT COUNT(*) FROM factors WHERE state = 'ready' AND kind = 'totp' \
             AND (secret_sealed IS NULL OR master_key_id IS NULL)",
        ),
        (
            "ready SMS factors without a phone number",
            "SELECT COUNT(*) FROM factors WHERE state = 'ready' AND kind = 'sms_otp' AND phone_number IS NULL",
        ),
        (
            "enrolled factors without their enrolment event",
            "SELECT COUNT(*) FROM factors f WHERE f.state <> 'not_ready' AND NOT EXISTS \
             (SELECT 1 FROM events e WHERE e.factor_id = f.id AND e.kind = 'factor.enrolled')",
        ),
        (
            "removed factors without their removal event",
            "SELECT COUNT(*) FROM factors f WHERE f.state = 'removed' AND NOT EXISTS \
             (SELECT 1 FROM events e WHERE e.factor_id = f.id AND e.kind = 'factor.removed')",
        ),
        (
            "enrolment events whose factor is missing or not ready-or-removed",
            "SELECT COUNT(*) FROM events e WHERE e.kind = 'factor.enrolled' AND NOT EXISTS \
             (SELECT 1 FROM factors f WHERE f.id = e.factor_id AND f.state <> 'not_ready')",
        ),
        (
            "the difference between used enrolment challenges and enrolment events",
            "SELECT (SELECT COUNT(*) FROM challenges WHERE purpose = 'enrol' AND consumed) \
             - (SELECT COUNT(*) FROM events WHERE kind = 'factor.enrolled')",
        ),
    ] {
        let count: i64 = sqlx::query_scalar(sql)
            .fetch_one(&db)
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(count, 0, "{what}");
    }
    db.close().await;
}
