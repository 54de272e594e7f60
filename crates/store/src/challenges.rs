//! Challenges, pending sign-ins and audit events. Every "use once" rule is a
//! single conditional UPDATE whose affected-row count says who won.

use sqlx::any::AnyRow;
use tessera_core::challenge::{Challenge, PendingSignIn, Purpose};
use tessera_core::store::{Activity, Event, Passed, SignInCompletion, SignInOutcome, StoreResult};
use tessera_core::{FactorId, PhoneNumber, RealmId, UserId};
use time::OffsetDateTime;

use crate::conn::Conn;
use crate::rows::{corrupt, get, get_bool, get_time, millis};
use crate::together::{Statement, run_together, won};
use crate::{attempts, db_err, factors, sweep, users};

fn challenge_from_row(row: &AnyRow) -> StoreResult<Challenge> {
    Ok(Challenge {
        id: get(row, "id")?,
        realm: RealmId(get(row, "realm_id")?),
        user: match get::<Option<String>>(row, "user_id")? {
            Some(id) => Some(UserId::parse(&id).ok_or_else(|| corrupt("user id"))?),
            None => None,
        },
        factor: get::<Option<String>>(row, "factor_id")?
            .as_deref()
            .and_then(FactorId::parse),
        purpose: Purpose::parse(&get::<String>(row, "purpose")?)
            .ok_or_else(|| corrupt("purpose"))?,
        destination: get::<Option<String>>(row, "destination")?
            .as_deref()
            .and_then(PhoneNumber::parse),
        code_hash: get(row, "code_hash")?,
        pending: get(row, "pending_id")?,
        expires_at: get_time(row, "expires_at")?,
        attempts_left: get(row, "attempts_left")?,
        consumed: get_bool(row, "consumed")?,
        created_at: get_time(row, "created_at")?,
    })
}

