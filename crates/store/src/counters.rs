//! The abuse limits' counters (`rate_counters`): the delivery limits and the failure limits.
//!
//! Some counters are shared by many requests: a realm's codes sent, a country's, and every
//! check made from one address (all of an application's backend calls, say). On PostgreSQL a
//! transaction keeps a row's lock until its commit is on disk, so a counter charged inside the
//! write it guards let only one such write commit per fsync: production's limits cut
//! PostgreSQL's phone `start`s to a quarter (BENCHMARKS.md, twenty-second session). Charged in
//! a transaction of its own, a counter was still locked across that transaction's round
//! trips, which on two busy cores take milliseconds each. So a write's counters are charged
//! *apart* (`guarded`), in one statement that is its own transaction and commits without
//! waiting for the disk (`synchronous_commit = off`): a counter is locked only while
//! PostgreSQL runs that statement. Then the write runs; a write that fails or is refused gives
//! its charge back the same way, and so does a check that passed (`give_back`).
//!
//! What that costs. A crash: a charge whose write never committed may survive it, counting
//! one too many, the safe side for a limit; a charge cannot be lost under a write that was
//! committed, since that commit flushed the log up to itself, and the charge came before it.
//! A limit reached by one of a write's counters: its other counters were counted in the same
//! statement and are given back by the next, so for that moment they count one more (only
//! ever near a limit that is being reached). The counters are locked in the order of their
//! keys and never together with anything else, so they stay out of the store's order of
//! locks (`attempts.rs`). On SQLite's writer the same statements run in the write's batch.

use std::collections::HashSet;

use sqlx::{AssertSqlSafe, Connection};
use tessera_core::delivery::Quota;
use tessera_core::store::{AttemptTaken, StoreResult};
use time::OffsetDateTime;

use crate::conn::Conn;
use crate::db_err;
use crate::rows::get;
use crate::together::run_together;

/// One count against a limit, at the time it is counted.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Charge<'q> {
    pub quota: &'q Quota,
    pub at: OffsetDateTime,
}

impl<'q> Charge<'q> {
    /// One charge of each of `quotas`, all at `at`.
    pub(crate) fn each(quotas: &'q [Quota], at: OffsetDateTime) -> impl Iterator<Item = Self> {
        quotas.iter().map(move |quota| Charge { quota, at })
    }
}

/// What a guarded write answered: whether it went through and keeps its charge, or was
/// refused by a guard of its own (having changed nothing) and gives it back.
pub(crate) trait Outcome {
    fn went_through(&self) -> bool;
}

impl Outcome for () {
    fn went_through(&self) -> bool {
        true
    }
}

impl Outcome for bool {
    fn went_through(&self) -> bool {
        *self
    }
}

impl Outcome for AttemptTaken {
    fn went_through(&self) -> bool {
        matches!(self, AttemptTaken::Taken { .. })
    }
}

/// Charges `charges`, then runs `write`, which they guard; `Err` with a limit that is used
/// up, and then nothing was written. A write that fails or is refused gives the charges back.
pub(crate) async fn guarded<'q, T: Outcome>(
    conn: &mut Conn<'_>,
    charges: Vec<Charge<'q>>,
    write: impl AsyncFnOnce(&mut Conn<'_>) -> StoreResult<T>,
) -> StoreResult<Result<T, Charge<'q>>> {
    if charges.is_empty() {
        return write(conn).await.map(Ok);
    }
    let counters = counters(&charges);
    if let Some(refused) = charge(conn, &counters).await? {
        return Ok(Err(refused));
    }
    let done = write(conn).await;
    if !matches!(&done, Ok(outcome) if outcome.went_through()) {
        refund(conn, &counters).await;
    }
    done.map(Ok)
}

/// Gives back what `charges` counted, apart from any other write.
pub(crate) async fn give_back(conn: &mut Conn<'_>, charges: Vec<Charge<'_>>) {
    refund(conn, &counters(&charges)).await;
}

/// One row of `rate_counters` a write charges: its charges of one key and window together.
#[derive(Debug, Clone, Copy)]
struct Counter<'q> {
    charge: Charge<'q>,
    window_start: i64,
    count: i64,
}

impl Counter<'_> {
    fn key(&self) -> &str {
        &self.charge.quota.key
    }
}

