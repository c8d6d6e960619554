//! `fleetlog demo`: a living demo beside `fleetlog up` (what `make run` starts). It runs a
//! simulated fleet, makes the product usable at once — the scooters registered as
//! vehicles with QR codes and models, a service area and a no-parking zone in Seoul, a demo
//! operator, an MDS provider token — prints where to look, then lets a few simulated
//! riders reserve, ride and park through the public API until Ctrl-C. Everything goes
//! through the product's own paths (API commands, the account functions of `fleetlog admin
//! create`), and a re-run reuses what exists.

mod client;
mod plan;
mod riders;
mod setup;

use std::time::{Duration, Instant};

use anyhow::bail;
use fleetlog_ingest::simulator::{ProtocolChoice, SimulateArgs};
use fleetlog_runtime::{Settings, Shutdown};

use self::client::Client;
use self::riders::{Pace, Rider};
use self::setup::Setup;

/// How long the demo waits for `fleetlog up` to be ready.
const READY_TIMEOUT: Duration = Duration::from_secs(120);

/// Options of `fleetlog demo`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct DemoArgs {
    /// Simulated scooters (all three protocols in turn), each registered as a vehicle.
    #[arg(long, default_value_t = 30)]
    scooters: u32,
    /// Of those, how many start with an almost empty battery (riders are refused them).
    #[arg(long, default_value_t = 2)]
    low_battery: u32,
    /// Seconds between two reports of one scooter.
    #[arg(long, default_value_t = 5.0)]
    interval_s: f64,
    /// Simulated riders.
    #[arg(long, default_value_t = 4)]
    riders: u32,
    /// Seconds a ride lasts before the rider tries to park (again after a refusal).
    #[arg(long, default_value_t = 40)]
    ride_s: u64,
    /// Seconds a rider pauses between two rides.
    #[arg(long, default_value_t = 20)]
    pause_s: u64,
    /// Device id of the first scooter (the others count up).
    #[arg(long, default_value_t = 350_000_000_000_000)]
    id_base: u64,
    /// The API's base URL (default: `http://` + `FLEETLOG_HTTP__API_ADDR`, `0.0.0.0` as
    /// `127.0.0.1`).
    #[arg(long)]
    api: Option<String>,
    /// Only the setup (account, zones, vehicles, provider token) and the banner, then exit:
    /// no simulated scooters or riders.
    #[arg(long)]
    setup_only: bool,
}

/// `0.0.0.0:port` (a listener's address) as the loopback address a client dials.
fn dial(addr: &str) -> String {
    addr.strip_prefix("0.0.0.0:")
        .map_or_else(|| addr.to_owned(), |port| format!("127.0.0.1:{port}"))
}

impl DemoArgs {
    fn fleet(&self, settings: &Settings) -> SimulateArgs {
        SimulateArgs {
            protocol: ProtocolChoice::Mixed,
            scooters: self.scooters,
            interval: self.interval_s,
            teltonika: Some(dial(&settings.gateway.teltonika_addr)),
            omni: Some(dial(&settings.gateway.omni_addr)),
            gt06: Some(dial(&settings.gateway.gt06_addr)),
            id_base: self.id_base,
            low_battery: self.low_battery.min(self.scooters),
            ..SimulateArgs::default()
        }
    }

    fn api(&self, settings: &Settings) -> String {
        self.api
            .clone()
            .unwrap_or_else(|| format!("http://{}", dial(&settings.http.api_addr)))
    }
}

async fn wait_ready(client: &Client) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        if let Ok((200, _)) = client.get("", "/readyz").await {
            return Ok(());
        }
        if started.elapsed() > READY_TIMEOUT {
            bail!("the API did not become ready in {READY_TIMEOUT:?} (is `fleetlog up` running?)");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Set up, print the banner, then simulate scooters and riders until Ctrl-C.
pub(crate) async fn run(settings: Settings, args: DemoArgs) -> anyhow::Result<()> {
    let api = args.api(&settings);
    let client = Client::new(&api)?;
    wait_ready(&client).await?;
    let fleet = args.fleet(&settings);
    if args.setup_only {
        let setup = setup::run(&settings, &client, &fleet).await?;
        println!("{}", banner(&api, &args, &setup));
        return Ok(());
    }
    let mut shutdown = Shutdown::new(Duration::from_millis(settings.shutdown_grace_ms));
    let sim_token = shutdown.token();
    let sim = fleet.clone();
    shutdown.spawn("demo simulator", async move {
        let stats = fleetlog_ingest::simulator::run(sim, sim_token).await?;
        tracing::info!("demo simulator stopped: {stats}");
        Ok(())
    });
    let setup = setup::run(&settings, &client, &fleet).await?;
    println!("{}", banner(&api, &args, &setup));
    let pace = Pace {
        ride: Duration::from_secs(args.ride_s.max(1)),
        pause: Duration::from_secs(args.pause_s.max(1)),
    };
    for n in 1..=args.riders {
        let first_qr = (n == 1)
            .then(|| setup.vehicles.first().map(|v| v.qr_code.clone()))
            .flatten()
            .filter(|_| args.low_battery > 0);
        let rider = Rider {
            n,
            client: client.clone(),
            pace,
            first_qr,
        };
        let stop = shutdown.token();
        shutdown.spawn(format!("demo rider {n}"), rider.run(stop));
    }
    shutdown.run().await
}

/// What `make run` prints once the demo is set up.
fn banner(api: &str, args: &DemoArgs, setup: &Setup) -> String {
    let low = args.low_battery.min(args.scooters);
    format!(
        "
  fleetlog is running, with a living demo (Ctrl-C stops everything).

    console     {api}/console/
                log in as {email} / {password}
    API docs    {api}/openapi.json   (docs/api.md)
    GBFS        {api}/gbfs/gbfs.json
    MDS         {api}/mds/vehicles
                Authorization: Bearer {provider}
                Accept: application/vnd.mds+json;version=2.0
    metrics     {api}/metrics

    fleet       {n} simulated scooters, vehicles DEMO-0000…DEMO-{last:04} ({registered} registered now, \
         {existing} before; {low} with a low battery)
    zones       service area \"Central Seoul\", no-parking zone \"Seoul Plaza\"
    riders      {riders} simulated riders (rider-1@demo.fleetlog.dev …) reserve, ride and park \
         through the API
",
        email = plan::OPERATOR_EMAIL,
        password = plan::OPERATOR_PASSWORD,
        provider = setup.provider_token,
        n = args.scooters,
        last = args.scooters.saturating_sub(1),
        registered = setup.registered,
        existing = setup.existing,
        riders = args.riders,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listener_addresses_are_dialled_on_loopback() {
        assert_eq!(dial("0.0.0.0:8080"), "127.0.0.1:8080");
        assert_eq!(dial("127.0.0.1:9"), "127.0.0.1:9");
    }
}
