//! A system under test: where to send requests, what it supports, and — when the bench
//! started it — the process to sample and stop.

use crate::process::Process;
use crate::rss::RssSampler;

/// What a target serves beyond the Identity Toolkit calls every target answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Identity Toolkit calls both Tessera and the emulator serve.
    IdentityToolkit,
    /// TOTP second factors (the emulator has none).
    Totp,
    /// The ZITADEL dialect and its admin PAT (Tessera only).
    Zitadel,
}

pub struct Target {
    /// The table's heading, e.g. "Tessera (SQLite)".
    pub label: String,
    /// Base URL without a trailing slash; the emulator layout (`/identitytoolkit.googleapis.com/v1/…`)
    /// is used on every target.
    pub base: String,
    pub project: String,
    /// The ZITADEL admin PAT, when the target is a Tessera whose PAT the bench knows.
    pub pat: Option<String>,
    pub totp: bool,
    /// Whether `--seed-users` applies (Tessera; the emulator is compared at the phases' size).
    pub seedable: bool,
    /// Whether ID tokens are RS256-signed (the emulator's are unsigned), for the ceiling column.
    pub signs_rs256: bool,
    /// Lines printed under the table (how the target was started, idle RSS, …).
    pub notes: Vec<String>,
    /// The processes whose RSS and CPU time count as the target's (empty: unknown).
    pub pids: Vec<u32>,
    pub rss: Option<RssSampler>,
    pub idle_rss: Option<u64>,
    pub process: Option<Process>,
    /// Kept until the target is dropped (a temporary data dir).
    pub _scratch: Option<tempfile::TempDir>,
}

impl Target {
    pub fn supports(&self, needs: Needs) -> bool {
        match needs {
            Needs::IdentityToolkit => true,
            Needs::Totp => self.totp,
            Needs::Zitadel => self.pat.is_some(),
        }
    }

    /// Watches `pids` (RSS sampling and CPU time), and records the idle RSS.
    pub fn watch(&mut self, pids: Vec<u32>) {
        self.pids.clone_from(&pids);
        let sampler = RssSampler::start(pids);
        self.idle_rss = Some(sampler.now());
        self.rss = Some(sampler);
    }

    /// Stops the process the bench started, if any.
    pub async fn shut_down(mut self) -> anyhow::Result<()> {
        self.rss = None;
        match self.process.take() {
            Some(process) => process.stop().await,
            None => Ok(()),
        }
    }
}
