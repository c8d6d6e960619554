//! The processor's tables (`commands/sql/`): load what a batch needs, write what it decided
//! — every statement set-wise, inside the caller's transaction.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use fleetlog_processor::ProjectionError;
use fleetlog_processor::qualify;
use fleetlog_schemas::events::AppCommandBody;
use fleetlog_schemas::topics::{self, Topic, TopicValue};
use fleetlog_schemas::wire::{WireCodec, WireError};
use sqlx::PgConnection;
use uuid::Uuid;

use super::inputs::{Input, InputKind};
use super::step::{Loaded, Outcome, OutputValue};
use crate::context::Zone;
use crate::vehicle::{Vehicle, VehicleSnapshot};

/// The channel the relay listens on; notified (at commit) when the outbox grew.
pub(crate) const OUTBOX_CHANNEL: &str = "fleetlog_commands_outbox";

fn sql(text: &str, schema: &str) -> Result<String, ProjectionError> {
    qualify(text, schema).map_err(ProjectionError::transient)
}

fn poison(reason: String) -> ProjectionError {
    ProjectionError::poison_somewhere(reason)
}

/// What the inputs refer to: vehicle ids, device ids, QR codes and riders.
#[derive(Debug, Default)]
pub(crate) struct Keys {
    pub(crate) vehicles: BTreeSet<Uuid>,
    pub(crate) devices: BTreeSet<String>,
    pub(crate) qr_codes: BTreeSet<String>,
    pub(crate) riders: BTreeSet<Uuid>,
}

impl Keys {
    /// The keys `inputs` need loaded.
    pub(crate) fn of(inputs: &[Input]) -> Self {
        let mut keys = Self::default();
        for input in inputs {
            match &input.kind {
                InputKind::Command(cmd) => {
                    if matches!(cmd.command, AppCommandBody::DefineZone(_)) {
                        continue;
                    }
                    keys.vehicles.insert(cmd.key());
                    if let AppCommandBody::RegisterVehicle(reg) = &cmd.command {
                        keys.devices.insert(reg.device_id.clone());
                        keys.qr_codes.insert(reg.qr_code.clone());
                    }
                    if let Ok(rider) = Uuid::parse_str(&cmd.actor.id) {
                        keys.riders.insert(rider);
                    }
                }
                InputKind::Device { device_id, .. } => {
                    keys.devices.insert(device_id.clone());
                }
            }
        }
        keys
    }
}

/// Load (and lock) what `keys` refer to, plus every zone.
///
/// # Errors
/// Database failures (transient); a stored state that no longer deserialises (poison).
pub(crate) async fn load(
    tx: &mut PgConnection,
    schema: &str,
    keys: &Keys,
) -> Result<Loaded, ProjectionError> {
    let mut loaded = Loaded::default();
    let vehicles: Vec<Uuid> = keys.vehicles.iter().copied().collect();
    let devices: Vec<String> = keys.devices.iter().cloned().collect();
    let qr_codes: Vec<String> = keys.qr_codes.iter().cloned().collect();
    let rows: Vec<VehicleRow> =
        sqlx::query_as(&sql(include_str!("../../sql/load_vehicles.sql"), schema)?)
            .bind(&vehicles)
            .bind(&devices)
            .bind(&qr_codes)
            .fetch_all(&mut *tx)
            .await?;
    add_vehicles(&mut loaded, rows)?;
    let riders: Vec<Uuid> = keys.riders.iter().copied().collect();
    let held: Vec<(Uuid, Uuid)> =
        sqlx::query_as(&sql(include_str!("../../sql/load_riders.sql"), schema)?)
            .bind(&riders)
            .fetch_all(&mut *tx)
            .await?;
    loaded.riders.extend(held);
    let zones: Vec<(serde_json::Value, Uuid)> =
        sqlx::query_as(&sql(include_str!("../../sql/load_zones.sql"), schema)?)
            .fetch_all(&mut *tx)
            .await?;
    for (zone, last) in zones {
        let zone: Zone = serde_json::from_value(zone)
            .map_err(|err| poison(format!("stored zone unreadable: {err}")))?;
        loaded.zones.insert(zone.id, (zone, last));
    }
    Ok(loaded)
}

/// Load (and lock) up to `limit` vehicles due at `now_ms`, skipping rows a batch holds;
/// with the riders they hold and every zone.
///
/// # Errors
/// As [`load`].
pub(crate) async fn load_due(
    tx: &mut PgConnection,
    schema: &str,
    now_ms: i64,
    limit: i64,
) -> Result<Loaded, ProjectionError> {
    let rows: Vec<VehicleRow> =
        sqlx::query_as(&sql(include_str!("../../sql/due_vehicles.sql"), schema)?)
            .bind(now_ms)
            .bind(limit)
            .fetch_all(&mut *tx)
            .await?;
    let mut keys = Keys::default();
    let mut due = Loaded::default();
    add_vehicles(&mut due, rows)?;
    keys.riders = due.vehicles.values().filter_map(Vehicle::holder).collect();
    let mut loaded = load(tx, schema, &keys).await?;
    loaded.vehicles = due.vehicles;
    loaded.devices = due.devices;
    loaded.qr_codes = due.qr_codes;
    Ok(loaded)
}

type VehicleRow = (Uuid, Option<String>, Option<String>, serde_json::Value);

fn add_vehicles(loaded: &mut Loaded, rows: Vec<VehicleRow>) -> Result<(), ProjectionError> {
    for (vehicle_id, device_id, qr_code, state) in rows {
        let state = VehicleSnapshot::from_json(state)
            .map_err(|err| poison(format!("stored state of {vehicle_id}: {err}")))?;
        if let Some(device_id) = device_id {
            loaded.devices.insert(device_id, vehicle_id);
        }
        if let Some(qr_code) = qr_code {
            loaded.qr_codes.insert(qr_code, vehicle_id);
        }
        loaded.vehicles.insert(vehicle_id, state);
    }
    Ok(())
}

