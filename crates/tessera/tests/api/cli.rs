//! The `tessera` binary itself: `--help`, `migrate`, `admin`, and `serve` stopping cleanly
//! on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_tessera");

fn tessera(dir: &std::path::Path) -> Command {
    let mut command = Command::new(BIN);
    command
        .env_remove("TESSERA_DATABASE_URL")
        .env("TESSERA_DATA_DIR", dir)
        .env("RUST_LOG", "info");
    command
}

#[test]
fn help_names_the_commands_and_flags() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for word in ["serve", "migrate", "admin"] {
        assert!(text.contains(word), "{text}");
    }
    let out = Command::new(BIN)
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--listen",
        "--data-dir",
        "--database-url",
        "--config",
        "--master-key-file",
        "--mode",
        "TESSERA_LISTEN",
    ] {
        assert!(text.contains(flag), "{flag} missing: {text}");
    }
}

/// Runs `tessera admin ARGS…` and returns its one line of output.
fn admin(dir: &std::path::Path, args: &[&str]) -> String {
    let out = tessera(dir).arg("admin").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn migrate_and_admin_commands() {
    let dir = tempfile::tempdir().unwrap();
    let out = tessera(dir.path()).arg("migrate").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("tessera.db").exists());
    let out = tessera(dir.path())
        .args(["admin", "create-project", "cli-project"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // However much it logs, the command prints the key alone, for a script to capture.
    let out = tessera(dir.path())
        .args(["admin", "create-api-key", "cli-project"])
        .env("RUST_LOG", "debug")
        .output()
        .unwrap();
    let key = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        key.starts_with("tk_") && key.trim().len() > 40 && key.lines().count() == 1,
        "{key}"
    );
    assert!(!out.stderr.is_empty());
    let org = admin(
        dir.path(),
        &["create-org", "Acme", "--project", "cli-project"],
    );
    assert!(
        org.len() == 18 && org.bytes().all(|b| b.is_ascii_digit()),
        "{org}"
    );
    let machine = admin(
        dir.path(),
        &[
            "create-machine-user",
            &org,
            "ci-bot",
            "--role",
            "ORG_USER_MANAGER",
        ],
    );
    let pat = admin(dir.path(), &["create-pat", &machine]);
    assert!(pat.len() >= 43, "{pat}");
    let user = admin(
        dir.path(),
        &[
            "create-user",
            &org,
            "--email",
            "ada@example.com",
            "--email-verified",
        ],
    );
    assert_ne!(user, machine);
    let set = admin(
        dir.path(),
        &[
            "set-webauthn",
            &org,
            "--rp-id",
            "login.example.com",
            "--origin",
            "https://login.example.com",
        ],
    );
    assert_eq!(
        set,
        "relying party login.example.com for https://login.example.com"
    );
    let out = tessera(dir.path())
        .args([
            "admin",
            "create-machine-user",
            &org,
            "ci-bot2",
            "--role",
            "KING",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("IAM_OWNER"));
    let out = tessera(dir.path())
        .args(["admin", "create-api-key", "no-such-project"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let db = std::fs::read(dir.path().join("tessera.db")).unwrap();
    for secret in [&key, &pat] {
        assert!(
            !db.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "secrets are stored only hashed"
        );
    }
}

#[test]
fn serve_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = tessera(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut listening = None;
    for line in BufReader::new(stderr).lines() {
        let line = line.unwrap();
        if line.contains("tessera listening") {
            listening = Some(line);
            break;
        }
    }
    assert!(listening.is_some(), "server never reported its address");
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(exit) = child.try_wait().unwrap() {
            assert!(exit.success(), "exit status {exit}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "did not stop after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `serve` with `request_cpus` set, until it listens; then where each of its threads may run,
/// by thread name, read from `/proc`, and the server stopped.
fn thread_cpus(request_cpus: &str) -> Vec<(String, String)> {
    let dir = tempfile::tempdir().unwrap();
    let mut child = tessera(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("TESSERA_REQUEST_CPUS", request_cpus)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let listening = BufReader::new(stderr)
        .lines()
        .map_while(Result::ok)
        .any(|line| line.contains("tessera listening"));
    assert!(listening, "server never reported its address");
    let tasks = format!("/proc/{}/task", child.id());
    let mut threads = Vec::new();
    for task in std::fs::read_dir(tasks).unwrap() {
        let task = task.unwrap().path();
        let name = std::fs::read_to_string(task.join("comm")).unwrap();
        threads.push((name.trim().to_owned(), allowed_cpus(&task.join("status"))));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    threads
}

/// The `Cpus_allowed_list` of a `/proc` status file, such as `0-1`.
fn allowed_cpus(status: &std::path::Path) -> String {
    let status = std::fs::read_to_string(status).unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with("Cpus_allowed_list:"))
        .unwrap();
    line["Cpus_allowed_list:".len()..].trim().to_owned()
}

#[test]
fn serve_runs_its_request_path_on_one_cpu_when_asked_and_hashes_on_all() {
    let given = allowed_cpus("/proc/self/status".as_ref());
    let first = given.split(['-', ',']).next().unwrap().to_owned();
    let threads = thread_cpus("one");
    let names: Vec<&str> = threads.iter().map(|(name, _)| name.as_str()).collect();
    // SQLite's connections run on the threads of the tasks that use them.
    assert!(
        !names.iter().any(|n| n.starts_with("sqlx-sqlite")),
        "{names:?}"
    );
    assert!(names.iter().any(|n| n.starts_with("argon2")), "{names:?}");
    for (name, cpus) in &threads {
        if name.starts_with("argon2") {
            assert_eq!(cpus, &given, "{name} computes anywhere");
        } else {
            assert_eq!(cpus, &first, "{name} is on the request path");
        }
    }
    for (name, cpus) in thread_cpus("all") {
        assert_eq!(cpus, given, "{name} runs anywhere");
    }
}

#[test]
fn serve_split_runs_writes_on_one_cpu_and_the_rest_anywhere() {
    let given = allowed_cpus("/proc/self/status".as_ref());
    let first = given.split(['-', ',']).next().unwrap().to_owned();
    let threads = thread_cpus("split");
    assert!(
        threads
            .iter()
            .any(|(name, cpus)| name.starts_with("tessera-writes") && cpus == &first),
        "{threads:?}"
    );
    if given == first {
        return; // one CPU: nothing else to tell apart
    }
    for (name, cpus) in &threads {
        if !name.starts_with("tessera-writes") {
            assert_eq!(cpus, &given, "{name} runs anywhere");
        }
    }
}
