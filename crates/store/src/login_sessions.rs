//! ZITADEL login sessions. Updates are conditional on the sequence the session was read at.

use sqlx::any::AnyRow;
use tessera_core::error::StoreError;
use tessera_core::login_session::{CheckedFactors, LoginSession, OtpChallenge, SessionOrigin};
use tessera_core::store::{Comparison, SessionFilter, SessionQuery, StoreResult};
use tessera_core::{RealmId, UserId};

use crate::conn::Conn;
use crate::db_err;
use crate::params::{Params, direction, in_list, joined};
use crate::rows::{corrupt, get, get_opt_time, get_time, millis};

const COLUMNS: &str = "id, realm_id, user_id, token_hash, user_checked_at, password_checked_at, \
     totp_checked_at, otp_sms_checked_at, otp_email_checked_at, webauthn_checked_at, \
     webauthn_verified, webauthn_state, otp_sms_code, otp_sms_expires_at, \
     otp_sms_attempts, otp_email_code, otp_email_expires_at, otp_email_attempts, metadata, \
     created_at, changed_at, expires_at, sequence, user_agent, recovery_code_checked_at, creator, \
     fingerprint_id";

fn challenge(row: &AnyRow, prefix: &str) -> Result<Option<OtpChallenge>, StoreError> {
    let code: Option<Vec<u8>> = get(row, &format!("{prefix}_code"))?;
    let Some(code_hash) = code else {
        return Ok(None);
    };
    Ok(Some(OtpChallenge {
        code_hash,
        expires_at: get_opt_time(row, &format!("{prefix}_expires_at"))?
            .ok_or_else(|| corrupt("session challenge expiry"))?,
        attempts_left: get::<Option<i64>>(row, &format!("{prefix}_attempts"))?.unwrap_or(0),
    }))
}

fn user_column(row: &AnyRow, column: &str) -> Result<Option<UserId>, StoreError> {
    let id: Option<String> = get(row, column)?;
    id.map(|u| UserId::parse(&u).ok_or_else(|| corrupt("session user")))
        .transpose()
}

fn from_row(row: &AnyRow) -> Result<LoginSession, StoreError> {
    Ok(LoginSession {
        id: get(row, "id")?,
        realm: RealmId(get(row, "realm_id")?),
        user: user_column(row, "user_id")?,
        token_hash: get(row, "token_hash")?,
        checked: CheckedFactors {
            user: get_opt_time(row, "user_checked_at")?,
            password: get_opt_time(row, "password_checked_at")?,
            totp: get_opt_time(row, "totp_checked_at")?,
            otp_sms: get_opt_time(row, "otp_sms_checked_at")?,
            otp_email: get_opt_time(row, "otp_email_checked_at")?,
            webauthn: get_opt_time(row, "webauthn_checked_at")?,
            webauthn_user_verified: get::<Option<i64>>(row, "webauthn_verified")? == Some(1),
            recovery_code: get_opt_time(row, "recovery_code_checked_at")?,
        },
        webauthn: get(row, "webauthn_state")?,
        otp_sms: challenge(row, "otp_sms")?,
        otp_email: challenge(row, "otp_email")?,
        metadata: get(row, "metadata")?,
        created_at: get_time(row, "created_at")?,
        changed_at: get_time(row, "changed_at")?,
        expires_at: get_opt_time(row, "expires_at")?,
        sequence: get(row, "sequence")?,
        origin: SessionOrigin {
            creator: user_column(row, "creator")?,
            user_agent: get(row, "user_agent")?,
            fingerprint: get(row, "fingerprint_id")?,
        },
    })
}

/// Binds every column but `id` in `COLUMNS` order, starting at `$2`.
fn bind_all<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    s: &'q LoginSession,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    let at = |t: Option<time::OffsetDateTime>| t.map(millis);
    let part = |c: &'q Option<OtpChallenge>| {
        (
            c.as_ref().map(|c| c.code_hash.clone()),
            c.as_ref().map(|c| millis(c.expires_at)),
            c.as_ref().map(|c| c.attempts_left),
        )
    };
    let (sms_code, sms_expires, sms_attempts) = part(&s.otp_sms);
    let (email_code, email_expires, email_attempts) = part(&s.otp_email);
    query
        .bind(&s.realm.0)
        .bind(s.user.as_ref().map(|u| u.as_str().to_owned()))
        .bind(&s.token_hash)
        .bind(at(s.checked.user))
        .bind(at(s.checked.password))
        .bind(at(s.checked.totp))
        .bind(at(s.checked.otp_sms))
        .bind(at(s.checked.otp_email))
        .bind(at(s.checked.webauthn))
        .bind(i64::from(s.checked.webauthn_user_verified))
        .bind(s.webauthn.as_deref())
        .bind(sms_code)
        .bind(sms_expires)
        .bind(sms_attempts)
        .bind(email_code)
        .bind(email_expires)
        .bind(email_attempts)
        .bind(&s.metadata)
        .bind(millis(s.created_at))
        .bind(millis(s.changed_at))
        .bind(at(s.expires_at))
        .bind(s.sequence)
        .bind(s.origin.user_agent.as_deref())
        .bind(at(s.checked.recovery_code))
        .bind(s.origin.creator.as_ref().map(|c| c.as_str().to_owned()))
        .bind(s.origin.fingerprint.as_deref())
}

