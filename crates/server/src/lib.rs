//! Tessera's server: the service layer, the dialects that speak it over the wire, token
//! minting, and the HTTP application that ties them to one port.
//!
//! Dependency direction inside this crate: `dialects` and `http` call `service`; `service`
//! calls `tessera_core` (domain and the `Store` port), `tokens`, `passwords` and `crypto`.
//! Nothing here names a database: the store arrives as an `Arc<dyn Store>`.

pub mod cpus;
pub mod crypto;
pub mod delivery;
pub mod dialects;
pub mod http;
pub mod passwords;
pub mod proto;
pub mod rekey;
pub mod service;
pub mod tokens;
pub mod ui;
