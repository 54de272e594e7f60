//! The Tessera target: `tessera serve` in dev mode on a free port with a fresh temporary data
//! dir (SQLite there, or the `--database-url` given), ready when `/readyz` answers; or a
//! server someone else started (`--target`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::cli::Args;
use crate::process::{Process, free_port};
use crate::target::Target;

/// The server binary to start: `--tessera-bin`, or `target/release/tessera` freshly built
/// (`None` with `--target`). Called before anything is measured, so the build does not
/// compete with the measurements.
pub fn binary(args: &Args) -> anyhow::Result<Option<PathBuf>> {
    match (&args.target, &args.tessera_bin) {
        (Some(_), _) => Ok(None),
        (None, Some(bin)) => Ok(Some(bin.clone())),
        (None, None) => build(&args.workspace).map(Some),
    }
}

/// Starts `bin` (from `binary`), or connects to `--target` when `bin` is `None`.
pub async fn start(args: &Args, bin: Option<&Path>) -> anyhow::Result<Target> {
    match (&args.target, bin) {
        (Some(url), _) => external(args, url),
        (None, Some(bin)) => spawn(args, bin).await,
        (None, None) => bail!("no server binary and no --target"),
    }
}

/// Production's abuse limits with counts no run reaches (`--limits`): every limit on, none
/// ever refusing.
const LIMITS: &[(&str, &str)] = &[
    ("TESSERA_LIMITS__PER_DESTINATION__COUNT", "100000000"),
    ("TESSERA_LIMITS__PER_COUNTRY__COUNT", "100000000"),
    ("TESSERA_LIMITS__PER_IP__COUNT", "100000000"),
    ("TESSERA_LIMITS__PER_REALM__COUNT", "100000000"),
    ("TESSERA_FAILURE_LIMITS__PER_USER__COUNT", "100000000"),
    ("TESSERA_FAILURE_LIMITS__PER_IP__COUNT", "100000000"),
];

async fn spawn(args: &Args, bin: &Path) -> anyhow::Result<Target> {
    let scratch = tempfile::Builder::new()
        .prefix("tessera-bench-")
        .tempdir()?;
    let data_dir = scratch.path().join("data");
    // `tessera serve` creates a missing data dir only on SQLite (where the database file goes);
    // with --database-url postgres://… it fails writing the master key, so create it here.
    std::fs::create_dir_all(&data_dir)?;
    let listen = format!("127.0.0.1:{}", free_port()?);
    let mut command = Command::new(bin);
    command
        .args(["serve", "--mode", "dev", "--listen", &listen])
        .arg("--data-dir")
        .arg(&data_dir);
    if let Some(url) = &args.database_url {
        command.args(["--database-url", url]);
    }
    command.env("TESSERA_TOKEN_ALGORITHM", &args.token_algorithm);
    let limits = if args.limits { LIMITS } else { &[] };
    command.envs(limits.iter().copied());
    let log = scratch.path().join("tessera.log");
    eprintln!("tessera log (removed at the end): {}", log.display());
    let mut process = Process::spawn("tessera", command, &log)?;
    let base = format!("http://{listen}");
    process
        .wait_ready(&base, "/readyz", Duration::from_secs(60))
        .await?;
    let pat = std::fs::read_to_string(data_dir.join("admin.pat"))
        .context("reading the dev admin PAT")?
        .trim()
        .to_owned();
    let engine = match &args.database_url {
        Some(_) => "PostgreSQL",
        None => "SQLite",
    };
    let pid = process.pid();
    let mut target = Target {
        label: format!(
            "Tessera ({engine}, {}{})",
            args.token_algorithm,
            if args.limits { ", limits" } else { "" }
        ),
        base,
        project: args.project.clone(),
        pat: Some(pat),
        totp: true,
        seedable: true,
        signs_rs256: args.token_algorithm == "RS256",
        notes: vec![format!(
            "`{}TESSERA_TOKEN_ALGORITHM={} {} serve --mode dev --listen {listen} --data-dir <fresh temp dir>{}`",
            limits
                .iter()
                .map(|(name, value)| format!("{name}={value} "))
                .collect::<String>(),
            args.token_algorithm,
            bin.display(),
            args.database_url
                .as_deref()
                .map(|url| format!(" --database-url {}", redact(url)))
                .unwrap_or_default(),
        )],
        pids: Vec::new(),
        rss: None,
        idle_rss: None,
        process: Some(process),
        _scratch: Some(scratch),
    };
    // Let start-up work (migrations, key generation) settle before the idle reading.
    tokio::time::sleep(Duration::from_millis(500)).await;
    target.watch(vec![pid]);
    Ok(target)
}

fn external(args: &Args, url: &str) -> anyhow::Result<Target> {
    let pat = match &args.pat_file {
        Some(file) => Some(
            std::fs::read_to_string(file)
                .with_context(|| format!("reading {}", file.display()))?
                .trim()
                .to_owned(),
        ),
        None => None,
    };
    let mut target = Target {
        label: format!("Tessera at {url}"),
        base: url.trim_end_matches('/').to_owned(),
        project: args.project.clone(),
        pat,
        totp: true,
        seedable: true,
        signs_rs256: true,
        notes: vec![format!("an already running server at {url}")],
        pids: Vec::new(),
        rss: None,
        idle_rss: None,
        process: None,
        _scratch: None,
    };
    if let Some(pid) = args.server_pid {
        target.watch(vec![pid]);
    }
    Ok(target)
}

/// `cargo build --release -p tessera`, so the bench never measures a stale binary.
fn build(workspace: &Path) -> anyhow::Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    eprintln!("building the server: cargo build --release -p tessera");
    let status = Command::new(cargo)
        .args(["build", "--release", "-p", "tessera"])
        .current_dir(workspace)
        .status()
        .context("running cargo build")?;
    if !status.success() {
        bail!("cargo build --release -p tessera failed ({status})");
    }
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target"));
    Ok(target_dir.join("release").join("tessera"))
}

/// A database URL without its password.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if scheme + 3 < at => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}
