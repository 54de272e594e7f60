//! Phone numbers in E.164 form (`+` then 2 to 15 digits, no leading zero), the only form
//! both dialects exchange.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    pub fn parse(raw: &str) -> Option<Self> {
        let digits = raw.strip_prefix('+')?;
        let valid = (2..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0');
        valid.then(|| Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::PhoneNumber;

    #[test]
    fn e164_only() {
        assert!(PhoneNumber::parse("+16505550165").is_some());
        for bad in [
            "16505550165",
            "+0123",
            "+1",
            "+1650555016512345",
            "+1 650",
            "",
        ] {
            assert!(PhoneNumber::parse(bad).is_none(), "{bad}");
        }
    }
}
