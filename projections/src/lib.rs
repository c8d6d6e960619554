//! The read side: processors that derive PostgreSQL read models from the log.
//!
//! In the flow: `scooter.telemetry.v1 / fleet.events.v1 ──▶ projections ──▶ PostgreSQL`.
//! The [`runtime`] consumes a [`Projection`]'s topics with offsets stored in the same
//! transaction as the read-model change, dead-letters poison records and parks their
//! keys, and writes each read-model version into its own schema `proj_<name>_v<N>`.
//! [`testing`] holds a small counting projection for tests and examples; the fleet, rides
//! and lineage read models come next.

pub mod runtime;
pub mod testing;

pub use runtime::{
    Projection, ProjectionError, ProjectionRuntime, RuntimeConfig, SourceRecord, run,
};
