//! Users imported with another system's password hash (`accounts:batchCreate` with a
//! `hashAlgorithm`) sign in with their own passwords, and the first sign-in replaces the
//! imported hash with Argon2id. Every hash here was made outside this code: with Python's
//! hashlib, hmac, crypt (bcrypt) and argon2-cffi, and the scrypt one is Firebase's published
//! sample.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::Row;

use crate::helpers::*;

fn batch_create() -> String {
    format!("/v1/projects/{PROJECT}/accounts:batchCreate")
}

/// One algorithm: the request's hash options, a user's `passwordHash` and `salt`, and the
/// password they were made from.
struct Case {
    options: Value,
    hash: &'static str,
    salt: &'static str,
    password: &'static str,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            options: json!({"hashAlgorithm": "HMAC_SHA256", "signerKey": "aG1hYy1rZXk="}),
            hash: "1RVXR7A5mOOE4l8ISuQHd2P/l7cWIduwww9FrD6DsU0=",
            salt: "TmFDbA==",
            password: "hmac pass",
        },
        Case {
            options: json!({"hashAlgorithm": "SHA512", "rounds": 3, "passwordHashOrder": "PASSWORD_AND_SALT"}),
            hash: "qMrpKvLHB+xmIBvWivdztmNq6L3HP9XuUdlRbKk72Guc+3nfZdiDE7qs0VkVw5voAoZvQ4OF0CFq/ndLgakmbw==",
            salt: "TmFDbA==",
            password: "sha pass",
        },
        Case {
            options: json!({"hashAlgorithm": "MD5", "rounds": 2}),
            hash: "ZGJiMjMzMTJmY2IzNWM2MTBiMmY3YjJhOGU3MWQyMTU=",
            salt: "TmFDbA==",
            password: "md5 pass",
        },
        Case {
            options: json!({"hashAlgorithm": "PBKDF2_SHA256", "rounds": 1000}),
            hash: "QhGdiDvDyB_9Y68xawMcJ_QaFIafZj6avPO8BIF9jxI",
            salt: "TmFDbA",
            password: "pbkdf pass",
        },
        Case {
            options: json!({"hashAlgorithm": "SCRYPT", "rounds": 8, "memoryCost": 14, "saltSeparator": "Bw==",
                "signerKey": "jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA=="}),
            hash: "lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==",
            salt: "42xEC+ixf3L2lw==",
            password: "user1password",
        },
        Case {
            options: json!({"hashAlgorithm": "STANDARD_SCRYPT", "cpuMemCost": 1024, "blockSize": 8,
                "parallelization": 1, "dkLen": 32}),
            hash: "A7XitYmkgn+xUxaL2q8beujCwFWRdflLK5/Q1olgTgE=",
            salt: "TmFDbA==",
            password: "scrypt pass",
        },
        Case {
            options: json!({"hashAlgorithm": "BCRYPT"}),
            hash: "JDJiJDA0JGxwdnNJdjVtS1A1RUtUN3E4eU0wT2VMUlYueWRnTDJlclFYZ2k5ZllnS05nTC82SGwzMzl5",
            salt: "",
            password: "bcrypt pass",
        },
        Case {
            options: json!({"hashAlgorithm": "ARGON2", "argon2Parameters": {"hashType": "ARGON2_ID",
                "iterations": 2, "memoryCostKib": 1024, "parallelism": 1, "hashLengthBytes": 32}}),
            hash: "0BwElk+XYD34ECpZ499OCyBgSPERmenhQCl+UnFDWvY=",
            salt: "c2FsdHNhbHQ=",
            password: "argon2 pass",
        },
    ]
}

