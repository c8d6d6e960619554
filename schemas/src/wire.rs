//! Values on the wire: Avro in Confluent wire format (architecture §3).
//!
//! A value is the magic byte `0`, the schema id as 4 big-endian bytes, then the Avro binary
//! body. [`WireCodec`] wraps `schema_registry_converter`'s async Avro encoder and decoder:
//! encoding looks up (and caches) the latest schema registered under `<topic>-value`
//! (TopicNameStrategy) — register first, see [`crate::registration`] — and serializes a
//! `serde` value straight against it; decoding fetches (and caches) the writer schema by
//! the id embedded in the bytes and deserializes into the requested type.

use schema_registry_converter::async_impl::avro::{AvroDecoder, AvroEncoder};
use schema_registry_converter::async_impl::schema_registry::SrSettings;
use schema_registry_converter::error::SRCError;
use schema_registry_converter::schema_registry_common::SubjectNameStrategy;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The first byte of every Confluent-framed value.
pub const MAGIC_BYTE: u8 = 0;
/// Magic byte plus schema id.
pub const HEADER_LEN: usize = 5;

/// A value could not be encoded or decoded.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// No schema under the subject, the registry is unreachable, or the value does not fit
    /// the registered schema.
    #[error("cannot encode a value for {subject}: {source}")]
    Encode {
        /// `<topic>-value`.
        subject: String,
        /// What the converter reported.
        #[source]
        source: SRCError,
    },
    /// The bytes do not start with the magic byte and a schema id.
    #[error("not Confluent wire format ({len} bytes, first byte {first:?})")]
    NotWireFormat {
        /// Length of the value.
        len: usize,
        /// Its first byte, if any.
        first: Option<u8>,
    },
    /// The schema id is unknown to the registry, the registry is unreachable, or the body
    /// does not match the schema.
    #[error("cannot decode a value written with schema {schema_id}: {source}")]
    Decode {
        /// Schema id from the value's header.
        schema_id: u32,
        /// What the converter reported.
        #[source]
        source: SRCError,
    },
    /// The value decoded, but not into the requested Rust type.
    #[error("a value written with schema {schema_id} does not fit the requested type: {source}")]
    Mismatch {
        /// Schema id from the value's header.
        schema_id: u32,
        /// What apache-avro reported.
        #[source]
        source: Box<apache_avro::Error>,
    },
}

impl WireError {
    /// Whether the value itself is wrong (not wire format, does not match its schema or the
    /// requested type), as opposed to the registry failing to answer — which a consumer
    /// retries, so that a registry or database outage never dead-letters good records.
    pub fn is_permanent(&self) -> bool {
        match self {
            Self::NotWireFormat { .. } | Self::Mismatch { .. } => true,
            Self::Decode { source, .. } => {
                !source.retriable
                    && (source.error.starts_with("Could not transform bytes")
                        || source.error.starts_with("Could not resolve Avro schema"))
            }
            Self::Encode { .. } => false,
        }
    }
}

/// The schema id of a Confluent-framed value.
///
/// # Errors
/// [`WireError::NotWireFormat`] when `bytes` is shorter than 5 bytes or the magic byte is
/// not 0.
pub fn schema_id(bytes: &[u8]) -> Result<u32, WireError> {
    match bytes {
        [MAGIC_BYTE, a, b, c, d, ..] => Ok(u32::from_be_bytes([*a, *b, *c, *d])),
        _ => Err(WireError::NotWireFormat {
            len: bytes.len(),
            first: bytes.first().copied(),
        }),
    }
}

/// Encodes and decodes typed values through a Confluent-compatible schema registry.
///
/// Schemas are cached per subject (encoding) and per id (decoding) for the codec's
/// lifetime: share one codec per process. A schema registered under a subject after the
/// codec first used it is picked up by a new codec.
pub struct WireCodec {
    encoder: AvroEncoder,
    decoder: AvroDecoder,
}

impl std::fmt::Debug for WireCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WireCodec").finish_non_exhaustive()
    }
}

impl WireCodec {
    /// A codec for the registry at `registry_url` (e.g. `http://127.0.0.1:8081`).
    pub fn new(registry_url: &str) -> Self {
        let url = registry_url.trim_end_matches('/').to_owned();
        Self {
            encoder: AvroEncoder::new(SrSettings::new(url.clone())),
            decoder: AvroDecoder::new(SrSettings::new(url)),
        }
    }

    /// `value` in wire format, with the latest schema under `<topic>-value`.
    ///
    /// # Errors
    /// [`WireError::Encode`] when the subject has no schema, the registry is unreachable, or
    /// `value` does not fit the schema. Failed look-ups are not cached: a later call after
    /// registration succeeds.
    pub async fn encode<T: Serialize>(&self, topic: &str, value: &T) -> Result<Vec<u8>, WireError> {
        let strategy = SubjectNameStrategy::TopicNameStrategy(topic.to_owned(), false);
        match self.encoder.encode_struct(value, &strategy).await {
            Ok(bytes) => Ok(bytes),
            Err(source) => {
                self.encoder.remove_errors_from_cache();
                Err(WireError::Encode {
                    subject: crate::catalog::value_subject(topic),
                    source,
                })
            }
        }
    }

    /// Decode a wire-format value into `T`; returns the value and its schema id.
    ///
    /// # Errors
    /// [`WireError::NotWireFormat`], [`WireError::Decode`] (unknown id, registry down, body
    /// does not match the schema) or [`WireError::Mismatch`] (not a `T`).
    pub async fn decode<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<(T, u32), WireError> {
        let schema_id = schema_id(bytes)?;
        let decoded = match self.decoder.decode(Some(bytes)).await {
            Ok(decoded) => decoded,
            Err(source) => {
                self.decoder.remove_errors_from_cache();
                return Err(WireError::Decode { schema_id, source });
            }
        };
        let value = apache_avro::from_value(&decoded.value).map_err(|e| WireError::Mismatch {
            schema_id,
            source: Box::new(e),
        })?;
        Ok((value, schema_id))
    }
}
