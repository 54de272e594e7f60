//! PostgreSQL's connections: a pool of our own, as SQLite's readers have (`readers.rs`).
//!
//! sqlx's pool hands every connection back through a spawned task that pings the server first
//! (a `Sync` and its answer): one more round trip per store call, which cost the database on
//! loopback about as much as a read's own query (BENCHMARKS, thirteenth session). Here a store
//! call puts its connection straight back when it ended well with nothing left to send. A
//! transaction dropped unfinished only queues its `ROLLBACK`, and an idle connection must not
//! hold that transaction's locks, so such a connection, and one whose call failed (it may be
//! dead), is pinged first and dropped if the ping fails. A call cancelled midway drops its
//! connection: the server rolls back whatever it had begun when the socket closes. A
//! connection idle for `PING_IF_IDLE_FOR` is pinged before use, since the server may have
//! closed it meanwhile (a restart, `pg_terminate_backend`), and replaced if that fails.

use std::str::FromStr;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use sqlx::any::AnyConnectOptions;
use sqlx::{AnyConnection, ConnectOptions, Connection};
use tessera_core::store::StoreResult;
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::{closed, db_err};

/// How long a request waits for a connection before it fails as "unavailable"
/// (a database outage must produce errors, not hung requests).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a connection may sit idle before it is pinged on its next use: one that the
/// server closed while idle (a restart, an idle timeout) is caught then, and one in steady use
/// is not pinged at all.
const PING_IF_IDLE_FOR: Duration = Duration::from_secs(1);

pub(crate) struct PostgresPool {
    options: AnyConnectOptions,
    /// Most recently used last, so that a light load keeps reusing the same few.
    idle: Mutex<Vec<Idle>>,
    /// One permit per connection the pool may have open.
    free: Semaphore,
}

struct Idle {
    conn: AnyConnection,
    since: Instant,
}

impl PostgresPool {
    /// Connects once, so that a wrong URL or an unreachable server fails at start-up.
    pub(crate) async fn open(url: &str, max_connections: u32) -> StoreResult<Self> {
        let options = AnyConnectOptions::from_str(url).map_err(db_err)?;
        let first = options.connect().await.map_err(db_err)?;
        Ok(PostgresPool {
            options,
            idle: Mutex::new(vec![Idle {
                conn: first,
                since: Instant::now(),
            }]),
            free: Semaphore::new(max_connections.max(1) as usize),
        })
    }

    /// Runs `work` on a connection of the pool, waiting up to `ACQUIRE_TIMEOUT` for one.
    pub(crate) async fn run<T>(
        &self,
        work: impl AsyncFnOnce(&mut AnyConnection) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let (_permit, mut conn) = tokio::time::timeout(ACQUIRE_TIMEOUT, self.acquire())
            .await
            .map_err(|_| db_err(sqlx::Error::PoolTimedOut))??;
        // Cancelled here, the call drops the connection.
        let done = work(&mut conn).await;
        self.put_back(conn, done.is_ok()).await;
        done
    }

    /// Closes the idle connections; later calls fail as unavailable.
    pub(crate) async fn close(&self) {
        self.free.close();
        let idle = std::mem::take(&mut *self.idle());
        for Idle { conn, .. } in idle {
            if let Err(e) = conn.close().await {
                tracing::warn!(error = %e, "closing a PostgreSQL connection failed");
            }
        }
    }

    async fn acquire(&self) -> StoreResult<(SemaphorePermit<'_>, AnyConnection)> {
        let permit = self.free.acquire().await.map_err(|_| closed())?;
        loop {
            // Not `while let`: that would hold the idle list's lock across the ping.
            let Some(Idle { mut conn, since }) = self.idle().pop() else {
                break;
            };
            if since.elapsed() < PING_IF_IDLE_FOR || conn.ping().await.is_ok() {
                return Ok((permit, conn));
            }
        }
        let conn = self.options.connect().await.map_err(db_err)?;
        Ok((permit, conn))
    }

    /// Keeps `conn` for the next call, unless it may hold something back or be broken and a
    /// ping says it is (or does not answer within `ACQUIRE_TIMEOUT`).
    async fn put_back(&self, mut conn: AnyConnection, ended_well: bool) {
        let settled = ended_well && !conn.should_flush() && !conn.is_in_transaction();
        if settled
            || matches!(
                tokio::time::timeout(ACQUIRE_TIMEOUT, conn.ping()).await,
                Ok(Ok(()))
            )
        {
            self.idle().push(Idle {
                conn,
                since: Instant::now(),
            });
        }
    }

    fn idle(&self) -> MutexGuard<'_, Vec<Idle>> {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::HashSet;
    use std::sync::Arc;

    use sqlx::AssertSqlSafe;
    use tessera_core::error::StoreError;
    use tokio::time::timeout;

    use super::*;

    /// The local server the other PostgreSQL tests fall back on too.
    const LOCAL_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/postgres";

