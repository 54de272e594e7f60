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
//! A write may also return as soon as it has run (`write_ordered`): every later write sees it,
//! but it is not yet durable. The write that depends on it is handed the batch it ran in
//! (`write` with `after`) and, once its own batch is durable, fails if that earlier batch was
//! lost; batches are published in the order they committed, so by then its fate is known. A
//! code check takes its attempt that way, so it waits for one commit instead of two.
//!
//! A write that is cancelled midway has its savepoint rolled back (when its transaction is
//! dropped) and still asks for the commit, so the batch it began does not hold SQLite's write
//! lock, against other processes on the file, until some later write comes along.
//!
//! The connection runs its statements in place, on the thread of the task holding it
//! (`conn.rs`), so it must never wait for a lock there: it has no busy timeout, and a batch's
//! `BEGIN IMMEDIATE` that finds another process writing is retried after a sleep that lets the
//! thread serve other tasks, for as long as other connections wait (`BUSY_TIMEOUT`), before the
//! write fails as unavailable. Once the batch holds the lock, its statements and commit wait for
//! nobody: WAL readers never block a writer.
//!
//! Nor does the writer checkpoint within a commit, as SQLite would once the log passes 1,000
//! pages: copying the log into the database file, with its fsyncs, took the writing thread for
//! tens of milliseconds on a large database. A hook tells the committer the log's length after
//! each commit; each time it has grown by `CHECKPOINT_PAGES` a connection of its own
//! checkpoints beside the writes on a blocking thread (and fsyncs the database file, which
//! SQLite leaves to the checkpoint that copies the whole log), and past `LOG_LIMIT_PAGES`,
//! which steady writes can reach since the log starts over only once it is copied whole, the
//! committer checkpoints with the writes held.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{AnyConnection, Connection};
use tessera_core::error::StoreError;
use tessera_core::store::{StoreResult, WriteOrder};
use tokio::sync::{Mutex, MutexGuard, Notify, watch};
use tokio::time::Instant;

use crate::conn::{Checkpointed, Conn, InPlace};
use crate::durability::WalSync;
use crate::open::{BUSY_TIMEOUT, on_runtime, sqlite_connection};
use crate::{closed, db_err, sqlite_busy_error};

/// How long a `BEGIN IMMEDIATE` that found the file locked sleeps before it tries again.
const BUSY_RETRY: Duration = Duration::from_millis(2);

/// The pages appended to the log after which a commit is followed by a checkpoint beside the
/// writes: SQLite's own default for its automatic checkpoint.
const CHECKPOINT_PAGES: i32 = 1000;

/// The log's length in pages after which the committer checkpoints with the writes held up.
/// A checkpoint beside the writes copies what the log held when it began; the log starts over
/// only once it is copied whole, which under steady writes it may never be, so this bounds it
/// (40 MiB of 4 KiB pages), and most of it is copied by then.
const LOG_LIMIT_PAGES: i32 = 10 * CHECKPOINT_PAGES;

/// How a batch ended; `None` while it is open.
type Outcome = Option<Result<(), StoreError>>;

pub(crate) struct SqliteWriter {
    /// For `alone`, which runs sqlx's migrator.
    url: String,
    file: PathBuf,
    turn: Mutex<Turn>,
    commit_due: Notify,
    /// The log's fsync; none for an in-memory database (nothing to lose).
    wal: Option<WalSync>,
    /// Held from a batch's commit to its publication, so that batches are published in the
    /// order they committed.
    publishing: Mutex<()>,
    /// The number of the last batch whose commit or fsync failed (0: none).
    last_lost: AtomicU64,
    /// A connection of its own that checkpoints beside the writes, one checkpoint at a time;
    /// `None` once closed.
    checkpointer: Arc<std::sync::Mutex<Option<InPlace>>>,
    checkpointing: Arc<AtomicBool>,
}

struct Turn {
    /// `None` after a failed commit (until the next write reopens it) and once closed.
    conn: Option<InPlace>,
    /// The open batch: its outcome is published here when it ends.
    batch: Option<Batch>,
    /// The number of the last batch begun; batches are numbered from 1.
    last_batch: u64,
    /// The log's length in pages after the last commit.
    log_pages: i32,
    /// The log's length when the last checkpoint beside the writes began (0 since the log
    /// started over): the next begins once `CHECKPOINT_PAGES` more were appended.
    beside_at: i32,
    closed: bool,
}

