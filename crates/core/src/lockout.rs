//! Brute-force protection for codes: the per-factor soft lock, and the names of the
//! per-user and per-IP limits on failed verifications.
//!
//! Every code check first *takes an attempt* — one atomic conditional statement in the
//! database — and only then compares the code. Taking an attempt counts a failure in advance;
//! a correct code gives it back (the counters reset). So the counts hold across nodes: two
//! nodes racing on one factor cannot both evaluate the 100th guess.
//!
//! ```text
//!            wrong code (failures % 5 != 0)
//!              ┌──────┐
//!              ▼      │         5th, 10th, … wrong code
//!         ┌──────────┐ ─────────────────────────────▶ ┌─────────────────────────────┐
//!  ──────▶│ Unlocked │                                 │ Locked for back-off(n)      │
//!         └──────────┘ ◀───────────────────────────── │ (every check refused, even  │
//!           ▲   ▲        back-off over: next attempt   │  with the right code)       │
//!           │   │                                      └─────────────────────────────┘
//!           │   └── right code: failures = 0                       │ 100th wrong code
//!           │                                                      ▼
//!           │                                          ┌─────────────────────────────┐
//!           └───────── administrator unlocks ───────── │ Locked until reset          │
//!                      (or the factor is removed)      └─────────────────────────────┘
//! ```
//!
//! back-off(n) for n consecutive failures, n a multiple of 5: 30 s × 2^(n/5 − 1), capped at
//! one hour (30 s, 1 min, 2 min, 4 min, … 1 h). At `HARD_LOCK_FAILURES` (NIST SP 800-63B
//! §5.2.2: at most 100 consecutive failed attempts on one authenticator) no further attempt
//! is taken until an administrator resets the factor; so no more than 100 wrong codes in a
//! row are ever evaluated against one factor.

use time::Duration;

/// Consecutive failures after which the factor locks for a while, and every multiple of it.
pub const LOCK_EVERY: i64 = 5;
/// The first lock's length; each later one doubles it.
pub const FIRST_BACK_OFF: Duration = Duration::seconds(30);
/// The longest timed lock.
pub const MAX_BACK_OFF: Duration = Duration::hours(1);
/// Consecutive failures at which the factor locks until an administrator resets it.
pub const HARD_LOCK_FAILURES: i64 = 100;

/// What the `failures`-th consecutive failure does to the factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockAfter {
    /// Nothing: the next attempt may come at once.
    None,
    /// Locked for this long.
    For(Duration),
    /// Locked until reset.
    UntilReset,
}

/// The lock the `failures`-th consecutive failure sets.
pub fn lock_after(failures: i64) -> LockAfter {
    if failures >= HARD_LOCK_FAILURES {
        return LockAfter::UntilReset;
    }
    if failures < LOCK_EVERY || failures % LOCK_EVERY != 0 {
        return LockAfter::None;
    }
    let doublings = (failures / LOCK_EVERY - 1).min(16) as u32;
    let back_off = FIRST_BACK_OFF * 2i32.pow(doublings);
    LockAfter::For(back_off.min(MAX_BACK_OFF))
}

/// Every timed lock of the schedule: `(failures, back-off)`, for stores that compute the lock
/// inside the statement that counts the failure.
pub fn schedule() -> Vec<(i64, Duration)> {
    (1..HARD_LOCK_FAILURES)
        .filter_map(|n| match lock_after(n) {
            LockAfter::For(d) => Some((n, d)),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_from_thirty_seconds_to_an_hour_then_locks_at_a_hundred() {
        assert_eq!(lock_after(1), LockAfter::None);
        assert_eq!(lock_after(4), LockAfter::None);
        assert_eq!(lock_after(5), LockAfter::For(Duration::seconds(30)));
        assert_eq!(lock_after(6), LockAfter::None);
        assert_eq!(lock_after(10), LockAfter::For(Duration::minutes(1)));
        assert_eq!(lock_after(15), LockAfter::For(Duration::minutes(2)));
        assert_eq!(lock_after(35), LockAfter::For(Duration::minutes(32)));
        assert_eq!(lock_after(40), LockAfter::For(Duration::hours(1)));
        assert_eq!(lock_after(95), LockAfter::For(Duration::hours(1)));
        assert_eq!(lock_after(100), LockAfter::UntilReset);
        assert_eq!(lock_after(250), LockAfter::UntilReset);
        let schedule = schedule();
        assert_eq!(schedule.len(), 19);
        assert_eq!(schedule[0], (5, Duration::seconds(30)));
        assert_eq!(schedule[18], (95, Duration::hours(1)));
    }
}
