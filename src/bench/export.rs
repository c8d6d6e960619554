//! `fleetlog bench export`: the export's rate (records/s and MB/s of keys and values read)
//! to Parquet and to JSON lines, beside a raw consume of the same records with no decoding
//! and no writing, all in the same run against the same broker.
//!
//! The records are telemetry values registry-encoded the way the decoder writes them,
//! with envelope headers, on a fresh topic of the configured partition count.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use fleetlog_export::{Bound, ExportRequest, Format, NoProgress};
use fleetlog_runtime::Settings;
use fleetlog_runtime::kafka::{self, TopicSpec};
use fleetlog_schemas::catalog;
use fleetlog_schemas::envelope::Envelope;
use fleetlog_schemas::events::{AlarmKind, IoElement, LockState, Telemetry};
use fleetlog_schemas::topics;
use fleetlog_schemas::wire::WireCodec;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::FutureRecord;
use rdkafka::{Message, Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;

/// Options of `fleetlog bench export`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ExportBenchArgs {
    /// Records to produce and export.
    #[arg(long, default_value_t = 200_000)]
    records: usize,
    /// Devices (record keys).
    #[arg(long, default_value_t = 1_000)]
    devices: usize,
}

fn telemetry(i: usize, devices: usize) -> Telemetry {
    let n = i as i64;
    Telemetry {
        device_id: format!(
            "{:015}",
            350_000_000_000_000u64 + (i % devices.max(1)) as u64
        ),
        frame_id: uuid::Uuid::now_v7(),
        record_index: (i % 4) as i32,
        device_time_ms: 1_764_000_000_000 + n * 1_000,
        received_at_ms: 1_764_000_000_250 + n * 1_000,
        lat_e7: 375_665_000 + (i % 1_000) as i32,
        lon_e7: 1_269_780_000 - (i % 1_000) as i32,
        altitude_m: 38,
        speed_kmh: (i % 26) as i32,
        heading_deg: (i % 360) as i32,
        satellites: 11,
        position_valid: true,
        battery_pct: Some((i % 101) as i32),
        lock_state: Some(if i.is_multiple_of(2) {
            LockState::Locked
        } else {
            LockState::Unlocked
        }),
        alarms: if i.is_multiple_of(50) {
            vec![AlarmKind::Overspeed]
        } else {
            vec![]
        },
        odometer_m: Some(1_000_000 + n),
        io: vec![IoElement {
            id: 66,
            value: Some(12_300 + n % 500),
            raw: None,
        }],
    }
}

async fn produce(
    settings: &Settings,
    registry: &str,
    topic: &str,
    args: &ExportBenchArgs,
) -> anyhow::Result<()> {
    let codec = WireCodec::new(registry);
    let producer = kafka::producer(&settings.kafka, "bench-export")?;
    let mut pending = Vec::with_capacity(10_000);
    for i in 0..args.records {
        let value = telemetry(i, args.devices);
        let payload = codec
            .encode(topics::TELEMETRY.renamed(topic), &value)
            .await?;
        let frame = Envelope::new_root(topics::FRAMES, "/fleetlog/gateway/bench", &value.device_id);
        let envelope = Envelope::child(
            &frame,
            topics::TELEMETRY,
            "/fleetlog/decoder/bench",
            &value.device_id,
        );
        let record = FutureRecord::to(topic)
            .key(&value.device_id)
            .payload(&payload)
            .headers(envelope.to_headers());
        pending.push(producer.send_result(record).map_err(|(e, _)| e)?);
        if pending.len() == 10_000 {
            for delivery in pending.drain(..) {
                delivery.await?.map_err(|(e, _)| e)?;
            }
        }
    }
    for delivery in pending {
        delivery.await?.map_err(|(e, _)| e)?;
    }
    Ok(())
}

