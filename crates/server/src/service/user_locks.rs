//! One change of a user at a time on this node.
//!
//! A change of a user is computed from the row as read and written only over that revision
//! (`Service::until_written`). Without a queue, of many changes of one user at once each
//! round would land one and send the others back to read again, so the last of thirty-two
//! would read and compute thirty-two times. Here they wait their turn instead, and the
//! revision check is left to catch only what another node wrote meanwhile. The locks are
//! striped by a hash of the key, so two users may share one: a few waits for nothing, no
//! unbounded table.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use tokio::sync::{Mutex, MutexGuard};

/// How many stripes: enough that unrelated users seldom wait for each other under the load
/// of a node (a few hundred changes in flight).
const STRIPES: usize = 256;

pub(super) struct UserLocks(Vec<Mutex<()>>);

impl UserLocks {
    pub(super) fn new() -> Self {
        UserLocks((0..STRIPES).map(|_| Mutex::new(())).collect())
    }

    /// Waits for the turn of `key` (a user, or an address that may become one), first come
    /// first served; the turn lasts as long as the guard.
    pub(super) async fn turn(&self, key: impl Hash) -> MutexGuard<'_, ()> {
        let mut hasher = DefaultHasher::new();
        key.hash(&mut hasher);
        let stripe = (hasher.finish() % STRIPES as u64) as usize;
        self.0[stripe].lock().await
    }
}
