//! Re-sealing every sealed record under the keyring's primary master key, the second half of
//! `tessera keys rotate` (the first half, writing the key file, belongs to the binary).
//!
//! Records are read in batches by id and each batch is replaced in one transaction, only
//! where the record still names the key it was read under (`Store::reseal`). So the work can
//! be interrupted at any point and re-run: what is done stays done, what is not is found
//! again; a second run over a finished rotation changes nothing. Nodes keep serving
//! throughout: every node that holds both keys opens records under either.

use tessera_core::Store;
use tessera_core::store::{KeyUsage, SealedKind};

use crate::crypto::{CryptoError, Keyring};

#[derive(Debug, thiserror::Error)]
pub enum RekeyError {
    #[error(transparent)]
    Store(#[from] tessera_core::StoreError),
    #[error("{kind} record {id}: {source}")]
    Crypto {
        kind: &'static str,
        id: String,
        source: CryptoError,
    },
}

/// How many records of each kind were re-sealed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ResealReport {
    pub resealed: Vec<(SealedKind, u64)>,
}

impl ResealReport {
    pub fn total(&self) -> u64 {
        self.resealed.iter().map(|(_, n)| n).sum()
    }
}

/// Re-seals every record not yet under `ring`'s primary key, `batch` records per transaction.
pub async fn reseal_all(
    store: &dyn Store,
    ring: &Keyring,
    batch: i64,
) -> Result<ResealReport, RekeyError> {
    let mut report = ResealReport::default();
    for kind in SealedKind::ALL {
        let mut done = 0;
        loop {
            let records = store.sealed_not_under(kind, ring.id(), batch).await?;
            if records.is_empty() {
                break;
            }
            let mut changes = Vec::with_capacity(records.len());
            for record in records {
                let crypto = |source| RekeyError::Crypto {
                    kind: kind.as_str(),
                    id: record.key.join("/"),
                    source,
                };
                let plain = ring
                    .open(
                        &record.sealed.master_key_id,
                        kind.purpose(),
                        &record.sealed.bytes,
                    )
                    .map_err(crypto)?;
                let sealed = ring.seal(kind.purpose(), &plain).map_err(crypto)?;
                changes.push((record, sealed));
            }
            // A record changed meanwhile is skipped here and read again in the next batch
            // (or is gone): the loop ends when nothing is left under another key.
            done += store.reseal(kind, &changes).await?;
        }
        report.resealed.push((kind, done));
    }
    Ok(report)
}

/// Records per kind sealed under `key_id`; empty when no record uses it.
pub fn uses_of<'a>(usage: &'a [KeyUsage], key_id: &str) -> Vec<&'a KeyUsage> {
    usage
        .iter()
        .filter(|u| u.master_key_id == key_id && u.records > 0)
        .collect()
}
