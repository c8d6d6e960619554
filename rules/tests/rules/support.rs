//! A tiny world around one device: a rule file, a clock, and inputs built from the real
//! event types, run through the engine in order.

#![allow(dead_code)]

use fleetlog_rules::{Action, ActionKind, Engine, Input, parse};
use fleetlog_schemas::events::{
    AlarmCleared, AlarmKind, AlarmRaised, FleetEvent, FleetEventBody, GeoPoint, Protocol,
    SessionChange, SessionConnected, SessionEvent, Telemetry, VehicleRegistered,
};
use uuid::Uuid;

pub(crate) const DEVICE: &str = "356307042441013";
pub(crate) const VEHICLE: Uuid = Uuid::from_u128(0x0001_7e1c);
/// 2025-06-15 15:06:40 UTC.
pub(crate) const T0: i64 = 1_750_000_000_000;
pub(crate) const MINUTE: i64 = 60_000;

/// Alexanderplatz: inside the slow zone of `examples/slow-zone.toml`.
pub(crate) const IN_ZONE: GeoPoint = GeoPoint {
    lat_e7: 525_200_000,
    lon_e7: 134_100_000,
};
/// Potsdam: outside it.
pub(crate) const OUTSIDE: GeoPoint = GeoPoint {
    lat_e7: 523_900_000,
    lon_e7: 130_650_000,
};

/// One device, a clock, the engine and what it did.
pub(crate) struct World {
    pub(crate) engine: Engine,
    pub(crate) now: i64,
    pub(crate) seq: u128,
    pub(crate) device: String,
    /// Every action so far, in order.
    pub(crate) log: Vec<Action>,
    /// Every input so far, in order.
    pub(crate) applied: Vec<Input>,
}

impl World {
    /// Given these rules (the file must be valid).
    pub(crate) fn given(rules: &str) -> Self {
        let set = match parse(rules) {
            Ok(set) => set,
            Err(e) => panic!("the test's rule file is invalid: {e}"),
        };
        Self {
            engine: Engine::new(set),
            now: T0,
            seq: 0,
            device: DEVICE.into(),
            log: Vec::new(),
            applied: Vec::new(),
        }
    }

    pub(crate) fn advance(&mut self, ms: i64) {
        self.now += ms;
    }

    pub(crate) fn next_id(&mut self) -> Uuid {
        self.seq += 1;
        Uuid::from_u128(0xe0e0_0000 + self.seq)
    }

    /// The id of the last input.
    pub(crate) fn last_input(&self) -> Uuid {
        match self.applied.last().expect("an input was applied") {
            Input::Telemetry { id, .. }
            | Input::Session { id, .. }
            | Input::Fleet { id, .. }
            | Input::Tick { id, .. } => *id,
        }
    }

    pub(crate) fn apply(&mut self, input: Input) -> Vec<Action> {
        let actions = self.engine.apply(&input);
        self.applied.push(input);
        self.log.extend(actions.iter().cloned());
        actions
    }

    /// A record now from the device: valid fix at [`OUTSIDE`], 80 %, no alarms; `edit`
    /// changes it.
    pub(crate) fn telemetry(&mut self, edit: impl FnOnce(&mut Telemetry)) -> Vec<Action> {
        let mut record = Telemetry {
            device_id: self.device.clone(),
            frame_id: self.next_id(),
            record_index: 0,
            device_time_ms: self.now,
            received_at_ms: self.now,
            lat_e7: OUTSIDE.lat_e7,
            lon_e7: OUTSIDE.lon_e7,
            altitude_m: 40,
            speed_kmh: 12,
            heading_deg: 90,
            satellites: 9,
            position_valid: true,
            battery_pct: Some(80),
            lock_state: None,
            alarms: Vec::new(),
            odometer_m: None,
            io: Vec::new(),
        };
        edit(&mut record);
        let id = self.next_id();
        self.apply(Input::Telemetry { id, record })
    }

    pub(crate) fn battery(&mut self, pct: i32) -> Vec<Action> {
        self.telemetry(|t| t.battery_pct = Some(pct))
    }

    pub(crate) fn at(&mut self, p: GeoPoint) -> Vec<Action> {
        self.telemetry(|t| {
            t.lat_e7 = p.lat_e7;
            t.lon_e7 = p.lon_e7;
        })
    }

    pub(crate) fn connected(&mut self) -> Vec<Action> {
        let (id, session_id) = (self.next_id(), self.next_id());
        let event = SessionEvent {
            session_id,
            device_id: self.device.clone(),
            gateway_id: "gw-1".into(),
            at_ms: self.now,
            change: SessionChange::SessionConnected(SessionConnected {
                protocol: Protocol::Teltonika,
                remote_addr: "10.0.0.7:40000".into(),
            }),
        };
        self.apply(Input::Session { id, event })
    }

    pub(crate) fn tick(&mut self) -> Vec<Action> {
        let id = self.next_id();
        let at_ms = self.now;
        self.apply(Input::Tick { id, at_ms })
    }

    pub(crate) fn fleet(&mut self, event: FleetEventBody) -> Vec<Action> {
        let id = self.next_id();
        let event = FleetEvent {
            occurred_at_ms: self.now,
            event,
        };
        self.apply(Input::Fleet { id, event })
    }

    pub(crate) fn registered(&mut self) -> Vec<Action> {
        self.fleet(FleetEventBody::VehicleRegistered(VehicleRegistered {
            vehicle_id: VEHICLE,
            device_id: self.device.clone(),
            protocol: Protocol::Teltonika,
            model: "Segway Max G30".into(),
            qr_code: "FL-0001".into(),
        }))
    }

    pub(crate) fn alarm_raised(&mut self, alarm: AlarmKind) -> Vec<Action> {
        self.fleet(FleetEventBody::AlarmRaised(AlarmRaised {
            vehicle_id: VEHICLE,
            device_id: self.device.clone(),
            alarm,
            position: None,
        }))
    }

    pub(crate) fn alarm_cleared(&mut self, alarm: AlarmKind) -> Vec<Action> {
        self.fleet(FleetEventBody::AlarmCleared(AlarmCleared {
            vehicle_id: VEHICLE,
            device_id: self.device.clone(),
            alarm,
        }))
    }

    pub(crate) fn flaps(&self, rule: &str) -> u64 {
        self.engine.flaps().get(rule).copied().unwrap_or(0)
    }
}

/// Just the kinds, for plain assertions.
pub(crate) fn kinds(actions: &[Action]) -> Vec<ActionKind> {
    actions.iter().map(|a| a.kind.clone()).collect()
}

pub(crate) fn alert(key: &str) -> ActionKind {
    ActionKind::RaiseAlert { key: key.into() }
}

pub(crate) fn cleared(key: &str) -> ActionKind {
    ActionKind::ClearAlert { key: key.into() }
}

/// The example files shipped with the crate, as (file name, text).
pub(crate) fn example_files() -> Vec<(String, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
        .expect("examples/ exists")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| {
            let name = p
                .file_name()
                .expect("a file name")
                .to_string_lossy()
                .into_owned();
            (name, std::fs::read_to_string(&p).expect("readable"))
        })
        .collect();
    files.sort();
    files
}

pub(crate) fn example(name: &str) -> String {
    example_files()
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, text)| text)
        .expect("the example exists")
}
