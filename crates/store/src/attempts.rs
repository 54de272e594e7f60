//! Brute-force protection in the database (see `tessera_core::lockout`) and the audit log.
//!
//! Taking an attempt charges the failure limits' counters (`counters.rs`, apart from the
//! rest), then takes it in one transaction of conditional statements — the factor's soft
//! lock, the challenge's or pending sign-in's attempts — and whichever refuses rolls all of it
//! back and gives the charge back, so a refused attempt changes nothing. Each statement's
//! affected rows say whether it won, so two nodes racing can never take more attempts than
//! the rules allow between them.
//!
//! The store's order of locks: a check's rows are locked in the order taking its attempt
//! locks them — the factor, then the challenge or the pending sign-in — and the user's row
//! after them. So the write that ends a passed check (`passed`) runs first in a `finalize`'s
//! transaction. Locked in another order, a `finalize` and an attempt being taken for the
//! same user could each wait for the other, and PostgreSQL would abort one. The counters are
//! never locked together with anything else.

use std::sync::LazyLock;

use sqlx::AssertSqlSafe;
use sqlx::any::AnyRow;
use tessera_core::lockout::{HARD_LOCK_FAILURES, schedule};
use tessera_core::store::{
    Attempt, AttemptTaken, Event, EventFilter, EventRecord, Passed, StoreResult,
};
use tessera_core::{FactorId, RealmId, UserId};
use time::OffsetDateTime;

use crate::challenges::insert_event;
use crate::conn::Conn;
use crate::counters::{Charge, give_back, guarded};
use crate::db_err;
use crate::factors::for_factor;
use crate::rows::{corrupt, get, get_time, millis};
use crate::together::{Statement, run_together, won};

/// Counts a failure in advance against a factor that is not locked, setting the lock the
/// schedule gives that many failures (`$1`, `$2`, `$3` = the factor's realm, user and id,
/// `$4` = now in ms). The schedule's numbers come from the domain, written into the statement
/// once.
static COUNT_FAILURE: LazyLock<String> = LazyLock::new(|| {
    let locks: String = schedule()
        .iter()
        .map(|(failures, back_off)| {
            format!(
                " WHEN {failures} THEN $4 + {}",
                back_off.whole_milliseconds()
            )
        })
        .collect();
    format!(
        "UPDATE factors SET consecutive_failures = consecutive_failures + 1, \
         locked_until = CASE consecutive_failures + 1{locks} ELSE NULL END \
         WHERE realm_id = $1 AND user_id = $2 AND id = $3 AND state <> 'removed' \
         AND consecutive_failures < {HARD_LOCK_FAILURES} \
         AND (locked_until IS NULL OR locked_until <= $4) RETURNING consecutive_failures"
    )
});

/// Takes one of a challenge's attempts (`$1` = its id) while it is live.
const SPEND_CHALLENGE: &str = "UPDATE challenges SET attempts_left = attempts_left - 1 \
     WHERE id = $1 AND consumed = FALSE AND attempts_left > 0 AND expires_at > $2";

/// Takes one of a pending sign-in's attempts (`$1` = its credential hash) while it is live.
const SPEND_PENDING: &str = "UPDATE pending_sign_ins SET attempts_left = attempts_left - 1 \
     WHERE credential_hash = $1 AND consumed = FALSE AND attempts_left > 0 AND expires_at > $2";

pub(crate) async fn take(conn: &mut Conn<'_>, a: &Attempt) -> StoreResult<AttemptTaken> {
    let taken = guarded(conn, charges(a), async |conn| take_guarded(conn, a).await).await?;
    Ok(taken.unwrap_or(AttemptTaken::LimitReached))
}

/// What the attempt counts against the failure limits (`counters.rs`).
fn charges(a: &Attempt) -> Vec<Charge<'_>> {
    Charge::each(&a.quotas, a.at).collect()
}

/// Takes the attempt from the factor and the challenge or pending sign-in, once the failure
/// limits are charged.
async fn take_guarded(conn: &mut Conn<'_>, a: &Attempt) -> StoreResult<AttemptTaken> {
    let guards = [
        a.factor.is_some(),
        a.challenge.is_some(),
        a.pending.is_some(),
    ]
    .into_iter()
    .filter(|&guarded| guarded)
    .count();
    // One conditional statement changes everything or nothing by itself; with more, the one
    // that refuses must roll back the others. (On SQLite's writer a transaction here is a
    // savepoint: two more round trips to the connection's thread.)
    if guards <= 1 {
        return take_each(conn, a).await;
    }
    let mut tx = conn.begin().await.map_err(db_err)?;
    let taken = take_each(&mut tx, a).await?;
    if matches!(taken, AttemptTaken::Taken { .. }) {
        tx.commit().await.map_err(db_err)?;
    }
    Ok(taken)
}

