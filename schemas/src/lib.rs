//! Event contracts of fleetlog: what is on the log and how it is encoded.
//!
//! Every box in the flow (gateway → frames → decoder → telemetry → projections; API →
//! app commands → deciders → fleet events / downlink) agrees on the names and shapes
//! defined here: the [`topics`] catalogue of `docs/architecture.md` §2.

pub mod catalog;
pub mod derived;
pub mod dlq;
pub mod envelope;
pub mod events;
pub mod evolution;
pub mod registration;
pub mod topics;
pub mod wire;
