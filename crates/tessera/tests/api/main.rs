//! Integration tests: the real server on 127.0.0.1:0, driven over HTTP, on a real SQLite
//! file — or on a fresh PostgreSQL database per test when `TEST_POSTGRES_URL`
//! names a server (CI runs the suite both ways; an unreachable server fails the run).
//!
//! One test binary for the whole crate: every extra binary costs a link on two cores.

// Test code asserts by unwrapping; the workspace bans it only in shipped code.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::result_large_err,
    clippy::disallowed_methods
)]

mod accounts;
mod admin;
mod audit;
mod bad_input;
mod brute_force;
mod cli;
mod cluster;
mod config;
mod crash;
mod custom_token;
mod delivery;
mod delivery_senders;
mod email_link;
mod email_privacy;
mod fuzz;
mod helpers;
mod idp_sign_in;
mod imported_passwords;
mod mfa;
mod mfa_admin;
mod migrations;
mod nodes;
mod oob;
mod operations;
mod outage;
mod phone_sign_in;
mod recover_email;
mod relying_party_v3;
mod revert_second_factor;
mod secrets;
mod session_cookies;
mod sinks;
mod tokens;
mod ui;
mod user_races;
mod zitadel;
mod zitadel_invites;
mod zitadel_metadata;
mod zitadel_passkeys;
mod zitadel_recovery;
mod zitadel_search;
mod zitadel_session_list;
mod zitadel_sessions;
mod zitadel_settings;
mod zitadel_transports;
mod zitadel_u2f;
mod zitadel_user_changes;
mod zitadel_users;
