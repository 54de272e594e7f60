//! Realms and credentials read in the last second, kept so the next request need not read
//! them again.
//!
//! Nearly every request first reads its caller's credential (an API key, an admin token or a
//! PAT) and its realm: two of a read's three or four queries, each a hand-off to a SQLite
//! connection thread or a round trip to PostgreSQL. Both change rarely. Credentials are only
//! ever added, and an unknown one is an unguessable secret nobody could have tried before it
//! was made, so the store's answer is kept whether it found one or not. Realms change when an
//! administrator edits or deletes one: a change made through this node drops every realm kept
//! here at once, other nodes see it within [`TTL`], and a realm that was not found is never
//! kept, so a new project or tenant can be used at once on every node.
//!
//! Should credentials ever become revocable, revoking one must drop it here, and other nodes
//! would honour it for up to [`TTL`] longer.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tessera_core::{MachineUser, Realm, RealmId, StoreError};

use super::Service;

/// How long an answer is kept: how stale another node's view of a realm may be.
pub const TTL: Duration = Duration::from_secs(1);

/// Entries per map before expired ones are swept out; a flood of unknown credentials clears
/// the map rather than growing it.
const CAPACITY: usize = 4096;

/// The ways a realm is addressed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum RealmKey {
    Named(String, Option<String>),
    Id(RealmId),
    Org(String),
}

/// What the store answered for each credential hash and realm address.
pub(super) struct Recent {
    api_keys: Kept<Vec<u8>, Option<String>>,
    admin_tokens: Kept<Vec<u8>, bool>,
    pats: Kept<Vec<u8>, Option<MachineUser>>,
    realms: Kept<RealmKey, Realm>,
}

impl Recent {
    pub(super) fn new() -> Self {
        Self {
            api_keys: Kept::new(),
            admin_tokens: Kept::new(),
            pats: Kept::new(),
            realms: Kept::new(),
        }
    }
}

impl Service {
    /// The project of the API key with this hash.
    pub(super) async fn api_key_project(
        &self,
        hash: Vec<u8>,
    ) -> Result<Option<String>, StoreError> {
        self.recent
            .api_keys
            .through(hash, async |hash| self.store.find_api_key(hash).await)
            .await
    }

    pub(super) async fn admin_token_known(&self, hash: Vec<u8>) -> Result<bool, StoreError> {
        self.recent
            .admin_tokens
            .through(hash, async |hash| self.store.admin_token_exists(hash).await)
            .await
    }

    /// The machine user owning the PAT with this hash.
    pub(super) async fn pat_owner(&self, hash: Vec<u8>) -> Result<Option<MachineUser>, StoreError> {
        self.recent
            .pats
            .through(hash, async |hash| self.store.find_pat(hash).await)
            .await
    }

    pub(super) async fn find_realm(
        &self,
        project_id: &str,
        tenant_id: Option<&str>,
    ) -> Result<Option<Realm>, StoreError> {
        let key = RealmKey::Named(project_id.to_owned(), tenant_id.map(str::to_owned));
        self.kept_realm(key, self.store.find_realm(project_id, tenant_id))
            .await
    }

    pub(super) async fn get_realm(&self, id: &RealmId) -> Result<Option<Realm>, StoreError> {
        self.kept_realm(RealmKey::Id(id.clone()), self.store.get_realm(id))
            .await
    }

    pub(super) async fn find_realm_by_org(
        &self,
        org_id: &str,
    ) -> Result<Option<Realm>, StoreError> {
        self.kept_realm(
            RealmKey::Org(org_id.to_owned()),
            self.store.find_realm_by_org(org_id),
        )
        .await
    }

    async fn kept_realm(
        &self,
        key: RealmKey,
        read: impl Future<Output = Result<Option<Realm>, StoreError>>,
    ) -> Result<Option<Realm>, StoreError> {
        if let Some(realm) = self.recent.realms.get(&key) {
            return Ok(Some(realm));
        }
        let found = read.await?;
        if let Some(realm) = &found {
            self.recent.realms.put(key, realm.clone());
        }
        Ok(found)
    }

