//! ZITADEL's metadata: an application's key–value pairs on a user or an organization. Setting
//! and removing are all-or-none per request; reads see only the owner's own entries.

use tessera_core::DomainError;
use tessera_core::clock::{from_unix_millis, unix_millis};
use tessera_core::metadata::{Metadata, MetadataOwner, check_entries, check_keys};
use tessera_core::store::MetadataQuery;
use time::OffsetDateTime;

use super::Service;

impl Service {
    /// Sets the owner's entries (key, value); when they last changed (now, unless no value
    /// did, as ZITADEL answers an unchanged write with the entries' own time).
    pub async fn set_metadata(
        &self,
        owner: MetadataOwner<'_>,
        entries: &[(String, Vec<u8>)],
    ) -> Result<OffsetDateTime, DomainError> {
        if entries.is_empty() {
            return Err(DomainError::NoMetadata);
        }
        self.owner_exists(owner).await?;
        check_entries(entries)?;
        let now = self.stored_now();
        Ok(self.store.set_metadata(owner, entries, now).await?)
    }

    /// Removes the owner's entries of `keys`, every one of which must be set; when they were
    /// removed.
    pub async fn remove_metadata(
        &self,
        owner: MetadataOwner<'_>,
        keys: &[String],
    ) -> Result<OffsetDateTime, DomainError> {
        check_keys(keys)?;
        self.owner_exists(owner).await?;
        if !self.store.remove_metadata(owner, keys).await? {
            return Err(DomainError::MetadataNotFound);
        }
        Ok(self.stored_now())
    }

    /// A page of the owner's entries, and how many `query` finds in all; none for a user the
    /// organization does not have, as in ZITADEL.
    pub async fn metadata(
        &self,
        owner: MetadataOwner<'_>,
        query: &MetadataQuery,
    ) -> Result<(i64, Vec<Metadata>), DomainError> {
        Ok(self.store.query_metadata(owner, query).await?)
    }

    /// A user owner must exist; an organization is the caller's own, found already.
    async fn owner_exists(&self, owner: MetadataOwner<'_>) -> Result<(), DomainError> {
        if let MetadataOwner::User(realm, id) = owner {
            self.store
                .get_user(realm, id)
                .await?
                .ok_or(DomainError::UserNotFound)?;
        }
        Ok(())
    }

    /// Now, as the store keeps times (whole milliseconds), so that the time a call answers is
    /// the one its entries show.
    fn stored_now(&self) -> OffsetDateTime {
        from_unix_millis(unix_millis(self.clock.now()))
    }
}
