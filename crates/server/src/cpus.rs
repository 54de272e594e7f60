//! Which CPUs the server's threads run on.
//!
//! While sqlx ran SQLite's connections on threads of their own, a request's path handed work
//! back and forth between threads several times per statement, and on some virtual machines
//! waking a thread on another, idle vCPU costs tens of microseconds, against a few for a
//! thread on the same CPU (`BENCHMARKS.md`, third session). So the request path can be
//! confined to one CPU, while the threads that compute (Argon2, RS256 signatures) keep every
//! CPU the process was given, and for five sessions the default on two CPUs confined the
//! requests that write, with SQLite's writer (`Placement::WritesOnOneCpu`). Since SQLite's
//! connections run on the request's own thread (tenth session) few hand-offs are left, and
//! writes are faster on both CPUs too, so the default is now to confine nothing.

use std::cell::Cell;
use std::sync::OnceLock;

use rustix::thread::{CpuSet, sched_getaffinity, sched_setaffinity};
use serde::{Deserialize, Serialize};

/// Where the request path runs (configuration `request_cpus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RequestCpus {
    /// `all`, measured best on two CPUs since SQLite runs in place (tenth session); it was
    /// `split` on SQLite with two CPUs before.
    #[default]
    Auto,
    /// The request path on the first CPU; hashing and signing on all of them.
    One,
    /// Requests that write, with SQLite's writer, on the first CPU; the rest of the request
    /// path, hashing and signing on all of them. Only SQLite has the one writer this is for;
    /// on PostgreSQL it is `all`.
    Split,
    /// Every thread on any CPU.
    All,
}

/// What `RequestCpus` comes to on a given machine and store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    Anywhere,
    /// The whole request path on the first CPU.
    OneCpu,
    /// Requests that write on a runtime of their own on the first CPU (`writes_runtime`).
    WritesOnOneCpu,
}

impl RequestCpus {
    /// Where threads go, given the CPUs the process has and whether the store is SQLite.
    pub fn placement(self, given: usize, sqlite: bool) -> Placement {
        match self {
            RequestCpus::Split if sqlite && given > 1 => Placement::WritesOnOneCpu,
            RequestCpus::One if given > 1 => Placement::OneCpu,
            _ => Placement::Anywhere,
        }
    }
}

/// The runtime that requests that write run on under `Placement::WritesOnOneCpu`: one worker
/// on the first CPU, which runs SQLite's writer and its committer, and where the reader
/// connections of the requests on it are started, so that a write's hand-offs stay on one CPU
/// while reads use every CPU.
pub fn writes_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("tessera-writes")
        .on_thread_start(|| {
            if let Err(e) = confine_to_first_cpu() {
                tracing::warn!(error = %e, "cannot place the writes runtime on one CPU");
            }
        })
        .enable_all()
        .build()
}

/// The CPUs the process was given, saved before the request path was confined.
static GIVEN: OnceLock<CpuSet> = OnceLock::new();

/// Confines the calling thread, and every thread it starts from now on, to the first CPU the
/// process was given. Call it before starting the async runtime, so that its threads, and
/// the threads they start, inherit it.
pub fn confine_to_first_cpu() -> std::io::Result<()> {
    let given = sched_getaffinity(None)?;
    let Some(first) = (0..CpuSet::MAX_CPU).find(|&cpu| given.is_set(cpu)) else {
        return Ok(());
    };
    let mut one = CpuSet::new();
    one.set(first);
    sched_setaffinity(None, &one)?;
    let _ = GIVEN.set(given);
    Ok(())
}

thread_local! {
    static WIDENED: Cell<bool> = const { Cell::new(false) };
}

/// Lets the calling thread run on every CPU the process was given, for work that computes
/// rather than waits. Nothing to do unless the request path was confined.
pub fn compute_anywhere() {
    let Some(given) = GIVEN.get() else {
        return;
    };
    if WIDENED.get() {
        return;
    }
    match sched_setaffinity(None, given) {
        Ok(()) => WIDENED.set(true),
        Err(e) => tracing::warn!(error = %e, "cannot widen a compute thread's CPUs"),
    }
}

/// How many CPUs the process was given: more than `available_parallelism` reports once the
/// request path is confined.
pub fn given() -> usize {
    match GIVEN.get() {
        Some(given) => given.count() as usize,
        None => std::thread::available_parallelism().map_or(1, usize::from),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_confines_nothing_and_split_only_sqlite() {
        use Placement::*;
        assert_eq!(RequestCpus::Auto.placement(2, true), Anywhere);
        assert_eq!(RequestCpus::Auto.placement(2, false), Anywhere);
        assert_eq!(RequestCpus::Split.placement(2, true), WritesOnOneCpu);
        assert_eq!(RequestCpus::Split.placement(8, true), WritesOnOneCpu);
        assert_eq!(RequestCpus::Split.placement(8, false), Anywhere);
        assert_eq!(RequestCpus::One.placement(8, false), OneCpu);
        assert_eq!(RequestCpus::One.placement(1, true), Anywhere);
        assert_eq!(RequestCpus::All.placement(2, true), Anywhere);
    }
}
