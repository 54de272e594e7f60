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

/// CPU seconds of the whole machine so far: busy (all but idle, iowait and steal) and stolen
/// (the hypervisor ran something else while this VM wanted its CPUs, which no process here
/// is charged for and which makes a VM look slow for no cause of its own).
fn machine_seconds() -> MachineSeconds {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    stat.lines()
        .find(|l| l.starts_with("cpu "))
        .map(MachineSeconds::from_stat_line)
        .unwrap_or_default()
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct MachineSeconds {
    busy: f64,
    stolen: f64,
}

impl MachineSeconds {
    /// From the `cpu ` line of `/proc/stat`: user nice system idle iowait irq softirq steal …
    /// in ticks (guest time is already in user).
    fn from_stat_line(line: &str) -> Self {
        let ticks: Vec<f64> = line
            .split_whitespace()
            .skip(1)
            .filter_map(|t| t.parse().ok())
            .collect();
        let tick = |i: usize| ticks.get(i).copied().unwrap_or_default();
        Self {
            busy: [0, 1, 2, 5, 6].into_iter().map(tick).sum::<f64>() / TICKS_PER_SECOND,
            stolen: tick(7) / TICKS_PER_SECOND,
        }
    }
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
    machine: MachineSeconds,
}

/// Cores kept busy on average: the server's (if its pids are known), the bench's own, the
/// rest of the machine's, and the cores the hypervisor took.
#[derive(Debug, Clone, Copy)]
pub struct CoresBusy {
    pub server: Option<f64>,
    pub bench: f64,
    pub other: f64,
    pub stolen: f64,
}

impl CpuMeter {
    pub fn start(server_pids: &[u32]) -> Self {
        Self {
            started: Instant::now(),
            server: total(server_pids),
            bench: cpu_seconds("self").unwrap_or_default(),
            machine: machine_seconds(),
        }
    }

    pub fn cores_busy(&self, server_pids: &[u32]) -> CoresBusy {
        let seconds = self.started.elapsed().as_secs_f64().max(f64::EPSILON);
        let bench = cpu_seconds("self").unwrap_or_default() - self.bench;
        let server = (!server_pids.is_empty()).then(|| total(server_pids) - self.server);
        let machine = machine_seconds();
        let busy = machine.busy - self.machine.busy;
        CoresBusy {
            server: server.map(|s| s / seconds),
            bench: bench / seconds,
            other: (busy - bench - server.unwrap_or_default()).max(0.0) / seconds,
            stolen: (machine.stolen - self.machine.stolen) / seconds,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stolen_time_is_apart_from_busy_time() {
        let line = "cpu  1000 200 300 9000 400 50 60 700 0 0";
        assert_eq!(
            MachineSeconds::from_stat_line(line),
            MachineSeconds {
                busy: 16.1,
                stolen: 7.0
            }
        );
    }
}
