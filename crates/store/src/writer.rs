//! SQLite's writer: one connection that writes take in turn, and that commits them in batches.
//!
//! SQLite commits a transaction by appending every page it changed to the write-ahead log,
//! two `pwrite`s a page; a write of a few rows into tables with their indexes changes ten or
//! so pages, and on a virtual machine those system calls, not SQLite's own work, were most of
//! a write's time. So the writes queued for the connection share one transaction (a batch):
//!
//! - The first write of a batch begins it (`BEGIN IMMEDIATE`: the write lock at once, so a
//!   second process on the same file waits instead of failing on a stale snapshot).
//! - Each write runs inside it; a write's own `begin()` becomes a savepoint, so a write that
//!   fails or changes its mind rolls back alone and the batch goes on.
//! - After each write the committer is told; it queues for the connection like any write, so
//!   it commits once the writes that queued before it have run. Under load one commit covers
//!   all of them; a write on its own is committed right after it.
//! - The committer commits, lets go of the connection, has the log fsynced (`durability.rs`)
//!   and only then tells the batch's writes how it went: a write answers only once it is on
//!   disk, while the next batch already runs. A batch whose commit or fsync fails fails every
//!   write in it; after a failed commit the connection is opened afresh, since SQLite may have
//!   rolled the batch back on its own.
//!
//! A write that is cancelled midway leaves its savepoint to be rolled back (sqlx queues the
//! rollback when its transaction is dropped) and still asks for the commit, so the batch it
//! began does not hold SQLite's write lock, against other processes on the file, until some
//! later write comes along.

use std::str::FromStr;
use std::sync::Arc;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Any, AnyConnection, Connection, Database, SqlSafeStr};
use sqlx_core::transaction::TransactionManager;
use tessera_core::error::StoreError;
use tessera_core::store::StoreResult;
use tokio::sync::{Mutex, Notify, watch};

use crate::durability::WalSync;
use crate::open::{on_runtime, sqlite_connection};
use crate::{closed, db_err};

type Manager = <Any as Database>::TransactionManager;

/// How a batch ended; `None` while it is open.
type Outcome = Option<Result<(), StoreError>>;

pub(crate) struct SqliteWriter {
    url: String,
    turn: Mutex<Turn>,
    commit_due: Notify,
    /// The log's fsync; none for an in-memory database (nothing to lose).
    wal: Option<WalSync>,
}

struct Turn {
    /// `None` after a failed commit (until the next write reopens it) and once closed.
    conn: Option<AnyConnection>,
    /// The open batch: its outcome is published here when it ends.
    batch: Option<watch::Sender<Outcome>>,
    closed: bool,
}

/// A batch whose COMMIT has run, to be made durable before its writes hear how it went.
struct Committed {
    batch: watch::Sender<Outcome>,
    result: StoreResult<()>,
}

impl SqliteWriter {
    /// Opens the writer connection of `url`, in WAL mode, and starts its committer, on
    /// `runtime` when given (the connection's thread inherits the CPUs of the thread that
    /// starts it).
    pub(crate) async fn open(
        url: &str,
        runtime: Option<&tokio::runtime::Handle>,
    ) -> Result<Arc<Self>, StoreError> {
        let file = SqliteConnectOptions::from_str(url)
            .map_err(db_err)?
            .get_filename()
            .to_owned();
        let wal = (file.as_os_str() != ":memory:").then(|| WalSync::new(file));
        match runtime {
            Some(runtime) => on_runtime(runtime, Self::start(url.to_owned(), wal)).await,
            None => Self::start(url.to_owned(), wal).await,
        }
    }

    async fn start(url: String, wal: Option<WalSync>) -> Result<Arc<Self>, StoreError> {
        let conn = sqlite_connection(&url).await?;
        let writer = Arc::new(SqliteWriter {
            url,
            turn: Mutex::new(Turn {
                conn: Some(conn),
                batch: None,
                closed: false,
            }),
            commit_due: Notify::new(),
            wal,
        });
        tokio::spawn(commit_batches(writer.clone()));
        Ok(writer)
    }

    /// Runs `work` inside the current batch; returns once that batch is committed and on disk,
    /// or at once when `work` fails (its savepoint is rolled back, the batch goes on).
    pub(crate) async fn write<T>(
        &self,
        work: impl AsyncFnOnce(&mut AnyConnection) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let (done, mut outcome) = {
            let mut turn = self.turn.lock().await;
            let outcome = turn.join(&self.url).await?;
            let _commit_due = CommitDue(&self.commit_due);
            let conn = turn.conn()?;
            (work(conn).await, outcome)
        };
        let done = done?;
        let ended = outcome
            .wait_for(Option::is_some)
            .await
            .map_err(|_| StoreError::Internal("a write batch ended without an outcome".into()))?;
        match &*ended {
            Some(Err(e)) => Err(e.clone()),
            _ => Ok(done),
        }
    }

