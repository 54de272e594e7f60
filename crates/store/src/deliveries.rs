//! The durable outbox and the abuse limits that guard it.
//!
//! A message is queued inside the transaction that issues its code, once its limits are
//! charged (`limited`, `counters.rs`); a used-up limit leaves everything unwritten. Workers
//! on every node claim due messages with one statement: on PostgreSQL `FOR UPDATE SKIP
//! LOCKED` lets nodes claim side by side without waiting on each other's rows; SQLite has one
//! writer, so the same statement without it is already exclusive. A claim is a lease: a node
//! that dies mid-send leaves it to expire, and another node takes the message over.

use sqlx::AssertSqlSafe;
use sqlx::any::AnyRow;
use tessera_core::RealmId;
use tessera_core::delivery::DeliveryOutcome;
use tessera_core::delivery::{CLAIM_LEASE, Channel, Delivery, DeliveryStatus};
use tessera_core::error::StoreError;
use tessera_core::factor::Sealed;
use tessera_core::store::{Attempted, Outgoing, StoreResult};
use time::OffsetDateTime;

use crate::conn::Conn;
use crate::counters::{self, Charge, Outcome};
use crate::open::Engine;
use crate::rows::{corrupt, get, get_opt_time, get_time, millis};
use crate::together::{Statement, run};
use crate::{db_err, sweep};

const COLUMNS: &str = "id, realm_id, channel, destination, master_key_id, sealed_content, \
     status, attempts, next_attempt_at, expires_at, last_error, created_at, sent_at";

fn from_row(row: &AnyRow) -> StoreResult<Delivery> {
    Ok(Delivery {
        id: get(row, "id")?,
        realm: RealmId(get(row, "realm_id")?),
        channel: Channel::parse(&get::<String>(row, "channel")?)
            .ok_or_else(|| corrupt("delivery channel"))?,
        destination: get(row, "destination")?,
        content: Sealed {
            master_key_id: get(row, "master_key_id")?,
            bytes: get(row, "sealed_content")?,
        },
        status: DeliveryStatus::parse(&get::<String>(row, "status")?)
            .ok_or_else(|| corrupt("delivery status"))?,
        attempts: get(row, "attempts")?,
        next_attempt_at: get_time(row, "next_attempt_at")?,
        expires_at: get_time(row, "expires_at")?,
        last_error: get(row, "last_error")?,
        created_at: get_time(row, "created_at")?,
        sent_at: get_opt_time(row, "sent_at")?,
    })
}

