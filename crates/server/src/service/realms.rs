//! Realm administration: a project's or tenant's MFA configuration, and tenants themselves.

use tessera_core::{DomainError, MfaConfig, Realm};

use super::{Service, callers::internal};
use crate::crypto::random_array;

/// How often a new tenant's id is drawn before giving up: with 100,000 ids per name, a draw
/// fails only when a project holds tens of thousands of tenants of that name.
const TENANT_ID_DRAWS: usize = 10;

/// Changes to a tenant; `None` leaves a setting alone.
#[derive(Debug, Default)]
pub struct TenantChanges {
    pub display_name: Option<Option<String>>,
    pub mfa: Option<MfaConfig>,
    pub improved_email_privacy: Option<bool>,
}

impl Service {
    /// Replaces a project's MFA configuration and, when given, its email enumeration
    /// protection.
    pub async fn configure_project(
        &self,
        mut realm: Realm,
        mfa: MfaConfig,
        improved_email_privacy: Option<bool>,
    ) -> Result<Realm, DomainError> {
        realm.mfa = mfa;
        if let Some(on) = improved_email_privacy {
            realm.improved_email_privacy = on;
        }
        if !self.save_realm(&realm).await? {
            return Err(DomainError::ProjectNotFound);
        }
        Ok(realm)
    }

    /// Creates a tenant with a generated id (Identity Platform's `POST tenants`): its display
    /// name's letters and five random digits, drawn again while the project has a tenant of
    /// that id, so that two tenants of one name never become one.
    pub async fn add_tenant(
        &self,
        project_id: &str,
        changes: TenantChanges,
    ) -> Result<Realm, DomainError> {
        self.realm(project_id, None).await?;
        let slug: String = changes
            .display_name
            .clone()
            .flatten()
            .unwrap_or_default()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .take(20)
            .collect::<String>()
            .to_ascii_lowercase();
        let slug = if slug.is_empty() { "tenant" } else { &slug };
        for _ in 0..TENANT_ID_DRAWS {
            let suffix = u32::from_le_bytes(random_array().map_err(internal)?) % 100_000;
            let tenant_id = format!("{slug}-{suffix:05}");
            let created = self
                .store
                .create_realm(project_id, &tenant_id, self.clock.now())
                .await?;
            if let Some(realm) = created {
                return self.update_tenant(realm, changes).await;
            }
        }
        Err(internal(format!(
            "no free tenant id for {slug} in {TENANT_ID_DRAWS} draws"
        )))
    }

    pub async fn update_tenant(
        &self,
        mut realm: Realm,
        changes: TenantChanges,
    ) -> Result<Realm, DomainError> {
        if let Some(name) = changes.display_name {
            realm.display_name = name;
        }
        if let Some(mfa) = changes.mfa {
            realm.mfa = mfa;
        }
        if let Some(on) = changes.improved_email_privacy {
            realm.improved_email_privacy = on;
        }
        if !self.save_realm(&realm).await? {
            return Err(DomainError::TenantNotFound);
        }
        Ok(realm)
    }

    /// A page of a project's tenants in the order of their ids: up to `size` of those after
    /// the tenant `after` (the first page when empty), and the last one's id when more follow.
    pub async fn tenants(
        &self,
        project_id: &str,
        after: &str,
        size: usize,
    ) -> Result<(Vec<Realm>, Option<String>), DomainError> {
        self.realm(project_id, None).await?;
        let limit = i64::try_from(size + 1).map_err(internal)?;
        let mut tenants = self.store.list_tenants(project_id, after, limit).await?;
        if tenants.len() <= size {
            return Ok((tenants, None));
        }
        tenants.truncate(size);
        let next = tenants.last().and_then(|t| t.tenant_id.clone());
        Ok((tenants, next))
    }

    pub async fn delete_tenant(&self, realm: &Realm) -> Result<(), DomainError> {
        if realm.tenant_id.is_none() || !self.remove_realm(&realm.id).await? {
            return Err(DomainError::TenantNotFound);
        }
        Ok(())
    }
}
