//! The whole product as child processes of a benchmark: `fleetlog up` over a fresh
//! database on free ports, and `fleetlog simulate` fleets pointed at its gateway. Used by
//! the benchmarks that measure the system from the outside (commands, api).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use fleetlog_api::auth::Auth;
use fleetlog_runtime::Settings;
use fleetlog_runtime::auth_settings::AuthSettings;
use sqlx::Connection as _;
use uuid::Uuid;

/// A child process stopped (TERM, then KILL after 10 s) when dropped.
pub(crate) struct Proc(Child);

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

/// A free loopback `HOST:PORT`.
pub(crate) fn free_addr() -> anyhow::Result<String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.to_string())
}

/// `fleetlog up` running as a child on free ports over database `db`.
pub(crate) struct Stack {
    /// `http://HOST:PORT` of the API.
    pub(crate) api: String,
    /// The Teltonika listener, `HOST:PORT`.
    pub(crate) teltonika: String,
    /// Mints tokens the child accepts (same JWT secret).
    pub(crate) auth: Auth,
    env: Vec<(String, String)>,
    _up: Proc,
}

impl Stack {
    /// Drop and recreate database `db` (on `settings`' server), create the topics, start
    /// `fleetlog up` with `extra_env` and wait until `/readyz` answers 200.
    ///
    /// # Errors
    /// When PostgreSQL, the broker or the child fail.
    pub(crate) async fn start(
        settings: &Settings,
        db: &str,
        extra_env: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        let mut url = reqwest::Url::parse(&settings.database_url)?;
        url.set_path(&format!("/{db}"));
        recreate(&url).await?;
        let admin = fleetlog_runtime::kafka::admin(&settings.kafka)?;
        let specs = fleetlog_schemas::topics::all(settings.kafka.partitions, 1);
        fleetlog_runtime::kafka::create_topics(&admin, &specs, 1).await?;
        let (api_addr, registry_addr, teltonika) = (free_addr()?, free_addr()?, free_addr()?);
        let secret = format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple());
        let mut env: Vec<(String, String)> = vec![
            ("DATABASE_URL".into(), url.to_string()),
            ("KAFKA_BROKERS".into(), settings.kafka.brokers.clone()),
            (
                "SCHEMA_REGISTRY_URL".into(),
                format!("http://{registry_addr}"),
            ),
            ("FLEETLOG_HTTP__API_ADDR".into(), api_addr.clone()),
            ("FLEETLOG_HTTP__REGISTRY_ADDR".into(), registry_addr),
            ("FLEETLOG_GATEWAY__TELTONIKA_ADDR".into(), teltonika.clone()),
            ("FLEETLOG_GATEWAY__OMNI_ADDR".into(), "127.0.0.1:0".into()),
            ("FLEETLOG_GATEWAY__GT06_ADDR".into(), "127.0.0.1:0".into()),
            ("FLEETLOG_AUTH__JWT_SECRET".into(), secret.clone()),
            // The simulated fleet connects from one loopback address.
            (
                "FLEETLOG_GATEWAY__MAX_CONNECTIONS_PER_ADDRESS".into(),
                "0".into(),
            ),
        ];
        env.extend(extra_env.iter().map(|(k, v)| ((*k).into(), (*v).into())));
        let mut up = Command::new(std::env::current_exe()?);
        up.arg("up");
        apply_env(&mut up, &env);
        let up = Proc(up.spawn().context("starting fleetlog up")?);
        let auth = Auth::new(AuthSettings {
            jwt_secret: Some(secret),
            access_ttl_s: 3600,
            ..AuthSettings::default()
        })?;
        let stack = Self {
            api: format!("http://{api_addr}"),
            teltonika,
            auth,
            env,
            _up: up,
        };
        stack.wait_ready().await?;
        Ok(stack)
    }

    /// `fleetlog simulate --protocol teltonika --gateway <ours>` plus `args`.
    ///
    /// # Errors
    /// When the child cannot be started.
    pub(crate) fn simulate(&self, args: &[String]) -> anyhow::Result<Proc> {
        let mut sim = Command::new(std::env::current_exe()?);
        sim.args([
            "simulate",
            "--protocol",
            "teltonika",
            "--gateway",
            &self.teltonika,
        ])
        .args(args);
        apply_env(&mut sim, &self.env);
        Ok(Proc(sim.spawn().context("starting fleetlog simulate")?))
    }

    async fn wait_ready(&self) -> anyhow::Result<()> {
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            if let Ok(resp) = http.get(format!("{}/readyz", self.api)).send().await
                && resp.status().is_success()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        bail!("fleetlog up did not become ready in 120 s")
    }
}

fn apply_env(cmd: &mut Command, env: &[(String, String)]) {
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
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

/// `samples` sorted, then the value at quantile `q` in milliseconds (NaN when empty).
pub(crate) fn quantile_ms(samples: &mut [Duration], q: f64) -> f64 {
    samples.sort();
    if samples.is_empty() {
        return f64::NAN;
    }
    let i = ((samples.len() as f64 - 1.0) * q).round() as usize;
    samples[i].as_secs_f64() * 1000.0
}
