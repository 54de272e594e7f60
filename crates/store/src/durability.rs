//! Group commit for SQLite: a write returns only once it is on disk, and concurrent writes
//! share one fsync.
//!
//! SQLite's `synchronous = FULL` fsyncs the write-ahead log at every commit, so one writer
//! can commit only as often as the disk can fsync (a few hundred times a second on network
//! block storage). Instead the writer commits with `synchronous = NORMAL` (the WAL is written,
//! not synced) and, after each commit of a batch of writes (`writer.rs`), waits here for an
//! fsync of the WAL that started after that commit, before any write of the batch answers.
//! Commits made while an fsync runs (a migration's or the last one on close, beside the
//! committer's) are all covered by the next one. The guarantee is FULL's: what a caller was
//! told is committed survives a crash of the process or the machine; a commit whose fsync
//! never came was never acknowledged. (WAL frames carry checksums, so recovery ignores a torn
//! tail.)
//!
//! ```text
//!  batch A commits ─┐           batch B commits ─┐ batch C commits ─┐
//!                   ▼                            ▼                  ▼
//!  fsync #1 ────────[=====]       fsync #2 ──────[===================]   (B and C share #2)
//! ```

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use tessera_core::error::StoreError;
use tokio::sync::Mutex;

pub(crate) struct WalSync {
    wal: PathBuf,
    /// Fsyncs started and finished so far; only changed while `running` is held.
    started: AtomicU64,
    finished: AtomicU64,
    running: Mutex<()>,
}

impl WalSync {
    /// For the database file `db`, whose log SQLite keeps in `<db>-wal`.
    pub(crate) fn new(db: PathBuf) -> Self {
        let mut wal = db.into_os_string();
        wal.push("-wal");
        WalSync {
            wal: PathBuf::from(wal),
            started: AtomicU64::new(0),
            finished: AtomicU64::new(0),
            running: Mutex::new(()),
        }
    }

    /// Returns once everything committed before this call is on disk.
    pub(crate) async fn flush(&self) -> Result<(), StoreError> {
        // Any fsync numbered above `after` starts after this call, so after our commit.
        let after = self.started.load(Ordering::Acquire);
        let _turn = self.running.lock().await;
        if self.finished.load(Ordering::Acquire) > after {
            return Ok(());
        }
        let number = self.started.fetch_add(1, Ordering::AcqRel) + 1;
        let wal = self.wal.clone();
        let synced = tokio::task::spawn_blocking(move || {
            // Opened afresh each time: SQLite may truncate or recreate the log file.
            std::fs::File::open(&wal)?.sync_data()
        })
        .await;
        match synced {
            Ok(Ok(())) => {
                self.finished.store(number, Ordering::Release);
                Ok(())
            }
            Ok(Err(e)) => {
                tracing::error!(error = %e, wal = %self.wal.display(), "fsync of the SQLite log failed");
                Err(StoreError::Unavailable(format!("fsync: {e}")))
            }
            Err(e) => {
                tracing::error!(error = %e, "fsync task failed");
                Err(StoreError::Internal(e.to_string()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn concurrent_writes_share_fsyncs() {
        let db = std::env::temp_dir().join(format!("tessera-walsync-{}.db", std::process::id()));
        let wal = WalSync::new(db.clone());
        std::fs::write(&wal.wal, b"log").ok();
        let wal = std::sync::Arc::new(wal);
        let mut writers = tokio::task::JoinSet::new();
        for _ in 0..32 {
            let wal = wal.clone();
            writers.spawn(async move { wal.flush().await });
        }
        let results = writers.join_all().await;
        assert!(results.iter().all(Result::is_ok));
        // The first writer's fsync, then one more for everyone who came while it ran.
        assert_eq!(wal.started.load(Ordering::Acquire), 2);
        // A write after that needs an fsync of its own.
        assert!(wal.flush().await.is_ok());
        assert_eq!(wal.finished.load(Ordering::Acquire), 3);
        std::fs::remove_file(&wal.wal).ok();
    }

    #[tokio::test]
    async fn a_missing_log_is_an_error_not_a_silent_success() {
        let wal = WalSync::new(std::env::temp_dir().join("tessera-walsync-missing/x.db"));
        assert!(matches!(wal.flush().await, Err(StoreError::Unavailable(_))));
    }
}