    /// Runs `work` on the connection outside any batch (migrations manage their own
    /// transactions); the open batch is committed first.
    pub(crate) async fn alone<T>(
        &self,
        work: impl AsyncFnOnce(&mut AnyConnection) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let mut turn = self.turn.lock().await;
        self.publish(turn.commit().await).await;
        turn.reopen(&self.url).await?;
        work(turn.conn()?).await
    }

    /// Commits the open batch and closes the connection; later writes fail as unavailable.
    pub(crate) async fn close(&self) {
        let mut turn = self.turn.lock().await;
        self.publish(turn.commit().await).await;
        turn.closed = true;
        if let Some(conn) = turn.conn.take()
            && let Err(e) = conn.close().await
        {
            tracing::warn!(error = %e, "closing the SQLite writer failed");
        }
        self.commit_due.notify_one();
    }

    /// Fsyncs the log after a successful commit, then tells the batch's writes the outcome.
    async fn publish(&self, committed: Option<Committed>) {
        let Some(Committed { batch, result }) = committed else {
            return;
        };
        let outcome = match (result, &self.wal) {
            (Ok(()), Some(wal)) => wal.flush().await,
            (result, _) => result,
        };
        batch.send_replace(Some(outcome));
    }
}

/// Tells the committer a write is over when dropped: when the write ends, and also when it is
/// cancelled midway.
struct CommitDue<'a>(&'a Notify);

impl Drop for CommitDue<'_> {
    fn drop(&mut self) {
        self.0.notify_one();
    }
}

impl Turn {
    fn conn(&mut self) -> StoreResult<&mut AnyConnection> {
        self.conn.as_mut().ok_or_else(closed)
    }

    /// Opens the connection again after a failed commit dropped it (not once closed).
    async fn reopen(&mut self, url: &str) -> StoreResult<()> {
        if self.conn.is_none() && !self.closed {
            self.conn = Some(sqlite_connection(url).await?);
        }
        Ok(())
    }

    /// The open batch to write in, begun if there is none.
    async fn join(&mut self, url: &str) -> StoreResult<watch::Receiver<Outcome>> {
        if let Some(batch) = &self.batch {
            return Ok(batch.subscribe());
        }
        self.reopen(url).await?;
        Manager::begin(self.conn()?, Some("BEGIN IMMEDIATE".into_sql_str()))
            .await
            .map_err(db_err)?;
        let (batch, outcome) = watch::channel(None);
        self.batch = Some(batch);
        Ok(outcome)
    }

    /// Commits the open batch, if any; its writes hear of it once it is published.
    async fn commit(&mut self) -> Option<Committed> {
        let batch = self.batch.take()?;
        let result = match self.conn() {
            Ok(conn) => Manager::commit(conn).await.map_err(db_err),
            Err(closed) => Err(closed),
        };
        if result.is_err() {
            // SQLite may have rolled the batch back already, which sqlx would not know.
            self.conn = None;
        }
        Some(Committed { batch, result })
    }
}

