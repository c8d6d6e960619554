//! The event envelope: CloudEvents 1.0 attributes in Kafka binary mode (architecture §3).
//!
//! Every record on a fleetlog topic carries its metadata as headers — `ce_specversion`,
//! `ce_id`, `ce_source`, `ce_type`, `ce_time`, `ce_subject`, `content-type` — plus
//! `correlation_id` (the id of the external frame or command a chain started from),
//! `causation_id` (the id of the direct parent) and a W3C `traceparent` whose trace id *is*
//! the correlation id, so a whole chain shares one trace. The value is the Avro payload in
//! Confluent wire format (see [`crate::wire`]).
//!
//! An envelope for a new record is built for a typed [`Topic`]: its `ce_type` is the
//! topic's value type's ([`TopicValue::EVENT_TYPE`]), never a string of the caller's.

use chrono::{DateTime, SecondsFormat, Utc};
use rdkafka::message::{Header, Headers, OwnedHeaders};
use uuid::Uuid;

use crate::topics::{Topic, TopicValue};

/// Header names, as they appear on the wire.
pub mod header {
    /// CloudEvents spec version; always [`super::SPEC_VERSION`].
    pub const SPECVERSION: &str = "ce_specversion";
    /// Event id (UUID v7).
    pub const ID: &str = "ce_id";
    /// Producer, e.g. `/fleetlog/gateway/<id>`.
    pub const SOURCE: &str = "ce_source";
    /// Event type, e.g. `io.fleetlog.scooter.frame.v1`.
    pub const TYPE: &str = "ce_type";
    /// When the event happened, RFC 3339.
    pub const TIME: &str = "ce_time";
    /// Device or vehicle id the event is about.
    pub const SUBJECT: &str = "ce_subject";
    /// Media type of the value; always [`super::CONTENT_TYPE`].
    pub const CONTENT_TYPE: &str = "content-type";
    /// Id of the event the chain started from.
    pub const CORRELATION_ID: &str = "correlation_id";
    /// Id of the direct parent event; absent on a root.
    pub const CAUSATION_ID: &str = "causation_id";
    /// W3C trace context.
    pub const TRACEPARENT: &str = "traceparent";
}

/// The only CloudEvents version fleetlog writes and reads.
pub const SPEC_VERSION: &str = "1.0";
/// Media type of every value: Avro in Confluent wire format.
pub const CONTENT_TYPE: &str = "application/avro";

