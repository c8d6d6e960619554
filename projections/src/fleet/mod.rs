//! The fleet read model (projection `fleet`, version 1): the latest known state of every
//! device and vehicle, and each device's record history.
//!
//! Reads `scooter.telemetry.v1`, `scooter.sessions.v1` and `fleet.events.v1` (frames are
//! not read: the protocol of a device comes from its session's connect, or from its
//! registration). Tables, in the projection's schema (`proj_fleet_v1`):
//!
//! - `devices` — one row per device: protocol, vehicle, last valid position with its time,
//!   speed, heading, battery, lock state, odometer (each with the device time it was
//!   reported at), the newest record's device time and receive time, its alarms (the open
//!   alarms), online flag and since when, gateway, and `last_event_id`: the event id
//!   (`ce_id`) of the newest event of the last batch that changed the row.
//! - `telemetry_history` — one row per device record, keyed by the device-record identity
//!   `(device_id, device_time_ms, record_index)`, with its UTC `day` (indexed with the
//!   device) and the event and frame it came in.
//! - `vehicles` — one row per registered vehicle: device, protocol, model, QR code, state.
//! - `zones` — one row per zone from `ZoneDefined`: kind (`SERVICE_AREA`, `NO_PARKING`,
//!   `SLOW`), name, rings (JSON, outer ring first, points as `{lat_e7, lon_e7}`), speed
//!   limit, and the event time and id of the definition kept (the newest by
//!   `(occurred_at_ms, event id)`). Read by the API's GBFS `geofencing_zones`.
//!
//! **Never backwards**: every part of a row moves only to a strictly newer device time (or
//! session / event time), so late, re-sent or replayed records change nothing, and
//! applying a batch twice leaves identical rows. Batches are decoded, reduced in memory to
//! one change per device or vehicle (`reduce.rs`), and written with one set-wise statement
//! per table and source topic.

mod bulk;
pub mod copy;
mod decode;
mod reduce;
mod write;

use fleetlog_schemas::topics;
use fleetlog_schemas::wire::WireCodec;
use futures::future::BoxFuture;

use fleetlog_processor::{
    ImpureColumn, Projection, ProjectionError, SourceRecord, execute_in_schema,
};

/// The projection's name.
pub const NAME: &str = "fleet";
/// The read model's version (its schema is `proj_fleet_v1`).
pub const VERSION: u32 = 1;
/// The topics it reads.
pub static TOPICS: [&str; 3] = [
    topics::TELEMETRY.name(),
    topics::SESSIONS.name(),
    topics::FLEET_EVENTS.name(),
];

const WALL_CLOCK: &str = "wall-clock time of the transaction that wrote the row";
const BATCH_CUT: &str =
    "newest event of the last batch that changed the row: depends on where batches are cut";

/// Not reproduced by a rebuild (see [`Projection::impure_columns`]).
pub static IMPURE_COLUMNS: [ImpureColumn; 5] = [
    ImpureColumn {
        table: "devices",
        column: "updated_at",
        why: WALL_CLOCK,
    },
    ImpureColumn {
        table: "devices",
        column: "last_event_id",
        why: BATCH_CUT,
    },
    ImpureColumn {
        table: "vehicles",
        column: "updated_at",
        why: WALL_CLOCK,
    },
    ImpureColumn {
        table: "vehicles",
        column: "last_event_id",
        why: BATCH_CUT,
    },
    ImpureColumn {
        table: "zones",
        column: "updated_at",
        why: WALL_CLOCK,
    },
];

/// The fleet projection; see the module docs.
#[derive(Debug)]
pub struct FleetProjection {
    codec: WireCodec,
}

impl FleetProjection {
    /// A projection decoding values through the schema registry at `registry_url`.
    pub fn new(registry_url: &str) -> Self {
        Self {
            codec: WireCodec::new(registry_url),
        }
    }
}

impl Projection for FleetProjection {
    fn name(&self) -> &'static str {
        NAME
    }

    fn version(&self) -> u32 {
        VERSION
    }

    fn topics(&self) -> &'static [&'static str] {
        &TOPICS
    }

    fn impure_columns(&self) -> &'static [ImpureColumn] {
        &IMPURE_COLUMNS
    }

    fn migrate<'a>(
        &'a self,
        tx: &'a mut sqlx::PgConnection,
        schema: &'a str,
    ) -> BoxFuture<'a, Result<(), ProjectionError>> {
        Box::pin(execute_in_schema(
            tx,
            include_str!("../../sql/fleet/migrate.sql"),
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
            let decoded = decode::decode_batch(&self.codec, batch).await?;
            write::apply(tx, schema, &decoded, false).await
        })
    }

    fn begin_bulk<'a>(
        &'a self,
        tx: &'a mut sqlx::PgConnection,
        schema: &'a str,
    ) -> BoxFuture<'a, Result<(), ProjectionError>> {
        Box::pin(bulk::run(tx, schema, false))
    }

    fn apply_bulk<'a>(
        &'a self,
        tx: &'a mut sqlx::PgConnection,
        schema: &'a str,
        batch: &'a [SourceRecord],
    ) -> BoxFuture<'a, Result<(), ProjectionError>> {
        Box::pin(async move {
            let decoded = decode::decode_batch(&self.codec, batch).await?;
            write::apply(tx, schema, &decoded, true).await
        })
    }

    fn finish_bulk<'a>(
        &'a self,
        tx: &'a mut sqlx::PgConnection,
        schema: &'a str,
    ) -> BoxFuture<'a, Result<(), ProjectionError>> {
        Box::pin(bulk::run(tx, schema, true))
    }
}
