//! Broker failover: a 3-node KRaft cluster (topics with replication factor 3,
//! `min.insync.replicas=2`) under a steady simulated fleet through the gateway, the decoder
//! and the fleet projection; the broker leading the most partitions of the frames and
//! telemetry topics is SIGKILLed and restarted, again and again.
//!
//! Asserted: every frame a device got an ACK for is in `scooter.frames.v1` (no device got
//! an ACK for a frame the log lacks); the fleet read model at the end equals one built from
//! the same log afterwards by a projection that saw no kill; every device shows its newest
//! ACKed record.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use fleetlog_ingest::protocol::{Record, teltonika};
use fleetlog_processor::{ProjectionRuntime, RuntimeConfig};
use fleetlog_projections::fleet::FleetProjection;
use fleetlog_runtime::{Settings, kafka};
use fleetlog_schemas::topics;
use fleetlog_tests::broker::{TestCluster, leadership, wait_fully_replicated};
use fleetlog_tests::log::{next_offsets, read_to_end, wait_until_committed};
use fleetlog_tests::readmodel::wait_until_stored;
use fleetlog_tests::stack::Services;
use rdkafka::Message;
use sqlx::PgPool;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

/// Broker kills, each followed by a restart.
const KILLS: usize = 3;
/// Simulated devices; each sends one record per [`PERIOD`] and waits for its ACK.
const DEVICES: u64 = 20;
const PERIOD: Duration = Duration::from_millis(100);
/// How long a device waits for an ACK before it reconnects and sends the frame again.
const ACK_WAIT: Duration = Duration::from_secs(10);
/// How long the fleet runs with a broker down before it is restarted.
const DOWN_FOR: Duration = Duration::from_secs(3);

/// Frames one device got an ACK for, by device time.
type Acked = Arc<std::sync::Mutex<BTreeMap<String, BTreeMap<i64, Vec<u8>>>>>;

fn imei(index: u64) -> String {
    format!("35{:013}", 7_000_000_000 + index)
}

fn record(index: u64, step: u64) -> Record {
    Record {
        message: "avl".into(),
        device_time_ms: Some(1_764_000_000_000 + i64::try_from(step).unwrap() * 1000),
        lat_e7: Some(375_665_000 + i32::try_from(index * 1000 + step % 500).unwrap()),
        lon_e7: Some(1_269_780_000),
        speed_kmh: Some(12.0),
        heading_deg: Some(90),
        satellites: Some(9),
        position_valid: true,
        battery_pct: Some(u8::try_from(90 - step % 50).unwrap()),
        odometer_m: Some(1000 + step),
        ..Record::default()
    }
}

/// One device: log in, send a frame, wait for its ACK, next frame; on a timeout or a
/// closed connection, reconnect and send the same frame again (as real devices do).
async fn device(addr: std::net::SocketAddr, index: u64, acked: Acked, stop: Arc<AtomicBool>) {
    let id = imei(index);
    let mut step = 0_u64;
    while !stop.load(Ordering::SeqCst) {
        let Ok(mut stream) = TcpStream::connect(addr).await else {
            tokio::time::sleep(PERIOD).await;
            continue;
        };
        let login = teltonika::device::login_packet(&id).unwrap();
        if stream.write_all(&login).await.is_err() || read(&mut stream, 1).await != Some(vec![1]) {
            tokio::time::sleep(PERIOD).await;
            continue;
        }
        while !stop.load(Ordering::SeqCst) {
            let rec = record(index, step);
            let packet = teltonika::device::codec8e_packet(std::slice::from_ref(&rec)).unwrap();
            if stream.write_all(&packet).await.is_err() {
                break;
            }
            if read(&mut stream, 4).await != Some(vec![0, 0, 0, 1]) {
                break; // no ACK: reconnect and send it again
            }
            acked
                .lock()
                .unwrap()
                .entry(id.clone())
                .or_default()
                .insert(rec.device_time_ms.unwrap(), packet.to_vec());
            step += 1;
            tokio::time::sleep(PERIOD).await;
        }
    }
}

async fn read(stream: &mut TcpStream, n: usize) -> Option<Vec<u8>> {
    let mut buf = vec![0; n];
    match tokio::time::timeout(ACK_WAIT, stream.read_exact(&mut buf)).await {
        Ok(Ok(_)) => Some(buf),
        _ => None,
    }
}

/// The node leading the most partitions of the busy topics.
fn busiest_leader(settings: &Settings) -> u32 {
    let mut count: HashMap<i32, usize> = HashMap::new();
    for (leader, _) in leadership(settings, &[topics::FRAMES.name(), topics::TELEMETRY.name()]) {
        *count.entry(leader).or_default() += 1;
    }
    let (leader, _) = count.into_iter().max_by_key(|(_, n)| *n).unwrap();
    u32::try_from(leader).unwrap()
}

/// The busy topics of the catalogue, which must have three in-sync replicas again before
/// the next kill (so it leaves two).
const BUSY: [&str; 3] = [
    topics::FRAMES.name(),
    topics::TELEMETRY.name(),
    topics::SESSIONS.name(),
];

