//! `fleetlog bench api`: the query API under load from a real HTTP load tool (`wrk`) while
//! a simulated fleet streams frames through the gateway, the broker, the decoder and the
//! projections — beside PostgreSQL's own `pgbench -S` (primary-key selects) on the same
//! machine, in the same run, under the same streaming load.
//!
//! Needs an **empty** broker (`make bench` starts one), `wrk` and `pgbench` on the PATH
//! (`make bench` installs wrk from Debian's packages). Phases:
//!
//! 1. `fleetlog up` (per-caller request limit off); `--scooters` vehicles registered
//!    through the API, then as many Teltonika scooters reporting every `--interval` s; the
//!    bench waits until the fleet read model shows every vehicle with a position;
//! 2. `GET /v1/admin/vehicles/{id}` (operator token) over all vehicles, round robin;
//! 3. `GET /v1/vehicles/nearby` (rider token) at random points within 3 km of the fleet's
//!    centre, 500 m radius, 20 results;
//! 4. `pgbench -S -M prepared` on a database of its own (scale `--pgbench-scale`).
//!
//! Each phase runs `--seconds` with `--connections` connections; the frames the gateway
//! received during each phase are counted from its metrics and printed as a rate.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use fleetlog_api::auth::Role;
use fleetlog_runtime::Settings;
use futures::StreamExt;
use serde_json::json;
use uuid::Uuid;

use super::stack::Stack;

/// Device ids of the streaming fleet start here.
const ID_BASE: u64 = 352_000_000_000_000;
/// Targets of issue 7.
const BY_ID_VS_PGBENCH: f64 = 0.5;
const BY_ID_P99_MS: f64 = 10.0;
const NEARBY_RPS: f64 = 2_000.0;
const NEARBY_P99_MS: f64 = 50.0;

/// Options of `fleetlog bench api`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ApiBenchArgs {
    /// Simulated scooters streaming during the load (each one a registered vehicle).
    #[arg(long, default_value_t = 2_000)]
    scooters: u32,
    /// Seconds between two reports of one scooter (2,000 every 0.2 s offer 10k frames/s).
    #[arg(long, default_value_t = 0.2)]
    interval: f64,
    /// Seconds of each load phase.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Connections of wrk and clients of pgbench.
    #[arg(long, default_value_t = 32)]
    connections: u32,
    /// pgbench scale factor (100,000 accounts each).
    #[arg(long, default_value_t = 10)]
    pgbench_scale: u32,
}

/// What one load phase measured.
struct Load {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    requests: u64,
    errors: u64,
    frames_per_s: f64,
}

