//! The `tessera` program: configuration, start-up and the command line. `main.rs` only
//! parses arguments and calls in here, so tests and tools start the very same server.

pub mod cli;
pub mod config;
pub mod keys;
pub mod master_key;
pub mod senders;
pub mod startup;

pub use config::Config;
pub use startup::Application;
