//! Entry point: install the crypto provider, start tracing, parse the command line and run it
//! (`Cli::start` places the threads and starts the async runtime).

use clap::Parser;
use tessera::cli::Cli;
use tracing_subscriber::EnvFilter;

fn main() -> anyhow::Result<()> {
    // One process-wide TLS provider, so no dependency can pick another (CRATES.md §3).
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    // The log goes to stderr: stdout is what a command answers (`admin create-api-key`
    // prints the key), for scripts to capture. A log that cannot be written (its reader
    // gone) is dropped: reporting that on stderr too would panic.
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")),
        )
        .with_writer(std::io::stderr)
        .log_internal_errors(false)
        .init();
    Cli::parse().start()
}
