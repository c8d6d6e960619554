//! The steady load of the kill test: telemetry frames (some re-sent with new frame and event
//! ids, some records late with older device times, some without a fix or a battery reading),
//! sessions and vehicle registrations and state changes out of order, produced step by step
//! with real envelopes through the wire codec; and what the read model must end with.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use fleetlog_runtime::Settings;
use fleetlog_runtime::kafka;
use fleetlog_schemas::envelope::Envelope;
use fleetlog_schemas::events::{
    AlarmKind, DisconnectReason, FleetEvent, FleetEventBody, LockState, Protocol, SessionChange,
    SessionConnected, SessionDisconnected, SessionEvent, Telemetry, VehicleRegistered,
    VehicleState, VehicleStateChanged,
};
use fleetlog_schemas::topics;
use fleetlog_schemas::wire::WireCodec;
use rdkafka::producer::{FutureProducer, FutureRecord};
use uuid::Uuid;

/// Devices of the simulated fleet; each sends one frame (one or two records) per step.
pub(crate) const DEVICES: u64 = 120;
/// Devices that have a vehicle (registered in `fleet.events.v1`).
const VEHICLES: u64 = 30;
/// Steps of load produced at least, one every [`STEP`]; production goes on until the kills
/// are done.
const MIN_STEPS: u64 = 40;
const STEP: Duration = Duration::from_millis(120);
const BASE_MS: i64 = 1_764_000_000_000;

fn device_id(d: u64) -> String {
    format!("3591234{d:08}")
}

fn vehicle_id(d: u64) -> Uuid {
    Uuid::from_u128(0xf1ee_7000_0000_0000_0000_0000_0000_0000 | u128::from(d))
}

fn step_ms(step: u64, d: u64) -> i64 {
    BASE_MS + i64::try_from(step * 1_000 + d).unwrap()
}

/// The records device `d` reports for `step` (one or two), received at `received_at_ms`.
fn records(step: u64, d: u64, received_at_ms: i64) -> Vec<Telemetry> {
    let count = 1 + (step + d) % 2;
    (0..count)
        .map(|i| {
            let n = step * 7 + d * 3 + i;
            let valid = !n.is_multiple_of(5);
            Telemetry {
                device_id: device_id(d),
                frame_id: Uuid::nil(),
                record_index: i32::try_from(i).unwrap(),
                device_time_ms: step_ms(step, d) + i64::try_from(i * 400).unwrap(),
                received_at_ms,
                lat_e7: if valid {
                    375_000_000 + i32::try_from((step * 37 + d * 101 + i) % 100_000).unwrap()
                } else {
                    0
                },
                lon_e7: if valid {
                    1_269_000_000 + i32::try_from((step * 53 + d * 7) % 100_000).unwrap()
                } else {
                    0
                },
                altitude_m: 30,
                speed_kmh: i32::try_from(n % 25).unwrap(),
                heading_deg: i32::try_from((n * 13) % 360).unwrap(),
                satellites: if valid { 9 } else { 0 },
                position_valid: valid,
                battery_pct: (!n.is_multiple_of(3))
                    .then(|| 100 - i32::try_from(step % 90).unwrap()),
                lock_state: match (step / 4 + d) % 3 {
                    0 => Some(LockState::Locked),
                    1 => Some(LockState::Unlocked),
                    _ => None,
                },
                alarms: if n.is_multiple_of(17) {
                    vec![AlarmKind::Overspeed]
                } else {
                    vec![]
                },
                odometer_m: (i == 0).then(|| i64::try_from(step * 10 + d).unwrap()),
                io: vec![],
            }
        })
        .collect()
}

/// A record reported late: three steps old, with a record index never used before.
fn late_record(step: u64, d: u64, received_at_ms: i64) -> Telemetry {
    let mut r = records(step - 3, d, received_at_ms).swap_remove(0);
    r.record_index = 2;
    r.device_time_ms += 800;
    r.battery_pct = Some(5);
    r
}

/// One record to produce: topic, key, envelope and encoded value.
struct Out {
    topic: &'static str,
    key: String,
    envelope: Envelope,
    value: Vec<u8>,
}

/// Produces the load step by step and remembers what the read model must end with.
pub(crate) struct Load {
    codec: WireCodec,
    producer: FutureProducer,
    /// Distinct device-record identities produced: the history's rows.
    pub(crate) identities: HashSet<(String, i64, i32)>,
    pub(crate) vehicles: HashSet<Uuid>,
    /// Every event id produced.
    pub(crate) event_ids: HashSet<Uuid>,
    pub(crate) produced: BTreeMap<&'static str, usize>,
}

impl Load {
    async fn telemetry_frame(&mut self, d: u64, records: Vec<Telemetry>, out: &mut Vec<Out>) {
        let device = device_id(d);
        let frame = Envelope::new_root(topics::FRAMES, "/fleetlog/gateway/test", &device);
        for (i, mut t) in records.into_iter().enumerate() {
            t.frame_id = frame.id;
            let id = Uuid::new_v5(&frame.id, format!("record-{i}").as_bytes());
            let envelope = Envelope::child_with_id(
                &frame,
                id,
                topics::TELEMETRY,
                "/fleetlog/decoder",
                &device,
            );
            self.identities
                .insert((device.clone(), t.device_time_ms, t.record_index));
            let value = self.codec.encode(topics::TELEMETRY, &t).await.unwrap();
            out.push(Out {
                topic: topics::TELEMETRY.name(),
                key: device.clone(),
                envelope,
                value,
            });
        }
    }

