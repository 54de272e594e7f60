//! How long one statement takes through sqlx's SQLite driver on this machine, which runs each
//! connection on a thread of its own: every statement is a message to that thread and an
//! answer back. SQLite's writes go one after another through one connection (`writer.rs`), so
//! this round trip, times the statements of a write, bounds how many writes a second the
//! store can take. Compare a run as it is with one confined to a single CPU:
//!
//! ```sh
//! cargo run --release -p tessera-store --example round_trips
//! taskset -c 0 target/release/examples/round_trips
//! ```
//!
//! On a 2-core VM (2026-11-30) the first gave 57–83 µs a statement and the second 4.7–6.2 µs: the
//! cost is waking a thread on the other, idle CPU, not SQLite's work.

use std::time::{Duration, Instant};

use sqlx::{AnyConnection, Connection};

const STATEMENTS: u32 = 20_000;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), sqlx::Error> {
    sqlx::any::install_default_drivers();
    let dir = std::env::temp_dir().join(format!("tessera-round-trips-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let url = format!("sqlite://{}/t.db?mode=rwc", dir.display());
    let mut conn = AnyConnection::connect(&url).await?;
    for setup in [
        "PRAGMA journal_mode = WAL",
        "PRAGMA synchronous = NORMAL",
        "CREATE TABLE t (n INTEGER PRIMARY KEY, v TEXT NOT NULL)",
    ] {
        sqlx::query(setup).execute(&mut conn).await?;
    }

    let started = Instant::now();
    for _ in 0..STATEMENTS {
        sqlx::query("SELECT 1").execute(&mut conn).await?;
    }
    report("SELECT 1", started.elapsed());

    let mut tx = conn.begin().await?;
    let started = Instant::now();
    for n in 0..STATEMENTS {
        sqlx::query("INSERT INTO t (n, v) VALUES ($1, 'x')")
            .bind(i64::from(n))
            .execute(&mut *tx)
            .await?;
    }
    report("INSERT inside a transaction", started.elapsed());

    let started = Instant::now();
    for _ in 0..STATEMENTS {
        tx.begin().await?.commit().await?;
    }
    report(
        "SAVEPOINT + RELEASE (a nested begin and commit)",
        started.elapsed(),
    );
    tx.commit().await?;

    conn.close().await?;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

fn report(what: &str, took: Duration) {
    println!(
        "{what}: {:.1} µs",
        took.as_secs_f64() * 1e6 / f64::from(STATEMENTS)
    );
}
