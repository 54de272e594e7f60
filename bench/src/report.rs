//! The report: machine facts, the RS256 signing ceiling (`openssl speed rsa2048` sign/s ×
//! cores), one Markdown table per target and, when several targets ran, the ratio of
//! Tessera's throughput to each other target's per phase.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::phases::Kind;
use crate::runner::RunResult;
use crate::stats::Summary;

pub struct Machine {
    pub cores: usize,
    pub cpu_model: String,
    pub memory: String,
    pub kernel: String,
    /// `/proc/loadavg` when the bench started: other work on the machine skews the figures.
    pub load: String,
    pub date: String,
    pub commit: String,
}

impl Machine {
    pub async fn collect(workspace: &Path) -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .and_then(|l| l.split_once(':'))
            .map_or_else(|| "unknown".to_owned(), |(_, m)| m.trim().to_owned());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|kib| kib.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or_else(
                || "unknown".to_owned(),
                |kib| format!("{:.1} GiB", kib as f64 / 1024.0 / 1024.0),
            );
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map_or_else(|_| "unknown".to_owned(), |k| format!("Linux {}", k.trim()));
        let load = std::fs::read_to_string("/proc/loadavg")
            .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
            .unwrap_or_default();
        let commit = git(workspace, &["rev-parse", "--short=12", "HEAD"])
            .unwrap_or_else(|| "unknown".to_owned());
        let dirty = git(
            workspace,
            &["status", "--porcelain", "--untracked-files=no"],
        )
        .is_some_and(|s| !s.is_empty());
        Self {
            cores: std::thread::available_parallelism().map_or(1, usize::from),
            cpu_model,
            memory,
            kernel,
            load,
            date: utc_now(),
            commit: if dirty {
                format!("{commit} (with uncommitted changes in the tree)")
            } else {
                commit
            },
        }
    }
}

fn git(workspace: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(workspace)
        .args(args)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn utc_now() -> String {
    let seconds = crate::clock::since_epoch().as_secs();
    i64::try_from(seconds)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("{seconds} s after the epoch"))
}

/// RS256 signatures per second this machine can make: OpenSSL's single-core figure times cores.
pub struct Ceiling {
    pub per_core: f64,
    pub total: f64,
}