/// How many columns `COLUMNS` names.
fn column_count() -> usize {
    COLUMNS.split(", ").count()
}

pub async fn insert(conn: &mut Conn<'_>, session: &LoginSession) -> Result<(), StoreError> {
    let placeholders: Vec<String> = (1..=column_count()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "INSERT INTO login_sessions ({COLUMNS}) VALUES ({})",
        placeholders.join(", ")
    );
    bind_all(
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(&session.id),
        session,
    )
    .execute(conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

pub async fn get_one(conn: &mut Conn<'_>, id: &str) -> Result<Option<LoginSession>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM login_sessions WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?;
    row.as_ref().map(from_row).transpose()
}

pub async fn update(
    conn: &mut Conn<'_>,
    session: &LoginSession,
    read_at: i64,
) -> Result<bool, StoreError> {
    let assignments: Vec<String> = COLUMNS
        .split(", ")
        .skip(1)
        .enumerate()
        .map(|(i, column)| format!("{} = ${}", column.trim(), i + 2))
        .collect();
    let sql = format!(
        "UPDATE login_sessions SET {} WHERE id = $1 AND sequence = ${}",
        assignments.join(", "),
        column_count() + 1
    );
    let done = bind_all(
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(&session.id),
        session,
    )
    .bind(read_at)
    .execute(conn)
    .await
    .map_err(db_err)?;
    Ok(done.rows_affected() == 1)
}

pub async fn delete(conn: &mut Conn<'_>, id: &str) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM login_sessions WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(done.rows_affected() == 1)
}

/// A page of the project's sessions that `q` finds, and how many it finds in all.
pub async fn query(conn: &mut Conn<'_>, q: &SessionQuery) -> StoreResult<(i64, Vec<LoginSession>)> {
    let mut p = Params::default();
    let mut conditions = vec![format!(
        "realm_id IN (SELECT id FROM realms WHERE project_id = {})",
        p.text(q.project.clone())
    )];
    conditions.extend(q.filters.iter().map(|f| condition(f, &mut p)));
    let from = format!("login_sessions WHERE {}", conditions.join(" AND "));
    let order = direction(q.ascending);
    let (total, rows) = p
        .page(
            conn,
            COLUMNS,
            &from,
            &format!("created_at {order}, id {order}"),
            (q.limit, q.offset),
        )
        .await?;
    let sessions = rows.iter().map(from_row).collect::<Result<_, _>>()?;
    Ok((total, sessions))
}

/// The SQL of a filter, the same on SQLite and PostgreSQL; caller values go in as parameters.
fn condition(filter: &SessionFilter, p: &mut Params) -> String {
    match filter {
        SessionFilter::Ids(ids) => in_list("id", ids.iter().cloned(), p),
        SessionFilter::User(id) => format!("user_id = {}", p.text(id.clone())),
        SessionFilter::Creator(id) => format!("creator = {}", p.text(id.clone())),
        SessionFilter::Fingerprint(id) => format!("fingerprint_id = {}", p.text(id.clone())),
        SessionFilter::Realm(realm) => format!("realm_id = {}", p.text(realm.0.clone())),
        SessionFilter::Created(how, at) => compared("created_at", *how, *at, p),
        SessionFilter::Expires(how, at) => compared("expires_at", *how, *at, p),
        SessionFilter::NeverExpires => "expires_at IS NULL".to_owned(),
        SessionFilter::All(filters) => joined(filters, p, " AND ", "1 = 1", condition),
        SessionFilter::Any(filters) => joined(filters, p, " OR ", "1 = 0", condition),
    }
}

/// `column`, a time in whole milliseconds, compared exactly with `at`, which may fall between
/// two: a stored time is later than `at` when it is later than the millisecond `at` falls in,
/// at or after it when at or after the next whole one, and so on.
fn compared(column: &str, how: Comparison, at: time::OffsetDateTime, p: &mut Params) -> String {
    let nanos = at.unix_timestamp_nanos();
    let (floor, ceiling) = (
        nanos.div_euclid(1_000_000),
        nanos.div_euclid(1_000_000) + i128::from(nanos.rem_euclid(1_000_000) != 0),
    );
    let (operator, millis) = match how {
        Comparison::Equal if floor != ceiling => return "1 = 0".to_owned(),
        Comparison::Equal => ("=", floor),
        Comparison::Greater => (">", floor),
        Comparison::GreaterOrEqual => (">=", ceiling),
        Comparison::Less => ("<", ceiling),
        Comparison::LessOrEqual => ("<=", floor),
    };
    match i64::try_from(millis) {
        Ok(millis) => format!("{column} {operator} {}", p.int(millis)),
        Err(_) => "1 = 0".to_owned(),
    }
}
