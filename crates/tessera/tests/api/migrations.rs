//! Upgrades: a database written by an older release, then migrated. The rest of the suite
//! always starts from an empty database, so only here do the migrations meet existing rows.

use sqlx::{AnyConnection, Connection, Executor, Row};
use tessera_store::{Engine, migrator};

use crate::helpers::database_url;

/// Opens the test's database (SQLite or PostgreSQL, as the pass says), with foreign keys
/// enforced as the server's connections do.
async fn connect() -> (AnyConnection, Engine, tempfile::TempDir) {
    sqlx::any::install_default_drivers();
    let dir = tempfile::tempdir().unwrap();
    let url = database_url(dir.path()).await;
    let engine = Engine::from_url(&url).unwrap();
    let url = match engine {
        Engine::Sqlite => format!("{url}?mode=rwc"),
        Engine::Postgres => url,
    };
    let mut conn = AnyConnection::connect(&url).await.unwrap();
    if engine == Engine::Sqlite {
        conn.execute("PRAGMA foreign_keys = ON").await.unwrap();
    }
    (conn, engine, dir)
}

/// Each code's id (as text) and the message it links to, by id.
async fn links(conn: &mut AnyConnection) -> Vec<(String, Option<String>)> {
    let rows = sqlx::query("SELECT id, delivery_id FROM challenges ORDER BY id")
        .fetch_all(conn)
        .await
        .unwrap();
    rows.iter()
        .map(|row| {
            let id: Vec<u8> = row.get("id");
            let delivery: Option<String> = row.get("delivery_id");
            (String::from_utf8(id).unwrap(), delivery)
        })
        .collect()
}

