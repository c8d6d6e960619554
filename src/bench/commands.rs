//! `fleetlog bench commands`: the write side under a simulated fleet — how long from a
//! rider's `POST` until the command is `accepted`, until the scooter confirmed the unlock
//! (`ride started`) and, for ending, the lock (`ride ended`). Beside it, in the same run,
//! the `POST` → `202` time alone (the append to the log, acknowledged by the broker).
//!
//! Needs an **empty** broker (`make bench` starts one): it runs `fleetlog up` and
//! `fleetlog simulate` as child processes of this binary on free ports, over a fresh
//! database, registers the simulated scooters through the API, then lets `--riders` riders
//! ride them concurrently, each ride a reserve → start → ride a second → end. Outcomes are
//! polled every 10 ms (figures include up to 10 ms of polling delay).

use std::time::{Duration, Instant};

use anyhow::bail;
use fleetlog_api::auth::Role;
use fleetlog_runtime::Settings;
use serde_json::{Value, json};
use uuid::Uuid;

use super::stack::{Stack, quantile_ms};

/// Options of `fleetlog bench commands`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct CommandsBenchArgs {
    /// Simulated scooters (also the riders riding at once).
    #[arg(long, default_value_t = 10)]
    scooters: u32,
    /// Rides per scooter.
    #[arg(long, default_value_t = 5)]
    rides: u32,
}

const ID_BASE: u64 = 351_000_000_000_000;

struct Client {
    http: reqwest::Client,
    api: String,
}

impl Client {
    async fn post(&self, token: &str, path: &str) -> anyhow::Result<(u16, Value)> {
        let resp = self
            .http
            .post(format!("{}{path}", self.api))
            .bearer_auth(token)
            .send()
            .await?;
        let status = resp.status().as_u16();
        Ok((status, resp.json().await.unwrap_or(Value::Null)))
    }

    async fn post_json(&self, token: &str, path: &str, body: &Value) -> anyhow::Result<Value> {
        let resp = self
            .http
            .post(format!("{}{path}", self.api))
            .bearer_auth(token)
            .json(body)
            .send()
            .await?;
        Ok(resp.json().await?)
    }

    async fn status(&self, token: &str, id: &str) -> anyhow::Result<Value> {
        let resp = self
            .http
            .get(format!("{}/v1/commands/{id}", self.api))
            .bearer_auth(token)
            .send()
            .await?;
        Ok(resp.json().await?)
    }