/// A ZITADEL session for `user` (a `checks.user`) refuses the password `wrong` and accepts
/// `right`.
async fn session_checks(app: &TestApp, user: Value, wrong: &str, right: &str) {
    let checks = |password: &str| json!({"checks": {"user": user.clone(), "password": {"password": password}}});
    let refused = call(app, Method::POST, "/v2/sessions", checks(wrong)).await;
    assert_zitadel_error(&refused, 400, 3, "Password is invalid", "COMMAND-3M0fs");
    call_ok(app, Method::POST, "/v2/sessions", checks(right)).await;
}

async fn stored_hash(app: &TestApp, local_id: &str) -> String {
    sqlx::query("SELECT password_hash FROM users WHERE id = $1")
        .bind(local_id)
        .fetch_one(&app.db().await)
        .await
        .expect("user row")
        .get(0)
}

#[tokio::test]
async fn every_algorithm_signs_in_and_is_rehashed_at_the_first_match() {
    let app = TestApp::spawn().await;
    for (n, case) in cases().into_iter().enumerate() {
        let (id, email) = (format!("imported-{n}"), format!("imported{n}@example.com"));
        let mut request = case.options.clone();
        request["users"] =
            json!([{"localId": id, "email": email, "passwordHash": case.hash, "salt": case.salt}]);
        let (status, body) = app.admin_post(&batch_create(), request).await;
        assert_eq!(status, StatusCode::OK, "{}: {body}", case.options);
        assert_eq!(
            body,
            json!({"kind": "identitytoolkit#UploadAccountResponse"})
        );
        let user = app.admin_user(&id).await.expect("imported");
        assert_eq!(
            user["providerUserInfo"][0]["providerId"], "password",
            "{user}"
        );

        let imported = stored_hash(&app, &id).await;
        assert!(!imported.starts_with("$argon2id$"), "{imported}");
        assert_it_error(
            &app.sign_in(&email, "not the password").await,
            "INVALID_PASSWORD",
        );
        assert_eq!(stored_hash(&app, &id).await, imported);

        let (status, body) = app.sign_in(&email, case.password).await;
        assert_eq!(status, StatusCode::OK, "{}: {body}", case.options);
        let rehashed = stored_hash(&app, &id).await;
        assert!(rehashed.starts_with("$argon2id$v=19$"), "{rehashed}");
        assert_eq!(app.sign_in(&email, case.password).await.0, StatusCode::OK);
        assert_it_error(
            &app.sign_in(&email, "not the password").await,
            "INVALID_PASSWORD",
        );
        assert_eq!(stored_hash(&app, &id).await, rehashed);
    }
}

