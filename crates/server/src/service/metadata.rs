//! ZITADEL's user metadata: an application's key–value pairs on a user. Setting and removing
//! are all-or-none per request; reads see only the organization's own users.

use tessera_core::clock::{from_unix_millis, unix_millis};
use tessera_core::metadata::{Metadata, check_entries, check_keys};
use tessera_core::store::MetadataQuery;
use tessera_core::{DomainError, Realm, UserId};
use time::OffsetDateTime;

use super::Service;

impl Service {
    /// Sets the user's entries (key, value); when they were set.
    pub async fn set_metadata(
        &self,
        realm: &Realm,
        id: &UserId,
        entries: &[(String, Vec<u8>)],
    ) -> Result<OffsetDateTime, DomainError> {
        if entries.is_empty() {
            return Err(DomainError::NoMetadata);
        }
        self.get_account(realm, id).await?;
        check_entries(entries)?;
        let now = self.stored_now();
        self.store.set_metadata(&realm.id, id, entries, now).await?;
        Ok(now)
    }

    /// Removes the user's entries of `keys`, every one of which must be set; when they were
    /// removed.
    pub async fn remove_metadata(
        &self,
        realm: &Realm,
        id: &UserId,
        keys: &[String],
    ) -> Result<OffsetDateTime, DomainError> {
        check_keys(keys)?;
        self.get_account(realm, id).await?;
        if !self.store.remove_metadata(&realm.id, id, keys).await? {
            return Err(DomainError::MetadataNotFound);
        }
        Ok(self.stored_now())
    }

    /// Now, as the store keeps times (whole milliseconds), so that the time a call answers is
    /// the one its entries show.
    fn stored_now(&self) -> OffsetDateTime {
        from_unix_millis(unix_millis(self.clock.now()))
    }

    /// A page of the user's entries, and how many `query` finds in all; none for a user the
    /// organization does not have, as in ZITADEL.
    pub async fn metadata(
        &self,
        realm: &Realm,
        id: &UserId,
        query: &MetadataQuery,
    ) -> Result<(i64, Vec<Metadata>), DomainError> {
        Ok(self.store.query_metadata(&realm.id, id, query).await?)
    }
}
