//! `fleetlog projections rebuild|verify|reset` (the built binary) on the fleet projection,
//! on the real broker and PostgreSQL, under the steady load of the kill test
//! (`fleet_projection_kill/load.rs`), while a fleet projector following the live build
//! runs in this process:
//!
//! - `--dry-run` prints the plan and changes nothing;
//! - the rebuild is SIGKILLed at random moments (some during its start-up) and started
//!   again: it always finds its build (v2) again — never a v3 — and the live build (v1)
//!   keeps moving and answering meanwhile;
//! - the first run bulk-loads v2 (binary `COPY`) up to the log's end at its start, the
//!   kills land in the bulk load or the incremental tail after it;
//! - the last run switches v2 live and retires v1; the follower restarts on v2 and
//!   consumes the tail; `verify` then finds the rebuilt read model equal to a fresh
//!   rebuild (exit 0), and a changed row different (exit 1);
//! - `reset --yes` drops every build and rebuilds from offset 0, and `verify` agrees;
//! - the operator API (`GET /v1/admin/vehicles`, served in this process) answers 200 all
//!   through the kills, the bulk load and the switch, and never shows fewer vehicles.

use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::fleet_projection_kill::load::{DEVICES, steady_load};
use fleetlog_processor::{ProjectionRuntime, RuntimeConfig};
use fleetlog_projections::fleet::FleetProjection;
use fleetlog_runtime::Settings;
use fleetlog_tests::process::{ChildGuard, fleetlog};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const KILLS: usize = 5;

/// Records committed by build `version` of the fleet projection.
async fn stored_total(pool: &PgPool, version: i32) -> i64 {
    sqlx::query_scalar::<_, Option<i64>>(
        "SELECT sum(next_offset)::bigint FROM projection_offsets \
         WHERE projection = 'fleet' AND version = $1",
    )
    .bind(version)
    .fetch_one(pool)
    .await
    .unwrap()
    .unwrap_or(0)
}

