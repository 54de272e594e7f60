//! Property tests of the parsers that stand at the edge (issue 8, bad input): phone numbers,
//! email addresses, ids, passwords and one-time codes. Arbitrary text never panics, and
//! whatever a parser accepts satisfies the invariant its type promises.
//!
//! `PROPTEST_CASES` sets the number of cases per property (proptest's default is 256).

use proptest::prelude::*;
use time::OffsetDateTime;

use crate::totp::{TotpAlgorithm, TotpSpec};
use crate::{EmailAddress, FactorId, Password, PhoneNumber, UserId};

/// Text that looks like the input, beside text that does not: digits and `+`, ASCII
/// punctuation, any Unicode, and long runs.
fn edge_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\+?[0-9]{0,20}",
        "[ +0-9()\\-.]{0,24}",
        "[a-zA-Z0-9.@_+\\-\"\\\\ ]{0,40}",
        "[a-z]{1,10}@[a-z]{1,10}\\.[a-z]{2,4}",
        "[a-z0-9]{0,8}\\x00[a-z0-9]{0,8}",
        any::<String>(),
        "\\PC{0,300}",
    ]
}

proptest! {
    #[test]
    fn phone_numbers_parse_only_as_e164(raw in edge_text()) {
        if let Some(phone) = PhoneNumber::parse(&raw) {
            let digits = raw.strip_prefix('+');
            prop_assert!(digits.is_some_and(|d| (2..=15).contains(&d.len())
                && d.bytes().all(|b| b.is_ascii_digit())
                && !d.starts_with('0')), "accepted {raw:?}");
            prop_assert_eq!(phone.as_str(), raw.as_str());
            let code = phone.country_code();
            prop_assert!(code.starts_with('+') && (2..=4).contains(&code.len()));
            prop_assert!(phone.as_str().starts_with(code));
        }
    }

    #[test]
    fn e164_numbers_are_accepted(first in 1u8..=9, rest in "[0-9]{1,14}") {
        let raw = format!("+{first}{rest}");
        prop_assert!(PhoneNumber::parse(&raw).is_some(), "{raw}");
    }

    #[test]
    fn email_addresses_are_normalised_and_bounded(raw in edge_text()) {
        if let Some(email) = EmailAddress::parse(&raw) {
            let stored = email.as_str();
            prop_assert!(stored.len() <= 254);
            prop_assert!(stored.contains('@'));
            prop_assert_eq!(stored, raw.trim().to_ascii_lowercase());
            // Parsing is idempotent: what is stored parses back to itself.
            prop_assert_eq!(EmailAddress::parse(stored), Some(email.clone()));
        }
    }

    #[test]
    fn ids_and_passwords_keep_their_bounds(raw in edge_text()) {
        let storable = !raw.is_empty() && raw.len() <= 128 && !raw.contains('\0');
        prop_assert_eq!(UserId::parse(&raw).is_some(), storable);
        prop_assert_eq!(FactorId::parse(&raw).is_some(), storable);
        prop_assert_eq!(Password::parse(&raw).is_some(), raw.chars().count() >= 6);
        let _ = TotpAlgorithm::parse(&raw);
    }

    #[test]
    fn random_ids_are_eighteen_digits(bytes in any::<[u8; 8]>()) {
        let id = UserId::from_random(bytes);
        prop_assert_eq!(id.as_str().len(), 18);
        prop_assert!(id.as_str().bytes().all(|b| b.is_ascii_digit()));
        prop_assert!(UserId::parse(id.as_str()).is_some());
    }

    /// Any text as a TOTP code, with any secret, at any time, with any parameters the store
    /// can hold: no panic, and only a string of exactly `digits` ASCII digits can match.
    #[test]
    fn totp_codes_of_any_shape(
        code in prop_oneof!["[0-9]{0,10}", edge_text()],
        secret in proptest::collection::vec(any::<u8>(), 0..70),
        at in any::<i64>(),
        digits in 1u8..=10,
        period_secs in 1u64..=3600,
        skew in any::<u8>(),
        algorithm in prop_oneof![Just(TotpAlgorithm::Sha1), Just(TotpAlgorithm::Sha256), Just(TotpAlgorithm::Sha512)],
    ) {
        let spec = TotpSpec { algorithm, digits, period_secs };
        let now = OffsetDateTime::from_unix_timestamp(at % 253_402_300_799)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let matched = spec.verify(&secret, &code, now, skew % 4, None);
        if matched.is_ok() {
            prop_assert_eq!(code.len(), usize::from(digits));
            prop_assert!(code.bytes().all(|b| b.is_ascii_digit()));
        }
        let _ = spec.step(now);
        let _ = spec.uri(&code, &code, "JBSWY3DPEHPK3PXP");
    }
}
