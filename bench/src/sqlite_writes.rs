//! `--sqlite-writes`: what one write costs on SQLite through each binding, without a server.
//!
//! sqlx runs each SQLite connection on a thread of its own: every statement, savepoint and
//! release is a round trip to that thread. The other way, which Tessera's store takes since
//! the tenth session (`crates/store/src/conn.rs`), is a synchronous binding (rusqlite) that
//! runs the statements on the calling thread. Both run the same writes here, shaped like a TOTP enrolment's start with one insert fewer
//! (a savepoint, a delete, two inserts, the release), 16 to a transaction begun `IMMEDIATE` as
//! the writer's batches are, in WAL mode with `synchronous = NORMAL` (Tessera fsyncs apart).
//! The SQL is the same, so the difference is what the hand-offs cost. Run the bench under
//! `taskset -c 0` to see it on one CPU, as `request_cpus = split` places the writer.

use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use sqlx::{AnyConnection, Connection};

use crate::cpu::cpu_seconds;

const WRITES: i64 = 40_000;
const PER_TRANSACTION: i64 = 16;
const ROUNDS: usize = 3;

const SCHEMA: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
CREATE TABLE factors (id TEXT PRIMARY KEY, user_id TEXT NOT NULL, state TEXT NOT NULL,
                      secret BLOB, created_at INTEGER NOT NULL);
CREATE INDEX factors_user ON factors (user_id, state);
CREATE TABLE events (id INTEGER PRIMARY KEY, user_id TEXT, kind TEXT NOT NULL, at INTEGER NOT NULL);";
const DELETE: &str = "DELETE FROM factors WHERE user_id = $1 AND state = 'not_ready'";
const INSERT_FACTOR: &str = "INSERT INTO factors (id, user_id, state, secret, created_at) \
                             VALUES ($1, $2, 'not_ready', $3, $4)";
const INSERT_EVENT: &str =
    "INSERT INTO events (user_id, kind, at) VALUES ($1, 'factor.enrolment_started', $2)";

/// Per write: wall time and CPU time of the whole process (every thread), in µs.
struct Cost {
    wall: f64,
    cpu: f64,
}

/// Runs each binding `ROUNDS` times, alternating, on fresh files; returns a Markdown table.
pub fn run() -> anyhow::Result<String> {
    let dir = tempfile::tempdir()?;
    let mut rows = Vec::new();
    for round in 1..=ROUNDS {
        let file = dir.path().join(format!("sqlx-{round}.db"));
        // A thread of its own: the bench's own runtime cannot run another inside it.
        let sqlx = std::thread::scope(|s| s.spawn(|| through_sqlx(&file, WRITES)).join())
            .map_err(|_| anyhow::anyhow!("the sqlx run panicked"))??;
        let rusqlite = through_rusqlite(&dir.path().join(format!("rusqlite-{round}.db")), WRITES)?;
        rows.push(format!(
            "| {round} | {:.1} | {:.1} | {:.1} | {:.1} |",
            sqlx.wall, sqlx.cpu, rusqlite.wall, rusqlite.cpu
        ));
    }
    Ok(format!(
        "{WRITES} writes, {PER_TRANSACTION} a transaction; µs per write\n\n\
         | round | sqlx wall | sqlx CPU | rusqlite wall | rusqlite CPU |\n\
         |---:|---:|---:|---:|---:|\n{}\n",
        rows.join("\n")
    ))
}

/// Times `writes` and reports its cost per write.
fn measure(count: i64, writes: impl FnOnce() -> anyhow::Result<()>) -> anyhow::Result<Cost> {
    let cpu = cpu_seconds("self").context("reading /proc/self/stat")?;
    let started = Instant::now();
    writes()?;
    let wall = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds("self").context("reading /proc/self/stat")? - cpu;
    Ok(Cost {
        wall: wall * 1e6 / count as f64,
        cpu: cpu * 1e6 / count as f64,
    })
}

/// sqlx's `Any` connection, as Tessera's writer uses it, on a runtime of one thread.
fn through_sqlx(file: &Path, count: i64) -> anyhow::Result<Cost> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut conn = runtime.block_on(async {
        sqlx::any::install_default_drivers();
        let url = format!("sqlite://{}?mode=rwc", file.display());
        let mut conn = AnyConnection::connect(&url).await?;
        sqlx::raw_sql(SCHEMA).execute(&mut conn).await?;
        anyhow::Ok(conn)
    })?;
    measure(count, || runtime.block_on(sqlx_writes(&mut conn, count)))
}

async fn sqlx_writes(conn: &mut AnyConnection, count: i64) -> anyhow::Result<()> {
    for first in (0..count).step_by(PER_TRANSACTION as usize) {
        let mut batch = conn.begin_with("BEGIN IMMEDIATE").await?;
        for n in first..first + PER_TRANSACTION {
            let (user, factor) = (format!("user{n}"), format!("factor{n}"));
            let mut write = batch.begin().await?;
            sqlx::query(DELETE).bind(&user).execute(&mut *write).await?;
            sqlx::query(INSERT_FACTOR)
                .bind(&factor)
                .bind(&user)
                .bind(vec![7u8; 32])
                .bind(n)
                .execute(&mut *write)
                .await?;
            sqlx::query(INSERT_EVENT)
                .bind(&user)
                .bind(n)
                .execute(&mut *write)
                .await?;
            write.commit().await?;
        }
        batch.commit().await?;
    }
    Ok(())
}

/// rusqlite on the calling thread: the same statements, no hand-off.
fn through_rusqlite(file: &Path, count: i64) -> anyhow::Result<Cost> {
    let mut conn = rusqlite::Connection::open(file)?;
    conn.execute_batch(SCHEMA)?;
    measure(count, || {
        for first in (0..count).step_by(PER_TRANSACTION as usize) {
            let mut batch =
                conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            for n in first..first + PER_TRANSACTION {
                let (user, factor) = (format!("user{n}"), format!("factor{n}"));
                let write = batch.savepoint()?;
                write.prepare_cached(DELETE)?.execute([&user])?;
                write
                    .prepare_cached(INSERT_FACTOR)?
                    .execute(rusqlite::params![factor, user, vec![7u8; 32], n])?;
                write
                    .prepare_cached(INSERT_EVENT)?
                    .execute(rusqlite::params![user, n])?;
                write.commit()?;
            }
            batch.commit()?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `file` holds: its factors and events, in order.
    fn rows(file: &Path) -> anyhow::Result<Vec<(String, String, i64)>> {
        let conn = rusqlite::Connection::open(file)?;
        let mut rows = Vec::new();
        for sql in [
            "SELECT id, user_id, created_at FROM factors ORDER BY created_at",
            "SELECT kind, user_id, at FROM events ORDER BY id",
        ] {
            let mut statement = conn.prepare(sql)?;
            let found = statement.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            rows.extend(found.collect::<Result<Vec<_>, _>>()?);
        }
        Ok(rows)
    }

    /// The comparison is fair only if both bindings do the same work.
    #[test]
    fn both_bindings_write_the_same_rows() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let (a, b) = (dir.path().join("a.db"), dir.path().join("b.db"));
        through_sqlx(&a, 2 * PER_TRANSACTION)?;
        through_rusqlite(&b, 2 * PER_TRANSACTION)?;
        let written = rows(&a)?;
        assert_eq!(written.len(), 4 * PER_TRANSACTION as usize);
        assert_eq!(written, rows(&b)?);
        Ok(())
    }
}
