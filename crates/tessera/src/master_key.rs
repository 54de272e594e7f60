//! The master key file: `{"id": "...", "key": "<base64 of 32 bytes>"}`, readable by the
//! owner only. Dev mode creates one on first start; production refuses to run without one
//! named explicitly, because a generated key next to the data would protect nothing.

use std::fs;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};
use data_encoding::{BASE64, HEXLOWER};
use serde::{Deserialize, Serialize};
use tessera_server::crypto::{MasterKey, random_array};

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    id: String,
    key: String,
}

pub fn load(path: &Path) -> anyhow::Result<MasterKey> {
    let text = fs::read_to_string(path)
        .with_context(|| format!("reading master key {}", path.display()))?;
    let file: KeyFile = serde_json::from_str(&text)
        .with_context(|| format!("parsing master key {}", path.display()))?;
    let bytes = BASE64
        .decode(file.key.trim().as_bytes())
        .context("master key is not base64")?;
    if bytes.len() != 32 {
        bail!(
            "master key {} must hold 32 bytes, found {}",
            path.display(),
            bytes.len()
        );
    }
    Ok(MasterKey::new(file.id, &bytes)?)
}

pub fn load_or_generate(path: &Path) -> anyhow::Result<MasterKey> {
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
    let key: [u8; 32] = random_array()?;
    let id = format!("mk-{}", HEXLOWER.encode(&random_array::<4>()?));
    let json = serde_json::to_string_pretty(&KeyFile {
        id,
        key: BASE64.encode(&key),
    })?;
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("creating master key {}", path.display()))?;
    file.write_all(json.as_bytes())?;
    file.sync_all()?;
    Ok(())
}