/// The statement that stores `c`, linked to the queued message that carries its code, if any.
pub(crate) fn insert(c: &Challenge, delivery: Option<&str>) -> Statement {
    sqlx::query(
        "INSERT INTO challenges (id, realm_id, user_id, factor_id, purpose, destination, code_hash, pending_id, \
         expires_at, attempts_left, consumed, created_at, delivery_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(c.id.as_slice())
    .bind(&c.realm.0)
    .bind(c.user.as_ref().map(UserId::as_str))
    .bind(c.factor.as_ref().map(FactorId::as_str))
    .bind(c.purpose.as_str())
    .bind(c.destination.as_ref().map(PhoneNumber::as_str))
    .bind(c.code_hash.as_slice())
    .bind(c.pending.as_deref())
    .bind(millis(c.expires_at))
    .bind(c.attempts_left)
    .bind(c.consumed)
    .bind(millis(c.created_at))
    .bind(delivery)
}
pub(crate) async fn find(conn: &mut Conn<'_>, id: &[u8]) -> StoreResult<Option<Challenge>> {
    let row = sqlx::query(
        "SELECT id, realm_id, user_id, factor_id, purpose, destination, code_hash, pending_id, expires_at, \
         attempts_left, consumed, created_at FROM challenges WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_err)?;
    row.as_ref().map(challenge_from_row).transpose()
}

pub(crate) async fn insert_pending(conn: &mut Conn<'_>, p: &PendingSignIn) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO pending_sign_ins (credential_hash, realm_id, user_id, first_factor, expires_at, attempts_left, \
         consumed, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(p.id.as_slice())
    .bind(&p.realm.0)
    .bind(p.user.as_str())
    .bind(&p.first_factor)
    .bind(millis(p.expires_at))
    .bind(p.attempts_left)
    .bind(p.consumed)
    .bind(millis(p.created_at))
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

pub(crate) async fn find_pending(
    conn: &mut Conn<'_>,
    id: &[u8],
) -> StoreResult<Option<PendingSignIn>> {
    let row = sqlx::query(
        "SELECT credential_hash, realm_id, user_id, first_factor, expires_at, attempts_left, consumed, created_at \
         FROM pending_sign_ins WHERE credential_hash = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_err)?;
    row.as_ref()
        .map(|row| {
            Ok(PendingSignIn {
                id: get(row, "credential_hash")?,
                realm: RealmId(get(row, "realm_id")?),
                user: UserId::parse(&get::<String>(row, "user_id")?)
                    .ok_or_else(|| corrupt("user id"))?,
                first_factor: get(row, "first_factor")?,
                expires_at: get_time(row, "expires_at")?,
                attempts_left: get(row, "attempts_left")?,
                consumed: get_bool(row, "consumed")?,
                created_at: get_time(row, "created_at")?,
            })
        })
        .transpose()
}

/// The statement that records `e`.
pub(crate) fn insert_event(e: &Event) -> Statement {
    sqlx::query("INSERT INTO events (realm_id, user_id, factor_id, kind, detail, at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(&e.realm.0)
        .bind(e.user.as_ref().map(UserId::as_str))
        .bind(e.factor.as_ref().map(FactorId::as_str))
        .bind(e.kind)
        .bind(e.detail.as_deref())
        .bind(millis(e.at))
}

/// Marks a challenge used, unless it already is.
pub(crate) fn consume(id: &[u8]) -> Statement {
    sqlx::query("UPDATE challenges SET consumed = TRUE WHERE id = $1 AND consumed = FALSE").bind(id)
}

/// Marks a pending sign-in used while it is live, unless it already is.
fn consume_pending(id: &[u8], now: OffsetDateTime) -> Statement {
    sqlx::query(
        "UPDATE pending_sign_ins SET consumed = TRUE \
         WHERE credential_hash = $1 AND consumed = FALSE AND expires_at > $2",
    )
    .bind(id)
    .bind(millis(now))
}

/// See `Store::delete_expired`. A message that carried a deleted code loses its link to it
/// (`ON DELETE SET NULL`), and so leaves the dev outbox.
pub(crate) async fn delete_expired(
    conn: &mut Conn<'_>,
    before: OffsetDateTime,
    limit: i64,
) -> StoreResult<bool> {
    let deletes = [
        (
            "DELETE FROM challenges WHERE id IN \
             (SELECT id FROM challenges WHERE expires_at < $1 LIMIT $2)",
            before,
        ),
        (
            "DELETE FROM pending_sign_ins WHERE credential_hash IN \
             (SELECT credential_hash FROM pending_sign_ins WHERE expires_at < $1 LIMIT $2)",
            before,
        ),
        (
            "DELETE FROM oob_codes WHERE code_key IN \
             (SELECT code_key FROM oob_codes WHERE expires_at < $1 LIMIT $2)",
            before,
        ),
        // A browser gives up on a registration within minutes; its pending factor would stay.
        (
            "DELETE FROM factors WHERE (realm_id, user_id, id) IN \
             (SELECT realm_id, user_id, id FROM factors \
             WHERE state = 'not_ready' AND kind = 'webauthn' AND created_at < $1 LIMIT $2)",
            before,
        ),
        (
            "DELETE FROM passkey_codes WHERE (realm_id, user_id, id) IN \
             (SELECT realm_id, user_id, id FROM passkey_codes WHERE expires_at < $1 LIMIT $2)",
            before,
        ),
        (
            "DELETE FROM passkeys WHERE (realm_id, user_id, id) IN \
             (SELECT realm_id, user_id, id FROM passkeys \
             WHERE state = 'not_ready' AND created_at < $1 LIMIT $2)",
            before,
        ),
    ];
    sweep::delete_chunk(conn, &deletes, limit).await
}

/// See `Store::use_challenge`. The passed check goes first, in the store's order of locks.
pub(crate) async fn use_challenge(
    conn: &mut Conn<'_>,
    id: &[u8],
    passed: &Passed,
) -> StoreResult<bool> {
    let mut tx = conn.begin().await.map_err(db_err)?;
    run_together(&mut tx, attempts::passed(passed)).await?;
    let used = won(&mut tx, consume(id)).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(used)
}

/// See `Store::complete_sign_in`. The passed check goes first, in the store's order of locks
/// (`attempts.rs`); then the TOTP step and the pending sign-in decide whether it goes on; what
/// is left depends on nothing, and runs together (`together.rs`).
pub(crate) async fn complete_sign_in(
    conn: &mut Conn<'_>,
    c: &SignInCompletion<'_>,
) -> StoreResult<SignInOutcome> {
    let mut tx = conn.begin().await.map_err(db_err)?;
    run_together(&mut tx, c.passed.map(attempts::passed).unwrap_or_default()).await?;
    if let Some((factor, step)) = c.totp_step
        && !won(&mut tx, factors::use_totp_step(factor, step, c.at)).await?
    {
        return Ok(SignInOutcome::StepUsed);
    }
    if !won(&mut tx, consume_pending(c.pending, c.at)).await? {
        tx.commit().await.map_err(db_err)?;
        return Ok(SignInOutcome::SignInGone);
    }
    // The sign-in is consumed before its challenge: of requests racing with the right code,
    // the one that wins the sign-in finishes it.
    let finished = c
        .challenge
        .map(consume)
        .into_iter()
        .chain([
            users::record_activity(&c.refresh.realm, &c.refresh.user, Activity::SignIn, c.at),
            users::insert_refresh_token(c.refresh),
        ])
        .collect();
    run_together(&mut tx, finished).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(SignInOutcome::Done)
}