/// Write `outcome`: vehicle states, the rider index of the touched vehicles, zones, and
/// the outbox (values encoded through `codec`), then notify the relay.
///
/// # Errors
/// Database or registry failures (transient). A rider already holding a vehicle that
/// another processor decided fails the batch; its retry sees the rider busy.
pub(crate) async fn save(
    tx: &mut PgConnection,
    schema: &str,
    codec: &WireCodec,
    outcome: &Outcome,
) -> Result<(), ProjectionError> {
    if !outcome.vehicles.is_empty() {
        save_vehicles(tx, schema, outcome).await?;
        save_riders(tx, schema, outcome).await?;
    }
    if !outcome.zones.is_empty() {
        save_zones(tx, schema, outcome).await?;
    }
    if !outcome.outputs.is_empty() {
        save_outbox(tx, schema, codec, outcome).await?;
        sqlx::query("SELECT pg_notify($1, '')")
            .bind(OUTBOX_CHANNEL)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

async fn save_vehicles(
    tx: &mut PgConnection,
    schema: &str,
    outcome: &Outcome,
) -> Result<(), ProjectionError> {
    let n = outcome.vehicles.len();
    let (mut ids, mut devices, mut qrs, mut states, mut due) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for (id, v) in &outcome.vehicles {
        ids.push(*id);
        devices.push(v.registration.as_ref().map(|r| r.device_id.clone()));
        qrs.push(v.registration.as_ref().map(|r| r.qr_code.clone()));
        states.push(VehicleSnapshot::to_json(v).map_err(ProjectionError::transient)?);
        due.push(v.next_due_ms());
    }
    sqlx::query(&sql(include_str!("../../sql/save_vehicles.sql"), schema)?)
        .bind(&ids)
        .bind(&devices)
        .bind(&qrs)
        .bind(&states)
        .bind(&due)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

async fn save_riders(
    tx: &mut PgConnection,
    schema: &str,
    outcome: &Outcome,
) -> Result<(), ProjectionError> {
    let touched: Vec<Uuid> = outcome.vehicles.keys().copied().collect();
    sqlx::query(&sql(include_str!("../../sql/clear_riders.sql"), schema)?)
        .bind(&touched)
        .execute(&mut *tx)
        .await?;
    let (riders, vehicles): (Vec<Uuid>, Vec<Uuid>) = outcome.holders().into_iter().unzip();
    if !riders.is_empty() {
        sqlx::query(&sql(include_str!("../../sql/save_riders.sql"), schema)?)
            .bind(&riders)
            .bind(&vehicles)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

async fn save_zones(
    tx: &mut PgConnection,
    schema: &str,
    outcome: &Outcome,
) -> Result<(), ProjectionError> {
    let mut ids = Vec::new();
    let mut zones = Vec::new();
    let mut commands = Vec::new();
    for (id, (zone, command)) in &outcome.zones {
        ids.push(*id);
        zones.push(serde_json::to_value(zone).map_err(ProjectionError::transient)?);
        commands.push(*command);
    }
    sqlx::query(&sql(include_str!("../../sql/save_zones.sql"), schema)?)
        .bind(&ids)
        .bind(&zones)
        .bind(&commands)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

async fn save_outbox(
    tx: &mut PgConnection,
    schema: &str,
    codec: &WireCodec,
    outcome: &Outcome,
) -> Result<(), ProjectionError> {
    let n = outcome.outputs.len();
    let mut topics = Vec::with_capacity(n);
    let mut keys = Vec::with_capacity(n);
    let mut payloads = Vec::with_capacity(n);
    let mut ids = Vec::with_capacity(n);
    let mut types = Vec::with_capacity(n);
    let mut sources = Vec::with_capacity(n);
    let mut subjects = Vec::with_capacity(n);
    let mut correlations = Vec::with_capacity(n);
    let mut causations = Vec::with_capacity(n);
    let mut times: Vec<DateTime<Utc>> = Vec::with_capacity(n);
    for out in &outcome.outputs {
        let (topic, payload) = encode(codec, &out.value)
            .await
            .map_err(ProjectionError::transient)?;
        topics.push(topic);
        keys.push(out.key.as_str());
        payloads.push(payload);
        ids.push(out.envelope.id);
        types.push(out.envelope.event_type.as_str());
        sources.push(out.envelope.source.as_str());
        subjects.push(out.envelope.subject.as_str());
        correlations.push(out.envelope.correlation_id);
        causations.push(out.envelope.causation_id);
        times.push(out.envelope.time);
    }
    sqlx::query(&sql(include_str!("../../sql/save_outbox.sql"), schema)?)
        .bind(&topics)
        .bind(&keys)
        .bind(&payloads)
        .bind(&ids)
        .bind(&types)
        .bind(&sources)
        .bind(&subjects)
        .bind(&correlations)
        .bind(&causations)
        .bind(&times)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// The topic an output goes to and its value in wire format.
async fn encode(
    codec: &WireCodec,
    value: &OutputValue,
) -> Result<(&'static str, Vec<u8>), WireError> {
    match value {
        OutputValue::Fleet(event) => encoded(codec, topics::FLEET_EVENTS, event).await,
        OutputValue::Downlink(command) => encoded(codec, topics::DOWNLINK, command).await,
    }
}

async fn encoded<V: TopicValue>(
    codec: &WireCodec,
    topic: Topic<'static, V>,
    value: &V,
) -> Result<(&'static str, Vec<u8>), WireError> {
    Ok((topic.name(), codec.encode(topic, value).await?))
}
