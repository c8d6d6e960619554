//! One batch decided in memory: the loaded state, the inputs in log order, and what comes
//! out — new vehicle states, the rider index, zones and the records for the log. No I/O:
//! `store.rs` loads and writes around it, so a batch and its offsets commit together.

use std::collections::{BTreeMap, HashMap};

use fleetlog_schemas::derived::Derived;
use fleetlog_schemas::envelope::Envelope;
use fleetlog_schemas::events::{
    ActorRole, AppCommand, AppCommandBody, DownlinkCommand, FleetEvent,
};
use fleetlog_schemas::topics;
use uuid::Uuid;

use super::inputs::{Input, InputKind};
use crate::context::{Context, DeciderConfig, Pricing, Zone};
use crate::rejection::{Rejection, RejectionCode};
use crate::vehicle::{self, Decision, Vehicle, VehicleInput};
use crate::zone;

/// `ce_source` of everything the processor writes.
pub(crate) const SOURCE: &str = "/fleetlog/commands";

/// What a batch needs from the database before deciding.
#[derive(Debug, Default, Clone)]
pub(crate) struct Loaded {
    /// Stored states by vehicle id (absent: never heard of).
    pub(crate) vehicles: HashMap<Uuid, Vehicle>,
    /// Registered device id → vehicle id.
    pub(crate) devices: HashMap<String, Uuid>,
    /// Registered QR code → vehicle id.
    pub(crate) qr_codes: HashMap<String, Uuid>,
    /// Rider → the vehicle they hold (reservation or ride).
    pub(crate) riders: HashMap<Uuid, Uuid>,
    /// Every zone, with the command that last defined it.
    pub(crate) zones: BTreeMap<Uuid, (Zone, Uuid)>,
}

/// A record for the log, decided and not yet encoded.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Output {
    /// Its envelope.
    pub(crate) envelope: Envelope,
    /// Its record key (vehicle or zone id for fleet events, device id for downlinks).
    pub(crate) key: String,
    /// The value.
    pub(crate) value: OutputValue,
}

/// The value of an [`Output`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum OutputValue {
    /// For `fleet.events.v1`.
    Fleet(FleetEvent),
    /// For `scooter.downlink.v1`.
    Downlink(DownlinkCommand),
}

impl Output {
    /// Fleet event `event` keyed by `key` (vehicle or zone id), decided from `parent`, with
    /// the deterministic id `id`.
    fn fleet(parent: &Envelope, id: Uuid, key: String, event: FleetEvent) -> Self {
        Self {
            envelope: Envelope::child_with_id(parent, id, topics::FLEET_EVENTS, SOURCE, &key),
            key,
            value: OutputValue::Fleet(event),
        }
    }

    /// `command` for its device, decided from `parent`. The envelope id is the command id,
    /// which the saga step keeps: what confirms or times out the step is then traced to
    /// the downlink.
    fn downlink(parent: &Envelope, command: DownlinkCommand) -> Self {
        let id = command.command_id;
        Self {
            envelope: Envelope::child_with_id(
                parent,
                id,
                topics::DOWNLINK,
                SOURCE,
                &command.device_id,
            ),
            key: command.device_id.clone(),
            value: OutputValue::Downlink(command),
        }
    }
}

/// Everything a batch changes.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    /// New states of the vehicles the batch touched.
    pub(crate) vehicles: BTreeMap<Uuid, Vehicle>,
    /// Zones (re)defined, with the defining command.
    pub(crate) zones: BTreeMap<Uuid, (Zone, Uuid)>,
    /// Records for the log, in decision order.
    pub(crate) outputs: Vec<Output>,
    /// Commands accepted and rejected, for the metrics.
    pub(crate) accepted: u64,
    /// See `accepted`.
    pub(crate) rejected: u64,
}

impl Outcome {
    /// The rider index rows of the touched vehicles: (rider, vehicle).
    pub(crate) fn holders(&self) -> Vec<(Uuid, Uuid)> {
        self.vehicles
            .iter()
            .filter_map(|(vid, v)| v.holder().map(|rider| (rider, *vid)))
            .collect()
    }
}

/// The decider's rules and prices for a batch.
#[derive(Debug, Clone, Default)]
pub(crate) struct Rules {
    pub(crate) config: DeciderConfig,
    pub(crate) pricing: Pricing,
}

/// Decide `inputs` in order against `loaded`.
pub(crate) fn decide_batch(loaded: Loaded, inputs: &[Input], rules: &Rules) -> Outcome {
    let mut batch = Batch {
        loaded,
        outcome: Outcome::default(),
        rules,
    };
    for input in inputs {
        batch.decide(input);
    }
    batch.outcome
}