pub async fn rs256_ceiling(cores: usize) -> anyhow::Result<Ceiling> {
    eprintln!("measuring the RS256 ceiling: openssl speed -seconds 3 rsa2048 (about 6 s)");
    let out = tokio::task::spawn_blocking(|| {
        Command::new("openssl")
            .args(["speed", "-seconds", "3", "rsa2048"])
            .output()
    })
    .await?
    .context("running openssl (is it installed?)")?;
    if !out.status.success() {
        bail!(
            "openssl speed failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let per_core = parse_openssl_speed(&String::from_utf8_lossy(&out.stdout))?;
    Ok(Ceiling {
        per_core,
        total: per_core * cores as f64,
    })
}

/// The sign/s column of `rsa 2048 bits 0.000613s 0.000018s   1631.9  55291.0`.
fn parse_openssl_speed(stdout: &str) -> anyhow::Result<f64> {
    let line = stdout
        .lines()
        .find(|l| l.starts_with("rsa 2048 bits") || l.starts_with("rsa  2048 bits"))
        .context("no 'rsa 2048 bits' line in openssl's output")?;
    let fields: Vec<&str> = line.split_whitespace().collect();
    fields
        .get(5)
        .and_then(|f| f.parse().ok())
        .with_context(|| format!("no sign/s in {line:?}"))
}

pub struct Report {
    pub command: String,
    pub machine: Machine,
    pub ceiling: Result<Ceiling, String>,
    pub users: usize,
    pub concurrency: usize,
    /// Operations per user in the phases that only read.
    pub read_rounds: usize,
    pub runs: Vec<RunResult>,
}

impl Report {
    pub fn to_markdown(&self) -> String {
        let mut md = String::new();
        let m = &self.machine;
        let _ = writeln!(md, "Command: `{}`\n", self.command);
        let _ = writeln!(md, "| | |\n|---|---|");
        let _ = writeln!(md, "| date | {} |", m.date);
        let _ = writeln!(md, "| commit | {} |", m.commit);
        let _ = writeln!(md, "| CPU | {} × {} |", m.cores, m.cpu_model);
        let _ = writeln!(md, "| memory | {} |", m.memory);
        let _ = writeln!(md, "| kernel | {} |", m.kernel);
        let _ = writeln!(md, "| load average at start | {} |", m.load);
        let _ = writeln!(
            md,
            "| load | {} users, {} requests in flight, load generator on the same machine |",
            self.users, self.concurrency
        );
        let ceiling = match &self.ceiling {
            Ok(c) => format!(
                "{:.0} sign/s per core (`openssl speed -seconds 3 rsa2048`) × {} = **{:.0} sign/s**",
                c.per_core, m.cores, c.total
            ),
            Err(e) => format!("not measured: {e}"),
        };
        let _ = writeln!(md, "| RS256 ceiling | {ceiling} |\n");
        let _ = writeln!(
            md,
            "Each phase runs one request per user, all users, {} at a time (the phases that only \
             read, `accounts:lookup` and `ListHumanAuthFactors`, {} per user); `time` is the phase's \
             wall time, latencies include failed requests. `kind`: plain = neither mints a token \
             nor checks a password, token = mints an ID token, password = Argon2id. `peak RSS`: \
             the highest VmRSS sampled every 20 ms during the phase; `server CPU`, `bench CPU`, \
             `other CPU`: cores kept busy on average during the phase (of {}) by the server, the \
             load generator, and everything else (PostgreSQL; other work on the machine); \
             `stolen`: cores the hypervisor ran something else on while this machine wanted them \
             (steal time in `/proc/stat`; above a few hundredths the figures say more about the \
             host than about the server).\n",
            self.concurrency, self.read_rounds, m.cores
        );
        for run in &self.runs {
            self.run_table(&mut md, run);
        }
        if let Some((first, others)) = self.runs.split_first() {
            for other in others {
                comparison(&mut md, first, other);
            }
        }
        md
    }

    fn run_table(&self, md: &mut String, run: &RunResult) {
        let _ = writeln!(md, "### {}\n", run.label);
        for note in &run.notes {
            let _ = writeln!(md, "{note}  ");
        }
        let _ = writeln!(
            md,
            "RSS idle after start-up: {}; after the last phase: {}.\n",
            mib(run.idle_rss),
            mib(run.final_rss)
        );
        if let Some(seeded) = &run.seeded {
            let _ = writeln!(
                md,
                "Seeded before the phases: {} users with {} phone factors through \
                 `accounts:batchCreate` in {:.0} s ({:.0} users/s); peak RSS while seeding {}, \
                 RSS after seeding {}.\n",
                seeded.users,
                seeded.factors,
                seeded.wall.as_secs_f64(),
                seeded.users as f64 / seeded.wall.as_secs_f64(),
                mib(seeded.peak_rss),
                mib(seeded.rss_after)
            );
        }
        let _ = writeln!(
            md,
            "| phase | kind | ops | time s | ops/s | p50 ms | p99 ms | max ms | errors | peak RSS | server CPU | bench CPU | other CPU | stolen | of RS256 ceiling |"
        );
        let _ = writeln!(
            md,
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for phase in &run.phases {
            let Some(s) = &phase.summary else {
                let _ = writeln!(
                    md,
                    "| {} | {} | n/a | | | | | | | | | | | | |",
                    phase.name,
                    phase.kind.label()
                );
                continue;
            };
            let of_ceiling = match (&self.ceiling, phase.kind) {
                (Ok(c), Kind::Token) if run.signs_rs256 && c.total > 0.0 => {
                    format!("{:.0} %", s.ops_per_second() / c.total * 100.0)
                }
                _ => String::new(),
            };
            let _ = writeln!(
                md,
                "| {} | {} | {} | {:.2} | {:.0} | {} | {} | {} | {} | {} | {} | {:.2} | {:.2} | {:.2} | {} |",
                phase.name,
                phase.kind.label(),
                s.ops,
                s.wall.as_secs_f64(),
                s.ops_per_second(),
                ms(s.p50),
                ms(s.p99),
                ms(s.max),
                s.errors,
                mib(s.peak_rss),
                s.cpu
                    .server
                    .map_or_else(|| "—".to_owned(), |c| format!("{c:.2}")),
                s.cpu.bench,
                s.cpu.other,
                s.cpu.stolen,
                of_ceiling
            );
        }
        let errors: Vec<(&str, &Summary)> = run
            .phases
            .iter()
            .filter_map(|p| Some((p.name, p.summary.as_ref()?)))
            .filter(|(_, s)| s.errors > 0)
            .collect();
        if !errors.is_empty() {
            let _ = writeln!(md, "\nFirst error of each failing phase:\n");
            for (name, s) in errors {
                let first = s.first_error.as_deref().unwrap_or("");
                let _ = writeln!(md, "- {name} ({} errors): `{first}`", s.errors);
            }
        }
        let _ = writeln!(md);
    }
}

/// Throughput and p99 of `a` beside `b`, with `a`'s ops/s as a multiple of `b`'s.
fn comparison(md: &mut String, a: &RunResult, b: &RunResult) {
    let _ = writeln!(md, "### {} ÷ {}\n", a.label, b.label);
    let _ = writeln!(
        md,
        "| phase | {a} ops/s | {b} ops/s | ratio | {a} p99 ms | {b} p99 ms |",
        a = a.label,
        b = b.label
    );
    let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|");
    for phase in &a.phases {
        let (x, y) = (a.phase(phase.name), b.phase(phase.name));
        let ops = |s: Option<&Summary>| {
            s.map_or("n/a".to_owned(), |s| format!("{:.0}", s.ops_per_second()))
        };
        let p99 = |s: Option<&Summary>| s.map_or("n/a".to_owned(), |s| ms(s.p99));
        let ratio = match (x, y) {
            (Some(x), Some(y)) if y.ops_per_second() > 0.0 => {
                format!("{:.1}×", x.ops_per_second() / y.ops_per_second())
            }
            _ => "n/a".to_owned(),
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {ratio} | {} | {} |",
            phase.name,
            ops(x),
            ops(y),
            p99(x),
            p99(y)
        );
    }
    let _ = writeln!(md);
}

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1e3;
    if ms < 10.0 {
        format!("{ms:.2}")
    } else {
        format!("{ms:.1}")
    }
}

fn mib(bytes: Option<u64>) -> String {
    bytes.map_or_else(
        || "—".to_owned(),
        |b| format!("{:.1} MiB", b as f64 / 1024.0 / 1024.0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_openssl_3_speed_output() -> anyhow::Result<()> {
        let out = "Doing 2048 bits private rsa's for 3s: 4896 2048 bits private RSA's in 2.99s\n\
                   version: 3.0.19\n                  sign    verify    sign/s verify/s\n\
                   rsa 2048 bits 0.000611s 0.000018s   1637.5  55391.2\n";
        assert_eq!(parse_openssl_speed(out)?, 1637.5);
        Ok(())
    }
}
