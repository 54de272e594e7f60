//! RFC 6238 TOTP codes (HMAC-SHA-1, 6 digits, 30-second steps), computed by the bench itself
//! rather than by the server's code. A code is accepted once per factor and step, so the
//! caller asks for a step later than the last one it used (`next_step`); the server accepts a
//! few steps of skew either side (`adjacentIntervals`, 5 by default).

use anyhow::{Context, anyhow};
use hmac::{Hmac, KeyInit, Mac};

const PERIOD: u64 = 30;

/// The current time step.
pub fn current_step() -> u64 {
    crate::clock::since_epoch().as_secs() / PERIOD
}

/// The step to use after `last_used` (0 = none yet): now, or the step after the last one.
pub fn next_step(last_used: u64) -> u64 {
    current_step().max(last_used + 1)
}

/// The 6-digit code of `base32_secret` at `step`.
pub fn code(base32_secret: &str, step: u64) -> anyhow::Result<String> {
    let secret = data_encoding::BASE32_NOPAD
        .decode(base32_secret.trim_end_matches('=').as_bytes())
        .context("TOTP secret is not base32")?;
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(&secret).map_err(|e| anyhow!("{e}"))?;
    mac.update(&step.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[19] & 0x0f);
    let value = u32::from_be_bytes([
        digest[offset],
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]) & 0x7fff_ffff;
    Ok(format!("{:06}", value % 1_000_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1, the last six digits of the 8-digit vectors.
    #[test]
    fn rfc_6238_vectors() -> anyhow::Result<()> {
        let secret = data_encoding::BASE32_NOPAD.encode(b"12345678901234567890");
        for (time, expected) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            assert_eq!(code(&secret, time / PERIOD)?, expected);
        }
        Ok(())
    }
}