    /// Stores a realm's new settings; false if it no longer exists.
    pub(super) async fn save_realm(&self, realm: &Realm) -> Result<bool, StoreError> {
        let saved = self.store.update_realm(realm).await;
        self.forget_realms();
        saved
    }

    pub(super) async fn remove_realm(&self, id: &RealmId) -> Result<bool, StoreError> {
        let removed = self.store.delete_realm(id).await;
        self.forget_realms();
        removed
    }

    /// To be called once the store holds a change this node made to a realm.
    pub(super) fn forget_realms(&self) {
        self.recent.realms.clear();
    }
}

/// A map whose entries expire [`TTL`] after they were put.
struct Kept<K, V> {
    entries: Mutex<HashMap<K, (Instant, V)>>,
}

impl<K: Eq + Hash, V: Clone> Kept<K, V> {
    fn new() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The kept answer for `key`, else what `read` answers, kept for the next caller.
    async fn through(
        &self,
        key: K,
        read: impl AsyncFnOnce(&K) -> Result<V, StoreError>,
    ) -> Result<V, StoreError> {
        if let Some(value) = self.get(&key) {
            return Ok(value);
        }
        let value = read(&key).await?;
        self.put(key, value.clone());
        Ok(value)
    }

    fn get(&self, key: &K) -> Option<V> {
        self.get_at(key, Instant::now())
    }

    fn put(&self, key: K, value: V) {
        self.put_at(key, value, Instant::now());
    }

    fn get_at(&self, key: &K, now: Instant) -> Option<V> {
        let entries = self.lock();
        let (expires, value) = entries.get(key)?;
        (now < *expires).then(|| value.clone())
    }

    fn put_at(&self, key: K, value: V, now: Instant) {
        let mut entries = self.lock();
        if entries.len() >= CAPACITY {
            entries.retain(|_, (expires, _)| now < *expires);
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        entries.insert(key, (now + TTL, value));
    }

    fn clear(&self) {
        self.lock().clear();
    }

    /// The map, even if a thread panicked while holding it: every entry is whole, because
    /// each is written by a single insert.
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, (Instant, V)>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_lives_for_the_ttl_only() {
        let kept = Kept::new();
        let start = Instant::now();
        kept.put_at("k", 1, start);
        assert_eq!(kept.get_at(&"k", start), Some(1));
        assert_eq!(
            kept.get_at(&"k", start + TTL - Duration::from_millis(1)),
            Some(1)
        );
        assert_eq!(kept.get_at(&"k", start + TTL), None);
        assert_eq!(kept.get_at(&"other", start), None);
    }

    #[test]
    fn a_full_map_sweeps_expired_entries_then_starts_over() {
        let kept = Kept::new();
        let start = Instant::now();
        for i in 0..CAPACITY {
            kept.put_at(i, i, start);
        }
        let later = start + TTL / 2;
        kept.put_at(CAPACITY, CAPACITY, later);
        assert_eq!(
            kept.lock().len(),
            1,
            "all others were full and live: cleared"
        );
        for i in 0..CAPACITY - 1 {
            kept.put_at(i, i, start);
        }
        let first_expired = start + TTL;
        kept.put_at(CAPACITY + 1, 0, first_expired);
        assert_eq!(
            kept.lock().len(),
            2,
            "the expired ones were swept, the live one kept"
        );
        assert_eq!(kept.get_at(&CAPACITY, first_expired), Some(CAPACITY));
        assert_eq!(kept.get_at(&(CAPACITY + 1), first_expired), Some(0));
    }

    #[test]
    fn clear_forgets_everything() {
        let kept = Kept::new();
        let now = Instant::now();
        kept.put_at(1, "a", now);
        kept.clear();
        assert_eq!(kept.get_at(&1, now), None);
    }
}
