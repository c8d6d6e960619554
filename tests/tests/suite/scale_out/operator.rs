//! The operator of the scale-out test, through the API: registers the fleet, then sends
//! lock, unlock and locate commands to random scooters throughout. Every request carries
//! an `Idempotency-Key`, so one that fails on the way (a broker dying under the API) is
//! sent again as the same command.

use std::time::{Duration, Instant};

use fleetlog_api::auth::{Auth, Role};
use fleetlog_runtime::auth_settings::AuthSettings;
use futures::StreamExt;
use rand::Rng;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::fleet::imei;
use super::roster::JWT_SECRET;

/// How long one request may be retried (a broker restart under the API takes seconds).
const RETRY_FOR: Duration = Duration::from_secs(90);

/// Scooter `index`'s vehicle id.
pub(super) fn vehicle_id(index: usize) -> Uuid {
    Uuid::from_u128(0x5ca1_e000_0000 + index as u128)
}

/// An operator with a token signed by the API's key.
pub(super) struct Operator {
    http: reqwest::Client,
    api: String,
    token: String,
}

impl Operator {
    pub(super) fn new(api: String) -> Self {
        let auth = Auth::new(AuthSettings {
            jwt_secret: Some(JWT_SECRET.into()),
            ..AuthSettings::default()
        })
        .unwrap();
        Self {
            http: reqwest::Client::new(),
            api,
            token: auth.access_token(Uuid::now_v7(), Role::Operator).unwrap(),
        }
    }

    /// POST `path` until the API takes it (`202`); its command id. Other answers than
    /// `202` and `503` (the log unavailable) fail the test.
    async fn submit(&self, path: &str, body: Option<Value>) -> String {
        let key = Uuid::new_v4().to_string();
        let deadline = Instant::now() + RETRY_FOR;
        loop {
            let mut request = self
                .http
                .post(format!("{}{path}", self.api))
                .bearer_auth(&self.token)
                .header("Idempotency-Key", &key)
                .timeout(Duration::from_secs(20));
            if let Some(body) = &body {
                request = request.json(body);
            }
            match request.send().await {
                Ok(response) if response.status().as_u16() == 202 => {
                    let view: Value = response.json().await.unwrap();
                    return view["command_id"].as_str().unwrap().to_owned();
                }
                Ok(response) if response.status().as_u16() != 503 => {
                    let status = response.status();
                    panic!("{path}: {status} {}", response.text().await.unwrap());
                }
                _ => {}
            }
            assert!(
                Instant::now() < deadline,
                "{path} not taken in {RETRY_FOR:?}"
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    /// Wait until command `id` is done; its view.
    async fn settled(&self, id: &str) -> Value {
        let deadline = Instant::now() + RETRY_FOR;
        loop {
            let response = self
                .http
                .get(format!("{}/v1/commands/{id}?wait=5s", self.api))
                .bearer_auth(&self.token)
                .timeout(Duration::from_secs(20))
                .send()
                .await;
            if let Ok(response) = response
                && response.status().as_u16() == 200
            {
                let view: Value = response.json().await.unwrap();
                if view["done"] == true {
                    return view;
                }
            }
            assert!(Instant::now() < deadline, "command {id} not done");
        }
    }

    /// Register scooters `0..n` as vehicles and wait until every registration is accepted.
    pub(super) async fn register_fleet(&self, n: usize) {
        futures::stream::iter(0..n)
            .for_each_concurrent(16, |index| async move {
                let body = json!({
                    "vehicle_id": vehicle_id(index),
                    "device_id": imei(index),
                    "protocol": "TELTONIKA",
                    "model": "Ninebot Max G30",
                    "qr_code": format!("SCALE-{index}"),
                });
                let id = self.submit("/v1/admin/vehicles", Some(body)).await;
                let view = self.settled(&id).await;
                assert_eq!(view["status"], "accepted", "registration {index}: {view}");
            })
            .await;
    }

    /// Until `stop`, one command every `every` to a random one of scooters `0..n`: lock,
    /// unlock or locate. Returns how many the API took.
    pub(super) async fn send_commands(
        &self,
        n: usize,
        every: Duration,
        stop: CancellationToken,
    ) -> usize {
        let mut sent = 0;
        let mut tick = tokio::time::interval(every);
        loop {
            tokio::select! {
                () = stop.cancelled() => return sent,
                _ = tick.tick() => {}
            }
            let (index, kind) = {
                let mut rng = rand::rng();
                (rng.random_range(0..n), rng.random_range(0..3))
            };
            let action = ["lock", "unlock", "locate"][kind];
            let path = format!("/v1/admin/vehicles/{}/{action}", vehicle_id(index));
            self.submit(&path, None).await;
            sent += 1;
        }
    }
}
