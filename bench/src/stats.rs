//! Latency samples of one phase and their summary: throughput over the phase's wall time,
//! nearest-rank percentiles over every operation (errors included: a failed request took
//! time too), the error count with the first error, the server's peak RSS, and the cores the
//! server and the bench kept busy.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::cpu::CoresBusy;

/// The p99 target: requests slower than this are kept one by one for `--slow-log`.
pub const SLOW: Duration = Duration::from_millis(20);

/// What one task of the pool saw.
#[derive(Debug, Default)]
pub struct Samples {
    pub latencies: Vec<Duration>,
    pub errors: usize,
    pub first_error: Option<String>,
    pub slow: Vec<Slow>,
}

/// One request slower than [`SLOW`]: when it was sent, so that stalls can be lined up with
/// other traces of the same run.
#[derive(Debug, Clone, Copy)]
pub struct Slow {
    pub sent: Instant,
    pub latency: Duration,
    pub failed: bool,
}

impl Samples {
    pub fn record(&mut self, sent: Instant, latency: Duration, outcome: anyhow::Result<()>) {
        self.latencies.push(latency);
        if latency > SLOW {
            self.slow.push(Slow {
                sent,
                latency,
                failed: outcome.is_err(),
            });
        }
        if let Err(e) = outcome {
            self.errors += 1;
            self.first_error.get_or_insert_with(|| format!("{e:#}"));
        }
    }

    pub fn merge(&mut self, other: Samples) {
        self.latencies.extend(other.latencies);
        self.slow.extend(other.slow);
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }
}

/// Appends `slow` to the file at `path` (`--slow-log`), a line each: when the request was
/// sent (Unix ms), target, phase, latency in ms, `ok` or `error`. `anchor` is the wall clock
/// and the monotonic clock read together at the phase's start, to date the sends.
pub fn append_slow_log(
    path: &Path,
    target: &str,
    phase: &str,
    anchor: (Duration, Instant),
    slow: &[Slow],
) -> anyhow::Result<()> {
    let (wall, monotonic) = anchor;
    let mut lines = String::new();
    for s in slow {
        lines += &format!(
            "{}\t{target}\t{phase}\t{:.1}\t{}\n",
            (wall + (s.sent - monotonic)).as_millis(),
            s.latency.as_secs_f64() * 1e3,
            if s.failed { "error" } else { "ok" }
        );
    }
    let mut file = OpenOptions::new().create(true).append(true).open(path)?;
    file.write_all(lines.as_bytes())?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct Summary {
    pub ops: usize,
    pub wall: Duration,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
    pub errors: usize,
    pub first_error: Option<String>,
    /// Bytes; `None` when the bench cannot see the server's process.
    pub peak_rss: Option<u64>,
    pub cpu: CoresBusy,
}

impl Summary {
    pub fn new(
        mut samples: Samples,
        wall: Duration,
        peak_rss: Option<u64>,
        cpu: CoresBusy,
    ) -> Self {
        samples.latencies.sort_unstable();
        let at = |q: f64| percentile(&samples.latencies, q);
        Self {
            ops: samples.latencies.len(),
            wall,
            p50: at(0.50),
            p99: at(0.99),
            max: samples.latencies.last().copied().unwrap_or_default(),
            errors: samples.errors,
            first_error: samples.first_error,
            peak_rss,
            cpu,
        }
    }

    pub fn ops_per_second(&self) -> f64 {
        let seconds = self.wall.as_secs_f64();
        if seconds > 0.0 {
            self.ops as f64 / seconds
        } else {
            0.0
        }
    }
}

/// Nearest-rank percentile of sorted samples.
fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let ms: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&ms, 0.50), Duration::from_millis(50));
        assert_eq!(percentile(&ms, 0.99), Duration::from_millis(99));
        assert_eq!(percentile(&ms[..1], 0.99), Duration::from_millis(1));
        assert_eq!(percentile(&[], 0.5), Duration::ZERO);
    }

    #[test]
    fn slow_requests_are_dated_by_the_wall_clock_of_the_phase_start() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("slow.tsv");
        let start = Instant::now();
        let mut samples = Samples::default();
        samples.record(start, Duration::from_millis(5), Ok(()));
        let late = start + Duration::from_millis(250);
        samples.record(late, Duration::from_micros(20_400), Ok(()));
        samples.record(
            late,
            Duration::from_millis(90),
            Err(anyhow::anyhow!("HTTP 503")),
        );
        let anchor = (Duration::from_millis(1_000_000), start);
        append_slow_log(&path, "Tessera", "lookup", anchor, &samples.slow)?;
        append_slow_log(&path, "emulator", "lookup", anchor, &samples.slow[..1])?;
        assert_eq!(
            std::fs::read_to_string(&path)?,
            "1000250\tTessera\tlookup\t20.4\tok\n\
             1000250\tTessera\tlookup\t90.0\terror\n\
             1000250\temulator\tlookup\t20.4\tok\n"
        );
        Ok(())
    }
}
