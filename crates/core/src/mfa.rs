//! A realm's multi-factor policy, as Identity Toolkit's `MultiFactorAuthConfig` describes it:
//! whether MFA is on, which providers may be enrolled, how much TOTP clock skew to allow,
//! and test phone numbers with fixed codes (no SMS is sent to them).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `adjacentIntervals` bounds (Identity Platform: 0–10, default 5).
pub const MAX_ADJACENT_INTERVALS: u8 = 10;
pub const DEFAULT_ADJACENT_INTERVALS: u8 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MfaState {
    Disabled,
    Enabled,
    /// Treated like `Enabled`, as the Firebase emulator does: enrolled users must pass a
    /// second factor; nothing forces enrolment.
    Mandatory,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MfaConfig {
    pub state: MfaState,
    /// `enabledProviders` contains `PHONE_SMS`.
    pub sms_enabled: bool,
    /// The TOTP provider's own state (`providerConfigs[].state`).
    pub totp_state: MfaState,
    pub adjacent_intervals: u8,
    /// E.164 number → fixed 6-digit code.
    pub test_phone_numbers: BTreeMap<String, String>,
}

impl Default for MfaConfig {
    /// MFA on with both providers: Tessera is an MFA server, and the Firebase emulator's
    /// default project behaves the same way.
    fn default() -> Self {
        MfaConfig {
            state: MfaState::Enabled,
            sms_enabled: true,
            totp_state: MfaState::Enabled,
            adjacent_intervals: DEFAULT_ADJACENT_INTERVALS,
            test_phone_numbers: BTreeMap::new(),
        }
    }
}

impl MfaConfig {
    pub fn enabled(&self) -> bool {
        self.state != MfaState::Disabled
    }

    pub fn allows_sms(&self) -> bool {
        self.enabled() && self.sms_enabled
    }

    pub fn allows_totp(&self) -> bool {
        self.enabled() && self.totp_state != MfaState::Disabled
    }

    pub fn test_code(&self, phone: &str) -> Option<&str> {
        self.test_phone_numbers.get(phone).map(String::as_str)
    }
}
