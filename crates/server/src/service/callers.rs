//! Who is calling, and which realm they may touch.
//!
//! End users present an API key, which names a project. Administrators present a bearer
//! token. In dev mode any non-empty key stands for the default project and the literal
//! `owner` (what Firebase Admin SDKs send to an emulator) is an administrator; in production
//! only keys and admin tokens created with the CLI and stored (hashed) are accepted.

use tessera_core::{DomainError, Realm};

use super::Service;
use crate::crypto::sha256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Dev,
    Production,
}

/// The project an API key grants access to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyScope {
    /// Dev mode: any key; end-user calls land in the default project.
    AnyProject,
    Project(String),
}

impl Service {
    pub async fn check_api_key(&self, key: &str) -> Result<KeyScope, DomainError> {
        if let Some(project) = self.api_key_project(sha256(key.as_bytes())).await? {
            return Ok(KeyScope::Project(project));
        }
        match self.mode {
            Mode::Dev if !key.is_empty() => Ok(KeyScope::AnyProject),
            _ => Err(DomainError::InvalidApiKey),
        }
    }

    pub async fn check_admin_token(&self, token: &str) -> Result<(), DomainError> {
        let emulator_owner = token.eq_ignore_ascii_case("owner") || token.starts_with("ya29.");
        if self.mode == Mode::Dev && emulator_owner {
            return Ok(());
        }
        if self.admin_token_known(sha256(token.as_bytes())).await? {
            Ok(())
        } else {
            Err(DomainError::AdminUnauthenticated)
        }
    }

    /// The project end-user calls made with this key act on.
    pub fn project_of(&self, scope: &KeyScope) -> String {
        match scope {
            KeyScope::AnyProject => self.default_project.clone(),
            KeyScope::Project(p) => p.clone(),
        }
    }

    /// The realm a request acts on: a copy up to [`super::recent::TTL`] old when another node
    /// has just changed it.
    pub async fn realm(
        &self,
        project_id: &str,
        tenant_id: Option<&str>,
    ) -> Result<Realm, DomainError> {
        let found = self.find_realm(project_id, tenant_id).await?;
        self.realm_found(project_id, tenant_id, found).await
    }

    /// The realm as stored now: what an administrator reads and changes. A change applied to
    /// a kept copy could undo what another node changed in the last second.
    pub async fn current_realm(
        &self,
        project_id: &str,
        tenant_id: Option<&str>,
    ) -> Result<Realm, DomainError> {
        let found = self.store.find_realm(project_id, tenant_id).await?;
        self.realm_found(project_id, tenant_id, found).await
    }

    /// `found`, or why there is no such realm.
    async fn realm_found(
        &self,
        project_id: &str,
        tenant_id: Option<&str>,
        found: Option<Realm>,
    ) -> Result<Realm, DomainError> {
        if let Some(realm) = found {
            return Ok(realm);
        }
        match tenant_id {
            Some(_) if self.find_realm(project_id, None).await?.is_some() => {
                Err(DomainError::TenantNotFound)
            }
            _ => Err(DomainError::ProjectNotFound),
        }
    }

    /// Creates a project (CLI, and the dev-mode default project at start-up).
    pub async fn create_project(&self, project_id: &str) -> Result<Realm, DomainError> {
        Ok(self
            .store
            .ensure_realm(project_id, None, self.clock.now())
            .await?)
    }

    /// Creates a tenant of an existing project.
    pub async fn create_tenant(
        &self,
        project_id: &str,
        tenant_id: &str,
    ) -> Result<Realm, DomainError> {
        self.realm(project_id, None).await?;
        Ok(self
            .store
            .ensure_realm(project_id, Some(tenant_id), self.clock.now())
            .await?)
    }

    /// Stores a new API key for `project_id` and returns it; only its hash is kept.
    pub async fn create_api_key(&self, project_id: &str) -> Result<String, DomainError> {
        self.realm(project_id, None).await?;
        let key = format!("tk_{}", crate::crypto::random_token().map_err(internal)?);
        self.store
            .insert_api_key(&sha256(key.as_bytes()), project_id, self.clock.now())
            .await?;
        Ok(key)
    }

    /// Stores a new admin bearer token and returns it; only its hash is kept.
    pub async fn create_admin_token(&self, label: &str) -> Result<String, DomainError> {
        let token = format!("ta_{}", crate::crypto::random_token().map_err(internal)?);
        self.store
            .insert_admin_token(&sha256(token.as_bytes()), label, self.clock.now())
            .await?;
        Ok(token)
    }
}

pub(super) fn internal(e: impl std::fmt::Display) -> DomainError {
    tracing::error!(error = %e, "internal failure");
    DomainError::Internal
}
