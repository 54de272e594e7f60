//! SQLite's readers: a few connections of our own, lent out one read at a time.
//!
//! Like the writer, they run their statements in place, on the thread of the task that reads
//! (`conn.rs`): a read through sqlx's connection thread was two hand-offs between threads per
//! query, and under `request_cpus = split` the reads of requests that write needed
//! connections of their own beside the writer's CPU to keep those hand-offs cheap. A read's
//! statements are short (the store's queries are by key, and each is run to its end before
//! the next), and a WAL reader never waits for the writer, so the thread is held for
//! microseconds. A reader keeps the busy timeout for the rare lock it can meet (another
//! process recovering the log after a crash), and then does hold its thread.
//!
//! sqlx's pool hands a connection back through a spawned task that pings it first; here a read
//! just takes an idle connection and puts it back when done, also when the read is cancelled
//! midway (a transaction it left open is rolled back when dropped).

use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

use tessera_core::store::StoreResult;
use tokio::sync::Semaphore;

use crate::conn::{Conn, InPlace};
use crate::open::BUSY_TIMEOUT;
use crate::{closed, db_err};

pub(crate) struct Readers {
    idle: Mutex<Vec<InPlace>>,
    /// One permit per idle connection.
    free: Semaphore,
}

impl Readers {
    pub(crate) fn open(file: &Path, size: usize) -> StoreResult<Self> {
        let idle = (0..size)
            .map(|_| InPlace::open(file, BUSY_TIMEOUT).map_err(db_err))
            .collect::<StoreResult<_>>()?;
        Ok(Readers {
            idle: Mutex::new(idle),
            free: Semaphore::new(size),
        })
    }

    /// Runs `work` on an idle connection, waiting for one to be free.
    pub(crate) async fn read<T>(
        &self,
        work: impl AsyncFnOnce(&mut Conn<'_>) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let _free = self.free.acquire().await.map_err(|_| closed())?;
        let mut lease = Lease {
            conn: self.idle().pop(),
            readers: self,
        };
        work(&mut Conn::InPlace(lease.conn.as_mut().ok_or_else(closed)?)).await
    }

    /// Closes the idle connections; later reads fail as unavailable.
    pub(crate) fn close(&self) {
        self.free.close();
        self.idle().clear();
    }

    fn idle(&self) -> MutexGuard<'_, Vec<InPlace>> {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A connection lent to one read, put back when the read ends however it ends.
struct Lease<'a> {
    conn: Option<InPlace>,
    readers: &'a Readers,
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
    use crate::writer::sqlite_file;

    fn readers(name: &str, size: usize) -> StoreResult<Readers> {
        let url = scratch_url(&format!("readers-{name}"))?;
        Readers::open(&sqlite_file(&url)?, size)
    }

    async fn one(readers: &Readers) -> StoreResult<i64> {
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
        let readers = readers("cancel", 1)?;
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reads_beyond_the_connections_wait_their_turn() -> StoreResult<()> {
        let readers = std::sync::Arc::new(readers("wait", 2)?);
        let mut reads = tokio::task::JoinSet::new();
        for _ in 0..16 {
            let readers = readers.clone();
            reads.spawn(async move { one(&readers).await });
        }
        let answers = reads.join_all().await;
        assert!(answers.iter().all(|a| matches!(a, Ok(1))), "{answers:?}");
        readers.close();
        assert!(matches!(
            one(&readers).await,
            Err(StoreError::Unavailable(_))
        ));
        Ok(())
    }
}
