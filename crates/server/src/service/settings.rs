//! What ZITADEL's settings service shows of Tessera's configuration: the languages messages
//! are written in, the identity providers configured, and the instance's organization (the
//! project's own realm, which tenants and created organizations fall back to).

use tessera_core::{DomainError, Realm};

use super::Service;

impl Service {
    /// The languages messages are sent in: English first.
    pub fn message_languages(&self) -> Vec<String> {
        self.delivery.setup.templates.languages()
    }

    /// The identity providers configured for sign-in, by id; none in dev mode, which takes
    /// any provider's tokens as the emulator does.
    pub fn identity_provider_ids(&self) -> Vec<String> {
        self.idp_tokens.provider_ids()
    }

    /// The project's own realm: ZITADEL's instance and its default organization.
    pub async fn instance_realm(&self, project_id: &str) -> Result<Realm, DomainError> {
        let realm = self.realm(project_id, None).await?;
        self.ensure_org(realm).await
    }
}
