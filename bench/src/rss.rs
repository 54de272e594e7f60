//! The server's resident set size: a background task reads `VmRSS` from `/proc/<pid>/status`
//! every 20 ms and keeps the peak since the last `reset_peak`, so each phase reports the
//! highest RSS seen while it ran. A target that is a process tree (the emulator's Node
//! process and any children) is summed over the pids found at start-up.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::task::JoinHandle;

const EVERY: Duration = Duration::from_millis(20);

pub struct RssSampler {
    pids: Vec<u32>,
    peak: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

impl RssSampler {
    pub fn start(pids: Vec<u32>) -> Self {
        let peak = Arc::new(AtomicU64::new(rss_bytes(&pids)));
        let task = tokio::spawn({
            let pids = pids.clone();
            let peak = Arc::clone(&peak);
            async move {
                loop {
                    peak.fetch_max(rss_bytes(&pids), Ordering::Relaxed);
                    tokio::time::sleep(EVERY).await;
                }
            }
        });
        Self { pids, peak, task }
    }

    /// The RSS right now, in bytes.
    pub fn now(&self) -> u64 {
        rss_bytes(&self.pids)
    }

    /// Starts a new peak from the current RSS.
    pub fn reset_peak(&self) {
        self.peak.store(self.now(), Ordering::Relaxed);
    }

    /// The highest RSS since the last reset (including the current one), in bytes.
    pub fn peak(&self) -> u64 {
        let now = self.now();
        self.peak.fetch_max(now, Ordering::Relaxed).max(now)
    }
}

impl Drop for RssSampler {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The summed `VmRSS` of `pids` (a process that has gone counts 0).
fn rss_bytes(pids: &[u32]) -> u64 {
    pids.iter()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/status")).ok())
        .filter_map(|status| {
            let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
            let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kib * 1024)
        })
        .sum()
}

/// `root` and all its descendants, from the parent pids in `/proc/*/stat`.
pub fn process_tree(root: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            // "pid (comm) state ppid …"; comm may hold spaces and parentheses.
            let after_comm = &stat[stat.rfind(')')? + 1..];
            let ppid: u32 = after_comm.split_whitespace().nth(1)?.parse().ok()?;
            Some((pid, ppid))
        })
        .collect();
    let mut tree = vec![root];
    let mut i = 0;
    while let Some(&parent) = tree.get(i) {
        tree.extend(
            parents
                .iter()
                .filter(|(_, ppid)| *ppid == parent)
                .map(|(pid, _)| pid),
        );
        i += 1;
    }
    tree
}