/// Run the benchmark and print the figures.
pub(crate) async fn run(settings: Settings, args: ApiBenchArgs) -> anyhow::Result<()> {
    for tool in ["wrk", "pgbench"] {
        which(tool)?;
    }
    let stack = Stack::start(
        &settings,
        "fleetlog_bench_api",
        &[("FLEETLOG_AUTH__REQUESTS_PER_S", "0")],
    )
    .await?;
    let operator = stack.auth.access_token(Uuid::now_v7(), Role::Operator)?;
    let rider = stack.auth.access_token(Uuid::now_v7(), Role::Rider)?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    // Registered before the fleet streams: once it does, the broker is saturated.
    let vehicles = register(&http, &stack.api, &operator, args.scooters).await?;
    let _sim = stack.simulate(&[
        "--interval".into(),
        args.interval.to_string(),
        "--scooters".into(),
        args.scooters.to_string(),
        "--id-base".into(),
        ID_BASE.to_string(),
        "--seed".into(),
        "7".into(),
    ])?;
    wait_projected(&http, &stack.api, &operator, &vehicles).await?;
    println!(
        "fleetlog bench api: {} vehicles, {} simulated scooters offering {:.0} frames/s; {} s per phase, {} connections",
        vehicles.len(),
        args.scooters,
        f64::from(args.scooters) / args.interval,
        args.seconds,
        args.connections
    );
    let dir = tempdir()?;
    let by_id_script = dir.join("by_id.lua");
    std::fs::write(&by_id_script, by_id_lua(&vehicles))?;
    let nearby_script = dir.join("nearby.lua");
    std::fs::write(&nearby_script, NEARBY_LUA)?;

    let by_id = phase(&http, &stack.api, || {
        wrk(&stack.api, &operator, &by_id_script, &args)
    })
    .await?;
    let nearby = phase(&http, &stack.api, || {
        wrk(&stack.api, &rider, &nearby_script, &args)
    })
    .await?;
    let pg = phase(&http, &stack.api, || pgbench(&settings, &args, &dir)).await?;
    let _ = std::fs::remove_dir_all(&dir);

    print_row("GET /v1/admin/vehicles/{id} (wrk)", &by_id);
    print_row("GET /v1/vehicles/nearby (wrk)", &nearby);
    print_row("baseline: pgbench -S -M prepared", &pg);
    let ratio = by_id.rps / pg.rps;
    println!(
        "  by id vs pgbench -S: {ratio:.2}× (target ≥ {BY_ID_VS_PGBENCH} {}), by id p99 {:.1} ms (target ≤ {BY_ID_P99_MS} {})",
        mark(ratio >= BY_ID_VS_PGBENCH),
        by_id.p99_ms,
        mark(by_id.p99_ms <= BY_ID_P99_MS)
    );
    println!(
        "  nearby: {:.0} req/s (target ≥ {NEARBY_RPS} {}), p99 {:.1} ms (target ≤ {NEARBY_P99_MS} {})",
        nearby.rps,
        mark(nearby.rps >= NEARBY_RPS),
        nearby.p99_ms,
        mark(nearby.p99_ms <= NEARBY_P99_MS)
    );
    Ok(())
}

fn mark(ok: bool) -> &'static str {
    if ok { "met" } else { "NOT met" }
}

fn print_row(label: &str, load: &Load) {
    println!(
        "  {label:<36} {:>9.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  n={:<8} errors {:<4} ingest during: {:.0} frames/s",
        load.rps, load.p50_ms, load.p99_ms, load.requests, load.errors, load.frames_per_s
    );
}

fn which(tool: &str) -> anyhow::Result<()> {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !found {
        bail!("{tool} is not installed: `make bench` installs it (apt-get install {tool})");
    }
    Ok(())
}

