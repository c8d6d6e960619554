//! The pure half of the fleet projection: a batch's decoded events reduced to at most one
//! change per device and per vehicle, without I/O.
//!
//! Ordering rules, the same within a batch as across batches (so a rebuild that cuts the
//! log into different batches ends with the same rows):
//! - **Telemetry**: the newest record by `(device_time_ms, record_index)` gives the record
//!   part (time, speed, heading, alarms, event id); position (only from records with a
//!   valid fix), battery, lock state and odometer each come from the newest record that
//!   reported them, by device time. On equal keys the record seen first (log order) wins.
//! - **Sessions** and **fleet events** (registrations, state changes, zone definitions):
//!   newest by `(at_ms, event_id)`.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, HashSet};

use fleetlog_schemas::events::{
    AlarmKind, FleetEvent, FleetEventBody, LockState, Protocol, SessionChange, SessionEvent,
    Telemetry, VehicleState, ZoneDefined,
};
use uuid::Uuid;

/// A value with the device time of the record that reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamped<T> {
    pub(crate) value: T,
    pub(crate) at_ms: i64,
}

/// The newest telemetry of one device within a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeviceTelemetry {
    pub(crate) device_id: String,
    pub(crate) device_time_ms: i64,
    pub(crate) record_index: i32,
    pub(crate) received_at_ms: i64,
    pub(crate) speed_kmh: i32,
    pub(crate) heading_deg: i32,
    pub(crate) alarms: Vec<AlarmKind>,
    /// Event id of the newest record.
    pub(crate) event_id: Uuid,
    /// `(lat_e7, lon_e7)` of the newest record with a valid fix.
    pub(crate) position: Option<Stamped<(i32, i32)>>,
    pub(crate) battery_pct: Option<Stamped<i32>>,
    pub(crate) lock_state: Option<Stamped<LockState>>,
    pub(crate) odometer_m: Option<Stamped<i64>>,
}

impl DeviceTelemetry {
    fn from_record(event_id: Uuid, t: &Telemetry) -> Self {
        let mut reduced = Self {
            device_id: t.device_id.clone(),
            device_time_ms: t.device_time_ms,
            record_index: t.record_index,
            received_at_ms: t.received_at_ms,
            speed_kmh: t.speed_kmh,
            heading_deg: t.heading_deg,
            alarms: t.alarms.clone(),
            event_id,
            position: None,
            battery_pct: None,
            lock_state: None,
            odometer_m: None,
        };
        reduced.absorb_fields(t);
        reduced
    }

    /// Take what `t` has that is newer than what this batch has seen so far.
    fn absorb(&mut self, event_id: Uuid, t: &Telemetry) {
        if (t.device_time_ms, t.record_index) > (self.device_time_ms, self.record_index) {
            self.device_time_ms = t.device_time_ms;
            self.record_index = t.record_index;
            self.received_at_ms = t.received_at_ms;
            self.speed_kmh = t.speed_kmh;
            self.heading_deg = t.heading_deg;
            self.alarms.clone_from(&t.alarms);
            self.event_id = event_id;
        }
        self.absorb_fields(t);
    }

    fn absorb_fields(&mut self, t: &Telemetry) {
        let at = t.device_time_ms;
        let fix = t.position_valid.then_some((t.lat_e7, t.lon_e7));
        keep_newer(&mut self.position, fix, at);
        keep_newer(&mut self.battery_pct, t.battery_pct, at);
        keep_newer(&mut self.lock_state, t.lock_state, at);
        keep_newer(&mut self.odometer_m, t.odometer_m, at);
    }
}

/// Replace `slot` by `value` when reported and strictly newer (the first report wins ties).
fn keep_newer<T>(slot: &mut Option<Stamped<T>>, value: Option<T>, at_ms: i64) {
    let Some(value) = value else { return };
    if slot.as_ref().is_none_or(|s| at_ms > s.at_ms) {
        *slot = Some(Stamped { value, at_ms });
    }
}

/// One change per device, ordered by device id.
pub(crate) fn newest_telemetry(records: &[(Uuid, Telemetry)]) -> Vec<DeviceTelemetry> {
    let mut devices: BTreeMap<&str, DeviceTelemetry> = BTreeMap::new();
    for (event_id, t) in records {
        match devices.entry(t.device_id.as_str()) {
            Entry::Vacant(e) => {
                e.insert(DeviceTelemetry::from_record(*event_id, t));
            }
            Entry::Occupied(mut e) => e.get_mut().absorb(*event_id, t),
        }
    }
    devices.into_values().collect()
}

/// The records of a batch once per device-record identity `(device_id, device_time_ms,
/// record_index)`, the first occurrence kept (a re-sent frame repeats the identity).
pub(crate) fn distinct_records(records: &[(Uuid, Telemetry)]) -> Vec<&(Uuid, Telemetry)> {
    let mut seen = HashSet::with_capacity(records.len());
    records
        .iter()
        .filter(|(_, t)| seen.insert((t.device_id.as_str(), t.device_time_ms, t.record_index)))
        .collect()
}

/// The newest session event of one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeviceSession {
    pub(crate) device_id: String,
    pub(crate) online: bool,
    pub(crate) at_ms: i64,
    pub(crate) event_id: Uuid,
    pub(crate) gateway_id: String,
    /// Known from a connect; `None` after a disconnect.
    pub(crate) protocol: Option<Protocol>,
}

