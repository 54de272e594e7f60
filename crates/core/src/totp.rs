//! TOTP (RFC 6238) checks, with totp-rs doing the HMAC arithmetic.
//!
//! The domain rules live here: which parameters a factor uses, how much clock skew a realm
//! allows, and that the caller must record the matched time step so that one code is
//! accepted at most once per factor (RFC 6238 §5.2) — `verify` returns that step.

use time::OffsetDateTime;
use totp_rs::{Algorithm, Builder};

/// Why `TotpSpec::verify` refused a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TotpRefusal {
    /// No step of the window has this code.
    Wrong,
    /// Only steps already used have it: a replay (RFC 6238 §5.2).
    Used,
}

/// Shared secrets are 160 bits, as RFC 4226 recommends and Firebase issues.
pub const SECRET_LEN: usize = 20;

/// The most digits totp-rs can compute a code of (`10^digits` must fit in a `u32`).
const MAX_DIGITS: u8 = 9;
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TotpAlgorithm {
    Sha1,
    Sha256,
    Sha512,
}

impl TotpAlgorithm {
    /// The spelling of Identity Toolkit's `hashingAlgorithm` and of `otpauth://` URIs.
    pub fn as_str(self) -> &'static str {
        match self {
            TotpAlgorithm::Sha1 => "SHA1",
            TotpAlgorithm::Sha256 => "SHA256",
            TotpAlgorithm::Sha512 => "SHA512",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "SHA1" => Some(TotpAlgorithm::Sha1),
            "SHA256" => Some(TotpAlgorithm::Sha256),
            "SHA512" => Some(TotpAlgorithm::Sha512),
            _ => None,
        }
    }

    fn library(self) -> Algorithm {
        match self {
            TotpAlgorithm::Sha1 => Algorithm::SHA1,
            TotpAlgorithm::Sha256 => Algorithm::SHA256,
            TotpAlgorithm::Sha512 => Algorithm::SHA512,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TotpSpec {
    pub algorithm: TotpAlgorithm,
    pub digits: u8,
    pub period_secs: u64,
}

impl TotpSpec {
    /// What Firebase issues: SHA-1, 6 digits, 30 seconds.
    pub const FIREBASE: TotpSpec = TotpSpec {
        algorithm: TotpAlgorithm::Sha1,
        digits: 6,
        period_secs: 30,
    };

    /// The time step that `at` falls in.
    pub fn step(&self, at: OffsetDateTime) -> u64 {
        at.unix_timestamp().max(0) as u64 / self.period_secs
    }

    /// The `otpauth://` URI authenticator apps scan, in the layout most apps and ZITADEL use
    /// (query keys sorted). `base32_secret` is the secret without padding.
    pub fn uri(&self, issuer: &str, account: &str, base32_secret: &str) -> String {
        let escape = |s: &str| -> String {
            s.bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' => {
                        char::from(b).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect()
        };
        format!(
            "otpauth://totp/{}:{}?algorithm={}&digits={}&issuer={}&period={}&secret={}",
            escape(issuer),
            escape(account),
            self.algorithm.as_str(),
            self.digits,
            escape(issuer),
            self.period_secs,
            base32_secret
        )
    }

    /// Checks `code` at `now`, accepting `skew` steps either side, and only steps after
    /// `last_used` (the factor's last accepted step). Returns the earliest such step whose
    /// code matches, which the caller must record to refuse a replay.
    ///
    /// Two steps of one window can share a code (six digits: about one pair in a hundred
    /// thousand windows). Looking past `last_used` keeps such a code, right for the current
    /// step, from being taken for an earlier step already used and refused as a replay.
    /// Codes of more than 9 digits match nothing: totp-rs computes `10^digits` in a `u32` and
    /// panics past 9 (RFC 6238 codes have 6 to 8).
    pub fn verify(
        &self,
        secret: &[u8],
        code: &str,
        now: OffsetDateTime,
        skew: u8,
        last_used: Option<i64>,
    ) -> Result<u64, TotpRefusal> {
        if self.digits > MAX_DIGITS
            || code.len() != usize::from(self.digits)
            || !code.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(TotpRefusal::Wrong);
        }
        let totp = Builder::new()
            .with_algorithm(self.algorithm.library())
            .with_digits(self.digits)
            .with_step_duration(self.period_secs)
            .with_skew(0)
            .with_secret(secret.to_vec())
            .build_noncompliant();
        let current = (now.unix_timestamp().max(0) as u64)
            .checked_div(self.period_secs)
            .ok_or(TotpRefusal::Wrong)?;
        let used =
            |step: u64| last_used.is_some_and(|last| i64::try_from(step).is_ok_and(|s| s <= last));
        let mut refusal = TotpRefusal::Wrong;
        // Without skew, `check` compares the code with one step's (in constant time).
        for step in current.saturating_sub(u64::from(skew))..=current + u64::from(skew) {
            if totp.check(code, step * self.period_secs) != Some(step) {
                continue;
            }
            if !used(step) {
                return Ok(step);
            }
            refusal = TotpRefusal::Used;
        }
        Err(refusal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Steps 60,000,004 and 60,000,006 of this secret share the code 540281 (found by a
    /// search of secrets). Once step 60,000,004 is used, the code still proves step
    /// 60,000,006, the current one, instead of being taken for the used one.
    #[test]
    fn a_code_two_steps_share_matches_the_one_not_used_yet() {
        let mut secret = [0u8; SECRET_LEN];
        secret[SECRET_LEN - 2..].copy_from_slice(&29_478u16.to_be_bytes());
        let spec = TotpSpec::FIREBASE;
        let now = OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(60_000_006 * 30);
        assert_eq!(spec.verify(&secret, "540281", now, 5, None), Ok(60_000_004));
        assert_eq!(
            spec.verify(&secret, "540281", now, 5, Some(60_000_004)),
            Ok(60_000_006)
        );
        assert_eq!(
            spec.verify(&secret, "540281", now, 5, Some(60_000_006)),
            Err(TotpRefusal::Used),
            "both steps used: a replay"
        );
    }

    /// Found by the property test: ten digits made totp-rs panic instead of refusing.
    #[test]
    fn codes_longer_than_nine_digits_match_nothing() {
        let spec = TotpSpec {
            digits: 10,
            ..TotpSpec::FIREBASE
        };
        let now = OffsetDateTime::UNIX_EPOCH;
        assert_eq!(
            spec.verify(&[], "0000000000", now, 0, None),
            Err(TotpRefusal::Wrong)
        );
    }

    /// RFC 6238 Appendix B, SHA-1 rows: the 20-byte ASCII secret "12345678901234567890".
    #[test]
    fn rfc6238_known_answers() {
        let secret = b"12345678901234567890";
        let spec = TotpSpec {
            digits: 8,
            ..TotpSpec::FIREBASE
        };
        for (t, code) in [
            (59, "94287082"),
            (1111111109, "07081804"),
            (1111111111, "14050471"),
            (1234567890, "89005924"),
            (2000000000, "69279037"),
        ] {
            let at = OffsetDateTime::from_unix_timestamp(t).unwrap_or(OffsetDateTime::UNIX_EPOCH);
            assert_eq!(
                spec.verify(secret, code, at, 0, None),
                Ok(t as u64 / 30),
                "t={t}"
            );
        }
    }

    #[test]
    fn skew_widens_the_window_and_reports_the_matched_step() {
        let secret = b"12345678901234567890";
        let spec = TotpSpec {
            digits: 8,
            ..TotpSpec::FIREBASE
        };
        let later =
            OffsetDateTime::from_unix_timestamp(59 + 60).unwrap_or(OffsetDateTime::UNIX_EPOCH);
        assert_eq!(
            spec.verify(secret, "94287082", later, 1, None),
            Err(TotpRefusal::Wrong)
        );
        assert_eq!(spec.verify(secret, "94287082", later, 2, None), Ok(1));
        assert_eq!(
            spec.verify(secret, "94287082", later, 2, Some(1)),
            Err(TotpRefusal::Used)
        );
    }

    #[test]
    fn uri_layout() {
        assert_eq!(
            TotpSpec::FIREBASE.uri("Tessera", "ada lovelace@example.com", "ABC"),
            "otpauth://totp/Tessera:ada%20lovelace@example.com?algorithm=SHA1&digits=6&issuer=Tessera&period=30&secret=ABC"
        );
    }

    #[test]
    fn malformed_codes_never_match() {
        let spec = TotpSpec::FIREBASE;
        for bad in ["", "12345", "1234567", "12a456", " 123456"] {
            assert_eq!(
                spec.verify(
                    b"12345678901234567890",
                    bad,
                    OffsetDateTime::UNIX_EPOCH,
                    10,
                    None
                ),
                Err(TotpRefusal::Wrong)
            );
        }
    }
}
