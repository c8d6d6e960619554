//! Simulated riders: each signs up, then now and then looks for a vehicle nearby, reserves
//! it, rides, and parks — through the public API, like a rider app. Refusals are part of
//! the show: the first rider scans the QR code of a scooter with a low battery
//! (`battery_low`), and parking in the no-parking zone is refused (`in_no_parking_zone`)
//! until the rider has ridden on.

use std::time::Duration;

use fleetlog_ingest::simulator::SEOUL_CITY_HALL;
use rand::Rng as _;
use rand::seq::IndexedRandom as _;
use reqwest::Method;
use serde_json::json;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::client::{Client, Outcome};
use super::plan::{RIDER_PASSWORD, rider_email};

/// How a rider paces itself.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pace {
    /// How long a ride lasts before the rider tries to park.
    pub(crate) ride: Duration,
    /// Pause between two rides (and after a refusal).
    pub(crate) pause: Duration,
}

/// One simulated rider.
pub(crate) struct Rider {
    /// Its number (1, 2, …).
    pub(crate) n: u32,
    /// The API.
    pub(crate) client: Client,
    /// Its pace.
    pub(crate) pace: Pace,
    /// A QR code to try first (a low-battery scooter), if any.
    pub(crate) first_qr: Option<String>,
}

/// How long the first rider keeps scanning a scooter that has not reported yet.
const QR_PATIENCE: Duration = Duration::from_secs(60);
/// Search radius of a rider looking for a vehicle, metres.
const SEARCH_RADIUS_M: u32 = 5_000;
/// How far from City Hall (degrees, each way) a rider starts looking for a vehicle.
const SEARCH_SPREAD_DEG: f64 = 0.03;

impl Rider {
    /// Ride until `stop` is cancelled.
    ///
    /// # Errors
    /// When the rider cannot sign up or log in.
    pub(crate) async fn run(self, stop: CancellationToken) -> anyhow::Result<()> {
        let email = rider_email(self.n);
        let token = self.client.rider(&email, RIDER_PASSWORD).await?;
        tracing::info!(rider = self.n, %email, "demo rider signed in");
        if let Some(qr) = &self.first_qr {
            self.try_qr(&token, qr, &stop).await;
        }
        while !stop.is_cancelled() {
            if let Err(err) = self.one_ride(&token, &stop).await {
                tracing::warn!(rider = self.n, "demo ride: {err:#}");
            }
            if !pause(self.pace.pause, &stop).await {
                break;
            }
        }
        Ok(())
    }

    /// Scan a QR code and try to reserve that vehicle (refused when its battery is low).
    /// Right after the demo starts the scooter may not have reported yet: refused as
    /// `offline`, it is tried again every second for up to [`QR_PATIENCE`].
    async fn try_qr(&self, token: &str, qr: &str, stop: &CancellationToken) {
        let found = self
            .client
            .get(token, &format!("/v1/vehicles/by-qr/{qr}"))
            .await;
        let Ok((200, vehicle)) = found else {
            return;
        };
        let Some(id) = vehicle["vehicle_id"].as_str() else {
            return;
        };
        let path = format!("/v1/vehicles/{id}/reserve");
        let deadline = tokio::time::Instant::now() + QR_PATIENCE;
        while let Ok(outcome) = self.client.command(Method::POST, token, &path, None).await {
            self.told("reserve by QR", qr, &outcome);
            if outcome.reason() == Some("offline") && tokio::time::Instant::now() < deadline {
                if pause(Duration::from_secs(1), stop).await {
                    continue;
                }
                return;
            }
            if outcome.ok() {
                let cancel = format!("/v1/vehicles/{id}/cancel-reservation");
                let _ = self
                    .client
                    .command(Method::POST, token, &cancel, None)
                    .await;
            }
            return;
        }
    }

    fn told(&self, what: &str, vehicle: &str, outcome: &Outcome) {
        match outcome.reason() {
            Some(reason) if !outcome.ok() => {
                tracing::info!(
                    rider = self.n,
                    vehicle,
                    reason,
                    "demo rider refused: {what}"
                );
            }
            _ => tracing::info!(
                rider = self.n,
                vehicle,
                status = outcome.status(),
                "demo rider: {what}"
            ),
        }
    }

    async fn one_ride(&self, token: &str, stop: &CancellationToken) -> anyhow::Result<()> {
        let Some(vehicle) = self.pick(token).await? else {
            return Ok(());
        };
        let v = vehicle.to_string();
        let reserve = self
            .client
            .command(
                Method::POST,
                token,
                &format!("/v1/vehicles/{v}/reserve"),
                None,
            )
            .await?;
        self.told("reserve", &v, &reserve);
        if !reserve.ok() {
            return Ok(());
        }
        let start = self
            .client
            .command(
                Method::POST,
                token,
                &format!("/v1/vehicles/{v}/start-ride"),
                Some(&json!({})),
            )
            .await?;
        self.told("start ride", &v, &start);
        if !start.ok() {
            let cancel = format!("/v1/vehicles/{v}/cancel-reservation");
            let _ = self
                .client
                .command(Method::POST, token, &cancel, None)
                .await;
            return Ok(());
        }
        // Ride on until parked: a refused end (no-parking zone, outside the service area)
        // means riding further, as a rider would.
        loop {
            if !pause(self.pace.ride, stop).await {
                break;
            }
            let path = format!("/v1/vehicles/{v}/end-ride");
            let ended = self
                .client
                .command(Method::POST, token, &path, Some(&json!({})))
                .await;
            let end = match ended {
                Ok(end) => end,
                Err(err) => {
                    // The ride is still on: try again after riding on.
                    tracing::warn!(rider = self.n, "demo ride end: {err:#}");
                    continue;
                }
            };
            self.told("end ride", &v, &end);
            if end.ok() || end.reason().is_some_and(|r| r == "ride_not_found") {
                return Ok(());
            }
        }
        Ok(())
    }

    /// A random vehicle among the nearest few to a point near City Hall.
    async fn pick(&self, token: &str) -> anyhow::Result<Option<Uuid>> {
        let (lat, lon) = {
            let mut rng = rand::rng();
            (
                SEOUL_CITY_HALL.0 + rng.random_range(-SEARCH_SPREAD_DEG..SEARCH_SPREAD_DEG),
                SEOUL_CITY_HALL.1 + rng.random_range(-SEARCH_SPREAD_DEG..SEARCH_SPREAD_DEG),
            )
        };
        let path = format!(
            "/v1/vehicles/nearby?lat={lat:.6}&lon={lon:.6}&radius_m={SEARCH_RADIUS_M}&limit=5"
        );
        let (status, page) = self.client.get(token, &path).await?;
        if status != 200 {
            tracing::debug!(rider = self.n, status, "no vehicles yet");
            return Ok(None);
        }
        let ids: Vec<Uuid> = page["items"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|i| i["vehicle_id"].as_str()?.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        Ok(ids.choose(&mut rand::rng()).copied())
    }
}

/// Wait `d` unless `stop` comes first; `false` when stopped.
async fn pause(d: Duration, stop: &CancellationToken) -> bool {
    tokio::select! {
        () = stop.cancelled() => false,
        () = tokio::time::sleep(d) => true,
    }
}
