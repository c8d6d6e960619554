//! The foundation works against the real broker and PostgreSQL: client presets, migrations,
//! the CLI surface, `fleetlog up` readiness following the broker, and one geometry rule in
//! SQL and in the deciders (`foundation/geometry.rs`).

mod geometry;

use std::time::Duration;

use fleetlog_runtime::kafka::{self, TopicSpec};
use fleetlog_tests::broker::TestBroker;
use fleetlog_tests::process::{ChildGuard, fleetlog, isolate_ports, wait_for_status};
use fleetlog_tests::{spawn_app, unique_name};
use rdkafka::Message;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Header, Headers, OwnedHeaders};
use rdkafka::producer::FutureRecord;

#[tokio::test]
async fn a_record_produced_with_the_preset_is_read_back_with_the_consumer_preset() {
    let app = spawn_app().await;
    let topic = unique_name("t-foundation");
    let admin = kafka::admin(&app.settings.kafka).unwrap();
    kafka::create_topics(
        &admin,
        &[TopicSpec {
            name: topic.clone(),
            partitions: 1,
        }],
        1,
    )
    .await
    .unwrap();

    let producer = kafka::producer(&app.settings.kafka, "test").unwrap();
    let headers = OwnedHeaders::new().insert(Header {
        key: "ce_id",
        value: Some("abc"),
    });
    let delivery = producer
        .send(
            FutureRecord::to(&topic)
                .key("dev-1")
                .payload(&b"\x00hello"[..])
                .headers(headers),
            Duration::from_secs(10),
        )
        .await
        .map_err(|(e, _)| e)
        .unwrap();
    assert_eq!((delivery.partition, delivery.offset), (0, 0));

    let consumer: StreamConsumer = kafka::consumer_config(&app.settings.kafka, &unique_name("g"))
        .create()
        .unwrap();
    consumer.subscribe(&[&topic]).unwrap();
    let msg = tokio::time::timeout(Duration::from_secs(30), consumer.recv())
        .await
        .expect("a record within 30 s")
        .unwrap();
    assert_eq!(msg.key(), Some(&b"dev-1"[..]));
    assert_eq!(msg.payload(), Some(&b"\x00hello"[..]));
    let header = msg.headers().unwrap().get(0);
    assert_eq!((header.key, header.value), ("ce_id", Some(&b"abc"[..])));
}

#[tokio::test]
async fn migrations_ran_on_a_fresh_database() {
    let app = spawn_app().await;
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        applied as usize,
        fleetlog_runtime::db::MIGRATOR.iter().count()
    );
    let generation: String =
        sqlx::query_scalar("SELECT value FROM fleetlog_meta WHERE key = 'schema_generation'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(generation, "1");
}

#[test]
fn help_lists_every_subcommand_of_the_architecture() {
    let out = fleetlog(&fleetlog_runtime::Settings::default())
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for cmd in [
        "up",
        "gateway",
        "decoder",
        "commands",
        "projector",
        "api",
        "registry",
        "topics",
        "simulate",
        "projections",
        "export",
        "trace",
        "admin",
    ] {
        assert!(
            help.lines()
                .any(|l| l.trim_start().starts_with(&format!("{cmd} "))),
            "{cmd}"
        );
    }
}

#[tokio::test]
async fn topics_create_is_idempotent() {
    let broker = TestBroker::start();
    let mut settings = fleetlog_runtime::Settings::default();
    settings.kafka.brokers = broker.address();
    isolate_ports(&mut settings);
    let first = fleetlog(&settings)
        .args(["topics", "create"])
        .output()
        .unwrap();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let first = String::from_utf8_lossy(&first.stdout).into_owned();
    assert_eq!(
        first
            .lines()
            .filter(|l| l.trim_start().starts_with("created"))
            .count(),
        14
    );
    let second = fleetlog(&settings)
        .args(["topics", "create"])
        .output()
        .unwrap();
    assert!(second.status.success());
    let second = String::from_utf8_lossy(&second.stdout).into_owned();
    assert_eq!(
        second
            .lines()
            .filter(|l| l.trim_start().starts_with("exists"))
            .count(),
        14
    );
}

#[tokio::test]
async fn readiness_follows_the_broker_without_restarting_fleetlog() {
    let app = spawn_app().await;
    let mut broker = TestBroker::start();
    let mut settings = app.settings.clone();
    settings.kafka.brokers = broker.address();
    isolate_ports(&mut settings);
    let admin = kafka::admin(&settings.kafka).unwrap();
    kafka::create_topics(&admin, &fleetlog_schemas::topics::all(2, 1), 1)
        .await
        .unwrap();
    let mut up = ChildGuard::spawn({
        let mut cmd = fleetlog(&settings);
        cmd.arg("up");
        cmd
    });
    let readyz = format!("http://{}/readyz", settings.http.api_addr);
    let healthz = format!("http://{}/healthz", settings.http.api_addr);

    assert_eq!(
        wait_for_status(&readyz, 200, Duration::from_secs(30)).await,
        Some(200)
    );
    broker.kill();
    assert_eq!(
        wait_for_status(&readyz, 503, Duration::from_secs(30)).await,
        Some(503)
    );
    assert_eq!(
        wait_for_status(&healthz, 200, Duration::from_secs(5)).await,
        Some(200)
    );
    broker.restart();
    assert_eq!(
        wait_for_status(&readyz, 200, Duration::from_secs(30)).await,
        Some(200)
    );

    let status = up
        .terminate(Duration::from_secs(15))
        .expect("fleetlog up stops on SIGTERM");
    assert!(status.success(), "clean exit, got {status:?}");
}

#[tokio::test]
async fn with_no_broker_at_start_fleetlog_up_runs_and_readiness_names_the_broker() {
    let app = spawn_app().await;
    let mut settings = app.settings.clone();
    isolate_ports(&mut settings);
    // A port nothing listens on.
    settings.kafka.brokers = format!("127.0.0.1:{}", fleetlog_tests::process::free_port());
    let mut up = ChildGuard::spawn({
        let mut cmd = fleetlog(&settings);
        cmd.arg("up");
        cmd
    });
    let readyz = format!("http://{}/readyz", settings.http.api_addr);
    let healthz = format!("http://{}/healthz", settings.http.api_addr);
    assert_eq!(
        wait_for_status(&healthz, 200, Duration::from_secs(30)).await,
        Some(200),
        "alive without a broker"
    );
    assert_eq!(
        wait_for_status(&readyz, 503, Duration::from_secs(30)).await,
        Some(503)
    );
    let body: serde_json::Value = reqwest::get(&readyz).await.unwrap().json().await.unwrap();
    assert_eq!(body["ready"], false, "{body}");
    assert_eq!(body["database"], "ok", "{body}");
    assert_ne!(
        body["broker"], "ok",
        "the broker is named as what is missing: {body}"
    );
    assert!(
        matches!(up.0.try_wait(), Ok(None)),
        "fleetlog up keeps running while the broker is down"
    );
    let status = up
        .terminate(Duration::from_secs(15))
        .expect("fleetlog up stops on SIGTERM");
    assert!(status.success(), "clean exit, got {status:?}");
}
