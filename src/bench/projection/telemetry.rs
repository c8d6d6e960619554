//! The throughput phases' load, also used by `fleetlog bench rebuild`: telemetry events
//! generated (devices `36…`), each encoded in wire format with its envelope, and produced
//! to the telemetry topic.

use fleetlog_runtime::{Settings, kafka};
use fleetlog_schemas::envelope::Envelope;
use fleetlog_schemas::events::{LockState, Telemetry};
use fleetlog_schemas::topics;
use fleetlog_schemas::wire::WireCodec;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use rdkafka::producer::FutureRecord;

pub(crate) fn telemetry_events(n: usize) -> Vec<Telemetry> {
    (0..n)
        .map(|i| Telemetry {
            device_id: format!("36{:013}", i % 1000),
            frame_id: uuid::Uuid::from_u128(i as u128),
            record_index: 0,
            device_time_ms: 1_764_000_000_000 + i as i64 * 10,
            received_at_ms: 1_764_000_000_050 + i as i64 * 10,
            lat_e7: 375_665_000 + (i % 977) as i32,
            lon_e7: 1_269_780_000 + (i % 991) as i32,
            altitude_m: 30,
            speed_kmh: 12,
            heading_deg: 90,
            satellites: 9,
            position_valid: true,
            battery_pct: Some(80),
            lock_state: Some(LockState::Unlocked),
            alarms: Vec::new(),
            odometer_m: Some(i as i64),
            io: Vec::new(),
        })
        .collect()
}

/// Each event's value in wire format and its envelope.
pub(crate) async fn encode(
    settings: &Settings,
    events: &[Telemetry],
) -> anyhow::Result<Vec<(Vec<u8>, Envelope)>> {
    let codec = WireCodec::new(&settings.schema_registry_url);
    let mut out = Vec::with_capacity(events.len());
    for event in events {
        let payload = codec.encode(topics::TELEMETRY, event).await?;
        let envelope = Envelope::new_root(topics::TELEMETRY, "/fleetlog/bench", &event.device_id);
        out.push((payload, envelope));
    }
    Ok(out)
}

pub(crate) async fn produce(
    settings: &Settings,
    events: &[Telemetry],
    encoded: &[(Vec<u8>, Envelope)],
) -> anyhow::Result<()> {
    let producer = kafka::producer(&settings.kafka, "bench-telemetry")?;
    let mut inflight: FuturesUnordered<rdkafka::producer::DeliveryFuture> = FuturesUnordered::new();
    for (event, (payload, envelope)) in events.iter().zip(encoded) {
        let delivery = loop {
            let record = FutureRecord::to(topics::TELEMETRY.name())
                .key(&event.device_id)
                .payload(payload)
                .headers(envelope.to_headers());
            match producer.send_result(record) {
                Ok(delivery) => break delivery,
                Err(_) => {
                    if let Some(done) = inflight.next().await {
                        done.map_err(|_| anyhow::anyhow!("cancelled"))?
                            .map_err(|(e, _)| e)?;
                    }
                }
            }
        };
        inflight.push(delivery);
    }
    while let Some(done) = inflight.next().await {
        done.map_err(|_| anyhow::anyhow!("cancelled"))?
            .map_err(|(e, _)| e)?;
    }
    Ok(())
}
