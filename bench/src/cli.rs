//! The bench's flags. Paths default to this workspace, so `cargo run --release -p
//! tessera-bench` works from any directory.

use std::path::PathBuf;

use clap::Parser;

const WORKSPACE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

#[derive(Debug, Parser)]
#[command(
    name = "tessera-bench",
    about = "Load generator for Tessera, side by side with the Firebase Auth emulator"
)]
pub struct Args {
    /// Users; every phase runs one operation per user.
    #[arg(long, default_value_t = 2000)]
    pub users: usize,

    /// Requests in flight: a fixed pool of this many tasks pulls users from a shared queue.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,

    /// Drive an already running Tessera at this base URL instead of starting one.
    #[arg(long, value_name = "URL")]
    pub target: Option<String>,

    /// With --target: the file holding the dev admin PAT (`<data-dir>/admin.pat`); without it
    /// the ZITADEL phases are skipped.
    #[arg(long, value_name = "FILE", requires = "target")]
    pub pat_file: Option<PathBuf>,

    /// With --target: the server's process id, to sample its RSS.
    #[arg(long, value_name = "PID", requires = "target")]
    pub server_pid: Option<u32>,

    /// With --target: the project to use (dev mode's default project otherwise).
    #[arg(long, default_value = "demo-project")]
    pub project: String,

    /// The started server's `token_algorithm`: RS256 (Tessera's default) or ES256.
    #[arg(long, default_value = "RS256", value_parser = ["RS256", "ES256"])]
    pub token_algorithm: String,

    /// Count every code sent and every code checked against production's abuse limits (the
    /// delivery limits and the failure limits, `rate_counters`), as production does; dev mode
    /// has none. Each limit is set far out of reach, so nothing is refused and what is
    /// measured is the counting.
    #[arg(long, conflicts_with = "target")]
    pub limits: bool,

    /// Passed to `tessera serve --database-url` (SQLite in a fresh temporary data dir otherwise).
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,

    /// The server binary. Without this flag the bench first runs `cargo build --release -p
    /// tessera` and uses `target/release/tessera`.
    #[arg(long, value_name = "FILE")]
    pub tessera_bin: Option<PathBuf>,

    /// Also start the Firebase Auth emulator (bench/emulator, `npm ci` there first) and run the
    /// Identity Toolkit phases unchanged against it.
    #[arg(long)]
    pub compare_emulator: bool,

    /// Before the phases, import this many users with two phone second factors each into
    /// Tessera (`accounts:batchCreate`, 1000 a request), so the phases run on a store of that
    /// size. The emulator is not seeded.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub seed_users: usize,

    /// Operations per user in the phases that only read (`accounts:lookup`,
    /// `ListHumanAuthFactors`): one each would be over in a fraction of a second, too short
    /// to measure steadily. Reads change nothing, so repeating them measures the same thing.
    #[arg(long, default_value_t = 5)]
    pub read_rounds: usize,

    /// HTTP/2 channels the gRPC phase spreads its requests over.
    #[arg(long, default_value_t = 4)]
    pub grpc_channels: usize,

    /// Instead of the phases, time one write on SQLite through sqlx (each statement a
    /// hand-off to the connection's thread, as Tessera's writer does) and through rusqlite (on
    /// the calling thread), without a server. Under `taskset -c 0`: on one CPU.
    #[arg(long, conflicts_with_all = ["target", "compare_emulator", "seed_users"])]
    pub sqlite_writes: bool,

    /// Append every request slower than 20 ms (the p99 target) to this file, a line each:
    /// when it was sent (Unix time in ms), target, phase, latency in ms, `ok` or `error`. For
    /// lining stalls up with other traces of the same run (perf, the kernel's log).
    #[arg(long, value_name = "FILE")]
    pub slow_log: Option<PathBuf>,

    /// Write the Markdown report (tables and machine facts) to this file too.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// The workspace root (for the server binary, `bench/emulator` and `git`).
    #[arg(long, default_value = WORKSPACE, hide_default_value = true)]
    pub workspace: PathBuf,
}

/// The command line as typed, for the report.
pub fn command_line() -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    format!("cargo run --release -p tessera-bench -- {}", args.join(" "))
}