/// Consume every record of `topic` without decoding; returns (records, bytes, elapsed).
async fn raw_consume(
    settings: &Settings,
    topic: &str,
    partitions: i32,
) -> anyhow::Result<(u64, u64, Duration)> {
    let group = format!("bench-export-raw-{}", uuid::Uuid::new_v4().simple());
    let consumer: StreamConsumer = kafka::consumer_config(&settings.kafka, &group).create()?;
    let mut tpl = TopicPartitionList::new();
    let mut expected = 0i64;
    for p in 0..partitions {
        let (low, high) = consumer.fetch_watermarks(topic, p, Duration::from_secs(10))?;
        expected += high - low;
        tpl.add_partition_offset(topic, p, Offset::Offset(low))?;
    }
    consumer.assign(&tpl)?;
    let started = Instant::now();
    let (mut records, mut bytes) = (0u64, 0u64);
    while (records as i64) < expected {
        let message = tokio::time::timeout(Duration::from_secs(30), consumer.recv())
            .await
            .context("the raw consumer got nothing for 30 s")??;
        records += 1;
        bytes += (message.key().map_or(0, <[u8]>::len) + message.payload().map_or(0, <[u8]>::len))
            as u64;
    }
    Ok((records, bytes, started.elapsed()))
}

fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_bytes(&e.path()),
            _ => e.metadata().map_or(0, |m| m.len()),
        })
        .sum()
}

fn rate(records: u64, bytes: u64, elapsed: Duration) -> (f64, f64) {
    let s = elapsed.as_secs_f64().max(1e-9);
    (records as f64 / s, bytes as f64 / s / 1e6)
}

/// Produce, then measure the raw consume and both export formats.
pub(crate) async fn run(settings: Settings, args: ExportBenchArgs) -> anyhow::Result<()> {
    let token = CancellationToken::new();
    let mut settings = settings;
    let registry = super::ingest::start_registry(&settings, token.clone()).await?;
    settings.schema_registry_url = registry.clone();
    let topic = format!("bench.export.{}", uuid::Uuid::new_v4().simple());
    let partitions = settings.kafka.partitions;
    let admin = kafka::admin(&settings.kafka)?;
    kafka::create_topics(
        &admin,
        &[TopicSpec {
            name: topic.clone(),
            partitions,
        }],
        1,
    )
    .await?;
    let schema = catalog::topic_schema_json(fleetlog_schemas::topics::TELEMETRY.name())?;
    fleetlog_schemas::registration::register(&registry, &catalog::value_subject(&topic), &schema)
        .await?;

    println!(
        "fleetlog bench export — broker {}, {} telemetry records, {partitions} partitions",
        settings.kafka.brokers, args.records
    );
    let started = Instant::now();
    produce(&settings, &registry, &topic, &args).await?;
    println!("produced in {:.1} s", started.elapsed().as_secs_f64());

    let (records, bytes, elapsed) = raw_consume(&settings, &topic, partitions).await?;
    let (base_rps, base_mbs) = rate(records, bytes, elapsed);
    println!(
        "raw consume (baseline)    {base_rps:>10.0} records/s  {base_mbs:>7.1} MB/s  ({records} records, {:.1} MB of keys and values)",
        bytes as f64 / 1e6
    );
    for format in [Format::Parquet, Format::Jsonl] {
        let out = std::env::temp_dir().join(format!(
            "fleetlog-bench-export-{}",
            uuid::Uuid::new_v4().simple()
        ));
        let request = ExportRequest {
            topics: vec![topic.clone()],
            from: Bound::Earliest,
            to: Bound::Latest,
            out: out.clone(),
            format,
            max_rows_per_file: 1_000_000,
        };
        let report = fleetlog_export::export(&settings, &request, &NoProgress).await?;
        let (rps, mbs) = rate(report.records, report.bytes, report.elapsed);
        println!(
            "export {:<8}           {rps:>10.0} records/s  {mbs:>7.1} MB/s  ratio {:.2} × raw consume  ({} files, {:.1} MB written, {} rejected)",
            format.to_string(),
            rps / base_rps.max(1e-9),
            report.files,
            dir_bytes(&out) as f64 / 1e6,
            report.rejected
        );
        let _ = std::fs::remove_dir_all(&out);
    }
    token.cancel();
    Ok(())
}