    async fn session(&mut self, d: u64, at_ms: i64, connected: bool, out: &mut Vec<Out>) {
        let device = device_id(d);
        let protocol = [Protocol::Teltonika, Protocol::Omni, Protocol::Gt06][(d % 3) as usize];
        let change = if connected {
            SessionChange::SessionConnected(SessionConnected {
                protocol,
                remote_addr: format!("127.0.0.1:{}", 20_000 + d),
            })
        } else {
            SessionChange::SessionDisconnected(SessionDisconnected {
                reason: DisconnectReason::IdleTimeout,
                detail: None,
                frames: 3,
            })
        };
        let event = SessionEvent {
            session_id: Uuid::now_v7(),
            device_id: device.clone(),
            gateway_id: format!("gw-kill-{}", d % 2),
            at_ms,
            change,
        };
        let value = self.codec.encode(topics::SESSIONS, &event).await.unwrap();
        let envelope = Envelope::new_root(topics::SESSIONS, "/fleetlog/gateway/test", &device);
        out.push(Out {
            topic: topics::SESSIONS.name(),
            key: device,
            envelope,
            value,
        });
    }

    async fn fleet(&mut self, vehicle: Uuid, event: FleetEvent, out: &mut Vec<Out>) {
        let key = vehicle.to_string();
        let value = self
            .codec
            .encode(topics::FLEET_EVENTS, &event)
            .await
            .unwrap();
        let envelope = Envelope::new_root(topics::FLEET_EVENTS, "/fleetlog/commands", &key);
        out.push(Out {
            topic: topics::FLEET_EVENTS.name(),
            key,
            envelope,
            value,
        });
    }

    /// Everything of one step: a frame per device (some re-sent, some with a late
    /// record), some sessions (some late), registrations and state changes (some late).
    async fn step(&mut self, step: u64) -> Vec<Out> {
        let mut out = Vec::new();
        for d in 0..DEVICES {
            let received = step_ms(step, d) + 40 + i64::try_from(step % 7).unwrap();
            let resend = step > 0 && (step + d) % 9 == 4;
            let frame_step = if resend { step - 1 } else { step };
            let mut frame = records(frame_step, d, received);
            if step >= 3 && (step * 7 + d) % 13 == 5 {
                frame.push(late_record(step, d, received));
            }
            self.telemetry_frame(d, frame, &mut out).await;

            if (step + d).is_multiple_of(8) {
                let connected = (step / 8 + d).is_multiple_of(2);
                self.session(d, step_ms(step, d) + 100, connected, &mut out)
                    .await;
            } else if step >= 10 && (step + d) % 8 == 4 {
                // A disconnect from long ago, processed late: it must not win.
                self.session(d, step_ms(step - 9, d) + 150, false, &mut out)
                    .await;
            }

            if d < VEHICLES {
                let vehicle = vehicle_id(d);
                if step == d % 10 || (d < 5 && step == d % 10 + 20) {
                    self.vehicles.insert(vehicle);
                    let event = FleetEvent {
                        occurred_at_ms: step_ms(step, d),
                        event: FleetEventBody::VehicleRegistered(VehicleRegistered {
                            vehicle_id: vehicle,
                            device_id: device_id(d),
                            protocol: Protocol::Teltonika,
                            model: format!("S{}", step % 3),
                            qr_code: format!("QR-{d}-{step}"),
                        }),
                    };
                    self.fleet(vehicle, event, &mut out).await;
                } else if step > d % 10 && (step + d).is_multiple_of(3) {
                    let states = [
                        VehicleState::Available,
                        VehicleState::Reserved,
                        VehicleState::InRide,
                        VehicleState::OutOfService,
                    ];
                    let at = if step > 12 && (step + d).is_multiple_of(4) {
                        step_ms(step - 12, d) + 200 // late: must not win
                    } else {
                        step_ms(step, d) + 200
                    };
                    let event = FleetEvent {
                        occurred_at_ms: at,
                        event: FleetEventBody::VehicleStateChanged(VehicleStateChanged {
                            vehicle_id: vehicle,
                            from_state: states[(step % 4) as usize],
                            to_state: states[((step + 1) % 4) as usize],
                            reason: None,
                        }),
                    };
                    self.fleet(vehicle, event, &mut out).await;
                }
            }
        }
        out
    }

    async fn produce(&mut self, out: Vec<Out>) {
        let mut pending = Vec::with_capacity(out.len());
        for o in &out {
            let record = FutureRecord::to(o.topic)
                .key(o.key.as_str())
                .payload(o.value.as_slice())
                .headers(o.envelope.to_headers());
            pending.push(
                self.producer
                    .send_result(record)
                    .map_err(|(e, _)| e)
                    .unwrap(),
            );
            *self.produced.entry(o.topic).or_default() += 1;
            self.event_ids.insert(o.envelope.id);
        }
        for delivery in pending {
            delivery.await.unwrap().map_err(|(e, _)| e).unwrap();
        }
    }
}

/// Produce a step every [`STEP`] until at least [`MIN_STEPS`] are out and `stop` is set.
pub(crate) fn steady_load(
    settings: &Settings,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<(Load, u64)> {
    let mut load = Load {
        codec: WireCodec::new(&settings.schema_registry_url),
        producer: kafka::producer(&settings.kafka, "test-load").unwrap(),
        identities: HashSet::new(),
        vehicles: HashSet::new(),
        event_ids: HashSet::new(),
        produced: BTreeMap::new(),
    };
    tokio::spawn(async move {
        let mut step = 0;
        let mut next = tokio::time::Instant::now();
        while step < MIN_STEPS || !stop.load(Ordering::SeqCst) {
            let out = load.step(step).await;
            load.produce(out).await;
            step += 1;
            next += STEP;
            tokio::time::sleep_until(next).await;
        }
        (load, step)
    })
}