/// A record's headers could not be read as an envelope.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EnvelopeError {
    /// A required header is absent (or has no value).
    #[error("header {0} is missing")]
    Missing(&'static str),
    /// A header is present but its value is not valid.
    #[error("header {header} is invalid: {reason}")]
    Invalid {
        /// Header name.
        header: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

/// The metadata of one record; see the module docs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// `ce_id`: this event's id (UUID v7, or v5 for deterministic children).
    pub id: Uuid,
    /// `ce_source`: who produced it, e.g. `/fleetlog/gateway/gw-1`.
    pub source: String,
    /// `ce_type`: what it is, e.g. `io.fleetlog.scooter.frame.v1` (the
    /// [`TopicValue::EVENT_TYPE`] of its topic's value type).
    pub event_type: String,
    /// `ce_time`: when it happened (millisecond precision on the wire).
    pub time: DateTime<Utc>,
    /// `ce_subject`: the device or vehicle id it is about.
    pub subject: String,
    /// `correlation_id`: id of the external frame or command the chain started from.
    pub correlation_id: Uuid,
    /// `causation_id`: id of the direct parent; `None` for a root.
    pub causation_id: Option<Uuid>,
    /// `traceparent`: W3C trace context; trace id = correlation id.
    pub traceparent: String,
}

impl Envelope {
    /// The first event of a chain (a frame from a device, a command from the API) on
    /// `topic`: a fresh v7 id that is also its correlation id, no causation.
    pub fn new_root<V: TopicValue>(
        topic: Topic<'_, V>,
        source: impl Into<String>,
        subject: impl Into<String>,
    ) -> Self {
        Self::root_with_id(topic, Uuid::now_v7(), source, subject)
    }

    /// Like [`Envelope::new_root`] with a given id (e.g. a command's own id), which is also
    /// the correlation id.
    pub fn root_with_id<V: TopicValue>(
        topic: Topic<'_, V>,
        id: Uuid,
        source: impl Into<String>,
        subject: impl Into<String>,
    ) -> Self {
        Self::build(
            id,
            id,
            None,
            topic.event_type().to_owned(),
            source.into(),
            subject.into(),
        )
    }

    /// An event on `topic` caused by `parent`: a fresh v7 id, the parent's correlation id,
    /// and the parent's id as causation.
    pub fn child<V: TopicValue>(
        parent: &Envelope,
        topic: Topic<'_, V>,
        source: impl Into<String>,
        subject: impl Into<String>,
    ) -> Self {
        Self::child_with_id(parent, Uuid::now_v7(), topic, source, subject)
    }

    /// Like [`Envelope::child`] with a given id, for processors that must produce the same
    /// ids again after a crash; see [`Envelope::derived_id`].
    pub fn child_with_id<V: TopicValue>(
        parent: &Envelope,
        id: Uuid,
        topic: Topic<'_, V>,
        source: impl Into<String>,
        subject: impl Into<String>,
    ) -> Self {
        Self::build(
            id,
            parent.correlation_id,
            Some(parent.id),
            topic.event_type().to_owned(),
            source.into(),
            subject.into(),
        )
    }

    /// The deterministic id of `what` `parent_id` derives (UUID v5 in the parent's
    /// namespace), e.g. `Envelope::derived_id(frame_id, Derived::Record(3))`; the labels
    /// are in [`crate::derived`].
    pub fn derived_id(parent_id: Uuid, what: crate::derived::Derived<'_>) -> Uuid {
        what.id(parent_id)
    }

    /// An envelope from stored parts (e.g. an outbox row, whose `event_type` was an
    /// envelope's), at `time`; the traceparent is derived from the ids as always.
    pub fn from_parts(
        id: Uuid,
        correlation_id: Uuid,
        causation_id: Option<Uuid>,
        event_type: impl Into<String>,
        source: impl Into<String>,
        subject: impl Into<String>,
        time: DateTime<Utc>,
    ) -> Self {
        Self {
            time,
            ..Self::build(
                id,
                correlation_id,
                causation_id,
                event_type.into(),
                source.into(),
                subject.into(),
            )
        }
    }

    fn build(
        id: Uuid,
        correlation_id: Uuid,
        causation_id: Option<Uuid>,
        event_type: String,
        source: String,
        subject: String,
    ) -> Self {
        let now = Utc::now();
        let time = DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now);
        Self {
            id,
            source,
            event_type,
            time,
            subject,
            correlation_id,
            causation_id,
            traceparent: traceparent(correlation_id, id),
        }
    }

    /// The W3C trace id (32 hex digits) of this event's chain: its correlation id.
    pub fn trace_id(&self) -> String {
        self.correlation_id.simple().to_string()
    }

    /// The Kafka headers of this envelope, in the order listed in the module docs.
    pub fn to_headers(&self) -> OwnedHeaders {
        let time = self.time.to_rfc3339_opts(SecondsFormat::Millis, true);
        let id = self.id.to_string();
        let correlation = self.correlation_id.to_string();
        let mut headers = OwnedHeaders::new_with_capacity(10)
            .insert(text(header::SPECVERSION, SPEC_VERSION))
            .insert(text(header::ID, &id))
            .insert(text(header::SOURCE, &self.source))
            .insert(text(header::TYPE, &self.event_type))
            .insert(text(header::TIME, &time))
            .insert(text(header::SUBJECT, &self.subject))
            .insert(text(header::CONTENT_TYPE, CONTENT_TYPE))
            .insert(text(header::CORRELATION_ID, &correlation));
        if let Some(causation) = self.causation_id {
            headers = headers.insert(text(header::CAUSATION_ID, &causation.to_string()));
        }
        headers.insert(text(header::TRACEPARENT, &self.traceparent))
    }

    /// Read the envelope of a consumed record.
    ///
    /// # Errors
    /// As [`Envelope::from_headers`]; a record without headers lacks `ce_specversion`.
    pub fn from_message<M: rdkafka::Message>(message: &M) -> Result<Self, EnvelopeError> {
        match message.headers() {
            Some(headers) => Self::from_headers(headers),
            None => Err(EnvelopeError::Missing(header::SPECVERSION)),
        }
    }

    /// Read an envelope back from a record's headers.
    ///
    /// # Errors
    /// [`EnvelopeError::Missing`] when a required header is absent, and
    /// [`EnvelopeError::Invalid`] when one is not UTF-8, not the expected version or
    /// content type, not a UUID, not RFC 3339, or not a well-formed `traceparent`.
    pub fn from_headers<H: Headers>(headers: &H) -> Result<Self, EnvelopeError> {
        let spec = required(headers, header::SPECVERSION)?;
        if spec != SPEC_VERSION {
            return Err(invalid(
                header::SPECVERSION,
                format!("unsupported version {spec:?}"),
            ));
        }
        let content_type = required(headers, header::CONTENT_TYPE)?;
        if content_type != CONTENT_TYPE {
            return Err(invalid(
                header::CONTENT_TYPE,
                format!("expected {CONTENT_TYPE}, got {content_type:?}"),
            ));
        }
        let time = required(headers, header::TIME)?;
        let time = DateTime::parse_from_rfc3339(time)
            .map_err(|e| invalid(header::TIME, e.to_string()))?
            .with_timezone(&Utc);
        let traceparent = required(headers, header::TRACEPARENT)?;
        validate_traceparent(traceparent)?;
        Ok(Self {
            id: uuid(headers, header::ID)?,
            source: required(headers, header::SOURCE)?.to_owned(),
            event_type: required(headers, header::TYPE)?.to_owned(),
            time,
            subject: required(headers, header::SUBJECT)?.to_owned(),
            correlation_id: uuid(headers, header::CORRELATION_ID)?,
            causation_id: match optional(headers, header::CAUSATION_ID)? {
                Some(_) => Some(uuid(headers, header::CAUSATION_ID)?),
                None => None,
            },
            traceparent: traceparent.to_owned(),
        })
    }
}

