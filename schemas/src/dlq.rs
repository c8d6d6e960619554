//! Dead-letter records (`<topic>.dlq.v1`): the failed record's key, payload and headers as
//! they were, plus headers saying who gave up on it and why.

use chrono::{SecondsFormat, Utc};
use rdkafka::message::{Header, OwnedHeaders};

/// Header names added to a dead-letter record.
pub mod header {
    /// Why the record could not be processed (human readable).
    pub const ERROR: &str = "dlq_error";
    /// The processor that gave up on it (`decoder`, or a projection name).
    pub const PROCESSOR: &str = "dlq_processor";
    /// Its original topic.
    pub const TOPIC: &str = "dlq_topic";
    /// Its original partition (decimal).
    pub const PARTITION: &str = "dlq_partition";
    /// Its original offset (decimal).
    pub const OFFSET: &str = "dlq_offset";
    /// When it was dead-lettered (RFC 3339, UTC).
    pub const AT: &str = "dlq_at";
}

/// Where a failed record came from.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    /// Original topic.
    pub topic: &'a str,
    /// Original partition.
    pub partition: i32,
    /// Original offset.
    pub offset: i64,
}

/// The original headers (`(name, value)` in their order) followed by the `dlq_*` headers.
pub fn headers<'a>(
    original: impl IntoIterator<Item = (&'a str, &'a [u8])>,
    processor: &str,
    error: &str,
    origin: Origin<'_>,
) -> OwnedHeaders {
    let mut out = OwnedHeaders::new();
    for (key, value) in original {
        out = out.insert(Header {
            key,
            value: Some(value),
        });
    }
    let partition = origin.partition.to_string();
    let offset = origin.offset.to_string();
    let at = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
    for (key, value) in [
        (header::ERROR, error),
        (header::PROCESSOR, processor),
        (header::TOPIC, origin.topic),
        (header::PARTITION, partition.as_str()),
        (header::OFFSET, offset.as_str()),
        (header::AT, at.as_str()),
    ] {
        out = out.insert(Header {
            key,
            value: Some(value),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdkafka::message::Headers;

    #[test]
    fn original_headers_are_kept_and_the_reason_is_added() {
        let original = [("ce_id", &b"x"[..])];
        let origin = Origin {
            topic: "scooter.frames.v1",
            partition: 2,
            offset: 7,
        };
        let h = headers(original, "decoder", "unknown codec 0x99", origin);
        let pairs: Vec<(String, String)> = h
            .iter()
            .map(|h| {
                (
                    h.key.to_owned(),
                    String::from_utf8_lossy(h.value.unwrap_or_default()).into(),
                )
            })
            .collect();
        assert_eq!(pairs[0], ("ce_id".into(), "x".into()));
        assert!(pairs.contains(&("dlq_error".into(), "unknown codec 0x99".into())));
        assert!(pairs.contains(&("dlq_offset".into(), "7".into())));
        assert!(pairs.contains(&("dlq_processor".into(), "decoder".into())));
    }
}