fn tempdir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("fleetlog-bench-api-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Run `measure` on a blocking thread and add the gateway's frame rate meanwhile.
async fn phase<F>(http: &reqwest::Client, api: &str, measure: F) -> anyhow::Result<Load>
where
    F: FnOnce() -> anyhow::Result<Load> + Send,
{
    let before = frames_received(http, api).await?;
    let t0 = Instant::now();
    let mut load = tokio::task::block_in_place(measure)?;
    let after = frames_received(http, api).await?;
    load.frames_per_s = (after - before) / t0.elapsed().as_secs_f64();
    Ok(load)
}

/// Register one vehicle per simulated scooter; their ids.
async fn register(
    http: &reqwest::Client,
    api: &str,
    token: &str,
    scooters: u32,
) -> anyhow::Result<Vec<String>> {
    let requests = (0..u64::from(scooters)).map(|i| {
        let body = json!({
            "device_id": (ID_BASE + i).to_string(), "protocol": "TELTONIKA",
            "model": "bench", "qr_code": format!("BENCH-API-{i}"),
        });
        async move {
            let resp = http
                .post(format!("{api}/v1/admin/vehicles"))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await?;
            let status = resp.status();
            let value: serde_json::Value = resp.json().await?;
            match value["vehicle_id"].as_str() {
                Some(id) if status.is_success() => Ok(id.to_owned()),
                _ => bail!("registering a vehicle: {status} {value}"),
            }
        }
    });
    futures::stream::iter(requests)
        .buffer_unordered(16)
        .collect::<Vec<anyhow::Result<String>>>()
        .await
        .into_iter()
        .collect()
}

/// Wait until every vehicle is in the fleet read model with a position.
async fn wait_projected(
    http: &reqwest::Client,
    api: &str,
    token: &str,
    vehicles: &[String],
) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(180);
    for id in vehicles.iter().rev() {
        loop {
            let resp = http
                .get(format!("{api}/v1/admin/vehicles/{id}"))
                .bearer_auth(token)
                .send()
                .await?;
            if resp.status().is_success() {
                let v: serde_json::Value = resp.json().await?;
                if !v["position"].is_null() {
                    break;
                }
            }
            if Instant::now() > deadline {
                bail!("vehicle {id} not in the fleet read model after 180 s");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    Ok(())
}

/// `fleetlog_gateway_frames_total` summed over its labels, from `/metrics`.
async fn frames_received(http: &reqwest::Client, api: &str) -> anyhow::Result<f64> {
    let text = http
        .get(format!("{api}/metrics"))
        .send()
        .await?
        .text()
        .await?;
    Ok(text
        .lines()
        .filter(|l| l.starts_with("fleetlog_gateway_frames_total"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum())
}

fn by_id_lua(vehicles: &[String]) -> String {
    let ids: Vec<String> = vehicles.iter().map(|v| format!("\"{v}\"")).collect();
    format!(
        "local ids = {{{}}}\nlocal i = 0\nrequest = function()\n  i = i + 1\n  return wrk.format(\"GET\", \"/v1/admin/vehicles/\" .. ids[(i % #ids) + 1])\nend\n",
        ids.join(",")
    )
}

const NEARBY_LUA: &str = r#"math.randomseed(7)
request = function()
  local r = 3000 * math.sqrt(math.random())
  local a = 2 * math.pi * math.random()
  local lat = 37.5665 + r * math.cos(a) / 111320
  local lon = 126.9780 + r * math.sin(a) / (111320 * math.cos(math.rad(37.5665)))
  return wrk.format("GET", string.format("/v1/vehicles/nearby?lat=%.6f&lon=%.6f&radius_m=500&limit=20", lat, lon))
end
"#;

fn wrk(api: &str, token: &str, script: &Path, args: &ApiBenchArgs) -> anyhow::Result<Load> {
    let out = Command::new("wrk")
        .args(["-t", "2", "-c", &args.connections.to_string()])
        .args(["-d", &format!("{}s", args.seconds), "--latency"])
        .args(["-H", &format!("Authorization: Bearer {token}")])
        .arg("-s")
        .arg(script)
        .arg(api)
        .output()
        .context("running wrk")?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!("wrk failed: {text}{}", String::from_utf8_lossy(&out.stderr));
    }
    parse_wrk(&text).with_context(|| format!("reading wrk's report:\n{text}"))
}

/// Requests/s, p50, p99, request and error counts from wrk's `--latency` report.
fn parse_wrk(text: &str) -> anyhow::Result<Load> {
    let field = |prefix: &str| {
        text.lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix(prefix).map(str::trim))
    };
    let rps: f64 = field("Requests/sec:").context("no Requests/sec")?.parse()?;
    let p50 = duration_ms(field("50%").context("no 50%")?)?;
    let p99 = duration_ms(field("99%").context("no 99%")?)?;
    let requests = text
        .lines()
        .find(|l| l.contains("requests in"))
        .and_then(|l| l.split_whitespace().next())
        .context("no request count")?
        .parse()?;
    let errors = field("Non-2xx or 3xx responses:")
        .map_or(Ok(0), str::parse::<u64>)
        .context("error count")?;
    Ok(Load {
        rps,
        p50_ms: p50,
        p99_ms: p99,
        requests,
        errors,
        frames_per_s: 0.0,
    })
}

/// wrk's `1.23ms`, `456.00us`, `1.20s` in milliseconds.
fn duration_ms(text: &str) -> anyhow::Result<f64> {
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .context("no unit")?;
    let (number, unit) = text.split_at(split);
    let value: f64 = number.parse()?;
    Ok(match unit {
        "us" => value / 1000.0,
        "ms" => value,
        "s" => value * 1000.0,
        "m" => value * 60_000.0,
        other => bail!("unknown unit {other}"),
    })
}

fn pgbench(settings: &Settings, args: &ApiBenchArgs, dir: &Path) -> anyhow::Result<Load> {
    let url = reqwest::Url::parse(&settings.database_url)?;
    let host = url.host_str().unwrap_or("127.0.0.1").to_owned();
    let port = url.port().unwrap_or(5432).to_string();
    let user = if url.username().is_empty() {
        "postgres"
    } else {
        url.username()
    };
    let db = "fleetlog_bench_pgbench";
    let pg = |program: &str| {
        let mut cmd = Command::new(program);
        cmd.env("PGHOST", &host)
            .env("PGPORT", &port)
            .env("PGUSER", user);
        if let Some(pw) = url.password() {
            cmd.env("PGPASSWORD", pw);
        }
        cmd
    };
    let _ = pg("dropdb").args(["--if-exists", db]).output();
    run_ok(pg("createdb").arg(db), "createdb")?;
    run_ok(
        pg("pgbench")
            .args(["-i", "-q", "-s", &args.pgbench_scale.to_string()])
            .arg(db),
        "pgbench -i",
    )?;
    let prefix = dir.join("pgbench");
    let out = pg("pgbench")
        .args(["-S", "-M", "prepared", "-n", "-j", "2"])
        .args(["-c", &args.connections.to_string()])
        .args(["-T", &args.seconds.to_string(), "-l"])
        .arg(format!("--log-prefix={}", prefix.display()))
        .arg(db)
        .output()
        .context("running pgbench")?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        bail!(
            "pgbench failed: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let _ = pg("dropdb").args(["--if-exists", db]).output();
    let rps: f64 = text
        .lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| l.split_whitespace().nth(2))
        .context("no tps in pgbench's report")?
        .parse()?;
    let mut latencies = pgbench_latencies(dir)?;
    let requests = latencies.len() as u64;
    Ok(Load {
        rps,
        p50_ms: super::stack::quantile_ms(&mut latencies, 0.5),
        p99_ms: super::stack::quantile_ms(&mut latencies, 0.99),
        requests,
        errors: 0,
        frames_per_s: 0.0,
    })
}

fn run_ok(cmd: &mut Command, what: &str) -> anyhow::Result<()> {
    let out = cmd.output().with_context(|| format!("running {what}"))?;
    if !out.status.success() {
        bail!("{what} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}

/// Every transaction's latency from pgbench's `-l` logs (third field, microseconds).
fn pgbench_latencies(dir: &Path) -> anyhow::Result<Vec<Duration>> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let is_log = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("pgbench."));
        if !is_log {
            continue;
        }
        for line in std::fs::read_to_string(&path)?.lines() {
            if let Some(us) = line.split_whitespace().nth(2).and_then(|v| v.parse().ok()) {
                all.push(Duration::from_micros(us));
            }
        }
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrk_reports_are_read_with_their_units() {
        let report = "Running 10s test @ http://127.0.0.1:1/\n  2 threads and 32 connections\n  Latency Distribution\n     50%  812.00us\n     75%    1.10ms\n     90%    2.00ms\n     99%    1.20s\n  123456 requests in 10.00s, 12.34MB read\n  Non-2xx or 3xx responses: 7\nRequests/sec:  12345.67\nTransfer/sec:      1.23MB\n";
        let load = parse_wrk(report).unwrap();
        assert!((load.rps - 12_345.67).abs() < 1e-6);
        assert!((load.p50_ms - 0.812).abs() < 1e-9);
        assert!((load.p99_ms - 1200.0).abs() < 1e-9);
        assert_eq!((load.requests, load.errors), (123_456, 7));
        assert!(parse_wrk("nothing here").is_err());
    }

    #[test]
    fn the_by_id_script_names_every_vehicle() {
        let script = by_id_lua(&["a".into(), "b".into()]);
        assert!(script.contains("{\"a\",\"b\"}"));
    }
}