/// One session change per device (newest by `(at_ms, event_id)`), ordered by device id,
/// with the protocol of the newest connect of the batch even when the newest change is a
/// disconnect — so the protocol does not depend on where batches are cut (a connect and
/// its disconnect in one batch, or in two).
pub(crate) fn newest_sessions(events: &[(Uuid, SessionEvent)]) -> Vec<DeviceSession> {
    let mut devices = BTreeMap::new();
    let mut connects: BTreeMap<String, (i64, Uuid, Protocol)> = BTreeMap::new();
    for (event_id, e) in events {
        let (online, protocol) = match &e.change {
            SessionChange::SessionConnected(c) => (true, Some(c.protocol)),
            SessionChange::SessionDisconnected(_) => (false, None),
        };
        if let Some(p) = protocol {
            keep_latest(
                &mut connects,
                e.device_id.clone(),
                (e.at_ms, *event_id, p),
                |c| (c.0, c.1),
            );
        }
        let session = DeviceSession {
            device_id: e.device_id.clone(),
            online,
            at_ms: e.at_ms,
            event_id: *event_id,
            gateway_id: e.gateway_id.clone(),
            protocol,
        };
        keep_latest(&mut devices, e.device_id.clone(), session, |s| {
            (s.at_ms, s.event_id)
        });
    }
    devices
        .into_values()
        .map(|mut session: DeviceSession| {
            if session.protocol.is_none() {
                session.protocol = connects.get(&session.device_id).map(|c| c.2);
            }
            session
        })
        .collect()
}

/// A vehicle joined the fleet with a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Registration {
    pub(crate) vehicle_id: Uuid,
    pub(crate) device_id: String,
    pub(crate) protocol: Protocol,
    pub(crate) model: String,
    pub(crate) qr_code: String,
    pub(crate) at_ms: i64,
    pub(crate) event_id: Uuid,
}

/// A vehicle's operational state changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StateChange {
    pub(crate) state: VehicleState,
    pub(crate) at_ms: i64,
    pub(crate) event_id: Uuid,
}

/// The newest registration and state change of one vehicle within a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VehicleChange {
    pub(crate) vehicle_id: Uuid,
    pub(crate) registration: Option<Registration>,
    pub(crate) state: Option<StateChange>,
}

fn registration(event_id: Uuid, e: &FleetEvent) -> Option<Registration> {
    match &e.event {
        FleetEventBody::VehicleRegistered(r) => Some(Registration {
            vehicle_id: r.vehicle_id,
            device_id: r.device_id.clone(),
            protocol: r.protocol,
            model: r.model.clone(),
            qr_code: r.qr_code.clone(),
            at_ms: e.occurred_at_ms,
            event_id,
        }),
        _ => None,
    }
}

/// One change per vehicle that was registered or changed state in the batch, ordered by
/// vehicle id; every other fleet event is ignored.
pub(crate) fn vehicle_changes(events: &[(Uuid, FleetEvent)]) -> Vec<VehicleChange> {
    let mut registrations = BTreeMap::new();
    let mut states = BTreeMap::new();
    for (event_id, e) in events {
        if let Some(r) = registration(*event_id, e) {
            keep_latest(&mut registrations, r.vehicle_id, r, |r| {
                (r.at_ms, r.event_id)
            });
        } else if let FleetEventBody::VehicleStateChanged(s) = &e.event {
            let change = StateChange {
                state: s.to_state,
                at_ms: e.occurred_at_ms,
                event_id: *event_id,
            };
            keep_latest(&mut states, s.vehicle_id, change, |s| (s.at_ms, s.event_id));
        }
    }
    let ids: std::collections::BTreeSet<Uuid> =
        registrations.keys().chain(states.keys()).copied().collect();
    ids.into_iter()
        .map(|vehicle_id| VehicleChange {
            vehicle_id,
            registration: registrations.remove(&vehicle_id),
            state: states.remove(&vehicle_id),
        })
        .collect()
}

/// The newest registration naming each device, ordered by device id.
pub(crate) fn device_registrations(events: &[(Uuid, FleetEvent)]) -> Vec<Registration> {
    let mut devices = BTreeMap::new();
    for (event_id, e) in events {
        if let Some(r) = registration(*event_id, e) {
            keep_latest(&mut devices, r.device_id.clone(), r, |r| {
                (r.at_ms, r.event_id)
            });
        }
    }
    devices.into_values().collect()
}

/// The newest definition of one zone within a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ZoneDefinition {
    pub(crate) zone: ZoneDefined,
    pub(crate) at_ms: i64,
    pub(crate) event_id: Uuid,
}

/// One definition per zone defined in the batch (newest by `(occurred_at_ms, event_id)`),
/// ordered by zone id.
pub(crate) fn zone_definitions(events: &[(Uuid, FleetEvent)]) -> Vec<ZoneDefinition> {
    let mut zones = BTreeMap::new();
    for (event_id, e) in events {
        if let FleetEventBody::ZoneDefined(z) = &e.event {
            let definition = ZoneDefinition {
                zone: z.clone(),
                at_ms: e.occurred_at_ms,
                event_id: *event_id,
            };
            keep_latest(&mut zones, z.zone_id, definition, |d| (d.at_ms, d.event_id));
        }
    }
    zones.into_values().collect()
}

/// Keep `value` under `key` when its order is strictly greater than the kept one's.
fn keep_latest<K: Ord, V>(
    map: &mut BTreeMap<K, V>,
    key: K,
    value: V,
    order: impl Fn(&V) -> (i64, Uuid),
) {
    match map.entry(key) {
        Entry::Vacant(e) => {
            e.insert(value);
        }
        Entry::Occupied(mut e) => {
            if order(&value) > order(e.get()) {
                e.insert(value);
            }
        }
    }
}

#[cfg(test)]
mod tests;
