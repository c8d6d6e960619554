//! The operator console in a real browser: `fleetlog up` with simulated scooters, an
//! operator account with TOTP made by `fleetlog admin create`, then
//! `tests/browser/console.spec.mjs` in Debian's headless Chromium (through playwright-core):
//! it logs in at `/console/`, sees the fleet on the Leaflet map (a zone drawn, markers
//! clustered when zoomed out), opens a vehicle, sends "locate",
//! sees the outcome arrive live, opens the command's trace (command → downlink → device
//! reply) and saves screenshots under `target/`; any request to another origin fails it.
//!
//! `make test` installs Chromium and the script's `node_modules`; without them this test
//! fails and says so (it never skips).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fleetlog_api::auth::Role;
use fleetlog_tests::process::fleetlog;
use fleetlog_tests::test_stack::TestStack;
use serde_json::Value;
use uuid::Uuid;

const SCOOTERS: u32 = 4;
const PASSWORD: &str = "console operator passphrase";
/// The whole browser run (login, map, locate, trace) must finish within this.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(240);

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Chromium and the script's packages, or a failure that says how to get them.
fn browser_tools() -> PathBuf {
    let chromium = std::env::var("CHROMIUM")
        .map_or_else(|_| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    assert!(
        chromium.exists(),
        "{} is missing: `make test` installs it (apt-get install chromium), or run \
         `source scripts/lib.sh && ensure_browser_tools`",
        chromium.display()
    );
    let modules = repo_root().join("tests/browser/node_modules/playwright-core");
    assert!(
        modules.exists(),
        "{} is missing: `make test` installs it (npm ci in tests/browser)",
        modules.display()
    );
    let node = Command::new("node").arg("--version").output();
    assert!(
        node.is_ok_and(|o| o.status.success()),
        "node is missing: install Node.js 20 or later"
    );
    chromium
}

/// An operator with TOTP, created like an operator would: its email and TOTP secret.
fn create_operator(stack: &TestStack) -> (String, String) {
    let email = format!("ops-{}@example.com", Uuid::new_v4().simple());
    let mut child = fleetlog(&stack.app.settings)
        .args(["admin", "create", "--email", &email, "--role", "operator"])
        .args(["--require-totp", "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "admin create: {stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let uri = stdout
        .lines()
        .find(|l| l.starts_with("otpauth://"))
        .unwrap_or_else(|| panic!("no provisioning URI in {stdout}"));
    let secret = uri
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("secret="))
        .unwrap()
        .to_owned();
    (email, secret)
}

#[tokio::test]
async fn an_operator_logs_in_sees_the_fleet_locates_a_scooter_and_traces_the_command() {
    let chromium = browser_tools();
    let stack = TestStack::builder().product(SCOOTERS).start().await;
    let (_, staff) = stack.token(Role::Operator);
    for i in 0..u64::from(SCOOTERS) {
        stack.register(&staff, i).await;
    }
    stack.wait_reporting(&staff, SCOOTERS as usize).await;
    let (email, secret) = create_operator(&stack);
    // A no-parking zone around the fleet's centre, to be drawn on the map.
    let zone = serde_json::json!({
        "kind": "NO_PARKING",
        "name": "Seoul Plaza",
        "geometry": {"type": "Polygon", "coordinates": [[
            [126.97, 37.56], [126.99, 37.56], [126.99, 37.575], [126.97, 37.575], [126.97, 37.56]
        ]]},
    });
    let (_, defined) = stack.run(&staff, "/v1/admin/zones", Some(zone)).await;
    assert_eq!(defined["status"], "accepted", "{defined}");

    // The console is served with a policy that allows this origin only.
    let resp = stack
        .http()
        .get(format!("{}/console/", stack.api()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let csp = resp.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'self'") && csp.contains("connect-src 'self'"));
    let (_, projections) = stack.get(&staff, "/v1/admin/projections").await;
    assert!(
        projections["items"]
            .as_array()
            .is_some_and(|items| items.iter().any(|p| p["projection"] == "fleet")),
        "{projections}"
    );
    let (status, alarms): (u16, Value) = stack.get(&staff, "/v1/admin/alarms").await;
    assert_eq!(status, 200, "{alarms}");

    let root = repo_root();
    let logs = root.join("target").join("console-spec");
    std::fs::create_dir_all(&logs).unwrap();
    let (out_path, err_path) = (logs.join("stdout.log"), logs.join("stderr.log"));
    let started = Instant::now();
    let mut node = Command::new("node")
        .arg(root.join("tests/browser/console.spec.mjs"))
        .current_dir(&root)
        .env("CONSOLE_URL", stack.api())
        .env("CONSOLE_EMAIL", &email)
        .env("CONSOLE_PASSWORD", PASSWORD)
        .env("CONSOLE_TOTP_SECRET", &secret)
        .env("CONSOLE_VEHICLES", SCOOTERS.to_string())
        .env("CONSOLE_ZONES", "1")
        .env("CHROMIUM", &chromium)
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    let status = loop {
        if let Some(status) = node.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > BROWSER_TIMEOUT {
            let _ = node.kill();
            let _ = node.wait();
            break None;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
    let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
    eprintln!("{stdout}{stderr}browser run took {:?}", started.elapsed());
    assert!(
        status.is_some_and(|s| s.success()),
        "console.spec.mjs failed ({status:?}; see target/console-failure.png):\n{stdout}\n{stderr}"
    );
    for shot in ["console-screenshot", "console-map", "console-map-clustered"] {
        assert!(
            root.join(format!("target/{shot}.png")).exists(),
            "{shot}.png"
        );
    }
}
