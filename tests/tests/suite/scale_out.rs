//! Scale-out under fire: a 3-node Kafka cluster and every part as the built binary, two
//! of each — gateways, decoders, commands processors, fleet projectors — one rides
//! projector (the command outcomes the API answers with) and one API;
//! 200 simulated scooters spread over both gateways and moving between them, an operator
//! sending lock, unlock and locate commands through the API all along, and SIGKILLs of
//! random processes and brokers (each restarted) every few seconds.
//!
//! Asserted at the end, from the log and the read model:
//! - every frame a scooter got an ACK for is in `scooter.frames.v1`;
//! - every app command on `app.commands.v1` has exactly one decision (one event id);
//! - every downlink command has exactly one final outcome (one event id) on
//!   `scooter.replies.v1`, and none is `UNDELIVERABLE` when its scooter was logged in at
//!   some gateway during the command's lifetime;
//! - the fleet read model equals one built from the same log by a projection that saw no
//!   kill.
//!
//! Kill timings come from a seed printed at the start (`TEST_SEED` replays them).

mod fleet;
mod operator;
mod roster;
mod verdict;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fleetlog_processor::{ProjectionRuntime, RuntimeConfig};
use fleetlog_projections::fleet::FleetProjection;
use fleetlog_runtime::{Settings, kafka};
use fleetlog_schemas::topics;
use fleetlog_schemas::wire::WireCodec;
use fleetlog_tests::broker::{TestCluster, fully_replicated};
use fleetlog_tests::kill_timings::KillTimings;
use fleetlog_tests::log::{next_offsets, read_to_end, wait_until_committed};
use fleetlog_tests::process::{ChildGuard, fleetlog, isolate_ports, wait_for_status};
use fleetlog_tests::readmodel::wait_until_stored;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use fleet::Seen;
use operator::Operator;
use roster::{Role, Roster};

const NAME: &str = "scale_out::a_scaled_out_deployment_under_random_kills_loses_nothing_and_decides_every_command_once";
const SCOOTERS: usize = 200;
/// How long processes and brokers are killed.
const CHAOS: Duration = Duration::from_secs(100);
const MIN_KILLS: usize = 30;
/// One operator command per this (all through the chaos).
const COMMAND_EVERY: Duration = Duration::from_millis(250);
/// A broker is killed only while every partition of these has three in-sync replicas.
const REPLICATED: [&str; 4] = [
    topics::FRAMES.name(),
    topics::TELEMETRY.name(),
    topics::DOWNLINK.name(),
    topics::APP_COMMANDS.name(),
];

/// The 3-node cluster, shared with the thread restarting a killed node.
type Cluster = Arc<Mutex<TestCluster>>;

/// The registry in a process of its own (never killed), every schema registered.
async fn registry(settings: &Settings) -> ChildGuard {
    let mut cmd = fleetlog(settings);
    cmd.arg("registry").env(
        "FLEETLOG_HTTP__API_ADDR",
        format!("127.0.0.1:{}", fleetlog_tests::process::free_port()),
    );
    let child = ChildGuard::spawn(cmd);
    let url = format!("http://{}/subjects", settings.http.registry_addr);
    let ready = wait_for_status(&url, 200, Duration::from_secs(60)).await;
    assert_eq!(ready, Some(200), "registry up");
    fleetlog_schemas::registration::register_all(&settings.schema_registry_url)
        .await
        .unwrap();
    child
}

/// Kills and restarts until `CHAOS` is over; (kills, broker kills, what was killed).
async fn chaos(
    roster: &mut Roster,
    cluster: &Cluster,
    settings: &Settings,
    timings: &mut KillTimings,
) -> (usize, usize, BTreeMap<String, usize>) {
    let end = Instant::now() + CHAOS;
    let killable = roster.killable();
    let mut restarting: Option<JoinHandle<()>> = None;
    let (mut kills, mut broker_kills) = (0, 0);
    let mut victims: BTreeMap<String, usize> = BTreeMap::new();
    while Instant::now() < end {
        tokio::time::sleep(Duration::from_millis(timings.ms(1_000, 2_500))).await;
        let pick = usize::try_from(timings.ms(0, killable.len() as u64 + 6)).unwrap();
        // Two picks in five are a broker (three nodes, two picks each), taken when no node is
        // down or catching up.
        let broker_free = restarting.as_ref().is_none_or(JoinHandle::is_finished);
        if pick >= killable.len() && broker_free && fully_replicated(settings, &REPLICATED).await {
            let node = u32::try_from((pick - killable.len()) % 3 + 1).unwrap();
            let down_for = Duration::from_millis(timings.ms(500, 3_000));
            let cluster = cluster.clone();
            cluster.lock().unwrap().kill(node);
            restarting = Some(tokio::task::spawn_blocking(move || {
                std::thread::sleep(down_for);
                cluster.lock().unwrap().restart(node);
            }));
            broker_kills += 1;
            *victims.entry(format!("broker-{node}")).or_default() += 1;
        } else {
            let i = killable[pick % killable.len()];
            roster.kill(i);
            *victims.entry(roster.instances[i].to_string()).or_default() += 1;
            tokio::time::sleep(Duration::from_millis(timings.ms(100, 1_500))).await;
            roster.start(i);
        }
        kills += 1;
    }
    if let Some(restart) = restarting {
        restart.await.expect("broker restarted");
    }
    (kills, broker_kills, victims)
}

