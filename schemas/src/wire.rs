//! Values on the wire: Avro in Confluent wire format (architecture §3).
//!
//! A value is the magic byte `0`, the schema id as 4 big-endian bytes, then the Avro binary
//! body. Values go through a typed [`Topic`]: a topic's value type and nothing else is
//! encoded for it, and its records decode as that type. [`WireCodec`] encodes with `schema_registry_converter`'s async Avro encoder, which
//! looks up (and caches) the latest schema registered under `<topic>-value`
//! (TopicNameStrategy) — register first, see [`crate::registration`] — and serializes a
//! `serde` value straight against it. Decoding fetches (and caches) the writer schema by
//! the id embedded in the bytes with its own registry call, so that every failure has a
//! type that says whether it can pass ([`WireError::is_permanent`]): a registry that does
//! not answer is retried, a value that can never decode is dead-lettered.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use apache_avro::Schema;
use apache_avro::reader::datum::GenericDatumReader;
use schema_registry_converter::async_impl::avro::AvroEncoder;
use schema_registry_converter::async_impl::schema_registry::SrSettings;
use schema_registry_converter::error::SRCError;
use schema_registry_converter::schema_registry_common::SubjectNameStrategy;
use tokio::sync::RwLock;

use crate::topics::{Topic, TopicValue};

/// The first byte of every Confluent-framed value.
pub const MAGIC_BYTE: u8 = 0;
/// Magic byte plus schema id.
pub const HEADER_LEN: usize = 5;
/// Longest a writer-schema look-up may take before it counts as the registry not answering.
const REGISTRY_TIMEOUT: Duration = Duration::from_secs(10);