    /// A pool on `TEST_POSTGRES_URL`, which must answer when set (CI), else on the local
    /// server; `None` when neither is there, and the test then has nothing to check.
    pub(crate) async fn pool(size: u32) -> StoreResult<Option<PostgresPool>> {
        sqlx::any::install_default_drivers();
        match std::env::var("TEST_POSTGRES_URL") {
            Ok(url) if !url.is_empty() => PostgresPool::open(&url, size).await.map(Some),
            _ => Ok(PostgresPool::open(LOCAL_POSTGRES, size).await.ok()),
        }
    }

    async fn run(pool: &PostgresPool, sql: String) -> StoreResult<()> {
        pool.run(async |conn| {
            sqlx::query(AssertSqlSafe(sql))
                .execute(conn)
                .await
                .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    /// A table of one row (`n = 0`), named for the test and this process.
    async fn table(pool: &PostgresPool, name: &str) -> StoreResult<String> {
        let table = format!("pool_{name}_{}", std::process::id());
        run(pool, format!("DROP TABLE IF EXISTS {table}")).await?;
        run(pool, format!("CREATE TABLE {table} (n BIGINT)")).await?;
        run(pool, format!("INSERT INTO {table} VALUES (0)")).await?;
        Ok(table)
    }

    /// Updates the row on a connection outside the pool, giving up after a second of waiting
    /// for a lock: `Ok` only if no transaction holds the row.
    async fn update_elsewhere(pool: &PostgresPool, table: &str) -> StoreResult<()> {
        let mut other = pool.options.connect().await.map_err(db_err)?;
        sqlx::query("SET lock_timeout = '1s'")
            .execute(&mut other)
            .await
            .map_err(db_err)?;
        sqlx::query(AssertSqlSafe(format!("UPDATE {table} SET n = n + 1")))
            .execute(&mut other)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    #[tokio::test]
    async fn a_transaction_dropped_unfinished_is_rolled_back_before_its_connection_idles()
    -> StoreResult<()> {
        let Some(pool) = pool(1).await? else {
            return Ok(());
        };
        let table = table(&pool, "dropped").await?;
        let sql = format!("UPDATE {table} SET n = 100");
        pool.run(async |conn| {
            let mut tx = conn.begin().await.map_err(db_err)?;
            sqlx::query(AssertSqlSafe(sql))
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            // The write changes its mind: sqlx only queues the ROLLBACK here.
            drop(tx);
            Ok(())
        })
        .await?;
        // Had the idle connection kept its transaction, the row would still be locked.
        update_elsewhere(&pool, &table).await?;
        let (n,): (i64,) = pool
            .run(async |conn| {
                sqlx::query_as(AssertSqlSafe(format!("SELECT n FROM {table}")))
                    .fetch_one(conn)
                    .await
                    .map_err(db_err)
            })
            .await?;
        assert_eq!(
            n, 1,
            "the dropped update was rolled back, the other one kept"
        );
        run(&pool, format!("DROP TABLE {table}")).await
    }

    #[tokio::test]
    async fn a_call_cancelled_midway_drops_its_connection_and_its_locks() -> StoreResult<()> {
        let Some(pool) = pool(1).await? else {
            return Ok(());
        };
        let table = table(&pool, "cancelled").await?;
        let sql = format!("UPDATE {table} SET n = 100");
        let stuck = pool.run(async |conn| {
            let mut tx = conn.begin().await.map_err(db_err)?;
            sqlx::query(AssertSqlSafe(sql))
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            std::future::pending::<StoreResult<()>>().await
        });
        assert!(timeout(Duration::from_millis(200), stuck).await.is_err());
        // The only permit came back, and the server rolled the update back with the socket.
        update_elsewhere(&pool, &table).await?;
        run(&pool, format!("DROP TABLE {table}")).await
    }

    #[tokio::test]
    async fn a_connection_that_died_in_use_is_replaced() -> StoreResult<()> {
        let Some(pool) = pool(1).await? else {
            return Ok(());
        };
        let killed = run(
            &pool,
            "SELECT pg_terminate_backend(pg_backend_pid())".into(),
        )
        .await;
        assert!(killed.is_err(), "{killed:?}");
        run(&pool, "SELECT 1".into()).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn calls_beyond_the_limit_wait_for_a_connection() -> StoreResult<()> {
        let Some(pool) = pool(2).await? else {
            return Ok(());
        };
        let pool = Arc::new(pool);
        let mut calls = tokio::task::JoinSet::new();
        for _ in 0..12 {
            let pool = pool.clone();
            calls.spawn(async move {
                pool.run(async |conn| {
                    let (pid,): (i32,) = sqlx::query_as("SELECT pg_backend_pid()")
                        .fetch_one(&mut *conn)
                        .await
                        .map_err(db_err)?;
                    sqlx::query("SELECT pg_sleep(0.02)")
                        .execute(&mut *conn)
                        .await
                        .map_err(db_err)?;
                    Ok(pid)
                })
                .await
            });
        }
        let pids = calls
            .join_all()
            .await
            .into_iter()
            .collect::<StoreResult<HashSet<_>>>()?;
        assert!(
            (1..=2).contains(&pids.len()),
            "12 calls on a pool of 2 used {} connections",
            pids.len()
        );
        pool.close().await;
        assert!(matches!(
            run(&pool, "SELECT 1".into()).await,
            Err(StoreError::Unavailable(_))
        ));
        Ok(())
    }
}
