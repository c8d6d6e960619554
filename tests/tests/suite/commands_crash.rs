//! The commands processor killed with SIGKILL at random moments while commands stream in:
//! every command is decided exactly once — one decision per command on `fleet.events.v1`,
//! the decisions an uninterrupted run makes (each vehicle's commands all accepted, in
//! order), and any record the outbox relay appended twice is the same record (same event
//! id, same bytes).

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use fleetlog_api::commands::CommandLog;
use fleetlog_schemas::envelope::Envelope;
use fleetlog_schemas::events::{
    Actor, ActorRole, AppCommand, AppCommandBody as B, FleetEvent, FleetEventBody, Protocol,
    RegisterVehicle, SetInService, SetOutOfService,
};
use fleetlog_schemas::topics;
use fleetlog_tests::broker::isolated_app;
use fleetlog_tests::process::{ChildGuard, fleetlog, isolate_ports};
use rdkafka::Message;
use rdkafka::consumer::{Consumer, StreamConsumer};
use sqlx::PgPool;
use uuid::Uuid;

const VEHICLES: usize = 20;
/// Commands per vehicle: a registration, then out of service / in service in turn.
const PER_VEHICLE: usize = 15;
const KILLS: usize = 8;

fn commands() -> Vec<AppCommand> {
    let operator = Actor {
        id: Uuid::from_u128(1).to_string(),
        role: ActorRole::Operator,
    };
    let mut out = Vec::new();
    for step in 0..PER_VEHICLE {
        for v in 0..VEHICLES {
            let vehicle_id = Uuid::from_u128(1_000 + v as u128);
            let body = match step {
                0 => B::RegisterVehicle(RegisterVehicle {
                    vehicle_id,
                    device_id: format!("35000000000{v:04}"),
                    protocol: Protocol::Teltonika,
                    model: "G30".into(),
                    qr_code: format!("QR{v}"),
                }),
                s if s % 2 == 1 => B::SetOutOfService(SetOutOfService {
                    vehicle_id,
                    force: false,
                    reason: format!("check {s}"),
                }),
                _ => B::SetInService(SetInService {
                    vehicle_id,
                    reason: None,
                }),
            };
            let command_id = Uuid::now_v7();
            out.push(AppCommand {
                command_id,
                idempotency_key: command_id.to_string(),
                actor: operator.clone(),
                requested_at_ms: chrono::Utc::now().timestamp_millis(),
                command: body,
            });
        }
    }
    out
}

async fn decided_offsets(pool: &PgPool) -> i64 {
    sqlx::query_scalar::<_, Option<i64>>(
        "SELECT sum(next_offset)::bigint FROM projection_offsets
         WHERE projection = 'commands' AND topic = 'app.commands.v1'",
    )
    .fetch_one(pool)
    .await
    .ok()
    .flatten()
    .unwrap_or(0)
}

