//! `google.protobuf.Timestamp` as the ZITADEL messages carry it (`build.rs` maps the type
//! here). The wire form is prost's; the JSON form is protojson's, which ZITADEL (Go's
//! protojson) writes: RFC 3339 in UTC with `Z` and 0, 3, 6 or 9 fractional digits
//! (`2026-12-05T01:35:19.434921361Z`). pbjson-types' own type writes `+00:00` instead.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

#[derive(Clone, Copy, PartialEq, Eq, Hash, prost::Message)]
pub struct Timestamp {
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

impl Timestamp {
    pub fn new(at: OffsetDateTime) -> Self {
        Timestamp {
            seconds: at.unix_timestamp(),
            nanos: at.nanosecond() as i32,
        }
    }

    /// The moment, or `None` for one out of range.
    pub fn at(&self) -> Option<OffsetDateTime> {
        let nanos = i128::from(self.seconds) * 1_000_000_000 + i128::from(self.nanos);
        OffsetDateTime::from_unix_timestamp_nanos(nanos).ok()
    }

    /// protojson's text, or `None` for a moment out of RFC 3339's range.
    fn text(&self) -> Option<String> {
        let seconds = OffsetDateTime::from_unix_timestamp(self.seconds).ok()?;
        let whole = seconds
            .format(format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second]"
            ))
            .ok()?;
        let nanos = u32::try_from(self.nanos)
            .ok()
            .filter(|n| *n < 1_000_000_000)?;
        let fraction = match nanos {
            0 => String::new(),
            n if n % 1_000_000 == 0 => format!(".{:03}", n / 1_000_000),
            n if n % 1_000 == 0 => format!(".{:06}", n / 1_000),
            n => format!(".{n:09}"),
        };
        Some(format!("{whole}{fraction}Z"))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let text = self
            .text()
            .ok_or_else(|| serde::ser::Error::custom("timestamp out of range"))?;
        serializer.serialize_str(&text)
    }
}

/// Any RFC 3339 text, with any offset, as protojson reads it.
impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let at = OffsetDateTime::parse(&text, &Rfc3339).map_err(D::Error::custom)?;
        Ok(Timestamp::new(at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn json(at: OffsetDateTime) -> String {
        serde_json::to_string(&Timestamp::new(at)).unwrap_or_default()
    }

    #[test]
    fn written_as_protojson_writes_it() {
        assert_eq!(
            json(datetime!(2026-12-05 01:35:19 UTC)),
            "\"2026-12-05T01:35:19Z\""
        );
        assert_eq!(
            json(datetime!(2026-12-05 01:35:19.5 UTC)),
            "\"2026-12-05T01:35:19.500Z\""
        );
        assert_eq!(
            json(datetime!(2026-12-05 01:35:19.000_012 UTC)),
            "\"2026-12-05T01:35:19.000012Z\""
        );
        assert_eq!(
            json(datetime!(2026-12-05 01:35:19.434_921_361 UTC)),
            "\"2026-12-05T01:35:19.434921361Z\""
        );
    }

    #[test]
    fn read_with_any_offset() {
        let read: Timestamp =
            serde_json::from_str("\"2026-12-05T02:35:19.25+01:00\"").unwrap_or_default();
        assert_eq!(read, Timestamp::new(datetime!(2026-12-05 01:35:19.25 UTC)));
    }
}
