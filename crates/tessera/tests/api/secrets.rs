//! Secrets at rest (DESIGN.md: "Secrets never in the clear at rest") and master-key rotation
//! with `tessera keys`, run as the real binary against the test's database and key file.
//!
//! The dump is what an attacker who copies the database gets: the SQLite file with its `-wal`
//! and `-shm` (taken while the server runs, so recent writes are still in the WAL), or
//! `pg_dump`'s output for PostgreSQL. Each secret the test created through the API is searched
//! for in every form it could take there.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use data_encoding::{BASE32_NOPAD, HEXLOWER};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tessera_core::delivery::DeliveryStatus;

use crate::helpers::{PROJECT, TestApp, str_of, totp};

const BIN: &str = env!("CARGO_BIN_EXE_tessera");
const PASSWORD: &str = "correct-horse-battery-staple-42";
const SIGN_IN_START: &str = "/v2/accounts/mfaSignIn:start";
const SIGN_IN_FINALIZE: &str = "/v2/accounts/mfaSignIn:finalize";

/// Runs `tessera keys ARGS…` on the app's database and key file.
async fn keys(app: &TestApp, args: &[&str]) -> Output {
    app.run_tessera(keys_args(app, args)).await
}

/// `tessera keys ARGS…`, which must succeed; its standard output.
async fn keys_ok(app: &TestApp, args: &[&str]) -> String {
    app.run_tessera_ok(keys_args(app, args)).await
}

fn keys_args<'a>(app: &TestApp, args: &'a [&str]) -> impl Iterator<Item = OsString> + 'a {
    let file = key_file(app).into_os_string();
    ["keys".into(), "--master-key-file".into(), file]
        .into_iter()
        .chain(args.iter().map(OsString::from))
}

fn key_file(app: &TestApp) -> PathBuf {
    app.config.master_key_path()
}

/// The key file's key ids and which one is primary.
fn key_ids(app: &TestApp) -> (String, Vec<String>) {
    let file: Value =
        serde_json::from_str(&std::fs::read_to_string(key_file(app)).unwrap()).unwrap();
    match file.get("keys") {
        Some(keys) => (
            str_of(&file, "primary").to_owned(),
            keys.as_array()
                .unwrap()
                .iter()
                .map(|k| str_of(k, "id").to_owned())
                .collect(),
        ),
        None => (
            str_of(&file, "id").to_owned(),
            vec![str_of(&file, "id").to_owned()],
        ),
    }
}

/// Records per sealing key id, over every table that holds a sealed value.
async fn sealed_under(app: &TestApp, key_id: &str) -> i64 {
    let pool = app.db().await;
    let mut total = 0;
    for table in ["factors", "signing_keys", "deliveries", "oob_codes"] {
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM {table} WHERE master_key_id = $1"
        )))
        .bind(key_id)
        .fetch_one(&pool)
        .await
        .unwrap();
        total += n;
    }
    pool.close().await;
    total
}