/// Runs the attempt's guards in turn; the first that refuses ends it, leaving what the others
/// changed for `take` to roll back.
async fn take_each(conn: &mut Conn<'_>, a: &Attempt) -> StoreResult<AttemptTaken> {
    let mut failures = 0;
    if let Some(factor) = &a.factor {
        let counted: Option<(i64,)> = sqlx::query_as(AssertSqlSafe(COUNT_FAILURE.as_str()))
            .bind(&factor.realm.0)
            .bind(factor.user.as_str())
            .bind(factor.id.as_str())
            .bind(millis(a.at))
            .fetch_optional(&mut *conn)
            .await
            .map_err(db_err)?;
        match counted {
            Some((n,)) => failures = n,
            None => return Ok(AttemptTaken::FactorLocked),
        }
    }
    for (statement, key) in [
        (SPEND_CHALLENGE, a.challenge.as_deref()),
        (SPEND_PENDING, a.pending.as_deref()),
    ] {
        if let Some(key) = key
            && !won(conn, sqlx::query(statement).bind(key).bind(millis(a.at))).await?
        {
            return Ok(AttemptTaken::Spent);
        }
    }
    Ok(AttemptTaken::Taken { failures })
}

pub(crate) async fn end(
    conn: &mut Conn<'_>,
    a: &Attempt,
    succeeded: bool,
    events: &[Event],
) -> StoreResult<()> {
    run_together(conn, ended(a, succeeded, events)).await?;
    if succeeded {
        give_back(conn, charges(a)).await;
    }
    Ok(())
}

/// The writes that end an attempt (see `Store::end_attempt`) but for its failure limits'
/// refund, none depending on another: a caller with writes of its own runs them together
/// (`together.rs`).
fn ended(a: &Attempt, succeeded: bool, events: &[Event]) -> Vec<Statement> {
    let mut writes = Vec::new();
    if succeeded {
        let reset = "UPDATE factors SET consecutive_failures = 0, locked_until = NULL \
                     WHERE realm_id = $1 AND user_id = $2 AND id = $3";
        writes.extend(a.factor.as_ref().map(|factor| for_factor(reset, factor)));
    }
    writes.extend(events.iter().map(insert_event));
    writes
}

/// The writes that record a passed check, to run first in the caller's transaction (the
/// store's order of locks, above); its failure limits are given back apart (`refund`).
pub(crate) fn passed(passed: &Passed) -> Vec<Statement> {
    ended(&passed.attempt, true, &passed.events)
}

/// Gives back what a passed check counted against the failure limits, once the change it
/// allowed has run, whichever way that went: the right code was given all the same.
pub(crate) async fn refund(conn: &mut Conn<'_>, passed: Option<&Passed>) {
    if let Some(passed) = passed {
        give_back(conn, charges(&passed.attempt)).await;
    }
}

pub(crate) async fn unlock(
    conn: &mut Conn<'_>,
    realm: &RealmId,
    user: &UserId,
    at: OffsetDateTime,
) -> StoreResult<Vec<FactorId>> {
    let mut tx = conn.begin().await.map_err(db_err)?;
    let rows: Vec<(String,)> = sqlx::query_as(
        "UPDATE factors SET consecutive_failures = 0, locked_until = NULL \
         WHERE realm_id = $1 AND user_id = $2 AND state <> 'removed' \
         AND (consecutive_failures > 0 OR locked_until IS NOT NULL) RETURNING id",
    )
    .bind(&realm.0)
    .bind(user.as_str())
    .fetch_all(&mut *tx)
    .await
    .map_err(db_err)?;
    let mut ids = Vec::with_capacity(rows.len());
    let mut events = Vec::with_capacity(rows.len());
    for (id,) in rows {
        let id = FactorId::parse(&id).ok_or_else(|| corrupt("factor id"))?;
        let event = Event {
            realm: realm.clone(),
            user: Some(user.clone()),
            factor: Some(id.clone()),
            kind: "factor.unlocked",
            detail: Some("reset by an administrator".to_owned()),
            at,
        };
        events.push(insert_event(&event));
        ids.push(id);
    }
    run_together(&mut tx, events).await?;
    tx.commit().await.map_err(db_err)?;
    ids.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    Ok(ids)
}

fn event_from_row(row: &AnyRow) -> StoreResult<EventRecord> {
    Ok(EventRecord {
        id: get(row, "id")?,
        realm: RealmId(get(row, "realm_id")?),
        user: get::<Option<String>>(row, "user_id")?
            .as_deref()
            .map(|u| UserId::parse(u).ok_or_else(|| corrupt("event user id")))
            .transpose()?,
        factor: get::<Option<String>>(row, "factor_id")?
            .as_deref()
            .and_then(FactorId::parse),
        kind: get(row, "kind")?,
        detail: get(row, "detail")?,
        at: get_time(row, "at")?,
    })
}

pub(crate) async fn list_events(
    conn: &mut Conn<'_>,
    f: &EventFilter,
) -> StoreResult<Vec<EventRecord>> {
    let rows = sqlx::query(
        "SELECT id, realm_id, user_id, factor_id, kind, detail, at FROM events \
         WHERE ($1 = '' OR realm_id = $1) AND ($2 = '' OR user_id = $2) AND at >= $3 AND at < $4 \
         ORDER BY at DESC, id DESC LIMIT $5",
    )
    .bind(f.realm.as_ref().map(|r| r.0.as_str()).unwrap_or_default())
    .bind(f.user.as_ref().map(UserId::as_str).unwrap_or_default())
    .bind(f.since.map_or(i64::MIN, millis))
    .bind(f.until.map_or(i64::MAX, millis))
    .bind(f.limit)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    rows.iter().map(event_from_row).collect()
}
