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

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use fleetlog_api::auth::{Auth, Role};
use fleetlog_runtime::Settings;
use fleetlog_runtime::auth_settings::AuthSettings;
use serde_json::{Value, json};
use sqlx::Connection as _;
use uuid::Uuid;

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

/// A child process killed when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_addr() -> anyhow::Result<String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.to_string())
}

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
    let mut settings = settings;
    let mut url = reqwest::Url::parse(&settings.database_url)?;
    url.set_path("/fleetlog_bench_commands");
    settings.database_url = url.to_string();
    recreate(&url).await?;
    let admin = fleetlog_runtime::kafka::admin(&settings.kafka)?;
    let specs = fleetlog_schemas::topics::all(settings.kafka.partitions, 1);
    fleetlog_runtime::kafka::create_topics(&admin, &specs, 1).await?;
    let (api_addr, registry_addr, teltonika) = (free_addr()?, free_addr()?, free_addr()?);
    let secret = format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple());
    let exe = std::env::current_exe()?;
    let env = |cmd: &mut Command| {
        cmd.env("DATABASE_URL", &settings.database_url)
            .env("KAFKA_BROKERS", &settings.kafka.brokers)
            .env("SCHEMA_REGISTRY_URL", format!("http://{registry_addr}"))
            .env("FLEETLOG_HTTP__API_ADDR", &api_addr)
            .env("FLEETLOG_HTTP__REGISTRY_ADDR", &registry_addr)
            .env("FLEETLOG_GATEWAY__TELTONIKA_ADDR", &teltonika)
            .env("FLEETLOG_GATEWAY__OMNI_ADDR", "127.0.0.1:0")
            .env("FLEETLOG_GATEWAY__GT06_ADDR", "127.0.0.1:0")
            .env("FLEETLOG_AUTH__JWT_SECRET", &secret)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
    };
    let mut up = Command::new(&exe);
    up.arg("up");
    env(&mut up);
    let _up = Proc(up.spawn().context("starting fleetlog up")?);
    let client = Client {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()?,
        api: format!("http://{api_addr}"),
    };
    wait_ready(&client).await?;
    let mut sim = Command::new(&exe);
    sim.args(["simulate", "--protocol", "teltonika", "--interval", "1"])
        .args(["--scooters", &args.scooters.to_string()])
        .args(["--id-base", &ID_BASE.to_string()])
        .args(["--gateway", &teltonika]);
    env(&mut sim);
    let _sim = Proc(sim.spawn().context("starting fleetlog simulate")?);

    let auth = Auth::new(AuthSettings {
        jwt_secret: Some(secret.clone()),
        access_ttl_s: 3600,
        ..AuthSettings::default()
    })?;
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

/// Drop the database `url` names (left by an earlier run); `fleetlog up` creates it again.
async fn recreate(url: &reqwest::Url) -> anyhow::Result<()> {
    let name = url.path().trim_start_matches('/').to_owned();
    let mut admin = url.clone();
    admin.set_path("/postgres");
    let mut conn = sqlx::PgConnection::connect(admin.as_str())
        .await
        .context("connecting to PostgreSQL (see DATABASE_URL)")?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .execute(&mut conn)
        .await?;
    Ok(())
}

async fn wait_ready(client: &Client) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        if let Ok(resp) = client
            .http
            .get(format!("{}/readyz", client.api))
            .send()
            .await
            && resp.status().is_success()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bail!("fleetlog up did not become ready in 120 s")
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
    samples.sort();
    let at = |q: f64| {
        if samples.is_empty() {
            return f64::NAN;
        }
        let i = ((samples.len() as f64 - 1.0) * q).round() as usize;
        samples[i].as_secs_f64() * 1000.0
    };
    println!(
        "  {label:<52} n={:<4} p50 {:>7.1} ms  p99 {:>7.1} ms  max {:>7.1} ms",
        samples.len(),
        at(0.5),
        at(0.99),
        at(1.0)
    );
}
