//! The read side: stateless processors that derive PostgreSQL read models from the log.
//!
//! In the flow: `scooter.telemetry.v1 / fleet.events.v1 ──▶ projections ──▶ PostgreSQL`,
//! each read model in its own versioned schema with its offsets in the same transaction.
//! Not built yet (see the issues).