/// The rows `charges` count in, in the counters' order of locks: by key, so that two
/// statements charging or refunding some of the same counters never wait for each other in a
/// circle. (A code for a login session's SMS and one for its email count twice against the
/// client's address, and a statement may change a row only once.)
fn counters<'q>(charges: &[Charge<'q>]) -> Vec<Counter<'q>> {
    let mut counters: Vec<Counter<'q>> = Vec::with_capacity(charges.len());
    for charge in charges {
        let window_start = charge.quota.window_start(charge.at);
        match counters
            .iter_mut()
            .find(|c| c.key() == charge.quota.key && c.window_start == window_start)
        {
            Some(counter) => counter.count += 1,
            None => counters.push(Counter {
                charge: *charge,
                window_start,
                count: 1,
            }),
        }
    }
    counters.sort_by(|a, b| (a.key(), a.window_start).cmp(&(b.key(), b.window_start)));
    counters
}

/// Set by a PostgreSQL statement that is its own transaction: its commit does not wait for
/// the disk. PostgreSQL reads it at the commit, so it may come anywhere in the statement.
const UNFLUSHED: &str = "set_config('synchronous_commit', 'off', true)";

/// Whether a statement on `conn` is its own transaction on PostgreSQL, and so may set
/// `UNFLUSHED`. Inside a transaction the setting would hold for that transaction's commit,
/// which then would not wait for the disk either; there the counters are only charged
/// without it.
fn unflushed(conn: &Conn<'_>) -> bool {
    matches!(conn, Conn::Sqlx(conn) if !conn.is_in_transaction())
}

/// Counts each counter while it stays within its limit, in one statement; the charge of a
/// counter whose limit is used up, having given back the others.
async fn charge<'q>(
    conn: &mut Conn<'_>,
    counters: &[Counter<'q>],
) -> StoreResult<Option<Charge<'q>>> {
    if let Some(over) = counters.iter().find(|c| c.count > c.charge.quota.limit) {
        return Ok(Some(over.charge));
    }
    let rows = counters.len();
    let values: Vec<String> = (0..rows)
        .map(|i| format!("(${}, ${}, ${})", 3 * i + 1, 3 * i + 2, 3 * i + 3))
        .collect();
    let limits: String = (0..rows)
        .map(|i| format!(" WHEN ${} THEN ${}", 3 * i + 1, 3 * rows + i + 1))
        .collect();
    let unflushed = if unflushed(conn) {
        format!(", {UNFLUSHED}")
    } else {
        String::new()
    };
    let sql = format!(
        "INSERT INTO rate_counters (key, window_start, count) VALUES {} \
         ON CONFLICT (key, window_start) DO UPDATE SET count = rate_counters.count + excluded.count \
         WHERE rate_counters.count + excluded.count <= CASE excluded.key{limits} END \
         RETURNING key, window_start{unflushed}",
        values.join(", ")
    );
    let mut statement = sqlx::query(AssertSqlSafe(sql));
    for c in counters {
        statement = statement.bind(c.key()).bind(c.window_start).bind(c.count);
    }
    for c in counters {
        statement = statement.bind(c.charge.quota.limit);
    }
    let counted: HashSet<(String, i64)> = statement
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?
        .iter()
        .map(|row| Ok((get(row, "key")?, get(row, "window_start")?)))
        .collect::<StoreResult<_>>()?;
    let (kept, refused): (Vec<Counter<'q>>, Vec<Counter<'q>>) = counters
        .iter()
        .partition(|c| counted.contains(&(c.key().to_owned(), c.window_start)));
    match refused.first() {
        None => Ok(None),
        Some(refused) => {
            refund(conn, &kept).await;
            Ok(Some(refused.charge))
        }
    }
}

/// Gives back what `counters` counted, in one statement. One that fails leaves the counts one
/// too high, the safe side for a limit, and comes after the write it belongs to is done, so
/// it is logged instead of failing that write.
async fn refund(conn: &mut Conn<'_>, counters: &[Counter<'_>]) {
    if let Err(e) = refunded(conn, counters).await {
        tracing::warn!(error = %e, "giving back a charge of the abuse limits failed");
    }
}

