//! The rides read model (projection `rides`, version 1): rides, reservations and the
//! outcome of every app command.
//!
//! Reads `fleet.events.v1` (rides, reservations, command decisions) and
//! `scooter.replies.v1` (device replies), each value through the schema registry and each
//! envelope from the record's headers. Tables, in the projection's schema
//! (`proj_rides_v1`):
//!
//! - `rides` — one row per ride: vehicle, rider, reservation, state (`requested`,
//!   `started`, `ended`, `failed`), requested / started / ended / failed times, start and
//!   end positions (e7), duration, distance, fare and currency, forced, failure reason and
//!   detail, the start-ride command (correlation id of `RideRequested`), its UNLOCK
//!   downlink, and the end-ride command (correlation id of `RideEnded`).
//! - `reservations` — one row per reservation: made / expires / ended times, state
//!   (`active`, `cancelled`, `expired`, `converted`), who cancelled it and why, the ride it
//!   was converted into.
//! - `commands` — one row per app command with an outcome so far (no row: `pending`):
//!   `accepted`, `rejected` (code, message), `completed` or `failed`, where the outcome
//!   came from (`decision`, `ride`, `device`), its ride, decision and finish times.
//! - `command_replies` — the first terminal device reply per correlation id.
//! - `applied_events` — every event id applied: the dedupe.
//!
//! **Command status.** `CommandAccepted` → `accepted`; `CommandRejected` → `rejected`. The
//! API makes each app command a root event (envelope id = correlation id = command id), so
//! whatever it causes carries the command id as correlation id: `RideStarted` and
//! `RideEnded` complete that command, `RideFailed` fails it (code = reason, message =
//! detail). A device reply (`ANSWERED` → `completed`; `REJECTED`, `TIMED_OUT`,
//! `UNDELIVERABLE` → `failed`; `DELIVERED` → nothing) only settles a command that is
//! `accepted` and that no ride names as its start or end command: remote lock, unlock
//! and locate wait on the device alone, ride commands on their ride events. Precedence:
//! `accepted` < device-reply outcome < rejection or ride outcome; a row never goes back,
//! and an outcome read before its decision (another topic) is upserted all the same.
//!
//! **Idempotent and deterministic**: a record whose `ce_id` was applied before changes
//! nothing; rows hold event times only (no wall clock). Batches are decoded, reduced in
//! memory to one change per ride, reservation and command (`reduce/`, pure), and written
//! with one set-wise statement per table (`write.rs`).

mod decode;
mod reduce;
mod write;

use fleetlog_schemas::topics;
use fleetlog_schemas::wire::WireCodec;
use futures::future::BoxFuture;

use fleetlog_processor::{Projection, ProjectionError, SourceRecord, execute_in_schema};

/// The projection's name.
pub const NAME: &str = "rides";
/// The read model's version (its schema is `proj_rides_v1`).
pub const VERSION: u32 = 1;
/// The topics it reads.
pub static TOPICS: [&str; 2] = [topics::FLEET_EVENTS.name(), topics::REPLIES.name()];

/// The rides projection; see the module docs.
#[derive(Debug)]
pub struct RidesProjection {
    codec: WireCodec,
}

impl RidesProjection {
    /// A projection decoding values through the schema registry at `registry_url`.
    pub fn new(registry_url: &str) -> Self {
        Self {
            codec: WireCodec::new(registry_url),
        }
    }
}

impl Projection for RidesProjection {
    fn name(&self) -> &'static str {
        NAME
    }

    fn version(&self) -> u32 {
        VERSION
    }

    fn topics(&self) -> &'static [&'static str] {
        &TOPICS
    }

    fn migrate<'a>(
        &'a self,
        tx: &'a mut sqlx::PgConnection,
        schema: &'a str,
    ) -> BoxFuture<'a, Result<(), ProjectionError>> {
        Box::pin(execute_in_schema(
            tx,
            include_str!("../../sql/rides/migrate.sql"),
            schema,
        ))
    }

    fn apply<'a>(
        &'a self,
        tx: &'a mut sqlx::PgConnection,
        schema: &'a str,
        batch: &'a [SourceRecord],
    ) -> BoxFuture<'a, Result<(), ProjectionError>> {
        Box::pin(async move {
            let events = decode::decode_batch(&self.codec, batch).await?;
            write::apply(tx, schema, events).await
        })
    }
}
