//! Producing to a [`TestStack`]'s broker with real envelopes (values through the wire
//! codec and the registry), and waiting until its projections applied what was produced:
//! what the projection, GBFS and MDS tests build their fleets with.

use std::time::{Duration, Instant};

use fleetlog_schemas::envelope::Envelope;
use fleetlog_schemas::events::{
    FleetEvent, FleetEventBody, GeoPoint, LockState, Protocol, SessionChange, SessionConnected,
    SessionEvent, Telemetry, VehicleRegistered, VehicleState, VehicleStateChanged, ZoneDefined,
    ZoneKind,
};
use fleetlog_schemas::topics::{self, Topic, TopicValue};
use uuid::Uuid;

use super::TestStack;

/// `ce_source` of what the helpers produce.
pub const SOURCE: &str = "/fleetlog/test";
/// When the helpers' scooters are registered, ms (2025-11-24T16:00:00Z).
pub const T0: i64 = 1_764_000_000_000;
/// Seoul City Hall, in degrees × 10^7.
pub const LAT: i32 = 375_665_000;
/// See [`LAT`].
pub const LON: i32 = 1_269_780_000;

impl TestStack {
    /// Produce `value` on `topic` with a fresh root envelope of the topic's type.
    pub async fn send<V: TopicValue>(&mut self, topic: Topic<'static, V>, key: &str, value: &V) {
        let payload = self.codec.encode(topic, value).await.expect("encoded");
        let envelope = Envelope::new_root(topic, SOURCE, key);
        self.append(topic.name(), key, &envelope, &payload).await;
    }

    /// Produce `payload` (already encoded) with `envelope`, counted in [`TestStack::sent`].
    pub async fn append(
        &mut self,
        topic: &'static str,
        key: &str,
        envelope: &Envelope,
        payload: &[u8],
    ) {
        crate::log::append(&self.producer, topic, key, payload, envelope).await;
        *self.sent.entry(topic).or_default() += 1;
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
            let offset = i32::try_from(self.sent[topics::FLEET_EVENTS.name()])
                .expect("a small count")
                * 1000;
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

    /// Wait until every projection of the stack applied every record of its topics
    /// produced through [`TestStack::append`] so far.
    ///
    /// # Panics
    /// When they have not within 60 s.
    pub async fn settle(&self) {
        for &(projection, topics) in &self.projections {
            for &topic in topics {
                let want = self.sent.get(topic).copied().unwrap_or(0);
                self.wait_applied(projection, topic, want).await;
            }
        }
    }

    /// Wait until `projection` committed at least `want` records of `topic`.
    ///
    /// # Panics
    /// When it has not within 60 s.
    pub async fn wait_applied(&self, projection: &str, topic: &str, want: i64) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.applied(projection, topic).await < want {
            assert!(
                Instant::now() < deadline,
                "{projection}: fewer than {want} records of {topic} applied"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