/// Decide the clock for `vehicle_id` at `now_ms` (reservations and saga steps due).
pub(crate) fn decide_tick(loaded: Loaded, vehicle_id: Uuid, now_ms: i64, rules: &Rules) -> Outcome {
    let mut batch = Batch {
        loaded,
        outcome: Outcome::default(),
        rules,
    };
    // A clock input has no envelope of its own; what it decides about a saga step is
    // re-parented to the step's chain (see `Batch::vehicle`).
    let root = Envelope::derived_id(vehicle_id, Derived::Due(now_ms));
    let parent = Envelope::from_parts(
        root,
        root,
        None,
        topics::FLEET_EVENTS.event_type(),
        SOURCE,
        vehicle_id.to_string(),
        // The clock's own time, not the wall clock's: deciding the same tick twice gives
        // the same envelopes.
        chrono::DateTime::from_timestamp_millis(now_ms).unwrap_or_default(),
    );
    let input = VehicleInput::Tick { now_ms };
    batch.vehicle(&parent, vehicle_id, &input, None, &format!("tick-{now_ms}"));
    batch.outcome
}

/// When an input from outside a saga step's chain (telemetry, a session, the clock) ends
/// that step, what it decides belongs to the step's chain: correlation = the command that
/// started it, causation = its downlink. `None` when the input is in the chain already (the
/// command itself, the device's reply) or no step ended.
fn saga_parent(input: &Envelope, before: &Vehicle, after: &Vehicle) -> Option<Envelope> {
    let step = before.saga.as_ref()?;
    let ended = after.saga.as_ref() != Some(step);
    if !ended || input.correlation_id == step.command_id {
        return None;
    }
    Some(Envelope::from_parts(
        step.downlink_command_id,
        step.command_id,
        Some(step.command_id),
        topics::DOWNLINK.event_type(),
        SOURCE,
        input.subject.clone(),
        input.time,
    ))
}

struct Batch<'a> {
    loaded: Loaded,
    outcome: Outcome,
    rules: &'a Rules,
}