/// The next offsets of `topics` once the log is quiet (two reads 2 s apart agree).
async fn quiet_ends(settings: &Settings, names: &[&str]) -> BTreeMap<(String, i32), i64> {
    let read = || async {
        let mut ends = BTreeMap::new();
        for topic in names {
            ends.extend(next_offsets(
                &read_to_end(settings, topic, Duration::from_secs(60)).await,
            ));
        }
        ends
    };
    let mut last = read().await;
    for _ in 0..30 {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let now = read().await;
        if now == last {
            return now;
        }
        last = now;
    }
    panic!("{names:?} never quiet: {last:?}");
}

/// SIGTERM every instance of `role` (each stops gracefully).
fn stop_role(roster: &mut Roster, role: Role) {
    for instance in roster.instances.iter_mut().filter(|i| i.role == role) {
        let stopped = instance.terminate(Duration::from_secs(30));
        assert!(
            stopped.is_some_and(|s| s.success()),
            "{instance} stopped gracefully: {stopped:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scaled_out_deployment_under_random_kills_loses_nothing_and_decides_every_command_once() {
    let started = Instant::now();
    let mut timings = KillTimings::for_test(NAME);
    let cluster = tokio::task::spawn_blocking(TestCluster::start)
        .await
        .unwrap();
    let mut app = fleetlog_tests::spawn_app().await;
    app.settings.kafka.brokers = cluster.bootstrap();
    app.settings.kafka.client_id = fleetlog_tests::unique_name("scale");
    app.settings.kafka.replication_factor = 3;
    let cluster: Cluster = Arc::new(Mutex::new(cluster));
    let admin = kafka::admin(&app.settings.kafka).unwrap();
    kafka::create_topics(&admin, &topics::all(4, 1), 3)
        .await
        .unwrap();
    isolate_ports(&mut app.settings);
    let settings = app.settings.clone();
    let _registry = registry(&settings).await;
    let codec = WireCodec::new(&settings.schema_registry_url);

    let devices: Vec<String> = (0..SCOOTERS).map(fleet::imei).collect();
    let mut roster = Roster::new(&settings, &devices);
    roster.start_all();
    let api = roster.api();
    let ready = wait_for_status(&format!("{api}/readyz"), 200, Duration::from_secs(90)).await;
    assert_eq!(ready, Some(200), "API ready");
    let operator = Arc::new(Operator::new(api));
    operator.register_fleet(SCOOTERS).await;
    eprintln!("fleet registered after {:?}", started.elapsed());

    let stop_fleet = CancellationToken::new();
    let _stop_fleet_guard = stop_fleet.clone().drop_guard();
    let scooters: Vec<JoinHandle<Seen>> = (0..SCOOTERS)
        .map(|i| tokio::spawn(fleet::drive(i, roster.gateways(), stop_fleet.clone())))
        .collect();
    let stop_commands = CancellationToken::new();
    let sending = {
        let (operator, stop) = (operator.clone(), stop_commands.clone());
        tokio::spawn(async move { operator.send_commands(SCOOTERS, COMMAND_EVERY, stop).await })
    };

    let (kills, broker_kills, victims) =
        chaos(&mut roster, &cluster, &settings, &mut timings).await;
    stop_commands.cancel();
    let sent = sending.await.unwrap();
    let exited = roster.exited();
    assert!(exited.is_empty(), "parts gave up by themselves: {exited:?}");
    eprintln!(
        "{kills} kills ({broker_kills} of brokers) after {:?}: {victims:?}; {sent} commands sent",
        started.elapsed()
    );
    assert!(kills >= MIN_KILLS, "{kills} kills");

    // Every downlink command gets its final outcome while the scooters are still there.
    let deadline = Instant::now() + Duration::from_secs(90);
    let downlinks = loop {
        let downlinks = verdict::downlinks(&settings, &codec).await;
        let open = downlinks.values().filter(|d| d.finals.is_empty()).count();
        if open == 0 {
            break downlinks;
        }
        assert!(
            Instant::now() < deadline,
            "{open} of {} downlink commands without a final outcome",
            downlinks.len()
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
    };
    stop_fleet.cancel();
    let mut seen = Vec::new();
    for scooter in scooters {
        seen.push(scooter.await.unwrap());
    }

    // The log comes to rest: gateways stop, decoders finish the frames, every command is
    // decided, and the commands processors stop.
    stop_role(&mut roster, Role::Gateway);
    let frames = quiet_ends(&settings, &[topics::FRAMES.name()]).await;
    let decoder_group = format!("{}-decoder", settings.kafka.client_id);
    wait_until_committed(&settings, &decoder_group, &frames, Duration::from_secs(120)).await;
    stop_role(&mut roster, Role::Decoder);
    let deadline = Instant::now() + Duration::from_secs(90);
    let decisions = loop {
        let decisions = verdict::decisions(&settings, &codec).await;
        let open = decisions
            .commands
            .iter()
            .filter(|c| !decisions.decided.contains_key(c))
            .count();
        if open == 0 {
            break decisions;
        }
        assert!(Instant::now() < deadline, "{open} commands undecided");
        tokio::time::sleep(Duration::from_secs(2)).await;
    };
    stop_role(&mut roster, Role::Commands);

    // Verdict 1: every ACKed frame is in the log.
    let (missing, acked) = verdict::acked_frames_missing(&settings, &codec, &seen).await;
    assert!(
        missing.is_empty(),
        "{} of {acked} ACKed frames are not in the log: {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    // Verdict 2: one decision per app command.
    let twice: Vec<_> = decisions
        .decided
        .iter()
        .filter(|(_, d)| d.len() != 1)
        .collect();
    assert!(
        twice.is_empty(),
        "commands decided more than once: {twice:?}"
    );
    let accepted = decisions
        .decided
        .values()
        .filter(|d| d.iter().all(|(_, accepted)| *accepted))
        .count();
    // Verdict 3: one final outcome per downlink command, never UNDELIVERABLE for a
    // scooter logged in during its lifetime.
    let by_device: BTreeMap<&str, &Seen> = seen.iter().map(|s| (s.device.as_str(), s)).collect();
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    for (id, downlink) in &downlinks {
        assert_eq!(
            downlink.finals.len(),
            1,
            "command {id}: {:?}",
            downlink.finals
        );
        let (_, outcome) = downlink.finals.first().unwrap();
        *outcomes.entry(outcome.clone()).or_default() += 1;
        if outcome == "Undeliverable" {
            let device = by_device[downlink.command.device_id.as_str()];
            // Its lifetime on the gateways: from its append to its expiry (a command
            // appended after its expiry has a lifetime of that moment).
            let expires = downlink.command.expires_at_ms.max(downlink.appended_ms);
            assert!(
                !device.online_during(downlink.appended_ms, expires),
                "command {id} UNDELIVERABLE though {} was logged in during its lifetime",
                device.device
            );
        }
    }
    assert!(
        outcomes.get("Answered").copied().unwrap_or(0) > 0,
        "scooters answered commands: {outcomes:?}"
    );

    // Verdict 4: the fleet read model equals an uninterrupted build of the same log.
    let end = quiet_ends(&settings, &fleetlog_projections::fleet::TOPICS).await;
    wait_until_stored(&app.pool, "fleet", &end, "A (through the kills)").await;
    let b = fleetlog_tests::spawn_app().await;
    let mut b_settings = settings.clone();
    b_settings.database_url.clone_from(&b.settings.database_url);
    let stop_b = CancellationToken::new();
    let _stop_b_guard = stop_b.clone().drop_guard();
    let runtime = ProjectionRuntime::new(
        FleetProjection::new(&b_settings.schema_registry_url),
        RuntimeConfig::from_settings(&b_settings),
        b.pool.clone(),
    );
    tokio::spawn(runtime.run(stop_b.clone()));
    wait_until_stored(&b.pool, "fleet", &end, "B (no kills)").await;
    let compared =
        fleetlog_tests::readmodel::assert_same(&app.pool, &b.pool, "proj_fleet_v1").await;
    assert!(compared.iter().any(|t| t == "devices"), "{compared:?}");

    let sessions: u32 = seen.iter().map(|s| s.sessions).sum();
    let obeyed: u32 = seen.iter().map(|s| s.obeyed).sum();
    eprintln!(
        "scale-out: {kills} kills ({broker_kills} brokers); {acked} frames ACKed, all in the log; \
         {sessions} device sessions; {} app commands, {accepted} accepted, each decided once; \
         {} downlink commands, one final outcome each: {outcomes:?}; {obeyed} obeyed; took {:?}",
        decisions.commands.len(),
        downlinks.len(),
        started.elapsed()
    );
}
