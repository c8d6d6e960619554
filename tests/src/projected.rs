//! A test's own broker, database and registry with the fleet and rides projections running
//! in-process, and helpers that produce fleet events, sessions and telemetry with real
//! envelopes (values through the wire codec and the registry): what the GBFS and MDS tests
//! build their fleets with.

#![allow(
    clippy::unwrap_used,
    clippy::missing_panics_doc,
    reason = "helpers of end-to-end tests: a failed unwrap is a failed test"
)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use fleetlog_projections::fleet::FleetProjection;
use fleetlog_projections::rides::RidesProjection;
use fleetlog_projections::{ProjectionRuntime, RuntimeConfig};
use fleetlog_runtime::kafka;
use fleetlog_schemas::envelope::Envelope;
use fleetlog_schemas::events::{
    FleetEvent, FleetEventBody, GeoPoint, LockState, Protocol, SessionChange, SessionConnected,
    SessionEvent, Telemetry, VehicleRegistered, VehicleState, VehicleStateChanged, ZoneDefined,
    ZoneKind,
};
use fleetlog_schemas::topics::{self, Topic, TopicValue};
use fleetlog_schemas::wire::WireCodec;
use rdkafka::producer::FutureProducer;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::TestApp;
use crate::broker::TestBroker;

/// `ce_source` of what the helpers produce.
pub const SOURCE: &str = "/fleetlog/test";
/// When the helpers' scooters are registered, ms (2025-11-24T16:00:00Z).
pub const T0: i64 = 1_764_000_000_000;
/// Seoul City Hall, in degrees × 10^7.
pub const LAT: i32 = 375_665_000;
/// See [`LAT`].
pub const LON: i32 = 1_269_780_000;

/// The broker, database, registry and the fleet and rides projections of one test.
pub struct Stack {
    /// The test's database and settings (broker and registry filled in).
    pub app: TestApp,
    /// Encodes values through the registry.
    pub codec: WireCodec,
    /// Produces to the test's broker.
    pub producer: FutureProducer,
    /// Stops the projections and the registry (also on drop).
    pub stop: CancellationToken,
    /// Records produced per topic.
    pub sent: BTreeMap<&'static str, i64>,
    _broker: TestBroker,
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// A fresh [`Stack`] with both projections running.
pub async fn stack() -> Stack {
    let (broker, mut app) = crate::broker::isolated_app().await;
    let (registry_url, registry_stop) = crate::stack::registry(&app).await;
    fleetlog_schemas::registration::register_all(&registry_url)
        .await
        .unwrap();
    app.settings.schema_registry_url = registry_url;
    let stop = CancellationToken::new();
    tokio::spawn({
        let stop = stop.clone();
        async move {
            stop.cancelled().await;
            registry_stop.cancel();
        }
    });
    let config = RuntimeConfig::from_settings(&app.settings);
    let fleet = FleetProjection::new(&app.settings.schema_registry_url);
    tokio::spawn(ProjectionRuntime::new(fleet, config.clone(), app.pool.clone()).run(stop.clone()));
    let rides = RidesProjection::new(&app.settings.schema_registry_url);
    tokio::spawn(ProjectionRuntime::new(rides, config, app.pool.clone()).run(stop.clone()));
    Stack {
        codec: WireCodec::new(&app.settings.schema_registry_url),
        producer: kafka::producer(&app.settings.kafka, "test").unwrap(),
        app,
        stop,
        sent: BTreeMap::new(),
        _broker: broker,
    }
}

impl Stack {
    /// Produce `value` on `topic` with a fresh root envelope of the topic's type.
    pub async fn send<V: TopicValue>(&mut self, topic: Topic<'static, V>, key: &str, value: &V) {
        let payload = self.codec.encode(topic, value).await.unwrap();
        let envelope = Envelope::new_root(topic, SOURCE, key);
        crate::log::append(&self.producer, topic.name(), key, &payload, &envelope).await;
        *self.sent.entry(topic.name()).or_default() += 1;
    }

    /// Produce a fleet event keyed by `key`.
    pub async fn fleet(&mut self, key: Uuid, at_ms: i64, event: FleetEventBody) {
        let event = FleetEvent {
            occurred_at_ms: at_ms,
            event,
        };
        self.send(topics::FLEET_EVENTS, &key.to_string(), &event)
            .await;
    }

    /// Produce a `VehicleStateChanged`.
    pub async fn state(&mut self, vehicle: Uuid, at_ms: i64, from: VehicleState, to: VehicleState) {
        let change = VehicleStateChanged {
            vehicle_id: vehicle,
            from_state: from,
            to_state: to,
            reason: None,
        };
        self.fleet(vehicle, at_ms, FleetEventBody::VehicleStateChanged(change))
            .await;
    }

