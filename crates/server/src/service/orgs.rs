//! ZITADEL organizations, their machine users, and the machine users' personal access
//! tokens (PATs).
//!
//! An organization is a realm seen from the ZITADEL dialect: the realm row carries the org id
//! next to the project and tenant ids, so users and factors are one set under both names. An
//! organization created through ZITADEL is a new tenant of the caller's project. PATs are
//! 256-bit bearer secrets stored as SHA-256.

use tessera_core::{DomainError, EmailAddress, MachineUser, Realm, RealmId, Role, User, UserId};

use super::{RealmChanges, Service, callers::internal};
use crate::crypto::{random_array, random_token, sha256};

impl Service {
    /// The realm with an organization id, assigning a fresh one if it has none yet (several
    /// nodes may race here; the first assignment wins and every node reads it back).
    pub async fn ensure_org(&self, realm: Realm) -> Result<Realm, DomainError> {
        if realm.org_id.is_some() {
            return Ok(realm);
        }
        self.assign_org(&realm, &new_id()?.to_string()).await
    }

    async fn assign_org(&self, realm: &Realm, org_id: &str) -> Result<Realm, DomainError> {
        let assigned = self.store.assign_org(&realm.id, org_id).await?;
        self.forget_realms();
        assigned.ok_or(DomainError::OrgNotFound)
    }

    pub async fn org_realm(&self, org_id: &str) -> Result<Realm, DomainError> {
        self.find_realm_by_org(org_id)
            .await?
            .ok_or(DomainError::OrgNotFound)
    }

    pub async fn realm_by_id(&self, id: &RealmId) -> Result<Realm, DomainError> {
        let realm = self.get_realm(id).await?.ok_or(DomainError::OrgNotFound)?;
        self.ensure_org(realm).await
    }

    /// The realms that hold a user of that id.
    pub async fn user_realms(&self, id: &UserId) -> Result<Vec<RealmId>, DomainError> {
        Ok(self.store.user_realms(id).await?)
    }

    /// Every organization of a project: its own realm (the instance's organization), then its
    /// tenants by id, each with its organization id.
    pub async fn project_orgs(&self, project_id: &str) -> Result<Vec<Realm>, DomainError> {
        const PAGE: usize = 1000;
        let mut orgs = vec![self.instance_realm(project_id).await?];
        let mut after = String::new();
        loop {
            let (tenants, next) = self.tenants(project_id, &after, PAGE).await?;
            for tenant in tenants {
                orgs.push(self.ensure_org(tenant).await?);
            }
            match next {
                Some(next) => after = next,
                None => return Ok(orgs),
            }
        }
    }

    /// The realm of the user a link to the server's pages names (a passkey registration
    /// link, an invitation): its organization's (`orgID`), or, when the link names none, the
    /// one realm that has the user.
    pub async fn link_realm(
        &self,
        org_id: Option<&str>,
        user: &UserId,
    ) -> Result<Realm, DomainError> {
        if let Some(org) = org_id.filter(|org| !org.is_empty()) {
            return self.org_realm(org).await;
        }
        match self.user_realms(user).await?.as_slice() {
            [only] => self.realm_by_id(only).await,
            _ => Err(DomainError::UserNotFound),
        }
    }

    /// The realms that hold a user of that login name: a ZITADEL username, else an email
    /// address.
    pub async fn login_name_realms(&self, name: &str) -> Result<Vec<RealmId>, DomainError> {
        let realms = self.store.username_realms(name).await?;
        match EmailAddress::parse(name) {
            Some(email) if realms.is_empty() => Ok(self.store.email_realms(&email).await?),
            _ => Ok(realms),
        }
    }

    /// The realm's user of that login name: a ZITADEL username, else an email address.
    pub async fn find_by_login_name(
        &self,
        realm: &RealmId,
        name: &str,
    ) -> Result<Option<User>, DomainError> {
        if let Some(user) = self.store.find_user_by_username(realm, name).await? {
            return Ok(Some(user));
        }
        match EmailAddress::parse(name) {
            Some(email) => Ok(self.store.find_user_by_email(realm, &email).await?),
            None => Ok(None),
        }
    }

    /// A new organization: a tenant of `project` named `name`, with the org id the caller
    /// chose (ZITADEL v2 lets it) or a fresh one.
    pub async fn create_org(
        &self,
        project: &str,
        name: &str,
        org_id: Option<&str>,
    ) -> Result<Realm, DomainError> {
        if let Some(id) = org_id
            && self.find_realm_by_org(id).await?.is_some()
        {
            return Err(DomainError::OrgExists);
        }
        let changes = RealmChanges {
            display_name: Some(Some(name.to_owned())),
            ..RealmChanges::default()
        };
        let tenant = self.add_tenant(project, changes).await?;
        let Some(org_id) = org_id else {
            return self.ensure_org(tenant).await;
        };
        let assigned = self.assign_org(&tenant, org_id).await;
        if matches!(assigned, Err(DomainError::OrgExists)) {
            // Another request took the id between the check and here: the tenant made for
            // this one must not stay behind without an organization.
            self.delete_tenant(&tenant).await?;
        }
        assigned
    }

    pub async fn create_machine_user(
        &self,
        realm: &Realm,
        username: &str,
        role: Role,
    ) -> Result<MachineUser, DomainError> {
        let user = MachineUser {
            id: new_id()?,
            realm: realm.id.clone(),
            username: username.to_owned(),
            role,
            created_at: self.clock.now(),
        };
        self.store.insert_machine_user(&user).await?;
        Ok(user)
    }

    /// The machine user `username` of the organization, created with `role` if it is missing
    /// (nodes racing here all end up with the one that was stored).
    pub async fn ensure_machine_user(
        &self,
        realm: &Realm,
        username: &str,
        role: Role,
    ) -> Result<MachineUser, DomainError> {
        if let Some(user) = self.store.find_machine_user(&realm.id, username).await? {
            return Ok(user);
        }
        match self.create_machine_user(realm, username, role).await {
            Err(DomainError::MachineUserExists) => self
                .store
                .find_machine_user(&realm.id, username)
                .await?
                .ok_or(DomainError::Internal),
            other => other,
        }
    }

    /// A new PAT for the machine user `id`; only its hash is kept.
    pub async fn create_pat(&self, id: &UserId) -> Result<String, DomainError> {
        let owner = self
            .store
            .get_machine_user(id)
            .await?
            .ok_or(DomainError::UserNotFound)?;
        let token = random_token().map_err(internal)?;
        self.store
            .insert_pat(&sha256(token.as_bytes()), &owner, self.clock.now())
            .await?;
        Ok(token)
    }

    pub async fn check_pat(&self, token: &str) -> Result<Machine, DomainError> {
        let user = self
            .pat_owner(sha256(token.as_bytes()))
            .await?
            .ok_or(DomainError::AdminUnauthenticated)?;
        let realm = self
            .get_realm(&user.realm)
            .await?
            .ok_or(DomainError::AdminUnauthenticated)?;
        Ok(Machine {
            role: user.role,
            user,
            realm,
        })
    }
}

/// A machine user, with its realm, as a PAT authenticates it.
#[derive(Debug, Clone)]
pub struct Machine {
    pub user: MachineUser,
    pub role: Role,
    pub realm: Realm,
}

fn new_id() -> Result<UserId, DomainError> {
    Ok(UserId::from_random(random_array().map_err(internal)?))
}