/// The bytes of a copy of the database an attacker could take.
async fn dump(app: &TestApp) -> Vec<u8> {
    let url = app.config.database_url().expose().to_owned();
    if let Some(path) = url.strip_prefix("sqlite://") {
        let mut bytes = Vec::new();
        for suffix in ["", "-wal", "-shm"] {
            if let Ok(more) = std::fs::read(format!("{path}{suffix}")) {
                bytes.extend(more);
            }
        }
        assert!(bytes.len() > 4096, "the SQLite file is there");
        bytes
    } else {
        let out = Command::new("pg_dump")
            .arg("--no-owner")
            .arg(&url)
            .output()
            .expect("pg_dump is installed");
        assert!(
            out.status.success(),
            "pg_dump: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("CREATE TABLE public.factors"));
        out.stdout
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// Everything secret the test created, with the forms each could take in a dump.
#[derive(Default)]
struct Needles(Vec<(String, Vec<u8>)>);

impl Needles {
    fn text(&mut self, what: &str, value: &str) {
        assert!(value.len() >= 6, "{what} is searchable");
        self.0.push((what.to_owned(), value.as_bytes().to_vec()));
    }

    /// Raw bytes, as SQLite would store a BLOB, and lower-case hex, as `pg_dump` writes a
    /// `bytea` (`\x…`).
    fn bytes(&mut self, what: &str, value: &[u8]) {
        self.0.push((format!("{what} (raw)"), value.to_vec()));
        self.0
            .push((format!("{what} (hex)"), HEXLOWER.encode(value).into_bytes()));
    }

    /// A six-digit code is too short to search for alone: a dump is full of digits (user
    /// ids of 18 digits, timestamps in `pg_dump`'s text), so a random match would fail the
    /// test for nothing. A code stored in the clear would sit in a context, and those are
    /// what is searched: the message JSON the delivery worker renders (`"code":"…"`), the
    /// message text itself, the `sessionInfo:code` pair the challenge's hash is made of, and
    /// a text column of its own in `pg_dump`'s COPY format (tab-delimited).
    fn code(&mut self, what: &str, code: &str, session_info: &str) {
        for form in [
            format!("\"code\":\"{code}\""),
            format!("{code} is your"),
            format!("{session_info}:{code}"),
            format!("\t{code}\t"),
            format!("\t{code}\n"),
        ] {
            self.0
                .push((format!("{what} as {form:?}"), form.into_bytes()));
        }
    }

    /// The control: values that are stored in the clear (an email address) or sealed (the TOTP
    /// factor's sealed bytes, raw or hex) are found, so an absence means something.
    async fn assert_search_finds_what_is_there(app: &TestApp, dump: &[u8], email: &str) {
        assert!(contains(dump, email.as_bytes()), "the dump holds {email}");
        let pool = app.db().await;
        let sealed: Vec<u8> =
            sqlx::query_scalar("SELECT secret_sealed FROM factors WHERE kind = 'totp'")
                .fetch_one(&pool)
                .await
                .unwrap();
        pool.close().await;
        let mut forms = Needles::default();
        forms.bytes("sealed TOTP secret", &sealed);
        assert!(
            forms.0.iter().any(|(_, form)| contains(dump, form)),
            "the dump holds the sealed secret"
        );
    }

    fn assert_absent_from(&self, dump: &[u8]) {
        let found: Vec<&str> = self
            .0
            .iter()
            .filter(|(_, needle)| contains(dump, needle))
            .map(|(what, _)| what.as_str())
            .collect();
        assert!(found.is_empty(), "in the clear in the dump: {found:?}");
    }
}

/// A user with every kind of secret, and the open business to finish after a rotation.
struct World {
    email: String,
    totp_secret: String,
    totp_factor: String,
    id_token: String,
    refresh_token: String,
    /// A phone sign-in waiting for its SMS code (still queued when the worker is off).
    pending_credential: String,
    sms_session: String,
    sms_code: String,
    /// A user whose new email address waits for its code.
    contact_user: String,
    contact_code: String,
    /// A password-reset link's code, kept hashed and sealed.
    reset_code: String,
    needles: Needles,
}

/// The emulator's outstanding password-reset code of `email`, if any.
async fn reset_code_of(app: &TestApp, email: &str) -> Option<String> {
    let (status, body) = app
        .get(&format!("/emulator/v1/projects/{PROJECT}/oobCodes"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["oobCodes"]
        .as_array()?
        .iter()
        .find(|c| c["email"] == email && c["requestType"] == "PASSWORD_RESET")
        .map(|c| str_of(c, "oobCode").to_owned())
}

async fn sign_in_pending(app: &TestApp, email: &str, password: &str) -> Value {
    let (status, first) = app.sign_in(email, password).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert!(first["mfaPendingCredential"].is_string(), "{first}");
    first
}

/// A full sign-in: password, then the TOTP factor with `secret`, one time step later than
/// the last one used.
async fn sign_in_with_totp(
    app: &TestApp,
    (email, password): (&str, &str),
    factor: &str,
    secret: &str,
) -> Value {
    app.advance(30);
    let first = sign_in_pending(app, email, password).await;
    let (status, done) = app
        .post(
            SIGN_IN_FINALIZE,
            json!({"mfaPendingCredential": first["mfaPendingCredential"], "mfaEnrollmentId": factor,
                   "totpVerificationInfo": {"verificationCode": totp(secret, app.now())}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    done
}

/// The ids of the user's ready factors by kind (`totpInfo` / `phoneInfo`).
fn factor_of(first: &Value, kind: &str) -> String {
    first["mfaInfo"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f.get(kind).is_some())
        .map(|f| str_of(f, "mfaEnrollmentId").to_owned())
        .unwrap_or_else(|| panic!("no {kind} factor in {first}"))
}

async fn populate(app: &TestApp) -> World {
    let mut needles = Needles::default();
    let email = "vault@example.com".to_owned();
    let up = app.sign_up(&email, PASSWORD).await;
    needles.text("password", PASSWORD);
    let (status, body) = app
        .admin_post(
            &format!("/v1/projects/{PROJECT}/accounts:update"),
            json!({"localId": up["localId"], "emailVerified": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, session) = app.sign_in(&email, PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{session}");

    // The TOTP secret: known from the start response, as base32, raw bytes and hex.
    let (totp_secret, enrolled) = app.enrol_totp(&session).await;
    needles.text("TOTP secret (base32)", &totp_secret);
    let raw = BASE32_NOPAD.decode(totp_secret.as_bytes()).unwrap();
    needles.bytes("TOTP secret", &raw);

    // A phone factor, then a phone sign-in left waiting for its code.
    app.enrol_phone(&enrolled, "+16505550123").await;
    let first = sign_in_pending(app, &email, PASSWORD).await;
    let totp_factor = factor_of(&first, "totpInfo");
    let pending_credential = str_of(&first, "mfaPendingCredential").to_owned();
    needles.text("mfaPendingCredential", &pending_credential);
    let (status, sent) = app
        .post(
            SIGN_IN_START,
            json!({"mfaPendingCredential": pending_credential,
                   "mfaEnrollmentId": factor_of(&first, "phoneInfo"),
                   "phoneSignInInfo": {"recaptchaToken": "t"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    let sms_session = str_of(&sent["phoneResponseInfo"], "sessionInfo").to_owned();
    let sms_code = app.sms_code(&sms_session).await;
    needles.text("SMS sessionInfo", &sms_session);
    needles.code("SMS code", &sms_code, &sms_session);

    // Tokens from a full sign-in.
    let signed_in = sign_in_with_totp(app, (&email, PASSWORD), &totp_factor, &totp_secret).await;
    let id_token = str_of(&signed_in, "idToken").to_owned();
    let refresh_token = str_of(&signed_in, "refreshToken").to_owned();
    needles.text("ID token", &id_token);
    needles.text("refresh token", &refresh_token);
    // The JWT's signature alone, in case a token were stored split up.
    needles.text("ID token signature", id_token.rsplit('.').next().unwrap());

    // The ZITADEL administrator's PAT, and an email verification code it asks for.
    let pat = app.pat();
    needles.text("PAT", &pat);
    let other = app.sign_up("contact@example.com", PASSWORD).await;
    let contact_user = str_of(&other, "localId").to_owned();
    let (status, set) = app
        .zitadel(
            Method::POST,
            &format!("/v2/users/{contact_user}/email"),
            &pat,
            None,
            Some(json!({"email": "contact-new@example.com", "returnCode": {}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{set}");
    let contact_code = str_of(&set, "verificationCode").to_owned();
    // Six characters of 36 upper-case letters and digits: unlike a digits-only code, a
    // run like this does not occur in a dump by chance, so it is searched for alone.
    needles.text("email verification code", &contact_code);

    let (status, sent) = app
        .post(
            "/v1/accounts:sendOobCode",
            json!({"requestType": "PASSWORD_RESET", "email": email}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    let reset_code = reset_code_of(app, &email).await.expect("the reset link");
    needles.text("password reset code", &reset_code);

    World {
        email,
        totp_secret,
        totp_factor,
        id_token,
        refresh_token,
        pending_credential,
        sms_session,
        sms_code,
        contact_user,
        contact_code,
        reset_code,
        needles,
    }
}

/// Waits until the delivery worker has sent every queued message.
async fn all_sent(app: &TestApp) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let rows = app.service.deliveries(None, 100).await.unwrap();
        if rows.iter().all(|d| d.status == DeliveryStatus::Sent) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "messages never sent: {rows:#?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn no_secret_is_in_a_dump_before_or_after_a_key_rotation() {
    // The worker is off at first, so the SMS message stays queued across the rotation.
    let mut app = TestApp::spawn_with(|c| c.delivery.worker = false).await;
    let world = populate(&app).await;
    let before = dump(&app).await;
    Needles::assert_search_finds_what_is_there(&app, &before, &world.email).await;
    world.needles.assert_absent_from(&before);
    let (old_key, _) = key_ids(&app);
    assert!(sealed_under(&app, &old_key).await >= 3);

    app.shutdown().await;
    let out = keys_ok(&app, &["rotate"]).await;
    let (new_key, ids) = key_ids(&app);
    assert_ne!(new_key, old_key);
    assert_eq!(ids, [new_key.clone(), old_key.clone()], "{out}");
    assert!(
        out.contains(&format!("primary key: {new_key} (was {old_key})")),
        "{out}"
    );
    assert!(out.contains("totp_secrets 1"), "{out}");
    assert!(out.contains("signing_keys 1"), "{out}");
    assert!(out.contains("oob_codes 1"), "{out}");
    assert_eq!(
        sealed_under(&app, &old_key).await,
        0,
        "nothing left under the old key"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(key_file(&app))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the key file stays owner-only");
    }

    // Restarted with the new key as primary: everything sealed before still works.
    app.config.delivery.worker = true;
    let mut app = app.restart().await;
    all_sent(&app).await;
    let (status, done) = app
        .post(
            SIGN_IN_FINALIZE,
            json!({"mfaPendingCredential": world.pending_credential,
                   "phoneVerificationInfo": {"sessionInfo": world.sms_session, "code": world.sms_code}}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the queued code went out and still verifies: {done}"
    );
    let (status, looked) = app.lookup(&world.id_token).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the old ID token still verifies: {looked}"
    );
    let (status, refreshed) = app.refresh(&world.refresh_token).await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    let again = sign_in_with_totp(
        &app,
        (&world.email, PASSWORD),
        &world.totp_factor,
        &world.totp_secret,
    )
    .await;
    assert_eq!(
        crate::helpers::claims(str_of(&again, "idToken"))["firebase"]["sign_in_second_factor"],
        "totp"
    );
    let (status, verified) = app
        .zitadel(
            Method::POST,
            &format!("/v2/users/{}/email/verify", world.contact_user),
            &app.pat(),
            None,
            Some(json!({"verificationCode": world.contact_code})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a code issued before the rotation: {verified}"
    );

    let mut needles = world.needles;
    needles.text(
        "refresh token after rotation",
        str_of(&refreshed, "refresh_token"),
    );
    needles.text("ID token after rotation", str_of(&again, "idToken"));
    let after = dump(&app).await;
    Needles::assert_search_finds_what_is_there(&app, &after, &world.email).await;
    needles.assert_absent_from(&after);

    // The old key can go now; the server starts and works without it.
    app.shutdown().await;
    let out = keys_ok(&app, &["retire"]).await;
    assert!(out.contains(&format!("retired {old_key}")), "{out}");
    assert_eq!(key_ids(&app), (new_key.clone(), vec![new_key]));
    let app = app.restart().await;
    sign_in_with_totp(
        &app,
        (&world.email, PASSWORD),
        &world.totp_factor,
        &world.totp_secret,
    )
    .await;
    let (status, looked) = app.lookup(&world.id_token).await;
    assert_eq!(status, StatusCode::OK, "{looked}");
    // The link issued before the rotation is still listed (its sealed copy was re-sealed) and
    // still works.
    assert_eq!(
        reset_code_of(&app, &world.email).await.as_deref(),
        Some(world.reset_code.as_str())
    );
    let (status, checked) = app
        .post(
            "/v1/accounts:resetPassword",
            json!({"oobCode": world.reset_code}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{checked}");
    assert_eq!(checked["requestType"], "PASSWORD_RESET");
}

/// Several nodes: a key is added and handed out first, so a node that has not restarted
/// since the rotation opens the re-sealed records and keeps sealing under the old key until
/// it restarts; retiring waits for `reseal`; every step can be re-run.
#[tokio::test]
async fn a_staged_rotation_keeps_running_nodes_working_and_retire_waits_for_reseal() {
    let app = TestApp::spawn().await;
    let session = app.verified_user("first@example.com").await;
    let (secret, _) = app.enrol_totp(&session).await;
    let email = "first@example.com";
    let first = app.sign_in(email, "secret12").await.1;
    let factor = factor_of(&first, "totpInfo");
    let (old_key, _) = key_ids(&app);

    // Step 1: a new key, not primary; the node restarts with it.
    let added = keys_ok(&app, &["add"]).await.trim().to_owned();
    let (primary, ids) = key_ids(&app);
    assert_eq!((primary.as_str(), ids.len()), (old_key.as_str(), 2));
    assert!(ids.contains(&added));
    let app = app.restart().await;

    // Step 2: rotate to it while the node runs; the node opens what was re-sealed.
    let out = keys_ok(&app, &["rotate", "--to", &added]).await;
    assert!(
        out.contains(&format!("primary key: {added} (was {old_key})")),
        "{out}"
    );
    assert_eq!(sealed_under(&app, &old_key).await, 0);
    sign_in_with_totp(&app, (email, "secret12"), &factor, &secret).await;

    // The node still seals under the old key: retiring it now would lose this secret.
    let other = app.verified_user("second@example.com").await;
    let (other_secret, _) = app.enrol_totp(&other).await;
    assert_eq!(sealed_under(&app, &old_key).await, 1);
    let out = keys(&app, &["retire"]).await;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("refusing to retire")
            && err.contains(&format!("1 totp_secrets under {old_key}")),
        "{err}"
    );
    assert_eq!(key_ids(&app).1.len(), 2, "the key file is unchanged");
    let status = keys_ok(&app, &["status"]).await;
    assert!(
        status.contains(&format!("{old_key}\tolder\ttotp_secrets 1")),
        "{status}"
    );
    assert!(status.contains(&format!("{added}\tprimary\t")), "{status}");
    let out = keys(&app, &["retire", &added]).await;
    assert!(!out.status.success(), "the primary key is never retired");

    // Step 3: the node restarts with the new primary; reseal picks up what it sealed before.
    let app = app.restart().await;
    let out = keys_ok(&app, &["reseal"]).await;
    assert!(out.contains("re-sealed 1 records"), "{out}");
    let out = keys_ok(&app, &["reseal"]).await;
    assert!(out.contains("re-sealed 0 records"), "idempotent: {out}");
    let out = keys_ok(&app, &["rotate", "--to", &added]).await;
    assert!(
        out.contains("(unchanged)") && out.contains("re-sealed 0 records"),
        "{out}"
    );

    // Step 4: retire.
    let out = keys_ok(&app, &["retire"]).await;
    assert!(out.contains(&format!("retired {old_key}")), "{out}");
    let out = keys_ok(&app, &["retire"]).await;
    assert!(out.contains("nothing to retire"), "{out}");
    let app = app.restart().await;
    let second = app.sign_in("second@example.com", "secret12").await.1;
    let other_factor = factor_of(&second, "totpInfo");
    sign_in_with_totp(
        &app,
        ("second@example.com", "secret12"),
        &other_factor,
        &other_secret,
    )
    .await;
    sign_in_with_totp(&app, (email, "secret12"), &factor, &secret).await;
}

#[test]
fn keys_commands_need_an_existing_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .env_remove("TESSERA_DATABASE_URL")
        .env("TESSERA_DATA_DIR", dir.path())
        .args(["keys", "status"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no master key file"), "{err}");
    assert!(
        !Path::new(&dir.path().join("master.key")).exists(),
        "nothing is generated"
    );
}
