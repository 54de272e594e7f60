//! Realm administration: a project's or tenant's MFA configuration, and tenants themselves.

use tessera_core::{DomainError, MfaConfig, Realm};

use super::{Mode, Service, callers::internal};
use crate::crypto::random_array;

/// How often a new tenant's id is drawn before giving up: with 100,000 ids per name, a draw
/// fails only when a project holds tens of thousands of tenants of that name.
const TENANT_ID_DRAWS: usize = 10;

/// Changes to a project's or a tenant's settings; `None` leaves a setting alone.
#[derive(Debug, Default)]
pub struct RealmChanges {
    /// A tenant's; projects have none.
    pub display_name: Option<Option<String>>,
    pub mfa: Option<MfaConfig>,
    pub improved_email_privacy: Option<bool>,
    /// A project's; its tenants follow it.
    pub phone_sign_in: Option<bool>,
}

impl RealmChanges {
    fn apply(self, realm: &mut Realm) {
        if let Some(name) = self.display_name {
            realm.display_name = name;
        }
        if let Some(mfa) = self.mfa {
            realm.mfa = mfa;
        }
        if let Some(on) = self.improved_email_privacy {
            realm.improved_email_privacy = on;
        }
        if let Some(on) = self.phone_sign_in {
            realm.phone_sign_in = on;
        }
    }
}

impl Service {
    /// Changes a project's settings.
    pub async fn configure_project(
        &self,
        mut realm: Realm,
        changes: RealmChanges,
    ) -> Result<Realm, DomainError> {
        changes.apply(&mut realm);
        if !self.save_realm(&realm).await? {
            return Err(DomainError::ProjectNotFound);
        }
        Ok(realm)
    }

    /// Whether a project's end users may sign in with a phone number: always in dev mode, as
    /// in the emulator; in production where the project enabled it.
    pub fn phone_sign_in_enabled(&self, project: &Realm) -> bool {
        self.mode == Mode::Dev || project.phone_sign_in
    }

    /// Creates a tenant with a generated id (Identity Platform's `POST tenants`): its display
    /// name's letters and five random digits, drawn again while the project has a tenant of
    /// that id, so that two tenants of one name never become one.
    pub async fn add_tenant(
        &self,
        project_id: &str,
        changes: RealmChanges,
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
        changes: RealmChanges,
    ) -> Result<Realm, DomainError> {
        changes.apply(&mut realm);
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
