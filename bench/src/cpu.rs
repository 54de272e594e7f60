//! CPU time from `/proc/<pid>/stat` (user + system, all threads): each phase reports how many
//! cores the server and the bench itself kept busy, which shows on a small machine whether the
//! load generator or the server was the limit.

use std::time::Instant;

/// Clock ticks per second of `/proc/*/stat` times (`USER_HZ`, 100 on Linux on every
/// architecture the bench runs on).
const TICKS_PER_SECOND: f64 = 100.0;

/// CPU seconds used so far by `pid`.
fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) state ppid …": utime and stime are fields 14 and 15, i.e. the 12th and
    // 13th after the parenthesised command name.
    let fields: Vec<&str> = stat[stat.rfind(')')? + 1..].split_whitespace().collect();
    let user: f64 = fields.get(11)?.parse().ok()?;
    let system: f64 = fields.get(12)?.parse().ok()?;
    Some((user + system) / TICKS_PER_SECOND)
}

fn total(pids: &[u32]) -> f64 {
    pids.iter()
        .filter_map(|pid| cpu_seconds(&pid.to_string()))
        .sum()
}

/// CPU use between `start` and `cores_busy`.
pub struct CpuMeter {
    started: Instant,
    server: f64,
    bench: f64,
}

/// Cores kept busy on average: the server's (if its pids are known) and the bench's own.
#[derive(Debug, Clone, Copy)]
pub struct CoresBusy {
    pub server: Option<f64>,
    pub bench: f64,
}

impl CpuMeter {
    pub fn start(server_pids: &[u32]) -> Self {
        Self {
            started: Instant::now(),
            server: total(server_pids),
            bench: cpu_seconds("self").unwrap_or_default(),
        }
    }

    pub fn cores_busy(&self, server_pids: &[u32]) -> CoresBusy {
        let seconds = self.started.elapsed().as_secs_f64().max(f64::EPSILON);
        let bench = cpu_seconds("self").unwrap_or_default() - self.bench;
        CoresBusy {
            server: (!server_pids.is_empty()).then(|| (total(server_pids) - self.server) / seconds),
            bench: bench / seconds,
        }
    }
}
