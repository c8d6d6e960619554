//! Exactly once through the decoder: `fleetlog decoder` is SIGKILLed at random moments
//! (mid-transaction among them) and restarted while frames keep arriving; a
//! `read_committed` reader of `scooter.telemetry.v1` must then see every telemetry record
//! of the input exactly once — the same records, ids and values that an uninterrupted
//! decoder produced from the same frames on a second broker.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use fleetlog_ingest::protocol::{Record, teltonika};
use fleetlog_runtime::settings::AdmissionPolicy;
use fleetlog_runtime::{Settings, kafka};
use fleetlog_schemas::envelope::Envelope;
use fleetlog_schemas::events::{FrameStatus, Protocol, RawFrame};
use fleetlog_schemas::topics;
use fleetlog_schemas::wire::WireCodec;
use fleetlog_tests::broker::TestBroker;
use fleetlog_tests::log::{next_offsets, read_to_end};
use fleetlog_tests::process::{ChildGuard, fleetlog, isolate_ports};
use fleetlog_tests::stack::Services;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Message, OwnedMessage};
use rdkafka::producer::FutureProducer;
use rdkafka::{Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const KILLS: usize = 8;
const DEVICES: u64 = 12;
/// Frames produced per round; one round every 100 ms until the kills are done.
const ROUND: u64 = 12;

/// The `n`th frame: a Teltonika packet of one to three records of device `n % DEVICES`.
fn frame(n: u64) -> (String, Envelope, RawFrame) {
    let device = format!("35{:013}", 5_000_000_000 + n % DEVICES);
    let records: Vec<Record> = (0..=n % 3)
        .map(|i| Record {
            message: "avl".into(),
            device_time_ms: Some(1_764_000_000_000 + i64::try_from(n * 10 + i).unwrap()),
            lat_e7: Some(375_665_000 + i32::try_from(n % 1000).unwrap()),
            lon_e7: Some(1_269_780_000),
            battery_pct: Some(60),
            position_valid: true,
            ..Record::default()
        })
        .collect();
    let envelope = Envelope::new_root(topics::FRAMES, "/fleetlog/test", &device);
    let frame = RawFrame {
        frame_id: envelope.id,
        gateway_id: "test".into(),
        protocol: Protocol::Teltonika,
        remote_addr: "127.0.0.1:1".into(),
        received_at_ms: 1_764_000_100_000,
        raw: teltonika::device::codec8e_packet(&records)
            .unwrap()
            .to_vec(),
        status: FrameStatus::Ok,
        device_id: Some(device.clone()),
    };
    (device, envelope, frame)
}

/// Append frames `from..to` to the frames topic of both brokers; returns their records.
async fn append(codec: &WireCodec, producers: &[FutureProducer], from: u64, to: u64) -> u64 {
    let mut records = 0;
    for n in from..to {
        let (device, envelope, frame) = frame(n);
        records += n % 3 + 1;
        let payload = codec.encode(topics::FRAMES, &frame).await.unwrap();
        for producer in producers {
            fleetlog_tests::log::append(
                producer,
                topics::FRAMES.name(),
                &device,
                &payload,
                &envelope,
            )
            .await;
        }
    }
    records
}

fn spawn_decoder(settings: &Settings) -> ChildGuard {
    let mut cmd: Command = fleetlog(settings);
    cmd.arg("decoder")
        .env("FLEETLOG_KAFKA__CLIENT_ID", &settings.kafka.client_id);
    ChildGuard::spawn(cmd)
}

/// The decoder group's committed offsets on the frames topic (what its transactions
/// committed), summed over partitions. While a killed decoder's transaction is open the
/// broker answers "unstable" until a restarted one aborts it: asked again until it answers.
async fn committed(settings: &Settings) -> i64 {
    let kafka = settings.kafka.clone();
    tokio::task::spawn_blocking(move || {
        let group = format!("{}-decoder", kafka.client_id);
        let consumer: BaseConsumer = kafka::consumer_config(&kafka, &group).create().unwrap();
        let mut list = TopicPartitionList::new();
        for p in 0..2 {
            list.add_partition(topics::FRAMES.name(), p);
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match consumer.committed_offsets(list.clone(), Duration::from_secs(10)) {
                Ok(l) => {
                    return l
                        .elements()
                        .iter()
                        .map(|e| match e.offset() {
                            Offset::Offset(o) => o,
                            _ => 0,
                        })
                        .sum();
                }
                Err(err) => assert!(
                    Instant::now() < deadline,
                    "committed offsets unknown: {err}"
                ),
            }
        }
    })
    .await
    .unwrap()
}

/// Telemetry as a `read_committed` reader sees it: (event id, key, value) in id order.
fn telemetry(messages: &[OwnedMessage]) -> Vec<(Uuid, Vec<u8>, Vec<u8>)> {
    let mut out: Vec<_> = messages
        .iter()
        .map(|m| {
            let envelope = Envelope::from_headers(m.headers().unwrap()).unwrap();
            (
                envelope.id,
                m.key().unwrap().to_vec(),
                m.payload().unwrap().to_vec(),
            )
        })
        .collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_committed_readers_see_every_telemetry_record_once_across_decoder_kills() {
    let mut timings = fleetlog_tests::kill_timings::KillTimings::for_test(
        "read_committed_readers_see_every_telemetry_record_once_across_decoder_kills",
    );
    let (_broker_a, app) = fleetlog_tests::broker::isolated_app().await;
    let services = Services::start(&app, |s| s.gateway.admission = AdmissionPolicy::Open).await;
    let mut a = services.settings.clone();
    isolate_ports(&mut a);
    a.schema_registry_url
        .clone_from(&services.settings.schema_registry_url);
    // B: a second broker where one decoder runs uninterrupted on the same frames.
    let broker_b = tokio::task::spawn_blocking(TestBroker::start)
        .await
        .unwrap();
    let mut b = a.clone();
    b.kafka.brokers = broker_b.address();
    let admin = kafka::admin(&b.kafka).unwrap();
    kafka::create_topics(&admin, &topics::all(2, 1), 1)
        .await
        .unwrap();
    let stop_b = CancellationToken::new();
    let _b_guard = stop_b.clone().drop_guard();
    let (b_run, b_stop) = (b.clone(), stop_b.clone());
    tokio::spawn(async move { fleetlog_ingest::decoder::run(&b_run, b_stop).await });

    let codec = services.codec();
    let producers = vec![
        kafka::producer(&a.kafka, "test").unwrap(),
        kafka::producer(&b.kafka, "test").unwrap(),
    ];
    let stop_input = CancellationToken::new();
    let input_stop = stop_input.clone();
    let input = tokio::spawn(async move {
        let (mut rounds, mut records) = (0, 0);
        while !input_stop.is_cancelled() {
            records += append(&codec, &producers, rounds * ROUND, (rounds + 1) * ROUND).await;
            rounds += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        (rounds * ROUND, records)
    });

    let mut progress = Vec::new();
    for kill in 0..KILLS {
        // What was committed before the last kill (the restarted decoder aborts what that
        // one left open, so asking now could wait for it).
        let before = progress.last().copied().unwrap_or(0);
        let child = spawn_decoder(&a);
        let deadline = Instant::now() + Duration::from_secs(60);
        while committed(&a).await <= before {
            assert!(
                Instant::now() < deadline,
                "kill {kill}: no progress from {before}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(timings.ms(0, 400))).await;
        progress.push(committed(&a).await);
        drop(child); // SIGKILL, likely mid-transaction
    }
    stop_input.cancel();
    let (frames, records) = input.await.unwrap();
    let frames = i64::try_from(frames).unwrap();
    eprintln!("committed frames before each of {KILLS} kills: {progress:?} of {frames}");
    assert!(
        progress.iter().any(|&p| p > 0 && p < frames),
        "kills landed mid-stream: {progress:?}"
    );

    // The last decoder runs to the end of the input.
    let mut last = spawn_decoder(&a);
    let deadline = Instant::now() + Duration::from_secs(60);
    while committed(&a).await < frames {
        assert!(
            Instant::now() < deadline,
            "A's decoder did not reach the end"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(last.terminate(Duration::from_secs(15)).is_some());

    let read_a = read_to_end(&a, topics::TELEMETRY.name(), Duration::from_secs(60)).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    let read_b = loop {
        let read = read_to_end(&b, topics::TELEMETRY.name(), Duration::from_secs(60)).await;
        if read.len() >= usize::try_from(records).unwrap() || Instant::now() > deadline {
            break read;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let (seen_a, seen_b) = (telemetry(&read_a), telemetry(&read_b));
    let mut ids: BTreeMap<Uuid, usize> = BTreeMap::new();
    for (id, _, _) in &seen_a {
        *ids.entry(*id).or_default() += 1;
    }
    let twice: Vec<_> = ids.iter().filter(|(_, n)| **n > 1).take(5).collect();
    assert!(twice.is_empty(), "telemetry seen more than once: {twice:?}");
    assert_eq!(
        seen_a.len(),
        usize::try_from(records).unwrap(),
        "every record once"
    );
    assert_eq!(
        seen_a, seen_b,
        "the same telemetry as the uninterrupted decoder"
    );
    let offsets_end: i64 = next_offsets(&read_a).values().sum();
    eprintln!(
        "{records} telemetry records once each; the topic's last record offsets sum to {offsets_end} \
         (aborted batches and transaction markers take the rest)"
    );
}
