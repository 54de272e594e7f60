//! The Firebase Auth emulator (npm `firebase-tools`, pinned in `bench/emulator`), started the
//! way its users start it — `firebase emulators:start --only auth --project demo-bench`, no
//! login for a `demo-` project — bound to 127.0.0.1 on free ports: `bench/emulator/firebase.json`
//! is copied into a temporary directory with the ports replaced. It keeps everything in
//! memory, serves no TOTP second factors and no ZITADEL API; phone MFA is switched on through
//! its admin config call before the run.

use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::cli::Args;
use crate::client::Client;
use crate::process::{Process, free_port};
use crate::rss::process_tree;
use crate::target::Target;

const PROJECT: &str = "demo-bench";

pub async fn start(args: &Args) -> anyhow::Result<Target> {
    let dir = args.workspace.join("bench").join("emulator");
    let firebase = dir.join("node_modules/firebase-tools/lib/bin/firebase.js");
    if !firebase.exists() {
        bail!(
            "{} is missing: run `npm ci` in {} first",
            firebase.display(),
            dir.display()
        );
    }
    let scratch = tempfile::Builder::new()
        .prefix("tessera-bench-emulator-")
        .tempdir()?;
    let port = free_port()?;
    let mut config: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("firebase.json")).context("reading firebase.json")?,
    )?;
    for (emulator, port) in [
        ("auth", port),
        ("hub", free_port()?),
        ("logging", free_port()?),
    ] {
        config["emulators"][emulator]["port"] = json!(port);
    }
    let config_file = scratch.path().join("firebase.json");
    std::fs::write(&config_file, serde_json::to_vec_pretty(&config)?)?;

    let mut command = Command::new("node");
    command
        .arg(&firebase)
        .args(["emulators:start", "--only", "auth", "--project", PROJECT])
        .arg("--config")
        .arg(&config_file)
        .current_dir(scratch.path())
        .env("NO_UPDATE_NOTIFIER", "1")
        .env("CI", "1");
    let log = scratch.path().join("emulator.log");
    eprintln!("emulator log (removed at the end): {}", log.display());
    let mut process = Process::spawn("the Firebase Auth emulator", command, &log)?;
    let base = format!("http://127.0.0.1:{port}");
    process
        .wait_ready(&base, "/", Duration::from_secs(120))
        .await?;
    let version = std::fs::read_to_string(dir.join("node_modules/firebase-tools/package.json"))
        .ok()
        .and_then(|p| serde_json::from_str::<Value>(&p).ok())
        .and_then(|p| p["version"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned());
    let node = Command::new("node")
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let pid = process.pid();
    let mut target = Target {
        label: "Firebase emulator".to_owned(),
        base,
        project: PROJECT.to_owned(),
        pat: None,
        totp: false,
        seedable: false,
        signs_rs256: false,
        notes: vec![
            format!(
                "firebase-tools {version} on Node.js {node}: `firebase emulators:start --only auth --project {PROJECT}` \
                 (in memory; ID tokens unsigned, `alg: none`; TOTP MFA and the ZITADEL API do not exist there: n/a)"
            ),
            "RSS: the emulator's Node.js process and its children".to_owned(),
        ],
        pids: Vec::new(),
        rss: None,
        idle_rss: None,
        process: Some(process),
        _scratch: Some(scratch),
    };
    enable_phone_mfa(&target).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    target.watch(process_tree(pid));
    Ok(target)
}

/// Phone MFA on for the project, as an administrator (`Bearer owner`) would switch it on.
async fn enable_phone_mfa(target: &Target) -> anyhow::Result<()> {
    let client = Client::new(target, 0).await?;
    client
        .patch_config(
            "mfa",
            &json!({"mfa": {"state": "ENABLED", "enabledProviders": ["PHONE_SMS"]}}),
        )
        .await
        .context("enabling phone MFA in the emulator")?;
    Ok(())
}
