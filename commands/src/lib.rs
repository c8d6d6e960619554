//! The write side: app and operator commands are decided here.
//!
//! In the flow: `api (POST) ──▶ app.commands.v1 ──▶ deciders / ride saga ──▶
//! fleet.events.v1 + scooter.downlink.v1`, with telemetry, sessions and device replies
//! feeding back into the saga. This crate holds the pure part: deciders are functions of
//! (state, input, context), with no async, no I/O and no clock, so the same inputs always
//! give the same outputs. The [`processor`] feeds them from the log and keeps their state
//! in the same PostgreSQL transaction as its offsets; it is the crate's only I/O.
//!
//! - [`vehicle`]: the vehicle decider — registration, service state, reservations, the
//!   ride saga (unlock → ride → lock), pricing, remote commands.
//! - [`Context`]: the clock, the rider index fact, zones, [`DeciderConfig`] and [`Pricing`].
//! - [`Rejection`]: why a command was refused, as data (`CommandRejected.code`).
//! - [`zone`]: the zone decider (`DefineZone` → `ZoneDefined`).
//! - [`geo`]: point in polygon on e7 coordinates and haversine distance.
//! - [`processor`]: `fleetlog commands` — the deciders on the projection runtime, an outbox
//!   relay to the log, and a ticker for deadlines.

pub mod context;
pub mod geo;
pub mod processor;
pub mod rejection;
pub mod vehicle;
pub mod zone;

pub use context::{Context, DeciderConfig, Pricing, Zone};
pub use rejection::{Rejection, RejectionCode};