/// 0009: a message's link to its code moves to the code. A phone code and its message
/// written under 0008 stay linked; a TOTP code without a message stays unlinked; the old
/// column is gone; and deleting the message clears the code's link.
#[tokio::test]
async fn the_link_between_a_code_and_its_message_survives_0009() {
    let (mut conn, engine, _dir) = connect().await;
    let migrations = migrator(engine);
    migrations.run_to(8, &mut conn).await.unwrap();
    for statement in [
        "INSERT INTO realms (id, project_id, created_at) VALUES ('r', 'p', 0)",
        "INSERT INTO users (realm_id, id, valid_since, created_at) VALUES ('r', 'u', 0, 0)",
    ] {
        conn.execute(statement).await.unwrap();
    }
    for (id, purpose) in [
        (b"phone-code".as_slice(), "sign_in"),
        (b"totp-code", "enrol"),
    ] {
        sqlx::query(
            "INSERT INTO challenges (id, realm_id, user_id, purpose, code_hash, expires_at, \
             attempts_left, created_at) VALUES ($1, 'r', 'u', $2, $3, 0, 5, 0)",
        )
        .bind(id)
        .bind(purpose)
        .bind(b"hash".as_slice())
        .execute(&mut conn)
        .await
        .unwrap();
    }
    sqlx::query(
        "INSERT INTO deliveries (id, realm_id, channel, destination, master_key_id, sealed_content, \
         challenge_id, status, next_attempt_at, expires_at, created_at) \
         VALUES ('m', 'r', 'sms', '+15555550100', 'mk', $1, $2, 'sent', 0, 0, 0)",
    )
    .bind(b"sealed".as_slice())
    .bind(b"phone-code".as_slice())
    .execute(&mut conn)
    .await
    .unwrap();

    migrations.run(&mut conn).await.unwrap();

    assert_eq!(
        links(&mut conn).await,
        [
            ("phone-code".to_owned(), Some("m".to_owned())),
            ("totp-code".to_owned(), None),
        ]
    );
    let (messages,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM deliveries")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(messages, 1);
    assert!(
        conn.execute("SELECT challenge_id FROM deliveries")
            .await
            .is_err(),
        "the old column is gone"
    );

    conn.execute("DELETE FROM deliveries WHERE id = 'm'")
        .await
        .unwrap();
    assert_eq!(
        links(&mut conn).await,
        [
            ("phone-code".to_owned(), None),
            ("totp-code".to_owned(), None)
        ]
    );
}

/// The realm `r` with the users `u` and `v`.
async fn users_u_and_v(conn: &mut AnyConnection) {
    for statement in [
        "INSERT INTO realms (id, project_id, created_at) VALUES ('r', 'p', 0)",
        "INSERT INTO users (realm_id, id, valid_since, created_at) VALUES ('r', 'u', 0, 0)",
        "INSERT INTO users (realm_id, id, valid_since, created_at) VALUES ('r', 'v', 0, 0)",
    ] {
        conn.execute(statement).await.unwrap();
    }
}

/// The ids of the factors left, in order.
async fn factor_ids(conn: &mut AnyConnection) -> Vec<String> {
    sqlx::query_scalar("SELECT id FROM factors ORDER BY id")
        .fetch_all(conn)
        .await
        .unwrap()
}

/// 0010: one unfinished TOTP enrolment and one OTP Email factor per user. Of a user's several
/// unfinished TOTP enrolments (concurrent starts on PostgreSQL left them), the newest stays and
/// the others go with their codes; of several OTP Email factors, the oldest stays and the
/// others are removed, and no longer count against the user's limit; another user's, a
/// removed one, a ready one and an unfinished factor of another kind stay; and a second of
/// either can no longer be written.
#[tokio::test]
async fn unfinished_totp_enrolments_are_one_per_user_from_0010() {
    let (mut conn, engine, _dir) = connect().await;
    let migrations = migrator(engine);
    migrations.run_to(9, &mut conn).await.unwrap();
    users_u_and_v(&mut conn).await;
    let factor = "INSERT INTO factors (id, realm_id, user_id, kind, state, created_at) \
                  VALUES ($1, 'r', $2, $3, $4, $5)";
    for (id, user, kind, state, created) in [
        ("a-older", "u", "totp", "not_ready", 1),
        ("b-tied-lower", "u", "totp", "not_ready", 2),
        ("c-newest", "u", "totp", "not_ready", 2),
        ("d-removed", "u", "totp", "removed", 3),
        ("e-ready", "u", "totp", "ready", 0),
        ("f-email", "u", "email_otp", "not_ready", 4),
        ("g-other-user", "v", "totp", "not_ready", 0),
        ("h-email-first", "u", "email_otp", "ready", 1),
        ("i-email-second", "u", "email_otp", "ready", 2),
    ] {
        sqlx::query(factor)
            .bind(id)
            .bind(user)
            .bind(kind)
            .bind(state)
            .bind(created)
            .execute(&mut conn)
            .await
            .unwrap();
    }
    sqlx::query(
        "INSERT INTO challenges (id, realm_id, user_id, factor_id, purpose, code_hash, expires_at, \
         attempts_left, created_at) VALUES ($1, 'r', 'u', 'a-older', 'enrol', $2, 0, 5, 0)",
    )
    .bind(b"older-code".as_slice())
    .bind(b"".as_slice())
    .execute(&mut conn)
    .await
    .unwrap();
    conn.execute("UPDATE users SET ready_factors = 3 WHERE id = 'u'")
        .await
        .unwrap();

    migrations.run(&mut conn).await.unwrap();

    let ready: Vec<String> =
        sqlx::query_scalar("SELECT id FROM factors WHERE state = 'ready' ORDER BY id")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    assert_eq!(ready, ["e-ready", "h-email-first"]);
    assert_eq!(
        factor_ids(&mut conn).await,
        [
            "c-newest",
            "d-removed",
            "e-ready",
            "f-email",
            "g-other-user",
            "h-email-first",
            "i-email-second"
        ]
    );
    let (counted,): (i64,) = sqlx::query_as("SELECT ready_factors FROM users WHERE id = 'u'")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(counted, 2);
    assert_eq!(
        links(&mut conn).await,
        [],
        "the older one's code went with it"
    );
    for (id, state, kind) in [
        ("j-second", "not_ready", "totp"),
        ("k-second", "ready", "email_otp"),
    ] {
        let second = sqlx::query(factor)
            .bind(id)
            .bind("u")
            .bind(kind)
            .bind(state)
            .bind(5)
            .execute(&mut conn)
            .await;
        assert!(second.is_err(), "a second {state} {kind} factor");
    }
}

/// 0011: a factor's id is its user's own. The factors and codes written under 0010 stay, with
/// every column; another user may then hold the same id, the same user still may not; and a
/// code still goes with its factor, and only with its own user's factor of that id.
#[tokio::test]
async fn factor_ids_are_per_user_from_0011() {
    let (mut conn, engine, _dir) = connect().await;
    let migrations = migrator(engine);
    migrations.run_to(10, &mut conn).await.unwrap();
    users_u_and_v(&mut conn).await;
    conn.execute(
        "INSERT INTO factors (id, realm_id, user_id, kind, state, phone_number, created_at, \
         consecutive_failures, locked_until) VALUES ('f', 'r', 'u', 'sms_otp', 'ready', '+1555', 7, 2, 9)",
    )
    .await
    .unwrap();
    let code = "INSERT INTO challenges (id, realm_id, user_id, factor_id, purpose, code_hash, \
                expires_at, attempts_left, created_at) VALUES ($1, 'r', $2, 'f', 'sign_in', $3, 0, 5, 0)";
    sqlx::query(code)
        .bind(b"u-code".as_slice())
        .bind("u")
        .bind(b"".as_slice())
        .execute(&mut conn)
        .await
        .unwrap();

    migrations.run(&mut conn).await.unwrap();

    let kept: (String, String, String, String, i64, i64, i64) = sqlx::query_as(
        "SELECT user_id, kind, state, phone_number, created_at, consecutive_failures, locked_until \
         FROM factors WHERE id = 'f'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    let text = |s: &str| s.to_owned();
    let expected = (
        text("u"),
        text("sms_otp"),
        text("ready"),
        text("+1555"),
        7,
        2,
        9,
    );
    assert_eq!(kept, expected);
    assert_eq!(links(&mut conn).await, [("u-code".to_owned(), None)]);

    let factor = "INSERT INTO factors (id, realm_id, user_id, kind, state, created_at) \
                  VALUES ('f', 'r', $1, 'totp', 'removed', 0)";
    sqlx::query(factor)
        .bind("v")
        .execute(&mut conn)
        .await
        .unwrap();
    let again = sqlx::query(factor).bind("u").execute(&mut conn).await;
    assert!(again.is_err(), "a second factor 'f' of one user");
    sqlx::query(code)
        .bind(b"v-code".as_slice())
        .bind("v")
        .bind(b"".as_slice())
        .execute(&mut conn)
        .await
        .unwrap();

    conn.execute("DELETE FROM factors WHERE user_id = 'u'")
        .await
        .unwrap();
    assert_eq!(factor_ids(&mut conn).await, ["f"]);
    assert_eq!(links(&mut conn).await, [("v-code".to_owned(), None)]);
}

/// The indexes of `table` besides its primary key, by name.
async fn indexes(conn: &mut AnyConnection, engine: Engine, table: &str) -> Vec<String> {
    let sql = match engine {
        Engine::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = $1 \
             AND sql IS NOT NULL ORDER BY name"
        }
        Engine::Postgres => {
            "SELECT indexname::text FROM pg_indexes WHERE tablename = $1 \
             AND schemaname = current_schema() AND indexname NOT LIKE '%_pkey' ORDER BY indexname"
        }
    };
    sqlx::query_scalar(sql)
        .bind(table)
        .fetch_all(conn)
        .await
        .unwrap()
}

/// How SQLite would run `sql`: the details of its query plan, joined.
async fn plan(conn: &mut AnyConnection, sql: &str) -> String {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")))
        .fetch_all(conn)
        .await
        .unwrap();
    rows.iter()
        .map(|row| row.get::<String, _>("detail"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// 0012: the two indexes that 0010 and 0011 left idle are gone, and what they served is still
/// served by an index: a factor's codes found among its user's when it goes (the cascade
/// that 0007 indexed, so that a deleted factor is not a scan of every code), and a user's
/// unfinished TOTP enrolment found when a start replaces it.
#[tokio::test]
async fn idle_indexes_are_dropped_in_0012() {
    let (mut conn, engine, _dir) = connect().await;
    migrator(engine).run(&mut conn).await.unwrap();
    assert_eq!(
        indexes(&mut conn, engine, "challenges").await,
        [
            "challenges_delivery",
            "challenges_expires",
            "challenges_user"
        ]
    );
    assert_eq!(
        indexes(&mut conn, engine, "factors").await,
        [
            "factors_one_email_otp",
            "factors_one_unfinished_totp",
            "factors_phone_number_key",
            "factors_unfinished_keys"
        ]
    );
    if engine == Engine::Sqlite {
        let cascade = plan(
            &mut conn,
            "SELECT 1 FROM challenges WHERE realm_id = 'r' AND user_id = 'u' AND factor_id = 'f'",
        )
        .await;
        assert!(cascade.contains("USING INDEX challenges_user"), "{cascade}");
        let replaced = plan(
            &mut conn,
            "DELETE FROM factors WHERE realm_id = 'r' AND user_id = 'u' \
             AND state = 'not_ready' AND kind = 'totp'",
        )
        .await;
        assert!(replaced.starts_with("SEARCH factors USING"), "{replaced}");
    }
}

/// 0013's usernames: both lookups of a login name, in one organization and across them, are
/// searches by index, and the indexes hold only the users that have a username.
#[tokio::test]
async fn usernames_are_looked_up_by_index_from_0013() {
    let (mut conn, engine, _dir) = connect().await;
    migrator(engine).run(&mut conn).await.unwrap();
    let users = indexes(&mut conn, engine, "users").await;
    for index in ["users_username", "users_username_key"] {
        assert!(users.iter().any(|i| i == index), "{users:?}");
    }
    if engine == Engine::Sqlite {
        for (query, index) in [
            (
                "SELECT id FROM users WHERE realm_id = 'r' AND lower(username) = lower('Ada') \
                 AND username IS NOT NULL",
                "users_username_key",
            ),
            (
                "SELECT realm_id FROM users WHERE lower(username) = lower('Ada') \
                 AND username IS NOT NULL",
                "users_username",
            ),
        ] {
            let plan = plan(&mut conn, query).await;
            assert!(plan.contains(&format!("USING INDEX {index}")), "{plan}");
        }
    }
}

/// 0031: sessions created before it keep their browser's fingerprint id, read from the user
/// agent they were created with, and have no creator; the fingerprint query uses its index.
#[tokio::test]
async fn sessions_keep_their_fingerprint_through_0031() {
    let (mut conn, engine, _dir) = connect().await;
    let migrations = migrator(engine);
    migrations.run_to(30, &mut conn).await.unwrap();
    conn.execute("INSERT INTO realms (id, project_id, created_at) VALUES ('r', 'p', 0)")
        .await
        .unwrap();
    for (id, agent) in [
        (
            "with",
            Some(r#"{"fingerprintId":"fp-1","description":"Firefox"}"#),
        ),
        ("without", Some(r#"{"description":"curl"}"#)),
        ("none", None),
    ] {
        sqlx::query(
            "INSERT INTO login_sessions (id, realm_id, token_hash, metadata, created_at, \
             changed_at, sequence, user_agent) VALUES ($1, 'r', $2, '{}', 0, 0, 0, $3)",
        )
        .bind(id)
        .bind(vec![0u8; 32])
        .bind(agent)
        .execute(&mut conn)
        .await
        .unwrap();
    }
    migrations.run(&mut conn).await.unwrap();
    let rows = sqlx::query("SELECT id, creator, fingerprint_id FROM login_sessions ORDER BY id")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    let found: Vec<(String, Option<String>, Option<String>)> = rows
        .iter()
        .map(|row| (row.get("id"), row.get("creator"), row.get("fingerprint_id")))
        .collect();
    assert_eq!(
        found,
        [
            ("none".to_owned(), None, None),
            ("with".to_owned(), None, Some("fp-1".to_owned())),
            ("without".to_owned(), None, None),
        ]
    );
    assert!(
        indexes(&mut conn, engine, "login_sessions")
            .await
            .iter()
            .any(|i| i == "login_sessions_fingerprint")
    );
    if engine == Engine::Sqlite {
        let plan = plan(
            &mut conn,
            "SELECT id FROM login_sessions WHERE fingerprint_id = 'fp-1'",
        )
        .await;
        assert!(
            plan.contains("USING INDEX login_sessions_fingerprint"),
            "{plan}"
        );
    }
}