    /// Register `vehicle` with `device`, connect the device, and (with a battery) report a
    /// position.
    pub async fn scooter(
        &mut self,
        vehicle: Uuid,
        device: &str,
        model: &str,
        battery: Option<i32>,
    ) {
        let registered = VehicleRegistered {
            vehicle_id: vehicle,
            device_id: device.into(),
            protocol: Protocol::Teltonika,
            model: model.into(),
            qr_code: format!("QR-{device}"),
        };
        self.fleet(vehicle, T0, FleetEventBody::VehicleRegistered(registered))
            .await;
        let session = SessionEvent {
            session_id: Uuid::new_v4(),
            device_id: device.into(),
            gateway_id: "gw-test".into(),
            at_ms: T0,
            change: SessionChange::SessionConnected(SessionConnected {
                protocol: Protocol::Teltonika,
                remote_addr: "127.0.0.1:50000".into(),
            }),
        };
        self.send(topics::SESSIONS, device, &session).await;
        if let Some(battery) = battery {
            let offset = i32::try_from(self.sent[topics::FLEET_EVENTS.name()]).unwrap() * 1000;
            let telemetry = Telemetry {
                device_id: device.into(),
                frame_id: Uuid::now_v7(),
                record_index: 0,
                device_time_ms: T0 + 1000,
                received_at_ms: T0 + 1200,
                lat_e7: LAT + offset,
                lon_e7: LON + offset,
                altitude_m: 30,
                speed_kmh: 0,
                heading_deg: 0,
                satellites: 9,
                position_valid: true,
                battery_pct: Some(battery),
                lock_state: Some(LockState::Locked),
                alarms: vec![],
                odometer_m: None,
                io: vec![],
            };
            self.send(topics::TELEMETRY, device, &telemetry).await;
        }
    }

    /// Produce one telemetry record of `device` at `at_ms` (received 200 ms later) with a
    /// valid fix at (`lat_e7`, `lon_e7`).
    pub async fn point(
        &mut self,
        device: &str,
        at_ms: i64,
        (lat_e7, lon_e7): (i32, i32),
        speed_kmh: i32,
        battery_pct: Option<i32>,
    ) {
        let telemetry = Telemetry {
            device_id: device.into(),
            frame_id: Uuid::now_v7(),
            record_index: 0,
            device_time_ms: at_ms,
            received_at_ms: at_ms + 200,
            lat_e7,
            lon_e7,
            altitude_m: 30,
            speed_kmh,
            heading_deg: 90,
            satellites: 9,
            position_valid: true,
            battery_pct,
            lock_state: Some(LockState::Unlocked),
            alarms: vec![],
            odometer_m: None,
            io: vec![],
        };
        self.send(topics::TELEMETRY, device, &telemetry).await;
    }

    /// Define zone `id` at `at_ms`: a square of `2 × half` (degrees × 10^7) around the
    /// centre.
    pub async fn zone(
        &mut self,
        id: Uuid,
        at_ms: i64,
        kind: ZoneKind,
        name: &str,
        half: i32,
        speed: Option<i32>,
    ) {
        let pt = |lat_e7, lon_e7| GeoPoint { lat_e7, lon_e7 };
        let zone = ZoneDefined {
            zone_id: id,
            kind,
            name: name.into(),
            rings: vec![vec![
                pt(LAT - half, LON - half),
                pt(LAT - half, LON + half),
                pt(LAT + half, LON + half),
                pt(LAT + half, LON - half),
                pt(LAT - half, LON - half),
            ]],
            speed_limit_kmh: speed,
        };
        self.fleet(zone.zone_id, at_ms, FleetEventBody::ZoneDefined(zone))
            .await;
    }

    /// Records of `topic` that `projection` has committed.
    pub async fn applied(&self, projection: &str, topic: &str) -> i64 {
        sqlx::query_scalar::<_, Option<i64>>(
            "SELECT sum(next_offset)::bigint FROM projection_offsets \
             WHERE projection = $1 AND topic = $2",
        )
        .bind(projection)
        .bind(topic)
        .fetch_one(&self.app.pool)
        .await
        .ok()
        .flatten()
        .unwrap_or(0)
    }

    /// Wait until both projections applied everything sent so far.
    pub async fn settle(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let wanted = [
            ("fleet", topics::FLEET_EVENTS.name()),
            ("fleet", topics::SESSIONS.name()),
            ("fleet", topics::TELEMETRY.name()),
            ("rides", topics::FLEET_EVENTS.name()),
        ];
        for (projection, topic) in wanted {
            let want = self.sent.get(topic).copied().unwrap_or(0);
            while self.applied(projection, topic).await < want {
                assert!(
                    Instant::now() < deadline,
                    "{projection}: fewer than {want} records of {topic} applied"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}
