//! ZITADEL organizations and their administrators' personal access tokens (PATs).
//!
//! An organization is a realm seen from the ZITADEL dialect: the realm row carries the org id
//! next to the project and tenant ids, so users and factors are one set under both names.
//! PATs are 256-bit bearer secrets stored as SHA-256; every PAT today belongs to an
//! administrator of its organization with every user and credential permission there.

use tessera_core::{DomainError, Realm, UserId};

use super::{Service, callers::internal};
use crate::crypto::{random_array, random_token, sha256};

/// Who a PAT speaks for.
#[derive(Debug, Clone)]
pub struct OrgAdmin {
    pub realm: Realm,
    pub principal: String,
}

impl Service {
    /// The realm with an organization id, assigning a fresh one if it has none yet (several
    /// nodes may race here; the first assignment wins and every node reads it back).
    pub async fn ensure_org(&self, realm: Realm) -> Result<Realm, DomainError> {
        if realm.org_id.is_some() {
            return Ok(realm);
        }
        let org_id = UserId::from_random(random_array().map_err(internal)?).to_string();
        self.store
            .assign_org(&realm.id, &org_id)
            .await?
            .ok_or(DomainError::OrgNotFound)
    }

    pub async fn org_realm(&self, org_id: &str) -> Result<Realm, DomainError> {
        self.store
            .find_realm_by_org(org_id)
            .await?
            .ok_or(DomainError::OrgNotFound)
    }

    /// A new PAT for an administrator of `realm`'s organization; only its hash is kept.
    pub async fn create_pat(&self, realm: &Realm, principal: &str) -> Result<String, DomainError> {
        let token = random_token().map_err(internal)?;
        self.store
            .insert_pat(
                &sha256(token.as_bytes()),
                &realm.id,
                principal,
                self.clock.now(),
            )
            .await?;
        Ok(token)
    }

    pub async fn check_pat(&self, token: &str) -> Result<OrgAdmin, DomainError> {
        let (realm_id, principal) = self
            .store
            .find_pat(&sha256(token.as_bytes()))
            .await?
            .ok_or(DomainError::AdminUnauthenticated)?;
        let realm = self
            .store
            .get_realm(&realm_id)
            .await?
            .ok_or(DomainError::AdminUnauthenticated)?;
        Ok(OrgAdmin { realm, principal })
    }
}
