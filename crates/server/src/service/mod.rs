//! The use cases, dialect-neutral. Both dialects call these functions; this is the only
//! layer that orchestrates the store, the clock, password hashing and token minting.

mod accounts;
mod callers;
mod sessions;

use std::sync::Arc;

use tessera_core::{Clock, Store};

use crate::passwords::PasswordHasherPool;
use crate::tokens::{TokenSigner, TokenVerifier};

pub use accounts::{AccountChanges, BatchGetPage, ImportUser, NewAccount, UserSelector};
pub use callers::{KeyScope, Mode};
pub use sessions::{Authenticated, Session};

pub struct Service {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    signer: TokenSigner,
    verifier: TokenVerifier,
    passwords: PasswordHasherPool,
    mode: Mode,
    default_project: String,
}

pub struct ServiceParts {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub signer: TokenSigner,
    pub verifier: TokenVerifier,
    pub passwords: PasswordHasherPool,
    pub mode: Mode,
    pub default_project: String,
}

impl Service {
    pub fn new(parts: ServiceParts) -> Self {
        let ServiceParts { store, clock, signer, verifier, passwords, mode, default_project } = parts;
        Self { store, clock, signer, verifier, passwords, mode, default_project }
    }

    /// For `/readyz`: can we reach the database right now?
    pub async fn ready(&self) -> bool {
        self.store.ping().await.is_ok()
    }
}