#[tokio::test]
async fn a_commands_processor_killed_at_random_moments_decides_every_command_exactly_once() {
    let mut timings = fleetlog_tests::kill_timings::KillTimings::for_test(
        "a_commands_processor_killed_at_random_moments_decides_every_command_exactly_once",
    );
    let (_broker, mut app) = isolated_app().await;
    isolate_ports(&mut app.settings);
    let registry = app.settings.http.registry_addr.clone();
    // The registry runs in a process of its own that is never killed.
    let mut reg = fleetlog(&app.settings);
    reg.arg("registry").env(
        "FLEETLOG_HTTP__API_ADDR",
        format!("127.0.0.1:{}", fleetlog_tests::process::free_port()),
    );
    let _registry = ChildGuard::spawn(reg);
    let ready = fleetlog_tests::process::wait_for_status(
        &format!("http://{registry}/subjects"),
        200,
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(ready, Some(200), "registry up");
    fleetlog_schemas::registration::register_all(&app.settings.schema_registry_url)
        .await
        .unwrap();

    let all = commands();
    let total = all.len() as i64;
    let log = CommandLog::new(&app.settings.kafka, &app.settings.schema_registry_url).unwrap();
    let producing = {
        let all = all.clone();
        tokio::spawn(async move {
            for chunk in all.chunks(10) {
                for command in chunk {
                    log.append(command).await.unwrap();
                }
                tokio::time::sleep(Duration::from_millis(40)).await;
            }
        })
    };

    let spawn = || {
        let mut cmd = fleetlog(&app.settings);
        cmd.arg("commands")
            .env("FLEETLOG_PROJECTIONS__BATCH_MAX_RECORDS", "20")
            .env("FLEETLOG_PROJECTIONS__BATCH_MAX_WAIT_MS", "10");
        ChildGuard::spawn(cmd)
    };
    let mut progress = Vec::new();
    for _ in 0..KILLS {
        let child = spawn();
        let before = decided_offsets(&app.pool).await;
        let deadline = Instant::now() + Duration::from_secs(60);
        while decided_offsets(&app.pool).await == before && before < total {
            assert!(Instant::now() < deadline, "no progress from {before}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(timings.ms(0, 300))).await;
        drop(child); // SIGKILL
        progress.push(decided_offsets(&app.pool).await);
    }
    producing.await.unwrap();
    let _last = spawn();
    eprintln!("commands decided after each of {KILLS} kills: {progress:?} of {total}");
    assert!(
        progress.iter().any(|&p| p > 0 && p < total),
        "kills landed mid-stream: {progress:?}"
    );

    // Every decision on the log, by event id.
    let consumer: StreamConsumer = fleetlog_runtime::kafka::consumer_config(
        &app.settings.kafka,
        &fleetlog_tests::unique_name("check"),
    )
    .create()
    .unwrap();
    consumer.subscribe(&[topics::FLEET_EVENTS.name()]).unwrap();
    let codec = fleetlog_schemas::wire::WireCodec::new(&app.settings.schema_registry_url);
    let mut copies: HashMap<Uuid, Vec<Vec<u8>>> = HashMap::new();
    let mut decisions: BTreeMap<Uuid, Vec<(Uuid, &'static str)>> = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while decisions.len() < all.len() {
        assert!(
            Instant::now() < deadline,
            "only {} of {} commands decided",
            decisions.len(),
            all.len()
        );
        let Ok(Ok(msg)) = tokio::time::timeout(Duration::from_secs(5), consumer.recv()).await
        else {
            continue;
        };
        let envelope = Envelope::from_message(&msg).unwrap();
        let payload = msg.payload().unwrap().to_vec();
        let first = !copies.contains_key(&envelope.id);
        copies.entry(envelope.id).or_default().push(payload.clone());
        if !first {
            continue;
        }
        let (event, _): (FleetEvent, _) =
            codec.decode(topics::FLEET_EVENTS, &payload).await.unwrap();
        let decided = match event.event {
            FleetEventBody::CommandAccepted(a) => Some((a.command_id, "accepted")),
            FleetEventBody::CommandRejected(r) => Some((r.command_id, "rejected")),
            _ => None,
        };
        if let Some((command_id, outcome)) = decided {
            decisions
                .entry(command_id)
                .or_default()
                .push((envelope.id, outcome));
        }
    }
    for (id, bodies) in &copies {
        assert!(
            bodies.windows(2).all(|w| w[0] == w[1]),
            "event {id} appended with different contents"
        );
    }
    let republished = copies.values().filter(|c| c.len() > 1).count();
    eprintln!("events appended more than once (same id, same bytes): {republished}");
    for command in &all {
        let seen = decisions
            .get(&command.command_id)
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            seen.iter().map(|d| d.1).collect::<Vec<_>>(),
            vec!["accepted"],
            "command {} ({:?}) decided once, accepted",
            command.command_id,
            command.command
        );
    }
}