async fn refunded(conn: &mut Conn<'_>, counters: &[Counter<'_>]) -> StoreResult<()> {
    if counters.is_empty() {
        return Ok(());
    }
    let unflushed =
        unflushed(conn).then(|| sqlx::query(AssertSqlSafe(format!("SELECT {UNFLUSHED}"))));
    let refunds = counters.iter().map(|c| {
        sqlx::query(
            "UPDATE rate_counters SET count = count - $3 \
             WHERE key = $1 AND window_start = $2 AND count >= $3",
        )
        .bind(c.key())
        .bind(c.window_start)
        .bind(c.count)
    });
    run_together(conn, unflushed.into_iter().chain(refunds).collect()).await
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use sqlx::{AnyConnection, AssertSqlSafe};
    use tessera_core::error::StoreError;
    use tokio::sync::oneshot;

    use super::*;
    use crate::conn::InPlace;
    use crate::open::scratch_url;
    use crate::postgres_pool::PostgresPool;
    use crate::postgres_pool::tests::pool;
    use crate::together::run;
    use crate::writer::sqlite_file;

    const TABLE: &str = "CREATE TABLE rate_counters (key TEXT NOT NULL, \
        window_start BIGINT NOT NULL, count BIGINT NOT NULL, PRIMARY KEY (key, window_start))";

    fn quota(key: &str, limit: i64) -> Quota {
        Quota {
            key: key.to_owned(),
            limit,
            window: time::Duration::hours(1),
        }
    }

    async fn counts(conn: &mut Conn<'_>) -> StoreResult<Vec<(String, i64)>> {
        sqlx::query_as("SELECT key, count FROM rate_counters ORDER BY key")
            .fetch_all(&mut *conn)
            .await
            .map_err(db_err)
    }

    /// One charge of `quota`.
    fn once(quota: &Quota) -> Vec<Charge<'_>> {
        vec![Charge {
            quota,
            at: OffsetDateTime::UNIX_EPOCH,
        }]
    }

    fn counted(pairs: &[(&str, i64)]) -> Vec<(String, i64)> {
        pairs.iter().map(|&(k, n)| (k.to_owned(), n)).collect()
    }

    /// What `guarded` and `give_back` must do on either engine. The used-up limit sorts last,
    /// so a refusal also rolls back the charge counted before it.
    async fn charges_and_refunds(conn: &mut Conn<'_>) -> StoreResult<()> {
        let (roomy, tight) = (quota("a-roomy", 100), quota("z-tight", 2));
        let at = OffsetDateTime::UNIX_EPOCH;
        let both = || vec![Charge { quota: &tight, at }, Charge { quota: &roomy, at }];
        assert!(guarded(conn, both(), async |_| Ok(())).await?.is_ok());
        assert_eq!(
            counts(conn).await?,
            counted(&[("a-roomy", 1), ("z-tight", 1)])
        );

        // Refused by a guard of its own, or failing, a write gives its charge back.
        assert!(guarded(conn, both(), async |_| Ok(false)).await?.is_ok());
        let failed = guarded(conn, both(), async |_| {
            Err::<(), _>(StoreError::Internal("failed".into()))
        })
        .await;
        assert!(matches!(failed, Err(StoreError::Internal(_))), "{failed:?}");
        assert_eq!(
            counts(conn).await?,
            counted(&[("a-roomy", 1), ("z-tight", 1)])
        );

        // A used-up limit: the write never runs, and nothing is counted.
        assert!(guarded(conn, both(), async |_| Ok(())).await?.is_ok());
        let mut ran = false;
        let refused = guarded(conn, both(), async |_| {
            ran = true;
            Ok(())
        })
        .await?;
        assert_eq!(refused.err().map(|c| c.quota.key.as_str()), Some("z-tight"));
        assert!(!ran);
        assert_eq!(
            counts(conn).await?,
            counted(&[("a-roomy", 2), ("z-tight", 2)])
        );

        give_back(conn, both()).await;
        assert_eq!(
            counts(conn).await?,
            counted(&[("a-roomy", 1), ("z-tight", 1)])
        );

        // Two charges of one counter count as two, in one row.
        let twice = || vec![Charge { quota: &tight, at }; 2];
        let refused = guarded(conn, twice(), async |_| Ok(())).await?;
        assert_eq!(refused.err().map(|c| c.quota.key.as_str()), Some("z-tight"));
        give_back(conn, once(&tight)).await;
        assert!(guarded(conn, twice(), async |_| Ok(())).await?.is_ok());
        assert_eq!(
            counts(conn).await?,
            counted(&[("a-roomy", 1), ("z-tight", 2)])
        );
        Ok(())
    }

    #[tokio::test]
    async fn guarded_writes_charge_and_give_back_on_sqlite() -> StoreResult<()> {
        let url = scratch_url("counters")?;
        let mut conn = InPlace::open(&sqlite_file(&url)?, Duration::ZERO).map_err(db_err)?;
        let conn = &mut Conn::InPlace(&mut conn);
        run(conn, sqlx::query(TABLE)).await?;
        charges_and_refunds(conn).await
    }

    /// A schema of its own holding a `rate_counters`, named for the test and this process.
    async fn schema(pool: &PostgresPool, name: &str) -> StoreResult<String> {
        let schema = format!("counters_{name}_{}", std::process::id());
        let sql = [
            format!("DROP SCHEMA IF EXISTS {schema} CASCADE"),
            format!("CREATE SCHEMA {schema}"),
            format!("SET search_path TO {schema}"),
            TABLE.to_owned(),
        ];
        pool.run(async |conn| {
            for sql in sql {
                sqlx::query(AssertSqlSafe(sql))
                    .execute(&mut *conn)
                    .await
                    .map_err(db_err)?;
            }
            Ok(())
        })
        .await?;
        Ok(schema)
    }

    /// Runs `work` on a pooled connection whose statements find `schema`'s tables, and
    /// which waits at most a second for a lock.
    async fn in_schema<T>(
        pool: &PostgresPool,
        schema: &str,
        work: impl AsyncFnOnce(&mut Conn<'_>) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let set = format!("SET search_path TO {schema}; SET lock_timeout = '1s'");
        pool.run(async |conn: &mut AnyConnection| {
            sqlx::raw_sql(AssertSqlSafe(set))
                .execute(&mut *conn)
                .await
                .map_err(db_err)?;
            work(&mut Conn::Sqlx(conn)).await
        })
        .await
    }

    async fn drop_schema(pool: &PostgresPool, schema: &str) -> StoreResult<()> {
        let sql = format!("DROP SCHEMA {schema} CASCADE");
        pool.run(async |conn| {
            sqlx::query(AssertSqlSafe(sql))
                .execute(conn)
                .await
                .map_err(db_err)
        })
        .await?;
        pool.close().await;
        Ok(())
    }

    #[tokio::test]
    async fn guarded_writes_charge_and_give_back_on_postgres() -> StoreResult<()> {
        let Some(pool) = pool(1).await? else {
            return Ok(());
        };
        let schema = schema(&pool, "guarded").await?;
        in_schema(&pool, &schema, async |conn| charges_and_refunds(conn).await).await?;
        drop_schema(&pool, &schema).await
    }

    async fn synchronous_commit(conn: &mut Conn<'_>) -> StoreResult<String> {
        let (setting,): (String,) = sqlx::query_as("SHOW synchronous_commit")
            .fetch_one(&mut *conn)
            .await
            .map_err(db_err)?;
        Ok(setting)
    }

    /// Only the counters' own statements commit without waiting for the disk: the write a
    /// charge guards, on the same connection, waits as every write does, and a charge inside
    /// a transaction leaves that transaction's commit alone.
    #[tokio::test]
    async fn only_the_counters_own_statements_skip_the_disk_on_postgres() -> StoreResult<()> {
        let Some(pool) = pool(1).await? else {
            return Ok(());
        };
        let schema = schema(&pool, "unflushed").await?;
        let realm = quota("realm", 100);
        let charge = || once(&realm);
        let settings = in_schema(&pool, &schema, async |conn| {
            let mut in_write = String::new();
            guarded(conn, charge(), async |conn| {
                in_write = synchronous_commit(conn).await?;
                Ok(())
            })
            .await?
            .map_err(|_| StoreError::Internal("refused".into()))?;
            let mut tx = conn.begin().await.map_err(db_err)?;
            give_back(&mut tx, charge()).await;
            let in_transaction = synchronous_commit(&mut tx).await?;
            tx.commit().await.map_err(db_err)?;
            Ok([in_write, in_transaction, synchronous_commit(conn).await?])
        })
        .await?;
        assert_eq!(settings, ["on", "on", "on"]);
        drop_schema(&pool, &schema).await
    }

    /// The point of charging apart: while one write runs, another can charge the same counter
    /// (a realm's, say). Charged inside the write's transaction, the second would wait for the
    /// first to commit, and here give up after its second of `lock_timeout`.
    #[tokio::test]
    async fn a_counter_is_free_while_the_write_it_guards_runs_on_postgres() -> StoreResult<()> {
        let Some(pool) = pool(2).await? else {
            return Ok(());
        };
        let schema = schema(&pool, "free").await?;
        let realm = quota("realm", 100);
        let charge = || once(&realm);
        let (writing, charged_first) = oneshot::channel();
        let (second_done, second_result) = oneshot::channel();
        let first = in_schema(&pool, &schema, async |conn| {
            guarded(conn, charge(), async |_| {
                let _ = writing.send(());
                second_result
                    .await
                    .map_err(|_| StoreError::Internal("the second write went away".into()))?
            })
            .await
        });
        let second = async {
            if charged_first.await.is_ok() {
                let done = in_schema(&pool, &schema, async |conn| {
                    guarded(conn, charge(), async |_| Ok(())).await.map(drop)
                })
                .await;
                let _ = second_done.send(done);
            }
        };
        let (first, ()) = tokio::join!(first, second);
        assert!(matches!(first, Ok(Ok(()))), "{first:?}");
        let counted = in_schema(&pool, &schema, async |conn| counts(conn).await).await?;
        assert_eq!(counted, [("realm".to_owned(), 2)]);
        drop_schema(&pool, &schema).await
    }
}