    /// Submit; the times to `202`, to a decision and to done.
    async fn timed(&self, token: &str, path: &str) -> anyhow::Result<Timed> {
        let t0 = Instant::now();
        let (code, body) = self.post(token, path).await?;
        if code != 202 {
            bail!("{path}: {code} {body}");
        }
        let appended = t0.elapsed();
        let id = body["command_id"].as_str().unwrap_or_default().to_owned();
        let mut decided = None;
        let deadline = t0 + Duration::from_secs(60);
        loop {
            let view = self.status(token, &id).await?;
            if decided.is_none() && view["status"] != "pending" {
                decided = Some(t0.elapsed());
            }
            if view["done"] == true {
                return Ok(Timed {
                    appended,
                    decided: decided.unwrap_or_else(|| t0.elapsed()),
                    done: t0.elapsed(),
                    status: view["status"].as_str().unwrap_or_default().to_owned(),
                    code: view["reason"]["code"].as_str().map(str::to_owned),
                });
            }
            if Instant::now() > deadline {
                bail!("{path}: command {id} not done after 60 s: {view}");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

struct Timed {
    appended: Duration,
    decided: Duration,
    done: Duration,
    status: String,
    code: Option<String>,
}

#[derive(Default)]
struct Samples {
    appended: Vec<Duration>,
    accepted: Vec<Duration>,
    started: Vec<Duration>,
    ended: Vec<Duration>,
    failures: Vec<String>,
}

/// Run the benchmark and print the figures.
pub(crate) async fn run(settings: Settings, args: CommandsBenchArgs) -> anyhow::Result<()> {
    let stack = Stack::start(&settings, "fleetlog_bench_commands", &[]).await?;
    let client = Client {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()?,
        api: stack.api.clone(),
    };
    let _sim = stack.simulate(&[
        "--interval".into(),
        "1".into(),
        "--scooters".into(),
        args.scooters.to_string(),
        "--id-base".into(),
        ID_BASE.to_string(),
    ])?;
    let auth = &stack.auth;
    let operator = auth.access_token(Uuid::now_v7(), Role::Operator)?;
    let mut vehicles = Vec::new();
    for i in 0..u64::from(args.scooters) {
        let body = json!({
            "device_id": (ID_BASE + i).to_string(), "protocol": "TELTONIKA",
            "model": "bench", "qr_code": format!("BENCH-{i}"),
        });
        let accepted = client
            .post_json(&operator, "/v1/admin/vehicles", &body)
            .await?;
        let id = accepted["vehicle_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        vehicles.push(id);
    }
    println!(
        "fleetlog bench commands: {} simulated Teltonika scooters reporting every second, {} rides each, one rider per scooter riding at once",
        args.scooters, args.rides
    );
    let started = Instant::now();
    let mut riders = Vec::new();
    for vehicle in vehicles {
        let token = auth.access_token(Uuid::now_v7(), Role::Rider)?;
        let client = Client {
            http: client.http.clone(),
            api: client.api.clone(),
        };
        let rides = args.rides;
        riders.push(tokio::spawn(async move {
            ride_loop(&client, &token, &vehicle, rides).await
        }));
    }
    let mut all = Samples::default();
    for rider in riders {
        let s = rider.await??;
        all.appended.extend(s.appended);
        all.accepted.extend(s.accepted);
        all.started.extend(s.started);
        all.ended.extend(s.ended);
        all.failures.extend(s.failures);
    }
    let elapsed = started.elapsed();
    println!(
        "  {} rides in {:.1} s; failures: {}",
        all.started.len(),
        elapsed.as_secs_f64(),
        all.failures.len()
    );
    for f in all.failures.iter().take(5) {
        println!("    {f}");
    }
    row(
        "baseline: POST → 202 (appended, broker ack)",
        &mut all.appended,
    );
    row("start-ride POST → accepted (decided)", &mut all.accepted);
    row(
        "start-ride POST → ride started (device confirmed)",
        &mut all.started,
    );
    row(
        "end-ride POST → ride ended (device confirmed)",
        &mut all.ended,
    );
    Ok(())
}

async fn ride_loop(
    client: &Client,
    token: &str,
    vehicle: &str,
    rides: u32,
) -> anyhow::Result<Samples> {
    let mut s = Samples::default();
    let mut done = 0;
    let deadline = Instant::now() + Duration::from_secs(300);
    while done < rides && Instant::now() < deadline {
        let reserve = client
            .timed(token, &format!("/v1/vehicles/{vehicle}/reserve"))
            .await?;
        if reserve.status != "accepted" {
            // Not online yet (the next report makes it so), or still locking.
            tokio::time::sleep(Duration::from_millis(300)).await;
            continue;
        }
        let start = client
            .timed(token, &format!("/v1/vehicles/{vehicle}/start-ride"))
            .await?;
        s.appended.push(start.appended);
        s.accepted.push(start.decided);
        if start.status != "completed" {
            s.failures
                .push(format!("start: {} {:?}", start.status, start.code));
            continue;
        }
        s.started.push(start.done);
        tokio::time::sleep(Duration::from_secs(1)).await;
        let end = client
            .timed(token, &format!("/v1/vehicles/{vehicle}/end-ride"))
            .await?;
        s.appended.push(end.appended);
        if end.status == "completed" {
            s.ended.push(end.done);
        } else {
            s.failures
                .push(format!("end: {} {:?}", end.status, end.code));
        }
        done += 1;
    }
    Ok(s)
}

fn row(label: &str, samples: &mut [Duration]) {
    println!(
        "  {label:<52} n={:<4} p50 {:>7.1} ms  p99 {:>7.1} ms  max {:>7.1} ms",
        samples.len(),
        quantile_ms(samples, 0.5),
        quantile_ms(samples, 0.99),
        quantile_ms(samples, 1.0)
    );
}