/// The committer: commits the open batch each time a write asks and its turn comes, and makes
/// it durable without holding up the next batch.
async fn commit_batches(writer: Arc<SqliteWriter>) {
    loop {
        writer.commit_due.notified().await;
        let committed = {
            let mut turn = writer.turn.lock().await;
            if turn.closed {
                return;
            }
            turn.commit().await
        };
        writer.publish(committed).await;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::task::JoinSet;

    use super::*;
    use crate::open::scratch_url;

    /// A writer on a fresh file with one table, and the file's URL for a second connection.
    async fn writer(name: &str) -> StoreResult<(Arc<SqliteWriter>, String)> {
        let url = scratch_url(&format!("writer-{name}"))?;
        let writer = SqliteWriter::open(&url, None).await?;
        alone(&writer, "CREATE TABLE t (n INTEGER PRIMARY KEY)").await?;
        Ok((writer, url))
    }

    /// Runs `sql` on the writer outside any batch.
    async fn alone(writer: &SqliteWriter, sql: &'static str) -> StoreResult<()> {
        writer
            .alone(async |conn| {
                sqlx::query(sql).execute(conn).await.map_err(db_err)?;
                Ok(())
            })
            .await
    }

    /// Inserts `n` in a transaction of its own, which it rolls back instead when `keep` is false.
    async fn insert(writer: &SqliteWriter, n: i64, keep: bool) -> StoreResult<()> {
        writer
            .write(async |conn| {
                let mut tx = conn.begin().await.map_err(db_err)?;
                sqlx::query("INSERT INTO t (n) VALUES ($1)")
                    .bind(n)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                if !keep {
                    return Err(StoreError::Internal("changed its mind".into()));
                }
                tx.commit().await.map_err(db_err)
            })
            .await
    }

    /// What another connection sees.
    async fn committed(url: &str) -> StoreResult<Vec<i64>> {
        let mut conn = AnyConnection::connect(url).await.map_err(db_err)?;
        let rows: Vec<(i64,)> = sqlx::query_as("SELECT n FROM t ORDER BY n")
            .fetch_all(&mut conn)
            .await
            .map_err(db_err)?;
        Ok(rows.into_iter().map(|(n,)| n).collect())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_that_queue_together_commit_together_and_a_failing_one_rolls_back_alone()
    -> StoreResult<()> {
        let (writer, url) = writer("batch").await?;
        let mut writes = JoinSet::new();
        for n in 0..32 {
            let writer = writer.clone();
            writes.spawn(async move { (n, insert(&writer, n, n != 7).await) });
        }
        for (n, result) in writes.join_all().await {
            assert_eq!(result.is_ok(), n != 7, "write {n}: {result:?}");
        }
        // Every write that answered is committed, so visible to another connection.
        let expected: Vec<i64> = (0..32).filter(|n| *n != 7).collect();
        assert_eq!(committed(&url).await?, expected);
        Ok(())
    }

    #[tokio::test]
    async fn a_write_cancelled_midway_rolls_back_and_holds_up_nobody() -> StoreResult<()> {
        let (writer, url) = writer("cancel").await?;
        let stuck = writer.write(async |conn| {
            let mut tx = conn.begin().await.map_err(db_err)?;
            sqlx::query("INSERT INTO t (n) VALUES (1)")
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            std::future::pending::<()>().await;
            tx.commit().await.map_err(db_err)
        });
        assert!(
            tokio::time::timeout(Duration::from_millis(200), stuck)
                .await
                .is_err()
        );
        // The batch the cancelled write began is committed without waiting for another write:
        // a second process on the file can write.
        let mut other = AnyConnection::connect(&url).await.map_err(db_err)?;
        for sql in ["PRAGMA busy_timeout = 2000", "INSERT INTO t (n) VALUES (3)"] {
            sqlx::query(sql).execute(&mut other).await.map_err(db_err)?;
        }
        insert(&writer, 2, true).await?;
        assert_eq!(committed(&url).await?, vec![2, 3]);
        Ok(())
    }

    #[tokio::test]
    async fn a_batch_whose_commit_fails_fails_its_writes_and_the_next_write_reopens()
    -> StoreResult<()> {
        let (writer, url) = writer("failed-commit").await?;
        // A deferred foreign key is checked at COMMIT, so this batch fails there.
        alone(
            &writer,
            "CREATE TABLE c (t INTEGER REFERENCES t (n) DEFERRABLE INITIALLY DEFERRED)",
        )
        .await?;
        let orphan = writer
            .write(async |conn| {
                sqlx::query("INSERT INTO c (t) VALUES (42)")
                    .execute(conn)
                    .await
                    .map_err(db_err)
            })
            .await;
        assert!(matches!(orphan, Err(StoreError::Gone(_))), "{orphan:?}");
        insert(&writer, 5, true).await?;
        assert_eq!(committed(&url).await?, vec![5]);
        let mut conn = AnyConnection::connect(&url).await.map_err(db_err)?;
        let (orphans,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM c")
            .fetch_one(&mut conn)
            .await
            .map_err(db_err)?;
        assert_eq!(orphans, 0);
        Ok(())
    }

    #[tokio::test]
    async fn a_batch_whose_log_cannot_be_fsynced_fails_its_writes() -> StoreResult<()> {
        let url = scratch_url("writer-no-log")?;
        let missing = std::env::temp_dir().join("tessera-writer-no-log/x.db");
        let writer = SqliteWriter::start(url, Some(WalSync::new(missing))).await?;
        alone(&writer, "CREATE TABLE t (n INTEGER PRIMARY KEY)").await?;
        let write = insert(&writer, 1, true).await;
        assert!(
            matches!(write, Err(StoreError::Unavailable(_))),
            "{write:?}"
        );
        Ok(())
    }

    #[tokio::test]
    async fn a_closed_writer_commits_what_it_holds_and_refuses_more() -> StoreResult<()> {
        let (writer, url) = writer("close").await?;
        insert(&writer, 1, true).await?;
        writer.close().await;
        assert!(matches!(
            insert(&writer, 2, true).await,
            Err(StoreError::Unavailable(_))
        ));
        assert_eq!(committed(&url).await?, vec![1]);
        Ok(())
    }
}
