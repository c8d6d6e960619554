//! A tiny world around one vehicle: builds inputs, runs them through `handle` + `evolve`,
//! and reads decisions back in a form assertions can state plainly.

#![allow(dead_code)]

use fleetlog_commands::vehicle::{Decision, Vehicle, VehicleEvent, VehicleInput, evolve, handle};
use fleetlog_commands::{Context, DeciderConfig, Pricing, Zone};
use fleetlog_schemas::events::{
    Actor, ActorRole, AppCommand, AppCommandBody, DeviceReply, DisconnectReason, DownlinkKind,
    FleetEventBody, GeoPoint, LockState, Protocol, RegisterVehicle, ReplyOutcome, SessionChange,
    SessionConnected, SessionDisconnected, SessionEvent, Telemetry, ZoneKind,
};
use uuid::Uuid;

pub(crate) const VEHICLE: Uuid = Uuid::from_u128(0x0001_7e1c);
pub(crate) const DEVICE: &str = "356307042441013";
pub(crate) const RIDER: Uuid = Uuid::from_u128(0xa11ce);
pub(crate) const OTHER_RIDER: Uuid = Uuid::from_u128(0xb0b);
pub(crate) const OPERATOR: Uuid = Uuid::from_u128(0x0b5);
pub(crate) const T0: i64 = 1_750_000_000_000;

/// Alexanderplatz, Berlin: inside [`service_area`], outside [`no_parking`].
pub(crate) const CENTER: GeoPoint = GeoPoint {
    lat_e7: 525_200_000,
    lon_e7: 134_050_000,
};
/// Inside the no-parking zone.
pub(crate) const NO_PARKING_SPOT: GeoPoint = GeoPoint {
    lat_e7: 525_270_000,
    lon_e7: 134_120_000,
};
/// Potsdam: outside the service area.
pub(crate) const FAR_AWAY: GeoPoint = GeoPoint {
    lat_e7: 523_900_000,
    lon_e7: 130_650_000,
};

pub(crate) fn rider() -> Actor {
    rider_as(RIDER)
}

pub(crate) fn rider_as(id: Uuid) -> Actor {
    Actor {
        id: id.to_string(),
        role: ActorRole::Rider,
    }
}

pub(crate) fn operator() -> Actor {
    Actor {
        id: OPERATOR.to_string(),
        role: ActorRole::Operator,
    }
}

fn rect(id: u128, kind: ZoneKind, lat: (i32, i32), lon: (i32, i32)) -> Zone {
    let p = |lat_e7, lon_e7| GeoPoint { lat_e7, lon_e7 };
    Zone {
        id: Uuid::from_u128(id),
        kind,
        rings: vec![vec![
            p(lat.0, lon.0),
            p(lat.0, lon.1),
            p(lat.1, lon.1),
            p(lat.1, lon.0),
            p(lat.0, lon.0),
        ]],
    }
}

pub(crate) fn service_area() -> Zone {
    rect(
        1,
        ZoneKind::ServiceArea,
        (525_000_000, 525_400_000),
        (133_800_000, 134_300_000),
    )
}

pub(crate) fn no_parking() -> Zone {
    rect(
        2,
        ZoneKind::NoParking,
        (525_250_000, 525_300_000),
        (134_100_000, 134_150_000),
    )
}

/// One vehicle, its clock and the facts around it.
pub(crate) struct World {
    pub(crate) state: Vehicle,
    pub(crate) zones: Vec<Zone>,
    pub(crate) config: DeciderConfig,
    pub(crate) pricing: Pricing,
    pub(crate) rider_busy: bool,
    pub(crate) now: i64,
    pub(crate) seq: u128,
    /// The last command built by [`World::command`].
    pub(crate) last_command: Option<AppCommand>,
}

impl World {
    /// A vehicle nobody has heard of.
    pub(crate) fn empty() -> Self {
        Self {
            state: Vehicle::default(),
            zones: Vec::new(),
            config: DeciderConfig::default(),
            pricing: Pricing::default(),
            rider_busy: false,
            now: T0,
            seq: 0,
            last_command: None,
        }
    }

