//! The projection runtime: keeps a [`Projection`]'s PostgreSQL read model up to date from
//! its topics, exactly once.
//!
//! # Guarantees
//! - **Offsets live in PostgreSQL.** The read-model change of a batch and the next offset
//!   of each of its partitions (`projection_offsets`) are written in one transaction. On
//!   start the consumer is assigned its partitions at the stored offsets, so after a crash
//!   at any point (kill -9 included) it resumes exactly after the last committed batch.
//!   Kafka offset commits are advisory (async, errors ignored), for lag tooling.
//! - **Manual assignment.** No consumer-group rebalancing: partition counts come from the
//!   broker's metadata and every partition is consumed, or the subset in
//!   [`RuntimeConfig::partitions`] — run one process per disjoint subset to scale out. A
//!   partition accidentally owned twice is detected ([`RuntimeError::OffsetConflict`]).
//! - **Batches** of at most `batch_max_records`, waiting at most `batch_max_wait_ms` once
//!   the first record arrived, applied set-wise by the projection. A transient failure
//!   retries the same batch with backoff, never skips it. Shutdown stops between batches.
//! - **Poison records.** A batch that fails with [`ProjectionError::Poison`]
//!   `max_retries` times is split (around the named record, or in halves) until the poison
//!   records are isolated; everything else is applied. Each poison record goes to
//!   `<topic>.dlq.v1` with error headers (see [`dlq_headers`]), acknowledged before the
//!   offsets move past it, and its key is parked: later records of the key wait in
//!   `projection_parked_records` until [`release`] or [`skip`]; other keys keep flowing.
//!   A poison record without a key is dead-lettered and nothing is parked.
//! - **Versions.** Version N (a *build*) of projection `name` writes into schema
//!   `proj_<name>_v<N>`, registered in `projection_versions` with the shape it has (the
//!   code's [`Projection::version`]); [`live_schema`] (or the SQL function
//!   `projection_live_schema(name)`) names the schema readers use. A projector follows
//!   the live build (or writes the build in [`RuntimeConfig::version`]); each batch
//!   checks its build is not retired, so after a switch ([`builds::switch`]) a follower
//!   restarts on the new live build from that build's stored offsets. A rebuild
//!   ([`RuntimeConfig::rebuild`]) has no side effects: poison records are parked, not
//!   dead-lettered again.
//! - **Lag** per partition in `projection_lag` and in the metrics of [`metrics`],
//!   refreshed every [`RuntimeConfig::lag_interval`].

mod batch;
pub mod builds;
mod bulk;
mod config;
mod consumer;
mod dlq;
mod error;
mod lag;
pub mod metrics;
mod offsets;
mod operator;
mod parking;
mod projection;
mod schema;
mod service;
mod value;

pub use config::RuntimeConfig;
pub use error::RuntimeError;
pub use fleetlog_schemas::dlq::header as dlq_headers;
pub use operator::{ParkedKey, ReleaseMode, Released, parked, release, skip};
pub use projection::{ImpureColumn, Projection, ProjectionError, RecordId, SourceRecord};
pub use schema::{execute_in_schema, live_schema, qualify, schema_name};
pub use service::{ProjectionRuntime, run};
pub use value::decode_value;
