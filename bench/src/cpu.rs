//! CPU time from `/proc/<pid>/stat` (user + system, all threads) and `/proc/stat`: each phase
//! reports how many cores the server, the bench itself and everything else (PostgreSQL, other
//! work on the machine) kept busy, which shows on a small machine what the limit was.

use std::time::Instant;

/// Clock ticks per second of `/proc/*/stat` times (`USER_HZ`, 100 on Linux on every
/// architecture the bench runs on).
const TICKS_PER_SECOND: f64 = 100.0;

/// CPU seconds used so far by `pid` (`self` for the bench).
pub fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) state ppid …": utime and stime are fields 14 and 15, i.e. the 12th and
    // 13th after the parenthesised command name.
    let fields: Vec<&str> = stat[stat.rfind(')')? + 1..].split_whitespace().collect();
    let user: f64 = fields.get(11)?.parse().ok()?;
    let system: f64 = fields.get(12)?.parse().ok()?;
    Some((user + system) / TICKS_PER_SECOND)
}

/// CPU seconds the whole machine has been busy (all but idle and iowait).
fn machine_busy_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = stat.lines().find(|l| l.starts_with("cpu ")) else {
        return 0.0;
    };
    let ticks: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|t| t.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    let busy: f64 = ticks
        .iter()
        .take(8)
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4)
        .map(|(_, t)| t)
        .sum();
    busy / TICKS_PER_SECOND
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
    machine: f64,
}

/// Cores kept busy on average: the server's (if its pids are known), the bench's own, and
/// the rest of the machine's.
#[derive(Debug, Clone, Copy)]
pub struct CoresBusy {
    pub server: Option<f64>,
    pub bench: f64,
    pub other: f64,
}

impl CpuMeter {
    pub fn start(server_pids: &[u32]) -> Self {
        Self {
            started: Instant::now(),
            server: total(server_pids),
            bench: cpu_seconds("self").unwrap_or_default(),
            machine: machine_busy_seconds(),
        }
    }

    pub fn cores_busy(&self, server_pids: &[u32]) -> CoresBusy {
        let seconds = self.started.elapsed().as_secs_f64().max(f64::EPSILON);
        let bench = cpu_seconds("self").unwrap_or_default() - self.bench;
        let server = (!server_pids.is_empty()).then(|| total(server_pids) - self.server);
        let machine = machine_busy_seconds() - self.machine;
        CoresBusy {
            server: server.map(|s| s / seconds),
            bench: bench / seconds,
            other: (machine - bench - server.unwrap_or_default()).max(0.0) / seconds,
        }
    }
}