struct Batch {
    number: u64,
    outcome: watch::Sender<Outcome>,
}

/// A batch whose COMMIT has run, to be made durable before its writes hear how it went.
struct Committed {
    batch: Batch,
    result: StoreResult<()>,
}

impl SqliteWriter {
    /// Opens the writer connection of `url`, in WAL mode, and starts its committer, on
    /// `runtime` when given.
    pub(crate) async fn open(
        url: &str,
        runtime: Option<&tokio::runtime::Handle>,
    ) -> Result<Arc<Self>, StoreError> {
        let file = sqlite_file(url)?;
        let wal = (file.as_os_str() != ":memory:").then(|| WalSync::new(file.clone()));
        let start = Self::start(url.to_owned(), file, wal);
        match runtime {
            Some(runtime) => on_runtime(runtime, start).await,
            None => start.await,
        }
    }

    async fn start(
        url: String,
        file: PathBuf,
        wal: Option<WalSync>,
    ) -> Result<Arc<Self>, StoreError> {
        let conn = InPlace::open_writer(&file).map_err(db_err)?;
        let checkpointer = InPlace::open(&file, Duration::ZERO).map_err(db_err)?;
        let writer = Arc::new(SqliteWriter {
            url,
            file,
            turn: Mutex::new(Turn::new(Some(conn))),
            commit_due: Notify::new(),
            wal,
            publishing: Mutex::new(()),
            last_lost: AtomicU64::new(0),
            checkpointer: Arc::new(std::sync::Mutex::new(Some(checkpointer))),
            checkpointing: Arc::new(AtomicBool::new(false)),
        });
        tokio::spawn(commit_batches(writer.clone()));
        Ok(writer)
    }

