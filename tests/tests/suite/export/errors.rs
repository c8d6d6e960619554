//! The binary's clear errors: an unknown topic, a bound that is not RFC 3339 and an
//! unreadable registry, with their exit codes.

use fleetlog_runtime::Settings;
use fleetlog_schemas::topics;
use fleetlog_tests::process::fleetlog;
use fleetlog_tests::{spawn_app, stack, unique_name};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_names_an_unknown_topic_an_unreadable_registry_and_a_bad_bound() {
    let app = spawn_app().await;
    let (registry, token) = stack::registry(&app).await;
    let mut settings = app.settings.clone();
    settings.schema_registry_url = registry;
    let out = std::env::temp_dir().join(unique_name("fleetlog-export-errors"));
    let run = |settings: &Settings, args: &[&str]| {
        let output = fleetlog(settings)
            .arg("export")
            .args(args)
            .arg("--out")
            .arg(&out)
            .output()
            .expect("runs");
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (code, stderr) = run(&settings, &["--topics", "no-such-topic-anywhere"]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("unknown topic \"no-such-topic-anywhere\""),
        "{stderr}"
    );
    let (code, stderr) = run(
        &settings,
        &[
            "--topics",
            topics::TELEMETRY.name(),
            "--from",
            "last tuesday",
        ],
    );
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("--from") && stderr.contains("RFC 3339"),
        "{stderr}"
    );
    let mut down = settings.clone();
    down.schema_registry_url = format!("http://127.0.0.1:{}", fleetlog_tests::process::free_port());
    let (code, stderr) = run(&down, &["--topics", topics::TELEMETRY.name()]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("cannot read the schema registry"),
        "{stderr}"
    );
    token.cancel();
    let _ = std::fs::remove_dir_all(&out);
}
