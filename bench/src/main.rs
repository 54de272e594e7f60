//! `tessera-bench`: drives Tessera phase by phase with N users and C requests in flight, and
//! optionally the Firebase Auth emulator with the same Identity Toolkit phases, then prints one
//! Markdown table per target (see `BENCHMARKS.md` for the command and the measured tables).
//!
//! Modules: `cli` (flags), `target` (a system under test), `server` (Tessera), `emulator`
//! (the Firebase Auth emulator), `process` (child processes, ports, readiness), `rss` (the
//! peak RSS sampler), `cpu` (cores busy), `client` (HTTP and gRPC calls), `phases` (what each phase does per
//! user), `runner` (a pool of C tasks that runs one phase), `stats` (latency summaries),
//! `seed` (`--seed-users`), `sqlite_writes` (`--sqlite-writes`), `report` (tables and machine facts), `totp` (RFC 6238 codes), `clock` (the wall clock).

mod cli;
mod client;
mod clock;
mod cpu;
mod emulator;
mod http;
mod phases;
mod process;
mod report;
mod rss;
mod runner;
mod seed;
mod server;
mod sqlite_writes;
mod stats;
mod target;
mod totp;

use anyhow::Context;
use clap::Parser;

use crate::report::{Machine, Report};

/// One thread: the load generator shares the machine's cores with the server under test, and
/// one thread keeps 32 requests in flight with less CPU than tokio's worker pool, whose
/// wake-ups across threads cost more than the requests (`accounts:lookup` here: 0.45 of a
/// core for 10–12k requests/s on one thread, 0.65 for 8–9k on two; BENCHMARKS.md).
#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = cli::Args::parse();
    if args.sqlite_writes {
        return write_out(&args, &sqlite_writes::run()?);
    }
    // Stopped by a signal, the run is dropped, and with it the servers it started (see
    // `process`): otherwise a `kill` of the bench would leave them running.
    tokio::select! {
        done = bench(&args) => done,
        signal = stop_signal() => anyhow::bail!("stopped by {signal}"),
    }
}

/// Waits for SIGTERM or SIGINT; which one came.
async fn stop_signal() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut terminate) => tokio::select! {
            _ = terminate.recv() => "SIGTERM",
            _ = tokio::signal::ctrl_c() => "SIGINT",
        },
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            "SIGINT"
        }
    }
}

/// The phases against Tessera (and the emulator), and the report.
async fn bench(args: &cli::Args) -> anyhow::Result<()> {
    let bin = server::binary(args)?;
    let machine = Machine::collect(&args.workspace).await;
    eprintln!("machine: {} × {}", machine.cores, machine.cpu_model);
    let ceiling = report::rs256_ceiling(machine.cores).await;
    match &ceiling {
        Ok(c) => eprintln!(
            "openssl speed rsa2048: {:.0} sign/s per core, ceiling {:.0} sign/s",
            c.per_core, c.total
        ),
        Err(e) => eprintln!("RS256 ceiling not measured: {e:#}"),
    }

    let mut runs = Vec::new();
    let tessera = server::start(args, bin.as_deref())
        .await
        .context("starting Tessera")?;
    runs.push(runner::run_all(args, tessera).await?);
    if args.compare_emulator {
        let emulator = emulator::start(args)
            .await
            .context("starting the Firebase Auth emulator")?;
        runs.push(runner::run_all(args, emulator).await?);
    }

    let report = Report {
        command: cli::command_line(),
        machine,
        ceiling: ceiling.map_err(|e| format!("{e:#}")),
        users: args.users,
        concurrency: args.concurrency,
        read_rounds: args.read_rounds.max(1),
        runs,
    };
    write_out(args, &report.to_markdown())
}

/// Prints the report, and writes it to `--out` when given.
fn write_out(args: &cli::Args, markdown: &str) -> anyhow::Result<()> {
    println!("{markdown}");
    if let Some(out) = &args.out {
        std::fs::write(out, markdown).with_context(|| format!("writing {}", out.display()))?;
        eprintln!("written to {}", out.display());
    }
    Ok(())
}