/// `00-<trace id>-<span id>-01`: trace id = the correlation id, span id = the low 64 bits
/// of the event id (the random part of a v7 id; never all zero, as W3C requires).
impl Envelope {
    /// The headers of [`Envelope::new_root`]`(topic, source, subject)` and its id,
    /// written without building the envelope's strings (the gateway's per-frame path).
    pub fn root_headers<V: TopicValue>(
        topic: Topic<'_, V>,
        source: &str,
        subject: &str,
    ) -> (Uuid, OwnedHeaders) {
        let id = Uuid::now_v7();
        let at_ms = Utc::now().timestamp_millis();
        (id, Self::root_headers_at(id, at_ms, topic, source, subject))
    }

    /// [`Envelope::root_headers`] for a given id and time (ms since the Unix epoch): equal
    /// to the headers of the root envelope with that id and time.
    pub fn root_headers_at<V: TopicValue>(
        id: Uuid,
        at_ms: i64,
        topic: Topic<'_, V>,
        source: &str,
        subject: &str,
    ) -> OwnedHeaders {
        let mut id_buf = Uuid::encode_buffer();
        let id_text = id.hyphenated().encode_lower(&mut id_buf);
        let mut time_buf = [0u8; 24];
        let owned_time;
        let time = match rfc3339_millis(at_ms, &mut time_buf) {
            Some(text) => text,
            None => {
                let time = DateTime::from_timestamp_millis(at_ms).unwrap_or_default();
                owned_time = time.to_rfc3339_opts(SecondsFormat::Millis, true);
                &owned_time
            }
        };
        let mut trace_buf = [0u8; 55];
        let trace = traceparent_into(id, id, &mut trace_buf);
        OwnedHeaders::new_with_capacity(10)
            .insert(text(header::SPECVERSION, SPEC_VERSION))
            .insert(text(header::ID, id_text))
            .insert(text(header::SOURCE, source))
            .insert(text(header::TYPE, topic.event_type()))
            .insert(text(header::TIME, time))
            .insert(text(header::SUBJECT, subject))
            .insert(text(header::CONTENT_TYPE, CONTENT_TYPE))
            .insert(text(header::CORRELATION_ID, id_text))
            .insert(text(header::TRACEPARENT, trace))
    }
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` of `at_ms` into `buf` (years 0–9999; `None` otherwise).
fn rfc3339_millis(at_ms: i64, buf: &mut [u8; 24]) -> Option<&str> {
    use chrono::{Datelike, Timelike};
    let t = DateTime::from_timestamp_millis(at_ms)?;
    let year = u32::try_from(t.year()).ok().filter(|y| *y <= 9999)?;
    let mut put = |at: usize, value: u32, digits: usize| {
        let mut v = value;
        for digit in buf[at..at + digits].iter_mut().rev() {
            *digit = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, year, 4);
    put(5, t.month(), 2);
    put(8, t.day(), 2);
    put(11, t.hour(), 2);
    put(14, t.minute(), 2);
    put(17, t.second(), 2);
    put(20, t.timestamp_subsec_millis(), 3);
    for (at, c) in [
        (4, b'-'),
        (7, b'-'),
        (10, b'T'),
        (13, b':'),
        (16, b':'),
        (19, b'.'),
        (23, b'Z'),
    ] {
        buf[at] = c;
    }
    std::str::from_utf8(buf).ok()
}

/// [`traceparent`] into `buf`.
fn traceparent_into(correlation_id: Uuid, id: Uuid, buf: &mut [u8; 55]) -> &str {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let span = (id.as_u128() as u64).max(1);
    buf[..3].copy_from_slice(b"00-");
    correlation_id.simple().encode_lower(&mut buf[3..35]);
    buf[35] = b'-';
    for (i, digit) in buf[36..52].iter_mut().enumerate() {
        *digit = HEX[((span >> (60 - 4 * i)) & 0xf) as usize];
    }
    buf[52..].copy_from_slice(b"-01");
    std::str::from_utf8(buf).unwrap_or_default()
}

fn traceparent(correlation_id: Uuid, id: Uuid) -> String {
    let span = (id.as_u128() as u64).max(1);
    format!("00-{}-{span:016x}-01", correlation_id.simple())
}

fn validate_traceparent(value: &str) -> Result<(), EnvelopeError> {
    let parts: Vec<&str> = value.split('-').collect();
    let hex = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit());
    let zero = |s: &str| s.bytes().all(|b| b == b'0');
    match parts.as_slice() {
        [version, trace, span, flags]
            if hex(version, 2)
                && *version != "ff"
                && hex(trace, 32)
                && !zero(trace)
                && hex(span, 16)
                && !zero(span)
                && hex(flags, 2) =>
        {
            Ok(())
        }
        _ => Err(invalid(
            header::TRACEPARENT,
            format!("not a W3C traceparent: {value:?}"),
        )),
    }
}

fn text<'a>(key: &'a str, value: &'a str) -> Header<'a, &'a str> {
    Header {
        key,
        value: Some(value),
    }
}

fn invalid(header: &'static str, reason: String) -> EnvelopeError {
    EnvelopeError::Invalid { header, reason }
}

/// The last header named `name`, as UTF-8; `None` when absent or null.
fn optional<'h, H: Headers>(
    headers: &'h H,
    name: &'static str,
) -> Result<Option<&'h str>, EnvelopeError> {
    let found = headers
        .iter()
        .filter(|h| h.key == name)
        .last()
        .and_then(|h| h.value);
    found
        .map(|bytes| std::str::from_utf8(bytes).map_err(|e| invalid(name, e.to_string())))
        .transpose()
}

fn required<'h, H: Headers>(headers: &'h H, name: &'static str) -> Result<&'h str, EnvelopeError> {
    optional(headers, name)?.ok_or(EnvelopeError::Missing(name))
}

fn uuid<H: Headers>(headers: &H, name: &'static str) -> Result<Uuid, EnvelopeError> {
    let value = required(headers, name)?;
    Uuid::parse_str(value).map_err(|e| invalid(name, format!("{value:?}: {e}")))
}
