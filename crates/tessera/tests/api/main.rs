//! Integration tests: the real server on 127.0.0.1:0, driven over HTTP, on a real SQLite
//! file — or on a fresh PostgreSQL database per test when `TEST_POSTGRES_URL`
//! names a server (CI runs the suite both ways; an unreachable server fails the run).
//!
//! One test binary for the whole crate: every extra binary costs a link on two cores.

mod accounts;
mod admin;
mod bad_input;
mod cli;
mod config;
mod helpers;
mod operations;
mod tokens;