    /// Registered, connected, 80 % battery, locked, at [`CENTER`]; no zones.
    pub(crate) fn ready() -> Self {
        let mut w = Self::empty();
        w.register();
        w.session(true);
        w.telemetry(|t| {
            t.battery_pct = Some(80);
            t.lock_state = Some(LockState::Locked);
        });
        w
    }

    pub(crate) fn register(&mut self) -> Decision {
        self.send(
            operator(),
            AppCommandBody::RegisterVehicle(RegisterVehicle {
                vehicle_id: VEHICLE,
                device_id: DEVICE.into(),
                protocol: Protocol::Teltonika,
                model: "Segway Max G30".into(),
                qr_code: "FL-0001".into(),
            }),
        )
    }

    pub(crate) fn ctx(&self, now_ms: i64) -> Context<'_> {
        Context {
            now_ms,
            rider_busy: self.rider_busy,
            zones: &self.zones,
            config: &self.config,
            pricing: &self.pricing,
        }
    }

    /// Decide `input` at its own timestamp and evolve the state with the result.
    pub(crate) fn run(&mut self, input: VehicleInput) -> Decision {
        let decision = handle(&self.state, &input, &self.ctx(input.timestamp_ms()));
        self.state = decision.events.iter().fold(self.state.clone(), evolve);
        decision
    }

    pub(crate) fn advance(&mut self, ms: i64) {
        self.now += ms;
    }

    pub(crate) fn next_id(&mut self) -> Uuid {
        self.seq += 1;
        Uuid::from_u128(0xc0de_0000 + self.seq)
    }

    pub(crate) fn command(&mut self, actor: Actor, body: AppCommandBody) -> AppCommand {
        let command_id = self.next_id();
        let cmd = AppCommand {
            command_id,
            idempotency_key: command_id.to_string(),
            actor,
            requested_at_ms: self.now,
            command: body,
        };
        self.last_command = Some(cmd.clone());
        cmd
    }

    pub(crate) fn send(&mut self, actor: Actor, body: AppCommandBody) -> Decision {
        let cmd = self.command(actor, body);
        self.run(VehicleInput::Command(cmd))
    }

    /// A telemetry record at the current time from the vehicle's device at [`CENTER`].
    pub(crate) fn telemetry_record(&mut self, edit: impl FnOnce(&mut Telemetry)) -> Telemetry {
        let mut t = Telemetry {
            device_id: DEVICE.into(),
            frame_id: self.next_id(),
            record_index: 0,
            device_time_ms: self.now,
            received_at_ms: self.now,
            lat_e7: CENTER.lat_e7,
            lon_e7: CENTER.lon_e7,
            altitude_m: 40,
            speed_kmh: 0,
            heading_deg: 0,
            satellites: 9,
            position_valid: true,
            battery_pct: None,
            lock_state: None,
            alarms: Vec::new(),
            odometer_m: None,
            io: Vec::new(),
        };
        edit(&mut t);
        t
    }

    pub(crate) fn telemetry(&mut self, edit: impl FnOnce(&mut Telemetry)) -> Decision {
        let t = self.telemetry_record(edit);
        self.run(VehicleInput::Telemetry(t))
    }

    /// Telemetry placing the vehicle at `at`, one second later.
    pub(crate) fn move_to(&mut self, at: GeoPoint) -> Decision {
        self.advance(1_000);
        self.telemetry(|t| {
            t.lat_e7 = at.lat_e7;
            t.lon_e7 = at.lon_e7;
        })
    }

    pub(crate) fn session_event(&mut self, online: bool) -> SessionEvent {
        let change = if online {
            SessionChange::SessionConnected(SessionConnected {
                protocol: Protocol::Teltonika,
                remote_addr: "10.0.0.7:40000".into(),
            })
        } else {
            SessionChange::SessionDisconnected(SessionDisconnected {
                reason: DisconnectReason::IdleTimeout,
                detail: None,
                frames: 3,
            })
        };
        SessionEvent {
            session_id: self.next_id(),
            device_id: DEVICE.into(),
            gateway_id: "gw-1".into(),
            at_ms: self.now,
            change,
        }
    }

    pub(crate) fn session(&mut self, online: bool) -> Decision {
        let event = self.session_event(online);
        self.run(VehicleInput::Session(event))
    }

    pub(crate) fn device_reply(&self, command_id: Uuid, outcome: ReplyOutcome) -> DeviceReply {
        DeviceReply {
            command_id,
            device_id: DEVICE.into(),
            outcome,
            reply_text: Some("ok".into()),
            at_ms: self.now,
        }
    }

    pub(crate) fn reply(&mut self, command_id: Uuid, outcome: ReplyOutcome) -> Decision {
        let reply = self.device_reply(command_id, outcome);
        self.run(VehicleInput::Reply(reply))
    }

    pub(crate) fn tick(&mut self) -> Decision {
        self.run(VehicleInput::Tick { now_ms: self.now })
    }

    /// The downlink the saga waits for.
    pub(crate) fn pending_downlink(&self) -> Uuid {
        self.state
            .saga
            .as_ref()
            .map(|s| s.downlink_command_id)
            .expect("a saga step is pending")
    }
}

