//! The wall clock, read in this one place: the bench talks to a live server, so TOTP steps,
//! the report's date and the run's user names follow real time (the workspace bans direct
//! reads elsewhere so that server code uses its injected clock).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Time since the Unix epoch.
pub fn since_epoch() -> Duration {
    #[allow(clippy::disallowed_methods)]
    let now = SystemTime::now();
    now.duration_since(UNIX_EPOCH).unwrap_or_default()
}