/// A value could not be encoded or decoded.
///
/// Each variant says by its type whether retrying can help ([`WireError::is_permanent`]):
/// the registry not answering is transient, a value that does not fit is not.
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
    /// The registry could not be asked for the writer schema (unreachable, or it answered
    /// with an error other than "not found"): transient.
    #[error("the schema registry did not give schema {schema_id}: {reason}")]
    Registry {
        /// Schema id from the value's header.
        schema_id: u32,
        /// What failed: the transport error or the registry's status.
        reason: String,
    },
    /// The registry answered that no schema has this id: the value can never decode.
    #[error("the schema registry has no schema {schema_id}")]
    UnknownSchema {
        /// Schema id from the value's header.
        schema_id: u32,
    },
    /// The writer schema was found, but it does not parse or the body does not match it.
    #[error("cannot decode a value written with schema {schema_id}: {source}")]
    Body {
        /// Schema id from the value's header.
        schema_id: u32,
        /// What apache-avro reported.
        #[source]
        source: Box<apache_avro::Error>,
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
    /// Whether the value itself is wrong (not wire format, an id the registry does not
    /// know, a body that does not match its schema or the requested type), as opposed to
    /// the registry failing to answer — which a consumer retries, so that a registry or
    /// database outage never dead-letters good records.
    pub fn is_permanent(&self) -> bool {
        match self {
            Self::NotWireFormat { .. }
            | Self::UnknownSchema { .. }
            | Self::Body { .. }
            | Self::Mismatch { .. } => true,
            Self::Registry { .. } | Self::Encode { .. } => false,
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
    registry_url: String,
    http: reqwest::Client,
    writer_schemas: RwLock<HashMap<u32, Arc<Schema>>>,
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
            registry_url: url,
            http: reqwest::Client::builder()
                .timeout(REGISTRY_TIMEOUT)
                .build()
                .unwrap_or_default(),
            writer_schemas: RwLock::new(HashMap::new()),
        }
    }

    /// `value` in wire format for `topic`, with the latest schema under `<topic>-value`.
    ///
    /// Only the topic's value type is accepted:
    ///
    /// ```compile_fail
    /// # use fleetlog_schemas::{events::Telemetry, topics, wire::WireCodec};
    /// # fn f(codec: &WireCodec, telemetry: &Telemetry) {
    /// let _ = codec.encode(topics::FRAMES, telemetry); // telemetry is not a frame
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`WireError::Encode`] when the subject has no schema, the registry is unreachable, or
    /// `value` does not fit the schema. Failed look-ups are not cached: a later call after
    /// registration succeeds.
    pub async fn encode<V: TopicValue>(
        &self,
        topic: Topic<'_, V>,
        value: &V,
    ) -> Result<Vec<u8>, WireError> {
        let strategy = SubjectNameStrategy::TopicNameStrategy(topic.name().to_owned(), false);
        match self.encoder.encode_struct(value, &strategy).await {
            Ok(bytes) => Ok(bytes),
            Err(source) => {
                self.encoder.remove_errors_from_cache();
                Err(WireError::Encode {
                    subject: topic.subject(),
                    source,
                })
            }
        }
    }

    /// Decode a wire-format value read from `topic` into the topic's value type; returns the
    /// value and its schema id.
    ///
    /// A topic's records decode as its value type only:
    ///
    /// ```compile_fail
    /// # use fleetlog_schemas::{events::Telemetry, topics, wire::WireCodec};
    /// # async fn f(codec: &WireCodec, bytes: &[u8]) {
    /// let (_frame, _): (Telemetry, u32) = codec.decode(topics::FRAMES, bytes).await.unwrap();
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`WireError::NotWireFormat`], [`WireError::Registry`] (registry unreachable or
    /// failing: transient), [`WireError::UnknownSchema`], [`WireError::Body`] (the body does
    /// not match its schema) or [`WireError::Mismatch`] (written with a schema that is not
    /// the topic's value type's).
    pub async fn decode<V: TopicValue>(
        &self,
        topic: Topic<'_, V>,
        bytes: &[u8],
    ) -> Result<(V, u32), WireError> {
        let _ = topic; // it fixes `V`; the bytes name their own schema
        let schema_id = schema_id(bytes)?;
        let schema = self.writer_schema(schema_id).await?;
        let body_error = |e| WireError::Body {
            schema_id,
            source: Box::new(e),
        };
        let mut body = &bytes[HEADER_LEN..];
        let decoded = GenericDatumReader::builder(&schema)
            .build()
            .and_then(|reader| reader.read_value(&mut body))
            .map_err(body_error)?;
        let value = apache_avro::from_value(&decoded).map_err(|e| WireError::Mismatch {
            schema_id,
            source: Box::new(e),
        })?;
        Ok((value, schema_id))
    }

    /// The schema registered under `schema_id`, from the registry once, then cached
    /// (ids are immutable). Failures are not cached.
    async fn writer_schema(&self, schema_id: u32) -> Result<Arc<Schema>, WireError> {
        if let Some(schema) = self.writer_schemas.read().await.get(&schema_id) {
            return Ok(Arc::clone(schema));
        }
        let registry = |reason: String| WireError::Registry { schema_id, reason };
        let url = format!("{}/schemas/ids/{schema_id}", self.registry_url);
        let response = self
            .http
            .get(&url)
            .send()
            .await
            .map_err(|e| registry(e.to_string()))?;
        match response.status() {
            status if status.is_success() => {}
            reqwest::StatusCode::NOT_FOUND => return Err(WireError::UnknownSchema { schema_id }),
            status => return Err(registry(format!("HTTP {status}"))),
        }
        let body: RegisteredSchema = response
            .json()
            .await
            .map_err(|e| registry(format!("unreadable answer: {e}")))?;
        let schema = Schema::parse_str(&body.schema).map_err(|e| WireError::Body {
            schema_id,
            source: Box::new(e),
        })?;
        let schema = Arc::new(schema);
        self.writer_schemas
            .write()
            .await
            .insert(schema_id, Arc::clone(&schema));
        Ok(schema)
    }
}

/// The part of the registry's `GET /schemas/ids/{id}` answer the decoder reads.
#[derive(serde::Deserialize)]
struct RegisteredSchema {
    schema: String,
}
