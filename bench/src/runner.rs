//! Runs the phases against one target: a fixed pool of C tasks pulls the next user from a
//! shared counter and runs the phase's operation for it, so C requests are in flight until
//! the users run out. A phase ends when every user is done; its wall time runs from the first
//! request to the last answer (reading the outbox beforehand is not counted).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use tokio::sync::Mutex;
use tokio::task::JoinSet;

use crate::cli::Args;
use crate::client::Client;
use crate::clock;
use crate::cpu::CpuMeter;
use crate::phases::{self, Kind, Phase, User};
use crate::rss::RssSampler;
use crate::seed::{self, Seeded};
use crate::stats::{self, Samples, Summary};
use crate::target::Target;

/// One phase's row: `None` when the target does not serve it (n/a).
pub struct PhaseResult {
    pub name: &'static str,
    pub kind: Kind,
    pub summary: Option<Summary>,
}

/// Everything measured on one target.
pub struct RunResult {
    pub label: String,
    pub notes: Vec<String>,
    pub idle_rss: Option<u64>,
    pub seeded: Option<Seeded>,
    pub final_rss: Option<u64>,
    pub signs_rs256: bool,
    pub phases: Vec<PhaseResult>,
}

impl RunResult {
    pub fn phase(&self, name: &str) -> Option<&Summary> {
        self.phases
            .iter()
            .find(|p| p.name == name)
            .and_then(|p| p.summary.as_ref())
    }
}

pub async fn run_all(args: &Args, target: Target) -> anyhow::Result<RunResult> {
    let client = Arc::new(Client::new(&target, args.grpc_channels).await?);
    // Names unique to this run, so a server that has seen earlier runs still accepts sign-ups.
    let run = format!("{:x}", crate::clock::since_epoch().as_millis());
    let users: Arc<[Mutex<User>]> = (0..args.users)
        .map(|i| Mutex::new(User::new(&run, i)))
        .collect();
    let seeded = if args.seed_users > 0 && target.seedable {
        let seeded = seed::seed(&client, &target, args.seed_users, args.concurrency).await?;
        eprintln!(
            "{:<22} seeded {} users with {} factors in {:.0} s",
            target.label,
            seeded.users,
            seeded.factors,
            seeded.wall.as_secs_f64()
        );
        Some(seeded)
    } else {
        None
    };
    let mut results = Vec::new();
    for phase in phases::all() {
        let (name, kind) = (phase.name, phase.kind);
        let summary = if target.supports(phase.needs) {
            let phase = Arc::new(phase);
            let rounds = if phase.read_only {
                args.read_rounds.max(1)
            } else {
                1
            };
            let summary = run_phase(
                &phase,
                &client,
                &users,
                rounds,
                args.concurrency,
                &target,
                args.slow_log.as_deref(),
            )
            .await?;
            eprintln!(
                "{:<22} {:<52} {:>8.0} ops/s  p99 {:>7.1} ms  errors {}",
                target.label,
                name,
                summary.ops_per_second(),
                summary.p99.as_secs_f64() * 1e3,
                summary.errors
            );
            Some(summary)
        } else {
            None
        };
        results.push(PhaseResult {
            name,
            kind,
            summary,
        });
    }
    let result = RunResult {
        label: target.label.clone(),
        notes: target.notes.clone(),
        idle_rss: target.idle_rss,
        seeded,
        final_rss: target.rss.as_ref().map(RssSampler::now),
        signs_rs256: target.signs_rs256,
        phases: results,
    };
    target.shut_down().await?;
    Ok(result)
}

async fn run_phase(
    phase: &Arc<Phase>,
    client: &Arc<Client>,
    users: &Arc<[Mutex<User>]>,
    rounds: usize,
    concurrency: usize,
    target: &Target,
    slow_log: Option<&Path>,
) -> anyhow::Result<Summary> {
    let ops = users.len() * rounds;
    if phase.reads_outbox {
        client.fetch_codes().await?;
    }
    let rss = target.rss.as_ref();
    if let Some(rss) = rss {
        rss.reset_peak();
    }
    let cpu = CpuMeter::start(&target.pids);
    let next = Arc::new(AtomicUsize::new(0));
    let started_unix = clock::since_epoch();
    let started = Instant::now();
    let mut pool = JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let (phase, client, users, next) = (
            Arc::clone(phase),
            Arc::clone(client),
            Arc::clone(users),
            Arc::clone(&next),
        );
        pool.spawn(async move {
            let mut samples = Samples::default();
            loop {
                let op = next.fetch_add(1, Ordering::Relaxed);
                if op >= ops {
                    break;
                }
                // A user is taken by one task per round, and rounds are a whole pass over the
                // users apart: the lock is practically never contended.
                let mut user = users[op % users.len()].lock().await;
                let sent = Instant::now();
                let outcome = phase.run(&client, &mut user).await;
                samples.record(sent, sent.elapsed(), outcome);
            }
            samples
        });
    }
    let mut samples = Samples::default();
    while let Some(task) = pool.join_next().await {
        samples.merge(task?);
    }
    let wall = started.elapsed();
    let cores = cpu.cores_busy(&target.pids);
    if let Some(path) = slow_log {
        let anchor = (started_unix, started);
        stats::append_slow_log(path, &target.label, phase.name, anchor, &samples.slow)?;
    }
    Ok(Summary::new(
        samples,
        wall,
        rss.map(RssSampler::peak),
        cores,
    ))
}
