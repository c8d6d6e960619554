//! The demo's setup, idempotent: the operator account (created in the database as
//! `fleetlog admin create` does; an existing one is kept), then through the API as that
//! operator — the two zones (`PUT` with stable ids), every simulated scooter registered as
//! a vehicle (stable ids: a re-run is answered `already_registered`), and an MDS provider
//! token for the banner.

use anyhow::Context as _;
use fleetlog_api::auth::AuthError;
use fleetlog_api::auth::Role;
use fleetlog_api::auth::accounts::{self, NewStaff};
use fleetlog_ingest::simulator::SimulateArgs;
use fleetlog_runtime::{Settings, db};
use futures::StreamExt as _;
use reqwest::Method;
use serde_json::json;

use super::client::Client;
use super::plan::{self, DemoVehicle, OPERATOR_EMAIL, OPERATOR_PASSWORD};

/// Registrations in flight at once.
const CONCURRENT_REGISTRATIONS: usize = 8;

/// What the setup found and did.
#[derive(Debug, Clone)]
pub(crate) struct Setup {
    /// A new MDS provider token.
    pub(crate) provider_token: String,
    /// Vehicles registered by this run.
    pub(crate) registered: usize,
    /// Vehicles registered by an earlier run.
    pub(crate) existing: usize,
    /// The vehicles of the fleet.
    pub(crate) vehicles: Vec<DemoVehicle>,
}

/// Create the demo operator unless it exists.
async fn ensure_operator(settings: &Settings) -> anyhow::Result<()> {
    let pool = db::pool(&settings.database_url, 2)?;
    let new = NewStaff {
        email: OPERATOR_EMAIL.into(),
        password: OPERATOR_PASSWORD.into(),
        role: Role::Admin,
        require_totp: false,
    };
    // No TOTP for the demo operator: no TOTP key is needed.
    let created = accounts::create_staff(&pool, new, &settings.auth.totp_issuer, None).await;
    pool.close().await;
    match created {
        Ok(_) => {
            tracing::info!(email = OPERATOR_EMAIL, "demo operator created");
            Ok(())
        }
        Err(AuthError::EmailTaken) => Ok(()),
        Err(err) => Err(err).context("creating the demo operator"),
    }
}

/// Run the setup against the API of `client` for the fleet `sim`.
///
/// # Errors
/// When the database or the API refuses something the demo needs.
pub(crate) async fn run(
    settings: &Settings,
    client: &Client,
    sim: &SimulateArgs,
) -> anyhow::Result<Setup> {
    ensure_operator(settings).await?;
    let token = client.login(OPERATOR_EMAIL, OPERATOR_PASSWORD).await?;
    for zone in plan::zones() {
        let path = format!("/v1/admin/zones/{}", zone.zone_id);
        let outcome = client
            .command(Method::PUT, &token, &path, Some(&zone.body))
            .await?;
        if !outcome.ok() {
            tracing::warn!(zone = %zone.body["name"], view = %outcome.0, "zone not defined");
        }
    }
    let vehicles = plan::vehicles(sim);
    let outcomes: Vec<anyhow::Result<_>> = futures::stream::iter(vehicles.iter())
        .map(|v| {
            let body = v.body();
            let token = token.clone();
            async move {
                client
                    .command(Method::POST, &token, "/v1/admin/vehicles", Some(&body))
                    .await
            }
        })
        .buffered(CONCURRENT_REGISTRATIONS)
        .collect()
        .await;
    let (mut registered, mut existing) = (0, 0);
    for (vehicle, outcome) in vehicles.iter().zip(outcomes) {
        let outcome = outcome?;
        match (outcome.ok(), outcome.reason()) {
            (true, _) => registered += 1,
            (false, Some("already_registered")) => existing += 1,
            _ => tracing::warn!(qr = %vehicle.qr_code, view = %outcome.0, "vehicle not registered"),
        }
    }
    let body = json!({"name": "fleetlog demo"});
    let (status, issued) = client
        .call(
            Method::POST,
            Some(&token),
            "/v1/admin/provider-tokens",
            Some(&body),
        )
        .await?;
    let provider_token = issued["token"]
        .as_str()
        .with_context(|| format!("issuing the MDS provider token: {status} {issued}"))?
        .to_owned();
    Ok(Setup {
        provider_token,
        registered,
        existing,
        vehicles,
    })
}