/// The fleet events' variant names, in order, e.g. `["CommandAccepted", "ReservationMade"]`.
pub(crate) fn names(d: &Decision) -> Vec<&'static str> {
    d.fleet_events().map(|e| name(&e.event)).collect()
}

pub(crate) fn name(e: &FleetEventBody) -> &'static str {
    match e {
        FleetEventBody::VehicleRegistered(_) => "VehicleRegistered",
        FleetEventBody::VehicleStateChanged(_) => "VehicleStateChanged",
        FleetEventBody::ReservationMade(_) => "ReservationMade",
        FleetEventBody::ReservationExpired(_) => "ReservationExpired",
        FleetEventBody::ReservationCancelled(_) => "ReservationCancelled",
        FleetEventBody::RideRequested(_) => "RideRequested",
        FleetEventBody::RideStarted(_) => "RideStarted",
        FleetEventBody::RideEnded(_) => "RideEnded",
        FleetEventBody::RideFailed(_) => "RideFailed",
        FleetEventBody::CommandAccepted(_) => "CommandAccepted",
        FleetEventBody::CommandRejected(_) => "CommandRejected",
        FleetEventBody::AlarmRaised(_) => "AlarmRaised",
        FleetEventBody::AlarmCleared(_) => "AlarmCleared",
        FleetEventBody::ZoneDefined(_) => "ZoneDefined",
    }
}

/// The rejection code of a decision, if it rejected its command.
pub(crate) fn rejection(d: &Decision) -> Option<String> {
    d.fleet_events().find_map(|e| match &e.event {
        FleetEventBody::CommandRejected(r) => Some(r.code.clone()),
        _ => None,
    })
}

/// The one fleet event of a kind in a decision.
pub(crate) fn find<T>(d: &Decision, pick: impl Fn(&FleetEventBody) -> Option<&T>) -> &T {
    d.fleet_events()
        .find_map(|e| pick(&e.event))
        .expect("the decision has the event")
}

/// `(from, to)` of the decision's state change, if any.
pub(crate) fn state_change(
    d: &Decision,
) -> Option<(
    fleetlog_schemas::events::VehicleState,
    fleetlog_schemas::events::VehicleState,
)> {
    d.fleet_events().find_map(|e| match &e.event {
        FleetEventBody::VehicleStateChanged(c) => Some((c.from_state, c.to_state)),
        _ => None,
    })
}

/// The kinds of the decision's downlinks.
pub(crate) fn downlink_kinds(d: &Decision) -> Vec<DownlinkKind> {
    d.downlinks.iter().map(|c| c.kind).collect()
}

/// Whether the decision holds only internal events (nothing published, nothing sent).
pub(crate) fn is_silent(d: &Decision) -> bool {
    d.fleet_events().next().is_none() && d.downlinks.is_empty()
}

/// Every event of a decision is internal bookkeeping or published; count the internal.
pub(crate) fn internal_count(d: &Decision) -> usize {
    d.events
        .iter()
        .filter(|e| matches!(e, VehicleEvent::Internal(_)))
        .count()
}