    /// Runs `work` inside the current batch; returns once that batch, and the one of the
    /// earlier write `after`, are committed and on disk, or at once when `work` fails (its
    /// savepoint is rolled back, the batch goes on). When the batch of `after` was lost this
    /// write fails, though it is itself committed.
    pub(crate) async fn write<T>(
        &self,
        after: WriteOrder,
        work: impl AsyncFnOnce(&mut Conn<'_>) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let (done, _, mut outcome) = self.run(work).await?;
        let ended = outcome
            .wait_for(Option::is_some)
            .await
            .map_err(|_| StoreError::Internal("a write batch ended without an outcome".into()))?;
        if let Some(Err(e)) = &*ended {
            return Err(e.clone());
        }
        // Every batch up to this one is published by now, the batch of `after` included.
        if after != WriteOrder::DURABLE && self.last_lost.load(Ordering::Acquire) >= after.0 {
            return Err(StoreError::Unavailable(
                "an earlier write this one depends on was not committed".into(),
            ));
        }
        Ok(done)
    }

    /// Runs `work` inside the current batch and returns as soon as it has run, before it is
    /// durable, with where it stands: hand that to the write that depends on it.
    pub(crate) async fn write_ordered<T>(
        &self,
        work: impl AsyncFnOnce(&mut Conn<'_>) -> StoreResult<T>,
    ) -> StoreResult<(T, WriteOrder)> {
        let (done, batch, _) = self.run(work).await?;
        Ok((done, WriteOrder(batch)))
    }

    /// Runs `work` inside the current batch: its result, the batch's number and its outcome.
    async fn run<T>(
        &self,
        work: impl AsyncFnOnce(&mut Conn<'_>) -> StoreResult<T>,
    ) -> StoreResult<(T, u64, watch::Receiver<Outcome>)> {
        let mut turn = self.turn.lock().await;
        let (batch, outcome) = turn.join(&self.file).await?;
        let _commit_due = CommitDue(&self.commit_due);
        let done = work(&mut Conn::InPlace(turn.conn()?)).await?;
        Ok((done, batch, outcome))
    }

    /// Runs `work` on a sqlx connection of its own (sqlx's migrator needs one, and migrations
    /// manage their own transactions) while no write runs; the open batch is committed first.
    pub(crate) async fn alone<T>(
        &self,
        work: impl AsyncFnOnce(&mut AnyConnection) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let mut turn = self.turn.lock().await;
        self.publish(turn.commit(), self.publishing.lock().await)
            .await;
        if turn.closed {
            return Err(closed());
        }
        let mut conn = sqlite_connection(&self.url).await?;
        let done = work(&mut conn).await;
        if let Err(e) = conn.close().await {
            tracing::warn!(error = %e, "closing a SQLite connection failed");
        }
        done
    }

    /// Commits the open batch and closes the connection; later writes fail as unavailable.
    pub(crate) async fn close(&self) {
        let mut turn = self.turn.lock().await;
        self.publish(turn.commit(), self.publishing.lock().await)
            .await;
        turn.closed = true;
        turn.conn = None;
        // Every connection of this process closed, the last one checkpoints the log into the
        // database file (and removes it when no other process has the file open).
        self.checkpointer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        self.commit_due.notify_one();
    }

    /// Starts a checkpoint on the checkpointer's connection, on a blocking thread, unless one
    /// is running (then `false`): it copies the log as it is into the database file while
    /// writes go on, then fsyncs that file.
    ///
    /// SQLite fsyncs the database file only after a checkpoint that copied the whole log, which
    /// a checkpoint beside the writes never does (they append to the log meanwhile). Left to
    /// the checkpoint with the writes held, that one fsync flushed what ten checkpoints beside
    /// had copied: at 1,000,000 users it held the writes 13 ms at the median and up to 44 ms.
    /// Synced here, a little at a time, the held checkpoint takes 3.6 ms (BENCHMARKS, fifteenth
    /// session).
    fn checkpoint_beside(&self) -> bool {
        if self.checkpointing.swap(true, Ordering::AcqRel) {
            return false;
        }
        let checkpointer = Arc::clone(&self.checkpointer);
        let checkpointing = Arc::clone(&self.checkpointing);
        // None in memory, where there is no file to sync.
        let database = self.wal.as_ref().map(|_| self.file.clone());
        tokio::task::spawn_blocking(move || {
            let conn = checkpointer.lock().unwrap_or_else(PoisonError::into_inner);
            let began = std::time::Instant::now();
            if let Some(conn) = conn.as_ref() {
                match checkpoint_and_sync(conn, database.as_deref()) {
                    Ok(done) => tracing::debug!(
                        log_pages = done.log_pages,
                        took_ms = began.elapsed().as_secs_f64() * 1e3,
                        "checkpointed SQLite's log beside the writes"
                    ),
                    Err(e) => tracing::warn!(error = %e, "checkpointing SQLite's log failed"),
                }
            }
            checkpointing.store(false, Ordering::Release);
        });
        true
    }

    /// Fsyncs the log after a successful commit, then tells the batch's writes the outcome.
    /// `_in_order` is the publishing lock, taken before the turn was let go.
    async fn publish(&self, committed: Option<Committed>, _in_order: MutexGuard<'_, ()>) {
        let Some(Committed { batch, result }) = committed else {
            return;
        };
        let outcome = match (result, &self.wal) {
            (Ok(()), Some(wal)) => wal.flush().await,
            (result, _) => result,
        };
        if outcome.is_err() {
            self.last_lost.fetch_max(batch.number, Ordering::AcqRel);
        }
        batch.outcome.send_replace(Some(outcome));
    }
}

/// The file a SQLite URL names.
pub(crate) fn sqlite_file(url: &str) -> StoreResult<PathBuf> {
    Ok(SqliteConnectOptions::from_str(url)
        .map_err(db_err)?
        .get_filename()
        .to_owned())
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
    /// No batch begun yet, and an empty log as far as the committer knows.
    fn new(conn: Option<InPlace>) -> Self {
        Turn {
            conn,
            batch: None,
            last_batch: 0,
            log_pages: 0,
            beside_at: 0,
            closed: false,
        }
    }

    fn conn(&mut self) -> StoreResult<&mut InPlace> {
        self.conn.as_mut().ok_or_else(closed)
    }

    /// The open batch to write in, begun if there is none: its number and outcome.
    async fn join(
        &mut self,
        file: &std::path::Path,
    ) -> StoreResult<(u64, watch::Receiver<Outcome>)> {
        if let Some(batch) = &self.batch {
            return Ok((batch.number, batch.outcome.subscribe()));
        }
        // Opens the connection again after a failed commit dropped it (not once closed).
        if self.conn.is_none() && !self.closed {
            self.conn = Some(InPlace::open_writer(file).map_err(db_err)?);
        }
        let deadline = Instant::now() + BUSY_TIMEOUT;
        loop {
            match self.conn()?.begin_with("BEGIN IMMEDIATE") {
                Ok(()) => break,
                Err(e) if sqlite_busy_error(&e) && Instant::now() < deadline => {
                    tokio::time::sleep(BUSY_RETRY).await;
                }
                Err(e) => return Err(db_err(e)),
            }
        }
        self.last_batch += 1;
        let (sender, outcome) = watch::channel(None);
        self.batch = Some(Batch {
            number: self.last_batch,
            outcome: sender,
        });
        Ok((self.last_batch, outcome))
    }

    /// Commits the open batch, if any; its writes hear of it once it is published.
    fn commit(&mut self) -> Option<Committed> {
        let batch = self.batch.take()?;
        let result = match self.conn() {
            Ok(conn) => conn.commit_batch().map_err(db_err),
            Err(closed) => Err(closed),
        };
        match result {
            Ok(log_pages) => self.logged(log_pages),
            // SQLite may have rolled the batch back already.
            Err(_) => self.conn = None,
        }
        Some(Committed {
            batch,
            result: result.map(drop),
        })
    }

    /// Notes the log's length after a commit (0: the commit wrote nothing; the log is as it was).
    fn logged(&mut self, pages: i32) {
        if pages == 0 {
            return;
        }
        if pages < self.log_pages {
            // The log started over.
            self.beside_at = 0;
        }
        self.log_pages = pages;
    }

    /// Whether a checkpoint beside the writes is due: `CHECKPOINT_PAGES` were appended since
    /// the last one began. Each then copies a stretch of the log in which the pages written
    /// over and over (the ends of tables and indexes) are copied once, and the checkpoints'
    /// fsyncs stay few; begun after every commit, they copied nearly every page written.
    fn checkpoint_due(&self) -> bool {
        self.log_pages - self.beside_at >= CHECKPOINT_PAGES
    }

    /// Checkpoints the log on a blocking thread with the writer's connection: the request
    /// threads go on, the writes wait for the turn, so the log is copied whole and starts over
    /// at the next batch.
    async fn checkpoint(&mut self) {
        self.log_pages = 0;
        self.beside_at = 0;
        let Some(conn) = self.conn.take() else {
            return;
        };
        let began = Instant::now();
        match tokio::task::spawn_blocking(move || {
            let done = conn.checkpoint();
            (conn, done)
        })
        .await
        {
            Ok((conn, done)) => {
                // How long the writes were held: what a slow disk or a large database costs
                // every write now and then.
                match done {
                    Ok(done) => tracing::debug!(
                        busy = done.busy,
                        log_pages = done.log_pages,
                        copied_pages = done.copied_pages,
                        held_ms = began.elapsed().as_secs_f64() * 1e3,
                        "checkpointed SQLite's log with the writes held"
                    ),
                    Err(e) => tracing::warn!(error = %e, "checkpointing SQLite's log failed"),
                }
                self.conn = Some(conn);
            }
            // The connection went with the task; the next write opens another.
            Err(e) => tracing::error!(error = %e, "the checkpoint task failed"),
        }
    }
}

/// A checkpoint beside the writes on `conn`, then an fsync of the database file, if any.
fn checkpoint_and_sync(
    conn: &InPlace,
    database: Option<&Path>,
) -> Result<Checkpointed, sqlx::Error> {
    let done = conn.checkpoint()?;
    if let Some(database) = database {
        std::fs::File::open(database)?.sync_data()?;
    }
    Ok(done)
}

/// The committer: commits the open batch each time a write asks and its turn comes, and makes
/// it durable without holding up the next batch.
async fn commit_batches(writer: Arc<SqliteWriter>) {
    loop {
        writer.commit_due.notified().await;
        let mut turn = writer.turn.lock().await;
        if turn.closed {
            return;
        }
        let committed = turn.commit();
        let in_order = writer.publishing.lock().await;
        if turn.log_pages >= LOG_LIMIT_PAGES {
            // The batch is made durable while the log is copied.
            tokio::join!(turn.checkpoint(), writer.publish(committed, in_order));
        } else {
            if turn.checkpoint_due() && writer.checkpoint_beside() {
                turn.beside_at = turn.log_pages;
            }
            drop(turn);
            writer.publish(committed, in_order).await;
        }
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
            .write(WriteOrder::DURABLE, async |conn| {
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

    /// Runs `sql` on another connection.
    async fn on(other: &mut AnyConnection, sql: &'static str) -> StoreResult<()> {
        sqlx::query(sql).execute(other).await.map_err(db_err)?;
        Ok(())
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
        let stuck = writer.write(WriteOrder::DURABLE, async |conn| {
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
            .write(WriteOrder::DURABLE, async |conn| {
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

    /// Runs `sql` inside the current batch, for the write `after` depends on.
    async fn execute(
        writer: &SqliteWriter,
        after: WriteOrder,
        sql: &'static str,
    ) -> StoreResult<()> {
        writer
            .write(after, async |conn| {
                sqlx::query(sql).execute(conn).await.map_err(db_err)?;
                Ok(())
            })
            .await
    }

    /// Runs `sql` inside the current batch and returns before that is committed.
    async fn execute_ordered(writer: &SqliteWriter, sql: &'static str) -> StoreResult<WriteOrder> {
        let ((), order) = writer
            .write_ordered(async |conn| {
                sqlx::query(sql).execute(conn).await.map_err(db_err)?;
                Ok(())
            })
            .await?;
        Ok(order)
    }

    #[tokio::test]
    async fn a_write_that_depends_on_a_lost_one_fails_though_it_is_committed() -> StoreResult<()> {
        let (writer, url) = writer("lost").await?;
        alone(
            &writer,
            "CREATE TABLE c (t INTEGER REFERENCES t (n) DEFERRABLE INITIALLY DEFERRED)",
        )
        .await?;
        // It returns before its batch commits; the commit then fails on the orphan.
        let lost = execute_ordered(&writer, "INSERT INTO c (t) VALUES (42)").await?;
        // Ends that batch, so that the next write is in a batch of its own.
        alone(&writer, "SELECT 1").await?;
        let depends = execute(&writer, lost, "INSERT INTO t (n) VALUES (5)").await;
        assert!(
            matches!(&depends, Err(StoreError::Unavailable(m)) if m.contains("earlier write")),
            "{depends:?}"
        );
        // Writes that depend on a batch that landed, or on nothing, are unaffected.
        let kept = execute_ordered(&writer, "INSERT INTO t (n) VALUES (6)").await?;
        assert!(kept.0 > lost.0);
        execute(&writer, kept, "INSERT INTO t (n) VALUES (7)").await?;
        execute(&writer, WriteOrder::DURABLE, "INSERT INTO t (n) VALUES (8)").await?;
        assert_eq!(committed(&url).await?, vec![5, 6, 7, 8]);
        Ok(())
    }

    #[tokio::test]
    async fn a_batch_whose_log_cannot_be_fsynced_fails_its_writes() -> StoreResult<()> {
        let url = scratch_url("writer-no-log")?;
        let missing = std::env::temp_dir().join("tessera-writer-no-log/x.db");
        let file = sqlite_file(&url)?;
        let writer = SqliteWriter::start(url, file, Some(WalSync::new(missing))).await?;
        alone(&writer, "CREATE TABLE t (n INTEGER PRIMARY KEY)").await?;
        let write = insert(&writer, 1, true).await;
        assert!(
            matches!(write, Err(StoreError::Unavailable(_))),
            "{write:?}"
        );
        Ok(())
    }

    /// The writer runs on the thread of the task holding it, so a lock held by another process
    /// must be waited for without blocking that thread: on a runtime of one thread, the task
    /// that holds the other connection's lock must still run, let go, and the write succeed.
    #[tokio::test(flavor = "current_thread")]
    async fn a_write_waits_for_another_process_s_lock_without_blocking_its_thread()
    -> StoreResult<()> {
        let (writer, url) = writer("wait").await?;
        let mut other = sqlite_connection(&url).await?;
        on(&mut other, "BEGIN IMMEDIATE").await?;
        let waiting = tokio::spawn({
            let writer = writer.clone();
            async move { insert(&writer, 1, true).await }
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!waiting.is_finished());
        on(&mut other, "INSERT INTO t (n) VALUES (2)").await?;
        on(&mut other, "COMMIT").await?;
        waiting
            .await
            .map_err(|e| StoreError::Internal(e.to_string()))??;
        assert_eq!(committed(&url).await?, vec![1, 2]);
        Ok(())
    }

    #[tokio::test]
    async fn a_write_that_waited_out_the_busy_timeout_is_unavailable() -> StoreResult<()> {
        let (writer, url) = writer("busy").await?;
        let mut other = sqlite_connection(&url).await?;
        on(&mut other, "BEGIN IMMEDIATE").await?;
        let started = Instant::now();
        let write = insert(&writer, 1, true).await;
        assert!(
            matches!(&write, Err(StoreError::Unavailable(m)) if m.contains("database is locked")),
            "{write:?}"
        );
        assert!(started.elapsed() >= BUSY_TIMEOUT);
        on(&mut other, "ROLLBACK").await?;
        insert(&writer, 3, true).await?;
        assert_eq!(committed(&url).await?, vec![3]);
        Ok(())
    }

    /// SQLite's automatic checkpoint is off on the writer; a checkpoint beside the writes
    /// replaces it.
    #[tokio::test]
    async fn a_log_past_the_checkpoint_length_is_copied_into_the_database_file() -> StoreResult<()>
    {
        let (writer, url) = writer("checkpoint").await?;
        alone(&writer, "CREATE TABLE b (x BLOB)").await?;
        let file = sqlite_file(&url)?;
        let size = || {
            std::fs::metadata(&file)
                .map(|m| m.len())
                .unwrap_or_default()
        };
        let before = size();
        // About 1,200 pages of 4 KiB, all in the log once committed.
        execute(
            &writer,
            WriteOrder::DURABLE,
            "INSERT INTO b (x) VALUES (zeroblob(5000000))",
        )
        .await?;
        let copied = async {
            while size() < before + 5_000_000 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(10), copied)
            .await
            .map_err(|_| StoreError::Internal(format!("{before} -> {}", size())))?;
        Ok(())
    }

    /// Past `LOG_LIMIT_PAGES` the committer checkpoints before the next write, which starts
    /// the log over, even while no checkpoint beside the writes can run.
    #[tokio::test]
    #[expect(
        clippy::await_holding_lock,
        reason = "holding the checkpointer's connection keeps checkpoints beside the writes out"
    )]
    async fn a_log_past_its_limit_is_copied_before_the_next_write_and_starts_over()
    -> StoreResult<()> {
        let (writer, url) = writer("log-limit").await?;
        let held = writer
            .checkpointer
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        alone(&writer, "CREATE TABLE b (x BLOB)").await?;
        execute(
            &writer,
            WriteOrder::DURABLE,
            "INSERT INTO b (x) VALUES (zeroblob(45000000))",
        )
        .await?;
        insert(&writer, 1, true).await?;
        let mut other = sqlite_connection(&url).await?;
        let (_, log, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(&mut other)
            .await
            .map_err(db_err)?;
        assert!(log < 100, "{log} pages in the log");
        drop(held);
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

    #[test]
    fn a_checkpoint_beside_the_writes_is_due_every_checkpoint_length_of_log() {
        let mut turn = Turn::new(None);
        let mut due = |pages| {
            turn.logged(pages);
            let due = turn.checkpoint_due();
            if due {
                turn.beside_at = turn.log_pages;
            }
            due
        };
        assert!(!due(999));
        assert!(due(1000));
        assert!(!due(1999));
        // A commit that wrote nothing leaves the log as it was.
        assert!(!due(0));
        assert!(due(2000));
        // The log started over: counted from its start again.
        assert!(!due(300));
        assert!(due(1000));
    }
}