/// A ZITADEL session's password check reads an imported hash too: the user is one store.
#[tokio::test]
async fn a_zitadel_session_checks_an_imported_password() {
    let app = TestApp::spawn().await;
    let case = cases().swap_remove(6);
    let mut request = case.options;
    request["users"] = json!([{"localId": "bcrypt-user", "email": "bcrypt@example.com",
        "passwordHash": case.hash, "emailVerified": true}]);
    let (status, body) = app.admin_post(&batch_create(), request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    session_checks(
        &app,
        json!({"userId": "bcrypt-user"}),
        "bcrypt pasS",
        case.password,
    )
    .await;
    assert!(
        stored_hash(&app, "bcrypt-user")
            .await
            .starts_with("$argon2id$")
    );
}

/// `passwordHash` wins over `rawPassword` in one record, as in the emulator.
#[tokio::test]
async fn a_hash_takes_precedence_over_a_raw_password() {
    let app = TestApp::spawn().await;
    let case = cases().swap_remove(0);
    let mut request = case.options;
    request["users"] = json!([{"localId": "both", "email": "both@example.com",
        "passwordHash": case.hash, "salt": case.salt, "rawPassword": "raw password"}]);
    let (status, body) = app.admin_post(&batch_create(), request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_it_error(
        &app.sign_in("both@example.com", "raw password").await,
        "INVALID_PASSWORD",
    );
    assert_eq!(
        app.sign_in("both@example.com", case.password).await.0,
        StatusCode::OK
    );
}

/// Parameters out of range refuse the whole request; nothing is written.
#[tokio::test]
async fn bad_hash_parameters_refuse_the_request() {
    let app = TestApp::spawn().await;
    let refused = [
        (json!({"hashAlgorithm": "ROT13"}), "INVALID_HASH_ALGORITHM"),
        (json!({"hashAlgorithm": "SHA256"}), "INVALID_HASH_ROUNDS"),
        (
            json!({"hashAlgorithm": "SHA1", "rounds": 8193}),
            "INVALID_HASH_ROUNDS",
        ),
        (
            json!({"hashAlgorithm": "MD5", "rounds": -1}),
            "INVALID_HASH_ROUNDS",
        ),
        (
            json!({"hashAlgorithm": "PBKDF_SHA1", "rounds": 120001}),
            "INVALID_HASH_ROUNDS",
        ),
        (json!({"hashAlgorithm": "HMAC_SHA1"}), "EMPTY_HASH_KEY"),
        (
            json!({"hashAlgorithm": "HMAC_MD5", "signerKey": "*"}),
            "INVALID_HASH_KEY",
        ),
        (
            json!({"hashAlgorithm": "SCRYPT", "signerKey": "a2V5", "rounds": 9, "memoryCost": 14}),
            "INVALID_HASH_ROUNDS",
        ),
        (
            json!({"hashAlgorithm": "SCRYPT", "signerKey": "a2V5", "rounds": 8, "memoryCost": 15}),
            "INVALID_HASH_MEMORY_COST",
        ),
        (
            json!({"hashAlgorithm": "SCRYPT", "signerKey": "a2V5", "rounds": 8, "memoryCost": 14, "saltSeparator": "!"}),
            "INVALID_HASH_SALT_SEPARATOR",
        ),
        (
            json!({"hashAlgorithm": "STANDARD_SCRYPT", "cpuMemCost": 1000, "blockSize": 8, "parallelization": 1, "dkLen": 32}),
            "INVALID_HASH_MEMORY_COST",
        ),
        (
            json!({"hashAlgorithm": "STANDARD_SCRYPT", "cpuMemCost": 1048576, "blockSize": 8, "parallelization": 1, "dkLen": 32}),
            "INVALID_HASH_MEMORY_COST",
        ),
        (
            json!({"hashAlgorithm": "STANDARD_SCRYPT", "cpuMemCost": 1024, "parallelization": 1, "dkLen": 32}),
            "INVALID_HASH_BLOCK_SIZE",
        ),
        (
            json!({"hashAlgorithm": "STANDARD_SCRYPT", "cpuMemCost": 1024, "blockSize": 8, "dkLen": 32}),
            "INVALID_HASH_PARALLELIZATION",
        ),
        (
            json!({"hashAlgorithm": "STANDARD_SCRYPT", "cpuMemCost": 1024, "blockSize": 8, "parallelization": 1}),
            "INVALID_HASH_DERIVED_KEY_LENGTH",
        ),
        (
            json!({"hashAlgorithm": "ARGON2"}),
            "MISSING_ARGON2_PARAMETERS",
        ),
        (
            json!({"hashAlgorithm": "ARGON2", "argon2Parameters": {"hashType": "ARGON2_X"}}),
            "INVALID_ARGON2_HASH_TYPE",
        ),
        (
            json!({"hashAlgorithm": "ARGON2", "argon2Parameters": {"hashType": "ARGON2_I", "iterations": 2,
            "memoryCostKib": 1048576, "parallelism": 1, "hashLengthBytes": 32}}),
            "INVALID_ARGON2_MEMORY_COST",
        ),
    ];
    let before = app.fingerprint().await;
    for (mut request, code) in refused {
        request["users"] = json!([{"localId": "never", "email": "never@example.com",
            "passwordHash": "aGFzaA==", "salt": "c2FsdA=="}]);
        assert_it_error(&app.admin_post(&batch_create(), request).await, code);
        assert_eq!(app.fingerprint().await, before);
    }
}

/// A user whose hash cannot be read is reported alone; the others are imported.
#[tokio::test]
async fn a_bad_hash_refuses_only_its_user() {
    let app = TestApp::spawn().await;
    let before = app.fingerprint().await;
    let (status, body) = app
        .admin_post(
            &batch_create(),
            json!({"users": [{"localId": "no-algorithm", "passwordHash": "aGFzaA=="}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["error"],
        json!([{"index": 0, "message": "MISSING_HASH_ALGORITHM"}])
    );
    assert_eq!(app.fingerprint().await, before);

    let (status, body) = app
        .admin_post(
            &batch_create(),
            json!({"hashAlgorithm": "BCRYPT", "users": [
                {"localId": "not-base64", "passwordHash": "*"},
                {"localId": "not-bcrypt", "passwordHash": "aGFzaA=="},
                {"localId": "too-costly", "passwordHash":
                    "JDJiJDMxJE45cW84dUxPaWNrZ3gyWk1SWm9NeWVJalpBZ2NmbDdwOTJsZEd4YWQ2OExKWmRMMTdsaFd5"},
                {"localId": "fine", "email": "fine@example.com"}
            ]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["error"],
        json!([
            {"index": 0, "message": "INVALID_PASSWORD_HASH"},
            {"index": 1, "message": "INVALID_PASSWORD_HASH"},
            {"index": 2, "message": "INVALID_PASSWORD_HASH"}
        ])
    );
    let (status, body) = app
        .admin_post(
            &batch_create(),
            json!({"hashAlgorithm": "MD5", "rounds": 0, "users": [
                {"localId": "bad-salt", "passwordHash": "aGFzaA==", "salt": "!"}
            ]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["error"],
        json!([{"index": 0, "message": "INVALID_PASSWORD_SALT"}])
    );
    for id in ["not-base64", "not-bcrypt", "too-costly", "bad-salt"] {
        assert!(app.admin_user(id).await.is_none(), "{id}");
    }
    assert!(app.admin_user("fine").await.is_some());
}

/// ZITADEL's `hashed_password` (v2 `AddHumanUser`, v1 `ImportHumanUser`) takes the forms
/// ZITADEL reads: bcrypt, SHA-crypt, Argon2 and scrypt PHC strings, passlib's PBKDF2 and RFC
/// 2307's (S)SHA, made here by Python's crypt, argon2-cffi, passlib and hashlib; the users sign in through either dialect,
/// and the first match rehashes.
#[tokio::test]
async fn zitadel_users_are_added_with_hashes_of_every_form_it_reads() {
    let app = TestApp::spawn().await;
    let hashes = [
        (
            "$argon2id$v=19$m=1024,t=2,p=1$BQFg5AJRDygq9rwDRSJXwQ$Q/+ZxcWohYtgX3Oz4J/Ec4FgjSboqHP9dLlMyTVDDzQ",
            "argon2 pass",
        ),
        (
            "$argon2i$v=19$m=512,t=1,p=2$Dk7PWLHxpnzv0Ep6EO2LsQ$0iMSPsrLSHS5//ovtSqQUnH81AyWBNq/cmgEKYV0giI",
            "argon2i pass",
        ),
        (
            "$2a$04$H68tPab8xe0zYiGBJNqXk.rERisfpI5eimCR/wjNQZgXeiJYMDG1K",
            "bcrypt pass",
        ),
        (
            "$6$mGr1Rd2MSkYrR9tG$ANvMoDY37Pp9vZz3c1D.OIbnwncXmiCUweui5mwIIqBdvhern13RNdRUAWj4Ong5vQyylViFOqmU7wTia/z2j/",
            "sha512 crypt pass",
        ),
        (
            "$5$rounds=10000$oolqtG.Jf92OOh1U$zmNiSNAU7eyOKDq3gxg9BKAoi8NH3y/T9eJwUJ0NBg7",
            "sha256 crypt pass",
        ),
        (
            "$pbkdf2$1000$cc7ZO6d0znlvbe29tzYG4A$bjCLgWNx1zE/6vzlwHAk2I8ud24",
            "pbkdf2 sha1 pass",
        ),
        (
            "$pbkdf2-sha256$2000$3FsLgZASQihl7H3v/Z9T6g$Xv2m5L5QkacsNBTlR60hJdRnvto9QvUCT3mqPdNROkA",
            "pbkdf2 sha256 pass",
        ),
        (
            "$pbkdf2-sha512$1500$8F4rRUhJ6T0nZGwNQQjhHA$x.YQxzvo7VBNMBHxr400j2eLnXmEUCgus/wNcy7vsRveYBpEgqzFh1xsXrlnvfhPd8VuShbJaDNPx.ddsfVHQA",
            "pbkdf2 sha512 pass",
        ),
        (
            "$scrypt$ln=10,r=8,p=1$7z0H4BxjrFXKeY8RAgCA8A$2YFQGg6i+VVU6p/SkWVwryF4NFVBu9tSGbPvPTfJObI",
            "scrypt pass",
        ),
        // RFC 2307 (OpenLDAP's userPassword), made with Python's hashlib and base64.
        (
            "{SSHA}k+27CgUmf+GW44orhmo/BghXI6ChssPU5fanuA==",
            "ssha pass",
        ),
        (
            "{SSHA256}JigFyHS5VnRJpKP88Os33ZS+bKK0lE7ZmUpSxH2bLO0AESIzRFVmdw==",
            "ssha256 pass",
        ),
        (
            "{SSHA384}XRtirj+1zjWN6PT8xBTkFndiojnOeYun69X0VNVJk7POLkhbLlJ1UTeK5WIMdIRtiJmqu8zd7v8BAg==",
            "ssha384 pass",
        ),
        (
            "{SSHA512}OR0FwR7tEqXaLTOinmzbw8GeW7pRgt0EugE8XnyV1sAk+0XG5EZpPuZEdSegLL0PcxO1iLdhrsqOaOolkK/gId6tvu/K/rq+",
            "ssha512 pass",
        ),
        ("{SHA}KvPXpIScDQubdcQXyPXUdUCmoqA=", "sha pass"),
        (
            "{SHA512}OlfGCJF6ZXXSc+4hupEbETcVtX5yiaTCyCQ3sVbufgo04XYJLHvX2RqD0Yo9xY2ui4+PvRJ+AtQ6fYsN4iCnaA==",
            "sha512 pass",
        ),
        // passwap's PBKDF2 with SHA-224 and SHA-384, made with Python's hashlib in passlib's form.
        (
            "$pbkdf2-sha224$1200$AQJzYWx0LTIyNCE$ZY797SlaSysiSRwtfNsOQLcd9Jqqmzn8XlGBCg",
            "pbkdf2 sha224 pass",
        ),
        (
            "$pbkdf2-sha384$900$c2FsdCBmb3IgMzg0Li4u$f./5cdr6OCtWxkmJB.6WPyskE/TD0ykSqYtVl2omY.nyrmE6ovYZoLEGYXFsXhUK",
            "pbkdf2 sha384 pass",
        ),
        // passwap's `$7$` spelling of the same scrypt form, made with Python's hashlib.
        (
            "$7$ln=10,r=8,p=1$c2V2ZW4gc2FsdCEh$hQ8NdbBGEY6qbSvZo6YBIiHdhJ6GduYFUw2eRXD216Y",
            "scrypt seven pass",
        ),
        // MD5-crypt, made with passlib.
        ("$1$otje1vqq$4/lP1thaGe6MECRS0oAgH0", "md5 crypt pass"),
        ("$1$x.y/$iIxrLQRzoHDJ7s/X1xqtZ.", "pässword"),
        // phpass's portable hashes: WordPress's and phpBB's made with passlib; Drupal 7's with
        // a transcription of Drupal's _password_crypt into Python (hashlib), checked against
        // passlib on the MD5 ones.
        ("$P$6Xk3lE9paPIfLaFEmpf.BstdxHZMkQ1", "correct horse"),
        ("$H$9Zq0bW1d/aLdedX8GAzArZFOZ0cOzU.", "correct horse"),
        (
            "$S$DDfRkL0MamTR40R5kxr9bExQkpvYY2cOdIMVFN3eHuj.wD.lCHR6",
            "correct horse",
        ),
        (
            "$S$5a.b/C9xzn1l.Kyw2z5XW1SAghvlBAOt6Rmj1e4VKPDBTfHNyExj",
            "pässword",
        ),
        // Drupal's `U$S$`: a Drupal 6 MD5 hash upgraded in place (the same transcription,
        // over the password's hex MD5).
        (
            "U$S$9Qm3v.9LxYQMIzki6wSglf9DsmbYKOzTjLax2/UTCHIyUED7GphT",
            "drupal six pass",
        ),
        // passwap's MD5 digests, made with Python's hashlib and base64.
        ("3cb4e732631f47e6eb961f34554b7cde", "correct horse"),
        (
            "$md5salted-prefix$s4lt$I4mcaXTNjJDwhaFDVWmaWg==",
            "correct horse",
        ),
        (
            "$md5salted-suffix$s4lt$J0ETfDLd7e64aORIS0KWeQ==",
            "correct horse",
        ),
        // Firebase's published scrypt sample in passwap's string.
        (
            "$firebasescrypt$ln=14,r=8$42xEC+ixf3L2lw==$lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==$Bw==$jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==",
            "user1password",
        ),
    ];
    for (n, (hash, password)) in hashes.into_iter().enumerate() {
        let email = format!("hashed{n}@example.com");
        let (status, created) = call(
            &app,
            Method::POST,
            "/v2/users/human",
            json!({"profile": {"givenName": "Ada", "familyName": "Lovelace"},
                   "email": {"email": email, "isVerified": true},
                   "hashedPassword": {"hash": hash}}),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let id = str_of(&created, "userId").to_owned();
        assert_it_error(
            &app.sign_in(&email, "not the password").await,
            "INVALID_PASSWORD",
        );
        assert_eq!(
            app.sign_in(&email, password).await.0,
            StatusCode::OK,
            "{hash}"
        );
        assert!(stored_hash(&app, &id).await.starts_with("$argon2id$v=19$"));
    }

    let (status, imported) = call(
        &app,
        Method::POST,
        "/management/v1/users/human/_import",
        json!({"userName": "grace", "profile": {"firstName": "Grace", "lastName": "Hopper"},
               "email": {"email": "grace@example.com", "isEmailVerified": true},
               "password": "ignored password", "hashedPassword": {"value": hashes[2].0}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{imported}");
    session_checks(
        &app,
        json!({"loginName": "grace"}),
        "ignored password",
        "bcrypt pass",
    )
    .await;
}

/// A hash in a form Tessera does not read (yescrypt, which ZITADEL does not either), a
/// broken one, or one too costly to check is refused with ZITADEL's words; nothing is
/// written.
#[tokio::test]
async fn zitadel_refuses_hash_encodings_it_cannot_read() {
    let app = TestApp::spawn().await;
    let message = "Password hash encoding not supported. Check out https://zitadel.com/docs/concepts/architecture/secrets#hashed-secrets";
    let before = app.fingerprint().await;
    for hash in [
        // MD5-crypt with a salt longer than crypt's 8 characters, and a short checksum.
        "$1$otje1vqqX$4/lP1thaGe6MECRS0oAgH0",
        "$1$otje1vqq$4/lP1thaGe6MECRS0oAgH",
        "$argon2id$v=19$m=1048576,t=2,p=1$BQFg5AJRDygq9rwDRSJXwQ$Q/+ZxcWohYtgX3Oz4J/Ec4FgjSboqHP9dLlMyTVDDzQ",
        "$2b$31$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
        "$6$rounds=2000000$saltsalt$E1INlthWnCcq6VLh7hTLJ.Mm1N8nlen.FRZ8HshxY8oCqoYHVk3QTf2rWHtGqQyfgnKA8A5JXereqX7SL9prL0",
        "$pbkdf2-sha256$2000000$3FsLgZASQihl7H3v/Z9T6g$Xv2m5L5QkacsNBTlR60hJdRnvto9QvUCT3mqPdNROkA",
        // libxcrypt's own `$7$` (not passwap's), and yescrypt, modern Linux's /etc/shadow form.
        "$7$CU..../....2tdufpWcDkP9WIM7ZrVa/2$Rb6ZuhlS.FT33dP7nQbs8yRT7tbbsS3J0kcvPKjVQ7.",
        "$y$j9T$F5Jx5fExrKuJdvxrDGdL8.$YKkY6p1wXFe2CKm2qJ1dI6v0oQGMuVd1wsC4d3KJbs7",
        "$scrypt$ln=20,r=8,p=1$7z0H4BxjrFXKeY8RAgCA8A$2YFQGg6i+VVU6p/SkWVwryF4NFVBu9tSGbPvPTfJObI",
        "$scrypt$ln=10,r=8$7z0H4BxjrFXKeY8RAgCA8A$2YFQGg6i+VVU6p/SkWVwryF4NFVBu9tSGbPvPTfJObI",
        "$firebasescrypt$ln=15,r=8$42xEC+ixf3L2lw==$lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==$Bw==$jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==",
        "$firebasescrypt$ln=14,r=8$42xEC+ixf3L2lw==$lSrfV15cpx95$Bw==$jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==",
        // An unsalted digest with bytes after it, one too short, an unknown scheme, no brace.
        "{SHA}vD+dBPL12TEWIADWWLFk+Fw9N/4BAg==",
        "{SSHA}c2hvcnQ=",
        "{SMD5}c2hvcnQ=",
        "{SSHA",
        "plain text",
        // Portable hashes: 2^37 rounds, one character short, Drupal's cut short.
        "$P$ZXk3lE9paPIfLaFEmpf.BstdxHZMkQ1",
        "$P$6Xk3lE9paPIfLaFEmpf.BstdxHZMkQ",
        "$S$DDfRkL0MamTR40R5kxr9bExQkpvYY2cOdIMVFN3eHuj.wD.lCHR",
        // Drupal's upgrade marker is for `$S$` only.
        "U$P$6Xk3lE9paPIfLaFEmpf.BstdxHZMkQ1",
        // MD5 digests: an unknown order, no salt, a short digest, 31 hex digits.
        "$md5salted-middle$s4lt$I4mcaXTNjJDwhaFDVWmaWg==",
        "$md5salted-prefix$$I4mcaXTNjJDwhaFDVWmaWg==",
        "$md5salted-prefix$s4lt$c2hvcnQ=",
        "3cb4e732631f47e6eb961f34554b7cd",
    ] {
        let reply = call(
            &app,
            Method::POST,
            "/v2/users/human",
            json!({"profile": {"givenName": "Ada", "familyName": "Lovelace"},
                   "email": {"email": "ada@example.com"}, "hashedPassword": {"hash": hash}}),
        )
        .await;
        assert_zitadel_error(&reply, 400, 3, message, "USER-JDk4t");
        let reply = call(
            &app,
            Method::POST,
            "/management/v1/users/human/_import",
            json!({"userName": "grace", "profile": {"firstName": "Grace", "lastName": "Hopper"},
                   "email": {"email": "grace@example.com"}, "hashedPassword": {"value": hash}}),
        )
        .await;
        assert_zitadel_error(&reply, 400, 3, message, "USER-JDk4t");
        assert_eq!(app.fingerprint().await, before);
    }
}

/// `UpdateHumanUser` sets a hashed password too: it replaces the old one and ends the tokens
/// issued before, as any new password does; an unreadable hash changes nothing.
#[tokio::test]
async fn zitadel_update_sets_a_hashed_password() {
    let app = TestApp::spawn().await;
    let (status, created) = call(
        &app,
        Method::POST,
        "/v2/users/human",
        json!({"profile": {"givenName": "Ada", "familyName": "Lovelace"},
               "email": {"email": "ada@example.com", "isVerified": true},
               "password": {"password": "correct horse"}}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let path = format!("/v2/users/human/{}", str_of(&created, "userId"));
    let (status, signed_in) = app.sign_in("ada@example.com", "correct horse").await;
    assert_eq!(status, StatusCode::OK, "{signed_in}");
    app.advance(2);

    let before = app.fingerprint().await;
    let unreadable = json!({"password": {"hashedPassword":
        {"hash": "$y$j9T$F5Jx5fExrKuJdvxrDGdL8.$YKkY6p1wXFe2CKm2qJ1dI6v0oQGMuVd1wsC4d3KJbs7"}}});
    let reply = call(&app, Method::PUT, &path, unreadable).await;
    let message = "Password hash encoding not supported. Check out https://zitadel.com/docs/concepts/architecture/secrets#hashed-secrets";
    assert_zitadel_error(&reply, 400, 3, message, "USER-oz74onzvqr");
    let wrong_current = json!({"password": {"currentPassword": "wrong horse",
        "hashedPassword": {"hash": "$2a$04$H68tPab8xe0zYiGBJNqXk.rERisfpI5eimCR/wjNQZgXeiJYMDG1K"}}});
    let reply = call(&app, Method::PUT, &path, wrong_current).await;
    assert_zitadel_error(&reply, 400, 3, "Password is invalid", "COMMAND-3M0fs");
    assert_eq!(app.fingerprint().await, before);

    let hashed = json!({"password": {"currentPassword": "correct horse",
        "hashedPassword": {"hash": "$2a$04$H68tPab8xe0zYiGBJNqXk.rERisfpI5eimCR/wjNQZgXeiJYMDG1K"}}});
    let (status, updated) = call(&app, Method::PUT, &path, hashed).await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_it_error(
        &app.refresh(str_of(&signed_in, "refreshToken")).await,
        "TOKEN_EXPIRED",
    );
    assert_it_error(
        &app.sign_in("ada@example.com", "correct horse").await,
        "INVALID_PASSWORD",
    );
    assert_eq!(
        app.sign_in("ada@example.com", "bcrypt pass").await.0,
        StatusCode::OK
    );
}

/// `allowOverwrite` with a `passwordHash` replaces an existing user's password with the
/// imported one: the old password stops working, the imported one signs in.
#[tokio::test]
async fn an_overwrite_brings_the_imported_password() {
    let app = TestApp::spawn().await;
    let up = app.sign_up("over@example.com", "old password").await;
    let id = str_of(&up, "localId").to_owned();
    let case = cases().swap_remove(3);
    let mut request = case.options;
    request["allowOverwrite"] = json!(true);
    request["users"] = json!([{"localId": id, "email": "over@example.com",
        "passwordHash": case.hash, "salt": case.salt}]);
    let (status, body) = app.admin_post(&batch_create(), request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body.get("error"), None, "{body}");
    assert_it_error(
        &app.sign_in("over@example.com", "old password").await,
        "INVALID_PASSWORD",
    );
    assert_eq!(
        app.sign_in("over@example.com", case.password).await.0,
        StatusCode::OK
    );
    assert!(stored_hash(&app, &id).await.starts_with("$argon2id$"));
}
