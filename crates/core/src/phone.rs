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

    /// The ITU-T E.164 country calling code with its `+` (`+1`, `+44`, `+880`): the unit
    /// SMS pricing and SMS-pumping limits work in. Calling codes are prefix-free: `1` and
    /// `7` are the only one-digit codes, the two-digit ones are listed, all others have three.
    pub fn country_code(&self) -> &str {
        const TWO_DIGIT: [&str; 44] = [
            "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45",
            "46", "47", "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61",
            "62", "63", "64", "65", "66", "81", "82", "84", "86", "90", "91", "92", "93", "94",
            "95", "98",
        ];
        let digits = &self.0[1..];
        let len = if digits.starts_with('1') || digits.starts_with('7') {
            1
        } else if TWO_DIGIT.iter().any(|code| digits.starts_with(code)) {
            2
        } else {
            3
        };
        &self.0[..=len.min(digits.len())]
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

    #[test]
    fn country_calling_codes() {
        for (number, code) in [
            ("+16505550165", "+1"),
            ("+74951234567", "+7"),
            ("+442079460000", "+44"),
            ("+4930123456", "+49"),
            ("+8801712345678", "+880"),
            ("+35312345678", "+353"),
            ("+2348012345678", "+234"),
            ("+21", "+21"),
        ] {
            let phone = PhoneNumber::parse(number);
            assert_eq!(phone.as_ref().map(PhoneNumber::country_code), Some(code));
        }
    }
}