fn fleet_projection(settings: &Settings, pool: &PgPool, stop: &CancellationToken) {
    let runtime = ProjectionRuntime::new(
        FleetProjection::new(&settings.schema_registry_url),
        RuntimeConfig::from_settings(settings),
        pool.clone(),
    );
    tokio::spawn(runtime.run(stop.clone()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acked_frames_survive_broker_kills_and_the_fleet_model_matches_an_uninterrupted_build() {
    let started = Instant::now();
    let mut cluster = tokio::task::spawn_blocking(TestCluster::start)
        .await
        .unwrap();
    let mut app = fleetlog_tests::spawn_app().await;
    app.settings.kafka.brokers = cluster.bootstrap();
    app.settings.kafka.client_id = fleetlog_tests::unique_name("failover");
    app.settings.kafka.replication_factor = 3;
    let admin = kafka::admin(&app.settings.kafka).unwrap();
    kafka::create_topics(&admin, &topics::all(2, 1), 3)
        .await
        .unwrap();
    let known: Vec<String> = (0..DEVICES).map(imei).collect();
    let services = Services::start(&app, |s| s.gateway.known_devices = known.join(",")).await;
    let settings = services.settings.clone();
    let stop = CancellationToken::new();
    let _stop_guard = stop.clone().drop_guard();
    let decoder_settings = settings.clone();
    let decoder_stop = stop.clone();
    let decoder = tokio::spawn(async move {
        fleetlog_ingest::decoder::run(&decoder_settings, decoder_stop).await
    });
    fleet_projection(&settings, &app.pool, &stop);

    let acked: Acked = Arc::default();
    let stop_devices = Arc::new(AtomicBool::new(false));
    let devices: Vec<_> = (0..DEVICES)
        .map(|i| {
            tokio::spawn(device(
                services.teltonika,
                i,
                acked.clone(),
                stop_devices.clone(),
            ))
        })
        .collect();
    let total = || -> usize { acked.lock().unwrap().values().map(BTreeMap::len).sum() };

    for kill in 0..KILLS {
        wait_fully_replicated(&settings, &BUSY).await;
        // The fleet flows before each kill.
        let before = total();
        let deadline = Instant::now() + Duration::from_secs(30);
        while total() < before + 50 {
            assert!(Instant::now() < deadline, "kill {kill}: no ACKs before it");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let s = settings.clone();
        let leader = tokio::task::spawn_blocking(move || busiest_leader(&s))
            .await
            .unwrap();
        eprintln!("kill {kill}: node {leader} (acked so far {})", total());
        cluster = tokio::task::spawn_blocking(move || {
            cluster.kill(leader);
            cluster
        })
        .await
        .unwrap();
        tokio::time::sleep(DOWN_FOR).await;
        cluster = tokio::task::spawn_blocking(move || {
            cluster.restart(leader);
            cluster
        })
        .await
        .unwrap();
    }
    // The fleet flows after the last restart too.
    let after = total();
    let deadline = Instant::now() + Duration::from_secs(30);
    while total() < after + 50 {
        assert!(Instant::now() < deadline, "no ACKs after the last restart");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop_devices.store(true, Ordering::SeqCst);
    for device in devices {
        device.await.unwrap();
    }

    // Every ACKed frame is in the log.
    let codec = services.codec();
    let mut logged: BTreeSet<(String, Vec<u8>)> = BTreeSet::new();
    let frames = read_to_end(&settings, topics::FRAMES.name(), Duration::from_secs(60)).await;
    for message in &frames {
        let (frame, _) = codec
            .decode(topics::FRAMES, message.payload().unwrap())
            .await
            .unwrap();
        logged.insert((frame.device_id.unwrap_or_default(), frame.raw));
    }
    let acked = acked.lock().unwrap().clone();
    let mut missing = Vec::new();
    for (device, frames) in &acked {
        for (time, raw) in frames {
            if !logged.contains(&(device.clone(), raw.clone())) {
                missing.push((device.clone(), *time));
            }
        }
    }
    let acked_count: usize = acked.values().map(BTreeMap::len).sum();
    assert!(
        missing.is_empty(),
        "{} of {acked_count} ACKed frames are not in the log: {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    assert_eq!(
        acked.len(),
        usize::try_from(DEVICES).unwrap(),
        "every device sent"
    );

    // The decoder rides out every kill (a producer fenced by a failover is replaced, not
    // the end of the decoder) and catches up after the last one (its transactions commit
    // its input offsets): only then does the telemetry topic hold every ACKed frame's
    // records.
    if decoder.is_finished() {
        panic!("the decoder stopped during the kills: {:?}", decoder.await);
    }
    let frames_end = next_offsets(&frames);
    let decoder_group = format!("{}-decoder", settings.kafka.client_id);
    wait_until_committed(
        &settings,
        &decoder_group,
        &frames_end,
        Duration::from_secs(120),
    )
    .await;

    // The fleet model under kills equals one built afterwards without any.
    let mut end = BTreeMap::new();
    for topic in fleetlog_projections::fleet::TOPICS {
        end.extend(next_offsets(
            &read_to_end(&settings, topic, Duration::from_secs(60)).await,
        ));
    }
    wait_until_stored(&app.pool, "fleet", &end, "A (through the kills)").await;
    let b = fleetlog_tests::spawn_app().await;
    let mut b_settings = settings.clone();
    b_settings.database_url.clone_from(&b.settings.database_url);
    fleet_projection(&b_settings, &b.pool, &stop);
    wait_until_stored(&b.pool, "fleet", &end, "B (after the kills)").await;
    fleetlog_tests::readmodel::assert_same(&app.pool, &b.pool, "proj_fleet_v1").await;

    // Every device shows its newest ACKed record, or a newer one stored whose ACK was lost.
    let newest: Vec<(String, Option<i64>)> =
        sqlx::query_as("SELECT device_id, device_time_ms FROM proj_fleet_v1.devices")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    let newest: BTreeMap<String, Option<i64>> = newest.into_iter().collect();
    for (device, frames) in &acked {
        let last = frames.keys().next_back().copied();
        let shown = newest.get(device).copied().flatten();
        assert!(
            shown >= last,
            "{device} shows {shown:?}, its newest ACKed record is {last:?}"
        );
    }
    eprintln!(
        "{KILLS} broker kills; {acked_count} frames ACKed, {} frames in the log; test took {:?}",
        logged.len(),
        started.elapsed()
    );
}
