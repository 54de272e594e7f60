//! The master key file, readable by the owner only. Two forms:
//!
//! - one key, as dev mode and `generate` write it: `{"id": "...", "key": "<base64 of 32 bytes>"}`;
//! - a keyring, as `tessera keys` writes it once a second key exists:
//!   `{"primary": "mk-b", "keys": [{"id": "mk-b", "key": "..."}, {"id": "mk-a", "key": "..."}]}`.
//!   The primary seals new secrets; the others still open what was sealed before a rotation.
//!
//! Dev mode creates a file on first start; production refuses to run without one named
//! explicitly, because a generated key next to the data would protect nothing. Changes are
//! written to a temporary file in the same folder, synced and renamed over the old one, so a
//! crash leaves either the old file or the new one, never half of one (a lost key is lost data).

use std::fs;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};
use data_encoding::{BASE64, HEXLOWER};
use serde::{Deserialize, Serialize};
use tessera_server::crypto::{Keyring, MasterKey, random_array};

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyEntry {
    id: String,
    key: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RingFile {
    primary: String,
    keys: Vec<KeyEntry>,
}

/// The key file's contents: the primary key's id and every key, the primary first.
pub struct KeyFile {
    primary: String,
    keys: Vec<KeyEntry>,
}

impl KeyFile {
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let text = fs::read_to_string(path)
            .with_context(|| format!("reading master key {}", path.display()))?;
        let parse = || format!("parsing master key {}", path.display());
        let value: serde_json::Value = serde_json::from_str(&text).with_context(parse)?;
        let file = if value.get("keys").is_some() {
            let ring: RingFile = serde_json::from_value(value).with_context(parse)?;
            let mut keys = ring.keys;
            let Some(at) = keys.iter().position(|k| k.id == ring.primary) else {
                bail!(
                    "master key {}: primary {} is not among its keys",
                    path.display(),
                    ring.primary
                );
            };
            let primary = keys.remove(at);
            keys.insert(0, primary);
            KeyFile {
                primary: ring.primary,
                keys,
            }
        } else {
            let single: KeyEntry = serde_json::from_value(value).with_context(parse)?;
            KeyFile {
                primary: single.id.clone(),
                keys: vec![single],
            }
        };
        file.keyring()
            .with_context(|| format!("master key {}", path.display()))?;
        Ok(file)
    }

    pub fn primary(&self) -> &str {
        &self.primary
    }

    /// Every key id, the primary first.
    pub fn ids(&self) -> Vec<String> {
        self.keys.iter().map(|k| k.id.clone()).collect()
    }

    pub fn keyring(&self) -> anyhow::Result<Keyring> {
        let mut keys = Vec::with_capacity(self.keys.len());
        for entry in &self.keys {
            let bytes = BASE64
                .decode(entry.key.trim().as_bytes())
                .with_context(|| format!("key {} is not base64", entry.id))?;
            if bytes.len() != 32 {
                bail!("key {} must hold 32 bytes, found {}", entry.id, bytes.len());
            }
            keys.push(MasterKey::new(entry.id.clone(), &bytes)?);
        }
        let mut keys = keys.into_iter();
        let Some(primary) = keys.next() else {
            bail!("the key file holds no key");
        };
        Ok(Keyring::new(primary, keys.collect())?)
    }

    /// Adds a fresh random key, not primary yet; returns its id.
    pub fn add_generated(&mut self) -> anyhow::Result<String> {
        let entry = fresh_entry()?;
        let id = entry.id.clone();
        self.keys.push(entry);
        Ok(id)
    }

    /// Makes the key `id` the one that seals.
    pub fn set_primary(&mut self, id: &str) -> anyhow::Result<()> {
        let Some(at) = self.keys.iter().position(|k| k.id == id) else {
            bail!("the key file holds no key {id}");
        };
        let entry = self.keys.remove(at);
        self.keys.insert(0, entry);
        self.primary = id.to_owned();
        Ok(())
    }

    /// Drops the key `id`, which must not be the primary.
    pub fn remove(&mut self, id: &str) -> anyhow::Result<()> {
        if id == self.primary {
            bail!("{id} is the primary key; rotate to another key before retiring it");
        }
        let before = self.keys.len();
        self.keys.retain(|k| k.id != id);
        if self.keys.len() == before {
            bail!("the key file holds no key {id}");
        }
        Ok(())
    }

    /// Replaces the file at `path` atomically (temporary file, fsync, rename, fsync of the
    /// folder), owner-only.
    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        let json = serde_json::to_string_pretty(&RingFile {
            primary: self.primary.clone(),
            keys: self.keys.clone(),
        })?;
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("key");
        let temp = dir.join(format!(
            ".{name}.{}.tmp",
            HEXLOWER.encode(&random_array::<4>()?)
        ));
        write_new(&temp, &json)?;
        if let Err(e) = fs::rename(&temp, path) {
            let _ = fs::remove_file(&temp);
            return Err(e).with_context(|| format!("replacing master key {}", path.display()));
        }
        fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .with_context(|| format!("syncing {}", dir.display()))?;
        Ok(())
    }
}

pub fn load(path: &Path) -> anyhow::Result<Keyring> {
    KeyFile::read(path)?.keyring()
}

pub fn load_or_generate(path: &Path) -> anyhow::Result<Keyring> {
    if !path.exists() {
        // On PostgreSQL nothing else has created the data dir yet.
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        if generate_shared(path)? {
            tracing::info!(path = %path.display(), "generated a new master key (dev mode)");
        }
    }
    load(path)
}

/// Dev mode's first start, safe when several nodes start at once on one key file: the key is
/// written to a file of this process's own and linked into place, so the file appears whole
/// or not at all, and a node that finds it there already (another node was first) uses that
/// one. `false` when another node was first.
fn generate_shared(path: &Path) -> anyhow::Result<bool> {
    let temp = path.with_extension(format!("{}.new", std::process::id()));
    let _ = fs::remove_file(&temp);
    generate(&temp)?;
    let linked = fs::hard_link(&temp, path);
    let _ = fs::remove_file(&temp);
    match linked {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e).with_context(|| format!("creating master key {}", path.display())),
    }
}

/// Writes a new random key to `path`, which must not exist yet.
pub fn generate(path: &Path) -> anyhow::Result<()> {
    let json = serde_json::to_string_pretty(&fresh_entry()?)?;
    write_new(path, &json)
}

fn fresh_entry() -> anyhow::Result<KeyEntry> {
    let key: [u8; 32] = random_array()?;
    Ok(KeyEntry {
        id: format!("mk-{}", HEXLOWER.encode(&random_array::<4>()?)),
        key: BASE64.encode(&key),
    })
}

/// Creates `path` (which must not exist) readable by the owner only, with `text`, synced.
fn write_new(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("creating master key {}", path.display()))?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    Ok(())
}
