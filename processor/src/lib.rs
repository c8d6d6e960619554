//! The processor runtime: keeps a [`Projection`]'s PostgreSQL state up to date from its
//! topics, exactly once, on as many processes as there are partitions. The read models
//! (`fleetlog-projections`) and the commands processor (`fleetlog-commands`) run on it.
//!
//! # Guarantees
//! - **Offsets live in PostgreSQL.** The state change of a batch and the next offset of
//!   each of its partitions (`projection_offsets`) are written in one transaction. A
//!   partition assigned to a process starts at its stored offset, so after a crash at any
//!   point (kill -9 included) it resumes exactly after the last committed batch. Kafka
//!   offset commits are advisory (async, errors ignored), for lag tooling.
//! - **Consumer groups.** Serving processes of one build join the group
//!   `fleetlog-projection-<name>-v<N>-<deployment id>` (cooperative-sticky; see
//!   [`deployment_id`]): start more processes and the
//!   partitions are split between them; one that stops or dies (after the session
//!   timeout) has its partitions handed to the others. A bounded run (a rebuild) or a
//!   process given [`RuntimeConfig::partitions`] assigns its partitions itself.
//! - **Fencing.** Each assignment *claims* its partitions in PostgreSQL: a new owner
//!   epoch, and the stored offsets read after any batch of the previous owner still in
//!   flight (`projection_claims`). A batch commits only while its partitions'
//!   epochs are still this process's, so a process whose partitions moved can never
//!   commit a late batch for them ([`RuntimeError::Fenced`]): nothing is applied twice.
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
mod claims;
mod config;
mod consume;
mod consumer;
mod dlq;
mod error;
mod lag;
pub mod metrics;
mod offsets;
mod operator;
mod parking;
mod projection;
mod rebalance;
mod schema;
mod service;
pub mod testing;
mod value;

pub use config::RuntimeConfig;
pub use error::RuntimeError;
pub use fleetlog_schemas::dlq::header as dlq_headers;
pub use operator::{ParkedKey, ReleaseMode, Released, parked, release, skip};
pub use projection::{ImpureColumn, Projection, ProjectionError, RecordId, SourceRecord};
pub use schema::{deployment_id, execute_in_schema, live_schema, qualify, schema_name};
pub use service::{ProjectionRuntime, run};
pub use value::decode_value;
