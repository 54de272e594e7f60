//! `tessera keys`: master-key rotation for operators.
//!
//! The key file may hold several keys: the primary seals, the others still open. Rotation is
//! a change of the file (written atomically) followed by a re-seal of every sealed record in
//! the database under the new primary (`tessera_server::rekey`), which is safe to interrupt
//! and re-run. A key leaves the file only once the database shows no record sealed under it.
//!
//! For several nodes the order matters, because a node can open only what its own copy of
//! the key file holds (README "Rotating the master key"): `add` a key and give every node
//! the file, `rotate --to` it, give every node the file again, `reseal`, then `retire`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Subcommand;
use tessera_core::Store;
use tessera_core::store::KeyUsage;
use tessera_server::rekey::{self, ResealReport};
use tessera_store::SqlStore;

use crate::config::Config;
use crate::master_key::KeyFile;
use crate::startup::open_store;

#[derive(Debug, Subcommand)]
pub enum KeysAction {
    /// The key file's keys (primary first) and, per key, how many records it seals.
    Status,
    /// Add a new key to the key file without making it primary, so every node can be given
    /// it before anything is sealed under it. Prints its id.
    Add,
    /// Make a key primary — a new one, or --to a key added before — then re-seal every
    /// record under it. Safe to re-run: `rotate --to <the primary>` finishes an interrupted
    /// rotation and changes nothing once done.
    Rotate {
        /// An existing key (from `tessera keys add`) to make primary instead of a new one.
        #[arg(long, value_name = "KEY_ID")]
        to: Option<String>,
        /// Records re-sealed per transaction.
        #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(i64).range(1..))]
        batch: i64,
    },
    /// Re-seal every record not yet under the primary key (after an interrupted rotation, or
    /// records sealed meanwhile by nodes still running with the old primary).
    Reseal {
        #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(i64).range(1..))]
        batch: i64,
    },
    /// Remove keys other than the primary from the key file (all of them, or those named),
    /// refusing while any record is still sealed under one of them.
    Retire {
        #[arg(value_name = "KEY_ID")]
        ids: Vec<String>,
    },
}

impl KeysAction {
    pub async fn run(self, config: &Config) -> anyhow::Result<String> {
        let path = key_path(config)?;
        let mut file = KeyFile::read(&path)?;
        let store = Arc::new(open_store(config).await?);
        let done = self.run_on(&path, &mut file, &store).await;
        store.close().await;
        done
    }

    async fn run_on(
        self,
        path: &Path,
        file: &mut KeyFile,
        store: &SqlStore,
    ) -> anyhow::Result<String> {
        match self {
            KeysAction::Status => {
                let usage = store.sealed_key_usage().await?;
                Ok(status(file, &usage))
            }
            KeysAction::Add => {
                let id = file.add_generated()?;
                file.write(path)?;
                Ok(id)
            }
            KeysAction::Rotate { to, batch } => {
                let was = file.primary().to_owned();
                let id = match to {
                    Some(id) => id,
                    None => file.add_generated()?,
                };
                file.set_primary(&id)?;
                // The file first: if the re-seal is interrupted, the new key is already safe
                // on disk and `rotate --to` (or `reseal`) picks up where it stopped.
                file.write(path)?;
                let report = reseal(store, file, batch).await?;
                let mut out = if was == id {
                    format!("primary key: {id} (unchanged)\n")
                } else {
                    format!("primary key: {id} (was {was})\n")
                };
                out.push_str(&report_lines(&report));
                out.push_str(
                    "\nnext: give every node this key file and restart it, run `tessera keys reseal`, \
                     then `tessera keys retire`",
                );
                Ok(out)
            }
            KeysAction::Reseal { batch } => {
                let report = reseal(store, file, batch).await?;
                Ok(format!(
                    "primary key: {}\n{}",
                    file.primary(),
                    report_lines(&report)
                ))
            }
            KeysAction::Retire { ids } => {
                let ids = if ids.is_empty() {
                    file.ids()
                        .into_iter()
                        .filter(|id| id != file.primary())
                        .collect()
                } else {
                    ids
                };
                if ids.is_empty() {
                    return Ok(format!(
                        "nothing to retire: {} is the only key",
                        file.primary()
                    ));
                }
                let usage = store.sealed_key_usage().await?;
                let mut in_use = Vec::new();
                for id in &ids {
                    file.remove(id)?;
                    for u in rekey::uses_of(&usage, id) {
                        in_use.push(format!("{} {} under {id}", u.records, u.kind.as_str()));
                    }
                }
                if !in_use.is_empty() {
                    bail!(
                        "refusing to retire: records are still sealed under it ({}); run `tessera keys reseal` first",
                        in_use.join(", ")
                    );
                }
                file.write(path)?;
                Ok(format!(
                    "retired {}; primary key: {}",
                    ids.join(", "),
                    file.primary()
                ))
            }
        }
    }
}

/// The key file the command works on: it must exist (nothing here generates the first key).
fn key_path(config: &Config) -> anyhow::Result<PathBuf> {
    let path = config
        .master_key_file
        .clone()
        .unwrap_or_else(|| config.master_key_path());
    if !path.exists() {
        bail!(
            "no master key file at {} (set --master-key-file)",
            path.display()
        );
    }
    Ok(path)
}

async fn reseal(store: &SqlStore, file: &KeyFile, batch: i64) -> anyhow::Result<ResealReport> {
    let ring = file.keyring()?;
    rekey::reseal_all(store, &ring, batch)
        .await
        .context("re-sealing records under the primary key")
}

fn report_lines(report: &ResealReport) -> String {
    let parts: Vec<String> = report
        .resealed
        .iter()
        .map(|(kind, n)| format!("{} {n}", kind.as_str()))
        .collect();
    format!("re-sealed {} records: {}", report.total(), parts.join(", "))
}

/// One line per key of the file, then any key the database uses that the file lacks.
fn status(file: &KeyFile, usage: &[KeyUsage]) -> String {
    let mut out = String::from("KEY\tROLE\tRECORDS");
    let describe = |id: &str| {
        let uses = rekey::uses_of(usage, id);
        if uses.is_empty() {
            "none".to_owned()
        } else {
            uses.iter()
                .map(|u| format!("{} {}", u.kind.as_str(), u.records))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let ids = file.ids();
    for id in &ids {
        let role = if id == file.primary() {
            "primary"
        } else {
            "older"
        };
        out.push_str(&format!("\n{id}\t{role}\t{}", describe(id)));
    }
    let mut missing: Vec<&str> = usage
        .iter()
        .map(|u| u.master_key_id.as_str())
        .filter(|id| !ids.iter().any(|k| k == id))
        .collect();
    missing.sort_unstable();
    missing.dedup();
    for id in missing {
        out.push_str(&format!("\n{id}\tMISSING\t{}", describe(id)));
    }
    out
}