/// `(version, state)` of every build of the fleet projection.
async fn builds(pool: &PgPool) -> Vec<(i32, String)> {
    sqlx::query_as(
        "SELECT version, state FROM projection_versions WHERE projection = 'fleet' ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

/// Devices with a record, read through the live schema as the API does.
async fn live_devices(pool: &PgPool) -> (String, i64) {
    let schema = fleetlog_processor::live_schema(pool, "fleet")
        .await
        .unwrap()
        .unwrap();
    let count = sqlx::query_scalar(&format!(
        "SELECT count(*) FROM {schema}.devices WHERE device_time_ms IS NOT NULL"
    ))
    .fetch_one(pool)
    .await
    .unwrap();
    (schema, count)
}

fn projections(settings: &Settings, args: &[&str]) -> Command {
    let mut cmd = fleetlog(settings);
    cmd.arg("projections").args(args);
    cmd
}

/// Run `fleetlog projections <args>` to its end, off the runtime's threads (the schema
/// registry and the follower run in this process).
async fn run(settings: &Settings, args: &[&str]) -> Output {
    let mut cmd = projections(settings, args);
    let output = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    eprintln!(
        "fleetlog projections {args:?}: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout)
    );
    output
}

/// Cancels its token when dropped (stops the in-process follower on a failed test).
struct CancelOnDrop(CancellationToken);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// What the operator API answered while it was polled.
struct Polled {
    requests: usize,
    failures: Vec<String>,
}

/// `GET /v1/admin/vehicles?limit=500` every 50 ms while `on`: every answer must be a 200
/// whose vehicles never fall below the most seen (vehicles are only ever registered).
async fn poll_operator_api(base: String, token: String, on: Arc<AtomicBool>) -> Polled {
    let http = reqwest::Client::new();
    let mut polled = Polled {
        requests: 0,
        failures: Vec::new(),
    };
    let mut most = 0;
    while on.load(Ordering::SeqCst) {
        polled.requests += 1;
        match http
            .get(format!("{base}/v1/admin/vehicles?limit=500"))
            .bearer_auth(&token)
            .send()
            .await
        {
            Ok(resp) if resp.status() == 200 => {
                let page: serde_json::Value = resp.json().await.unwrap_or_default();
                let n = page["items"].as_array().map_or(0, Vec::len);
                if n < most {
                    polled.failures.push(format!("{n} vehicles after {most}"));
                }
                most = most.max(n);
            }
            Ok(resp) => polled.failures.push(format!(
                "{}: {}",
                resp.status(),
                resp.text().await.unwrap_or_default()
            )),
            Err(err) => polled.failures.push(err.to_string()),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    polled
}

/// Wait until `cond` holds, checking every 100 ms for at most `secs`.
async fn wait_for<F, Fut>(what: &str, secs: u64, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rebuild_killed_at_random_moments_resumes_its_build_switches_live_and_verifies() {
    let mut timings = fleetlog_tests::kill_timings::KillTimings::for_test(
        "a_rebuild_killed_at_random_moments_resumes_its_build_switches_live_and_verifies",
    );
    let (_broker, mut app) = fleetlog_tests::broker::isolated_app().await;
    let (registry, _registry_stop) = fleetlog_tests::stack::registry(&app).await;
    fleetlog_schemas::registration::register_all(&registry)
        .await
        .unwrap();
    app.settings.schema_registry_url = registry;
    let (settings, pool) = (app.settings.clone(), app.pool.clone());

    // The long-running projector, following the live build.
    let follower_stop = CancellationToken::new();
    let _follower_guard = CancelOnDrop(follower_stop.clone());
    let follower = tokio::spawn(
        ProjectionRuntime::new(
            FleetProjection::new(&settings.schema_registry_url),
            RuntimeConfig::from_settings(&settings),
            pool.clone(),
        )
        .run(follower_stop.clone()),
    );
    let stop_load = Arc::new(AtomicBool::new(false));
    let load = steady_load(&settings, stop_load.clone());
    wait_for("the live build to start", 60, || async {
        stored_total(&pool, 1).await > 0
    })
    .await;

    // The operator API over the same database, polled all through the rebuild and switch.
    let auth = fleetlog_api::auth::AuthSettings {
        jwt_secret: Some("rebuild-test-secret-rebuild-test-secret".into()),
        ..fleetlog_api::auth::AuthSettings::default()
    };
    let state = fleetlog_tests::api::state(&app, auth);
    let operator = state
        .auth
        .access_token(Uuid::now_v7(), fleetlog_api::auth::Role::Operator)
        .unwrap();
    let (base, _api_stop) = fleetlog_tests::api::serve(fleetlog_api::router(state)).await;
    let polling = Arc::new(AtomicBool::new(true));
    let poller = tokio::spawn(poll_operator_api(base, operator, polling.clone()));

    let dry = run(&settings, &["rebuild", "fleet", "--dry-run"]).await;
    let plan = String::from_utf8_lossy(&dry.stdout);
    assert!(dry.status.success());
    for part in [
        "rebuild plan for fleet",
        "proj_fleet_v2",
        "scooter.telemetry.v1",
        "dry run",
    ] {
        assert!(plan.contains(part), "{part} in the plan");
    }
    assert_eq!(
        builds(&pool).await,
        vec![(1, "live".into())],
        "a dry run changes nothing"
    );

    // Kill the rebuild again and again; records keep arriving. A run may catch up and
    // switch before its kill lands: that is a legitimate end of the rebuild (the test used
    // to fail then), after which nothing is left to resume.
    let live_start = stored_total(&pool, 1).await;
    let mut live_progress = Vec::new();
    let mut switched = false;
    for kill in 0..KILLS {
        let mut child = ChildGuard::spawn({
            let mut cmd = projections(&settings, &["rebuild", "fleet", "--no-progress"]);
            cmd.env("FLEETLOG_PROJECTIONS__BATCH_MAX_RECORDS", "100");
            cmd
        });
        if kill % 3 == 2 {
            tokio::time::sleep(Duration::from_millis(timings.ms(0, 700))).await;
        } else {
            let before = stored_total(&pool, 2).await;
            wait_for("the rebuild to progress", 60, || async {
                stored_total(&pool, 2).await > before
            })
            .await;
            tokio::time::sleep(Duration::from_millis(timings.ms(0, 400))).await;
        }
        let _ = child.0.kill(); // SIGKILL
        let _ = child.0.wait();
        let all = builds(&pool).await;
        if all == vec![(1, "retired".into()), (2, "live".into())] {
            let (schema, devices) = live_devices(&pool).await;
            assert_eq!(
                schema, "proj_fleet_v2",
                "kill {kill}: the switched build serves"
            );
            assert!(devices > 0, "the read model answers");
            live_progress.push((stored_total(&pool, 1).await, stored_total(&pool, 2).await));
            switched = true;
            break;
        }
        let (schema, devices) = live_devices(&pool).await;
        assert_eq!(schema, "proj_fleet_v1", "v1 serves during the rebuild");
        assert!(devices > 0, "the read model answers");
        assert!(
            all == vec![(1, "live".into())]
                || all == vec![(1, "live".into()), (2, "rebuilding".into())],
            "kill {kill}: one build in progress, found again: {all:?}"
        );
        live_progress.push((stored_total(&pool, 1).await, stored_total(&pool, 2).await));
    }
    eprintln!(
        "(live v1, build v2) records after each kill: {live_progress:?} (switched before a kill: {switched})"
    );
    assert!(
        live_progress.iter().any(|p| p.0 > live_start),
        "the live build kept moving during the rebuild (from {live_start})"
    );
    let last = live_progress.last().unwrap().1;
    assert!(last > 0, "the killed rebuilds made progress");

    if !switched {
        // The last run finishes and switches while records still arrive.
        let done = run(
            &settings,
            &["rebuild", "fleet", "--no-progress", "--keep-secs", "600"],
        )
        .await;
        let out = String::from_utf8_lossy(&done.stdout);
        assert!(
            done.status.success(),
            "{}",
            String::from_utf8_lossy(&done.stderr)
        );
        assert!(out.contains("resumed"), "the build was found again: {out}");
        assert!(
            out.contains("switched: proj_fleet_v2 is live; proj_fleet_v1 retired"),
            "{out}"
        );
    }
    // More records after the switch: only the follower, now on v2, can apply them.
    tokio::time::sleep(Duration::from_secs(1)).await;
    polling.store(false, Ordering::SeqCst);
    let polled = poller.await.unwrap();
    eprintln!(
        "operator API: {} requests during the rebuild",
        polled.requests
    );
    assert!(polled.requests > 20, "the API was polled");
    assert!(
        polled.failures.is_empty(),
        "the operator API kept answering, without a gap: {:?}",
        polled.failures
    );
    stop_load.store(true, Ordering::SeqCst);
    let (load, steps) = load.await.unwrap();
    eprintln!("{steps} steps produced {:?}", load.produced);
    assert_eq!(
        builds(&pool).await,
        vec![(1, "retired".into()), (2, "live".into())]
    );
    let drop_after: Option<bool> = sqlx::query_scalar(
        "SELECT drop_after > now() + interval '500 seconds' FROM projection_versions \
         WHERE projection = 'fleet' AND version = 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(drop_after, Some(true), "v1 is kept for --keep-secs");
    let bulk_done: bool = sqlx::query_scalar(
        "SELECT bulk_end IS NOT NULL AND bulk_done_at IS NOT NULL FROM projection_versions \
         WHERE projection = 'fleet' AND version = 2",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(
        bulk_done,
        "v2 was bulk-loaded (COPY), then went on incrementally"
    );

    // The follower moved to v2 and consumes the tail to the end of the log.
    let produced = i64::try_from(load.produced.values().sum::<usize>()).unwrap();
    wait_for("the follower to finish the tail on v2", 90, || async {
        stored_total(&pool, 2).await == produced
    })
    .await;
    let frozen = stored_total(&pool, 1).await;
    assert!(
        frozen < produced,
        "v1 stopped at the switch: {frozen} of {produced}"
    );
    let (schema, devices) = live_devices(&pool).await;
    assert_eq!(
        (schema.as_str(), devices),
        ("proj_fleet_v2", i64::try_from(DEVICES).unwrap())
    );
    let history: i64 = sqlx::query_scalar("SELECT count(*) FROM proj_fleet_v2.telemetry_history")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(history, i64::try_from(load.identities.len()).unwrap());

    // verify: a scratch rebuild equals the live read model; a changed row is found.
    let verified = run(&settings, &["verify", "fleet", "--no-progress"]).await;
    let out = String::from_utf8_lossy(&verified.stdout);
    assert_eq!(verified.status.code(), Some(0), "{out}");
    assert!(out.contains("equals the live one"), "{out}");
    assert!(
        out.contains("devices.updated_at"),
        "impure columns are named: {out}"
    );
    assert_eq!(
        builds(&pool).await.len(),
        2,
        "the scratch build was dropped"
    );
    sqlx::query(
        "UPDATE proj_fleet_v2.devices SET speed_kmh = speed_kmh + 1 \
         WHERE device_id = (SELECT min(device_id) FROM proj_fleet_v2.devices)",
    )
    .execute(&pool)
    .await
    .unwrap();
    let differs = run(&settings, &["verify", "fleet", "--no-progress"]).await;
    let out = String::from_utf8_lossy(&differs.stdout);
    assert_eq!(differs.status.code(), Some(1), "{out}");
    assert!(
        out.contains("DIFFERENT") && out.contains("devices only live"),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("telemetry_history") && l.ends_with(" same")),
        "only the changed table differs: {out}"
    );

    // reset (projectors stopped first, as documented) rebuilds from offset 0.
    follower_stop.cancel();
    follower.await.unwrap().unwrap();
    let reset = run(&settings, &["reset", "fleet", "--yes", "--no-progress"]).await;
    assert!(
        reset.status.success(),
        "{}",
        String::from_utf8_lossy(&reset.stderr)
    );
    assert_eq!(builds(&pool).await, vec![(1, "live".into())]);
    assert_eq!(stored_total(&pool, 1).await, produced);
    let verified = run(&settings, &["verify", "fleet", "--no-progress"]).await;
    assert_eq!(verified.status.code(), Some(0));
}