/// Runs `write`, which queues `outgoing` (`insert`), once their limits are charged
/// (`counters::guarded`); a limit used up is `LimitExceeded`, and then nothing was written.
pub(crate) async fn limited<T: Outcome>(
    conn: &mut Conn<'_>,
    outgoing: &[Outgoing],
    write: impl AsyncFnOnce(&mut Conn<'_>) -> StoreResult<T>,
) -> StoreResult<T> {
    let charges = outgoing
        .iter()
        .flat_map(|out| Charge::each(&out.quotas, out.delivery.created_at))
        .collect();
    counters::guarded(conn, charges, write)
        .await?
        .map_err(|refused| StoreError::LimitExceeded(refused.quota.key.clone()))
}

/// Queues `outgoing`, on the caller's transaction (inside `limited`).
pub(crate) async fn queue(conn: &mut Conn<'_>, outgoing: &[Outgoing]) -> StoreResult<()> {
    for out in outgoing {
        run(conn, insert(&out.delivery)).await?;
    }
    Ok(())
}

/// The statement that queues `d`.
pub(crate) fn insert(d: &Delivery) -> Statement {
    sqlx::query(
        "INSERT INTO deliveries (id, realm_id, channel, destination, master_key_id, sealed_content, \
         status, attempts, next_attempt_at, expires_at, last_error, created_at, sent_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(&d.id)
    .bind(&d.realm.0)
    .bind(d.channel.as_str())
    .bind(&d.destination)
    .bind(&d.content.master_key_id)
    .bind(d.content.bytes.as_slice())
    .bind(d.status.as_str())
    .bind(d.attempts)
    .bind(millis(d.next_attempt_at))
    .bind(millis(d.expires_at))
    .bind(d.last_error.as_deref())
    .bind(millis(d.created_at))
    .bind(d.sent_at.map(millis))
}

/// The messages a worker may claim at `$1`: queued, due, and not under a live claim.
const DUE: &str = "status = 'queued' AND next_attempt_at <= $1 AND (claimed_until IS NULL OR claimed_until <= $1)";

/// Whether `claim` would find a message at `now`; a read, so that a worker with nothing to
/// send takes no write (on SQLite: no write lock against other processes, no fsync).
pub(crate) async fn any_due(conn: &mut Conn<'_>, now: OffsetDateTime) -> StoreResult<bool> {
    let due = sqlx::query(AssertSqlSafe(format!(
        "SELECT 1 FROM deliveries WHERE {DUE} LIMIT 1"
    )))
    .bind(millis(now))
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(due.is_some())
}

pub(crate) async fn claim(
    conn: &mut Conn<'_>,
    engine: Engine,
    node: &str,
    now: OffsetDateTime,
    limit: i64,
) -> StoreResult<Vec<Delivery>> {
    let lock = match engine {
        Engine::Postgres => "FOR UPDATE SKIP LOCKED",
        Engine::Sqlite => "",
    };
    let sql = format!(
        "UPDATE deliveries SET claimed_by = $2, claimed_until = $3, attempts = attempts + 1 \
         WHERE id IN (SELECT id FROM deliveries WHERE {DUE} ORDER BY next_attempt_at LIMIT $4 {lock}) \
         RETURNING {COLUMNS}"
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(millis(now))
        .bind(node)
        .bind(millis(now + CLAIM_LEASE))
        .bind(limit)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
    rows.iter().map(from_row).collect()
}

pub(crate) async fn finish(
    conn: &mut Conn<'_>,
    node: &str,
    attempted: &Attempted,
) -> StoreResult<bool> {
    let now = attempted.at;
    let (status, next, error, sent_at) = match &attempted.outcome {
        DeliveryOutcome::Sent => (DeliveryStatus::Sent, now, None, Some(millis(now))),
        DeliveryOutcome::Retry { at, error } => (DeliveryStatus::Queued, *at, Some(error), None),
        DeliveryOutcome::Failed { error } => (DeliveryStatus::Failed, now, Some(error), None),
    };
    let done = sqlx::query(
        "UPDATE deliveries SET status = $1, next_attempt_at = $2, last_error = COALESCE($3, last_error), \
         sent_at = $4, claimed_by = NULL, claimed_until = NULL \
         WHERE id = $5 AND claimed_by = $6 AND status = 'queued'",
    )
    .bind(status.as_str())
    .bind(millis(next))
    .bind(error.map(String::as_str))
    .bind(sent_at)
    .bind(&attempted.delivery)
    .bind(node)
    .execute(conn)
    .await
    .map_err(db_err)?;
    Ok(done.rows_affected() == 1)
}

pub(crate) async fn list(
    conn: &mut Conn<'_>,
    status: Option<DeliveryStatus>,
    limit: i64,
) -> StoreResult<Vec<Delivery>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM deliveries WHERE ($1 = '' OR status = $1) \
         ORDER BY created_at DESC, id LIMIT $2"
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(status.map(DeliveryStatus::as_str).unwrap_or_default())
        .bind(limit)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
    rows.iter().map(from_row).collect()
}

pub(crate) async fn outstanding(
    conn: &mut Conn<'_>,
    realm: &RealmId,
) -> StoreResult<Vec<Delivery>> {
    let columns = COLUMNS.replace(", ", ", d.");
    let sql = format!(
        "SELECT d.{columns} FROM deliveries d JOIN challenges c ON c.delivery_id = d.id \
         WHERE d.realm_id = $1 AND c.consumed = FALSE ORDER BY d.created_at, d.id"
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(&realm.0)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
    rows.iter().map(from_row).collect()
}

pub(crate) async fn clear(conn: &mut Conn<'_>, realm: &RealmId) -> StoreResult<()> {
    sqlx::query(
        "DELETE FROM deliveries WHERE id IN \
         (SELECT delivery_id FROM challenges WHERE realm_id = $1 AND delivery_id IS NOT NULL)",
    )
    .bind(&realm.0)
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

pub(crate) async fn prune(
    conn: &mut Conn<'_>,
    counters_before: OffsetDateTime,
    messages_before: OffsetDateTime,
    limit: i64,
) -> StoreResult<bool> {
    let deletes = [
        (
            "DELETE FROM rate_counters WHERE (key, window_start) IN \
             (SELECT key, window_start FROM rate_counters WHERE window_start < $1 LIMIT $2)",
            counters_before,
        ),
        (
            "DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries \
             WHERE status <> 'queued' AND created_at < $1 LIMIT $2)",
            messages_before,
        ),
    ];
    sweep::delete_chunk(conn, &deletes, limit).await
}
