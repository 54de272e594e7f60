//! Entry point: install the crypto provider, start tracing, parse the command line and run it
//! (`Cli::start` places the threads and starts the async runtime).

use clap::Parser;
use tessera::cli::Cli;
use tracing_subscriber::EnvFilter;

fn main() -> anyhow::Result<()> {
    // One process-wide TLS provider, so no dependency can pick another (CRATES.md §3).
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")),
        )
        .init();
    Cli::parse().start()
}