impl Batch<'_> {
    fn decide(&mut self, input: &Input) {
        match &input.kind {
            InputKind::Command(cmd) => match &cmd.command {
                AppCommandBody::DefineZone(define) => self.zone(&input.envelope, cmd, define),
                _ => {
                    let vehicle_id = cmd.key();
                    let precheck = self.registration_conflict(cmd);
                    let vinput = VehicleInput::Command(cmd.clone());
                    self.vehicle(&input.envelope, vehicle_id, &vinput, precheck, "")
                }
            },
            InputKind::Device {
                device_id,
                input: vinput,
            } => {
                // A device not registered to a vehicle has nothing to decide.
                if let Some(vehicle_id) = self.loaded.devices.get(device_id).copied() {
                    self.vehicle(&input.envelope, vehicle_id, vinput, None, "");
                }
            }
        }
    }

    fn state(&self, vehicle_id: Uuid) -> Vehicle {
        self.outcome
            .vehicles
            .get(&vehicle_id)
            .or_else(|| self.loaded.vehicles.get(&vehicle_id))
            .cloned()
            .unwrap_or_default()
    }

    /// A registration whose device or QR code belongs to another vehicle.
    fn registration_conflict(&self, cmd: &AppCommand) -> Option<Rejection> {
        let AppCommandBody::RegisterVehicle(reg) = &cmd.command else {
            return None;
        };
        let taken = |owner: Option<&Uuid>| owner.is_some_and(|v| *v != reg.vehicle_id);
        if taken(self.loaded.devices.get(&reg.device_id)) {
            return Some(Rejection::new(
                RejectionCode::DeviceInUse,
                format!("device {} is registered to another vehicle", reg.device_id),
            ));
        }
        if taken(self.loaded.qr_codes.get(&reg.qr_code)) {
            return Some(Rejection::new(
                RejectionCode::DeviceInUse,
                format!("QR code {} is on another vehicle", reg.qr_code),
            ));
        }
        None
    }

    fn vehicle(
        &mut self,
        parent: &Envelope,
        vehicle_id: Uuid,
        input: &VehicleInput,
        precheck: Option<Rejection>,
        label: &str,
    ) {
        let state = self.state(vehicle_id);
        let zones: Vec<Zone> = self.loaded.zones.values().map(|(z, _)| z.clone()).collect();
        let ctx = Context {
            now_ms: input.timestamp_ms(),
            rider_busy: self.rider_busy(input, vehicle_id),
            zones: &zones,
            config: &self.rules.config,
            pricing: &self.rules.pricing,
        };
        let decision = match (precheck, input) {
            (Some(rejection), VehicleInput::Command(cmd)) => {
                vehicle::rejected(cmd, &rejection, ctx.now_ms)
            }
            _ => vehicle::handle(&state, input, &ctx),
        };
        if decision.is_empty() {
            return;
        }
        let next = decision.apply_to(&state);
        self.count(&decision);
        self.track(vehicle_id, &state, &next);
        match saga_parent(parent, &state, &next) {
            Some(step_parent) => {
                let label = format!("{}-{label}", parent.id);
                self.emit(&step_parent, vehicle_id, &decision, &label);
            }
            None => self.emit(parent, vehicle_id, &decision, label),
        }
        self.outcome.vehicles.insert(vehicle_id, next);
    }

    /// Whether the command's rider holds another vehicle than `vehicle_id`.
    fn rider_busy(&self, input: &VehicleInput, vehicle_id: Uuid) -> bool {
        let VehicleInput::Command(cmd) = input else {
            return false;
        };
        if cmd.actor.role != ActorRole::Rider {
            return false;
        }
        let Ok(rider) = Uuid::parse_str(&cmd.actor.id) else {
            return false;
        };
        self.loaded
            .riders
            .get(&rider)
            .is_some_and(|held| *held != vehicle_id)
    }

    /// Keep the in-memory indexes (riders, devices, QR codes) true for later inputs.
    fn track(&mut self, vehicle_id: Uuid, before: &Vehicle, after: &Vehicle) {
        if before.holder() != after.holder() {
            if let Some(rider) = before.holder()
                && self.loaded.riders.get(&rider) == Some(&vehicle_id)
            {
                self.loaded.riders.remove(&rider);
            }
            if let Some(rider) = after.holder() {
                self.loaded.riders.insert(rider, vehicle_id);
            }
        }
        if let Some(reg) = &after.registration {
            self.loaded
                .devices
                .insert(reg.device_id.clone(), vehicle_id);
            self.loaded.qr_codes.insert(reg.qr_code.clone(), vehicle_id);
        }
    }

    fn count(&mut self, decision: &Decision) {
        use fleetlog_schemas::events::FleetEventBody as B;
        for event in decision.fleet_events() {
            match event.event {
                B::CommandAccepted(_) => self.outcome.accepted += 1,
                B::CommandRejected(_) => self.outcome.rejected += 1,
                _ => {}
            }
        }
    }

    fn emit(&mut self, parent: &Envelope, vehicle_id: Uuid, decision: &Decision, label: &str) {
        let key = vehicle_id.to_string();
        for (i, event) in decision.fleet_events().enumerate() {
            let id = Envelope::derived_id(
                parent.id,
                Derived::FleetEvent {
                    prefix: label,
                    index: i,
                },
            );
            let output = Output::fleet(parent, id, key.clone(), event.clone());
            self.outcome.outputs.push(output);
        }
        for downlink in &decision.downlinks {
            let output = Output::downlink(parent, downlink.clone());
            self.outcome.outputs.push(output);
        }
    }

    fn zone(
        &mut self,
        parent: &Envelope,
        cmd: &AppCommand,
        define: &fleetlog_schemas::events::DefineZone,
    ) {
        let already = self
            .loaded
            .zones
            .get(&define.zone_id)
            .is_some_and(|(_, last)| *last == cmd.command_id);
        if already {
            return;
        }
        let now = cmd.requested_at_ms;
        let events = match zone::decide_zone(cmd, define, now) {
            Ok(events) => {
                self.outcome.accepted += 1;
                for event in &events {
                    if let fleetlog_schemas::events::FleetEventBody::ZoneDefined(z) = &event.event {
                        let entry = (Zone::from(z), cmd.command_id);
                        self.loaded.zones.insert(z.zone_id, entry.clone());
                        self.outcome.zones.insert(z.zone_id, entry);
                    }
                }
                events
            }
            Err(rejection) => {
                self.outcome.rejected += 1;
                vec![zone::zone_rejected(cmd, &rejection, now)]
            }
        };
        let key = define.zone_id.to_string();
        for (i, event) in events.into_iter().enumerate() {
            let id = Envelope::derived_id(
                parent.id,
                Derived::FleetEvent {
                    prefix: "",
                    index: i,
                },
            );
            let output = Output::fleet(parent, id, key.clone(), event);
            self.outcome.outputs.push(output);
        }
    }
}
