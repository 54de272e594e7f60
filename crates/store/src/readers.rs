//! SQLite's readers: a few connections of our own, lent out one read at a time.
//!
//! When SQLite's writer runs on a runtime of its own (`OpenOptions::writer_runtime`, on one
//! CPU), the reads of requests running there get connections of their own, opened from that
//! runtime so that their threads share its CPU: a statement hands off between the request's
//! thread and the connection's several times, and across CPUs each hand-off costs tens of
//! microseconds on the VMs measured (`BENCHMARKS.md`, sixth session). Every other read takes
//! a connection from the main set.
//!
//! sqlx's pool hands a connection back through a spawned task that pings it first, so every
//! query cost a task and a round trip to the connection's thread on top of its own. A SQLite
//! connection is a file handle that cannot go stale, so here a read just takes an idle
//! connection and puts it back when done (also when the read is cancelled midway: sqlx's
//! connection thread finishes the statement before the next one).

use std::sync::{Mutex, MutexGuard, PoisonError};

use sqlx::{AnyConnection, Connection};
use tessera_core::store::StoreResult;
use tokio::runtime::{Handle, Id};
use tokio::sync::Semaphore;

use crate::closed;
use crate::open::{on_runtime, sqlite_connection};

/// Connections beside the writer's runtime: its reads' own.
const BESIDE_WRITER: usize = 4;

/// The main readers, and those of the writer's runtime when it has one of its own.
pub(crate) struct Readers {
    main: SqliteReaders,
    beside_writer: Option<(Id, SqliteReaders)>,
}

impl Readers {
    pub(crate) async fn open(
        url: &str,
        size: usize,
        writer_runtime: Option<&Handle>,
    ) -> StoreResult<Self> {
        let beside_writer = match writer_runtime {
            Some(runtime) => {
                let opened =
                    on_runtime(runtime, SqliteReaders::open(url.to_owned(), BESIDE_WRITER));
                Some((runtime.id(), opened.await?))
            }
            None => None,
        };
        Ok(Readers {
            main: SqliteReaders::open(url.to_owned(), size).await?,
            beside_writer,
        })
    }

    /// The readers for a read made from the calling thread's runtime.
    pub(crate) fn here(&self) -> &SqliteReaders {
        match &self.beside_writer {
            Some((writer, readers)) if Handle::try_current().is_ok_and(|h| h.id() == *writer) => {
                readers
            }
            _ => &self.main,
        }
    }

    pub(crate) async fn close(&self) {
        self.main.close().await;
        if let Some((_, readers)) = &self.beside_writer {
            readers.close().await;
        }
    }
}

pub(crate) struct SqliteReaders {
    idle: Mutex<Vec<AnyConnection>>,
    /// One permit per idle connection.
    free: Semaphore,
}

impl SqliteReaders {
    pub(crate) async fn open(url: String, size: usize) -> StoreResult<Self> {
        let mut idle = Vec::with_capacity(size);
        for _ in 0..size {
            idle.push(sqlite_connection(&url).await?);
        }
        Ok(SqliteReaders {
            idle: Mutex::new(idle),
            free: Semaphore::new(size),
        })
    }

    /// Runs `work` on an idle connection, waiting for one to be free.
    pub(crate) async fn read<T>(
        &self,
        work: impl AsyncFnOnce(&mut AnyConnection) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let _free = self.free.acquire().await.map_err(|_| closed())?;
        let mut lease = Lease {
            conn: self.idle().pop(),
            readers: self,
        };
        work(lease.conn.as_mut().ok_or_else(closed)?).await
    }

    /// Closes the idle connections; later reads fail as unavailable.
    pub(crate) async fn close(&self) {
        self.free.close();
        let idle = std::mem::take(&mut *self.idle());
        for conn in idle {
            if let Err(e) = conn.close().await {
                tracing::warn!(error = %e, "closing a SQLite reader failed");
            }
        }
    }

    fn idle(&self) -> MutexGuard<'_, Vec<AnyConnection>> {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A connection lent to one read, put back when the read ends however it ends.
struct Lease<'a> {
    conn: Option<AnyConnection>,
    readers: &'a SqliteReaders,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.readers.idle().push(conn);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::time::timeout;

    use tessera_core::error::StoreError;

    use super::*;
    use crate::db_err;
    use crate::open::scratch_url;

    async fn readers(name: &str, size: usize) -> StoreResult<SqliteReaders> {
        let url = scratch_url(&format!("readers-{name}"))?;
        SqliteReaders::open(url, size).await
    }

    async fn one(readers: &SqliteReaders) -> StoreResult<i64> {
        let (one,): (i64,) = readers
            .read(async |conn| {
                sqlx::query_as("SELECT 1")
                    .fetch_one(conn)
                    .await
                    .map_err(db_err)
            })
            .await?;
        Ok(one)
    }

    #[tokio::test]
    async fn a_read_cancelled_midway_gives_its_connection_back() -> StoreResult<()> {
        let readers = readers("cancel", 1).await?;
        let stuck = readers.read(async |conn| {
            sqlx::query("SELECT 1")
                .execute(conn)
                .await
                .map_err(db_err)?;
            std::future::pending::<StoreResult<()>>().await
        });
        assert!(timeout(Duration::from_millis(100), stuck).await.is_err());
        // The only connection: had the cancelled read kept it, this one would wait for ever.
        let next = timeout(Duration::from_secs(5), one(&readers)).await;
        assert!(matches!(next, Ok(Ok(1))), "{next:?}");
        Ok(())
    }

    #[tokio::test]
    async fn reads_on_the_writers_runtime_take_its_own_connections() -> StoreResult<()> {
        let url = scratch_url("readers-beside")?;
        let writes = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(|e| StoreError::Internal(e.to_string()))?;
        let readers = std::sync::Arc::new(Readers::open(&url, 2, Some(writes.handle())).await?);
        let beside = |readers: &Readers| matches!(&readers.beside_writer, Some((_, r)) if std::ptr::eq(readers.here(), r));
        assert!(!beside(&readers));
        assert_eq!(one(readers.here()).await?, 1);
        let there = readers.clone();
        let (took, read) = writes
            .spawn(async move { (beside(&there), one(there.here()).await) })
            .await
            .map_err(|e| StoreError::Internal(e.to_string()))?;
        assert!(took, "a read on the writer's runtime takes its readers");
        assert_eq!(read?, 1);
        readers.close().await;
        writes.shutdown_background();
        Ok(())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reads_beyond_the_connections_wait_their_turn() -> StoreResult<()> {
        let readers = std::sync::Arc::new(readers("wait", 2).await?);
        let mut reads = tokio::task::JoinSet::new();
        for _ in 0..16 {
            let readers = readers.clone();
            reads.spawn(async move { one(&readers).await });
        }
        let answers = reads.join_all().await;
        assert!(answers.iter().all(|a| matches!(a, Ok(1))), "{answers:?}");
        readers.close().await;
        assert!(matches!(
            one(&readers).await,
            Err(StoreError::Unavailable(_))
        ));
        Ok(())
    }
}
