//! The write side: app and operator commands are decided here.
//!
//! In the flow: `api (POST) ──▶ app.commands.v1 ──▶ deciders / ride saga ──▶
//! fleet.events.v1 + scooter.downlink.v1`, with telemetry, sessions and device replies
//! feeding back into the saga. This crate holds the pure part: deciders are functions of
//! (state, input, context), with no async, no I/O and no clock, so the same inputs always
//! give the same outputs; the processor that feeds them (not built yet) keeps their state
//! in the same PostgreSQL transaction as its offsets.
//!
//! - [`vehicle`]: the vehicle decider — registration, service state, reservations, the
//!   ride saga (unlock → ride → lock), pricing, remote commands.
//! - [`Context`]: the clock, the rider index fact, zones, [`DeciderConfig`] and [`Pricing`].
//! - [`Rejection`]: why a command was refused, as data (`CommandRejected.code`).
//! - [`geo`]: point in polygon on e7 coordinates and haversine distance.

pub mod context;
pub mod geo;
pub mod rejection;
pub mod vehicle;

pub use context::{Context, DeciderConfig, Pricing, Zone};
pub use rejection::{Rejection, RejectionCode};
