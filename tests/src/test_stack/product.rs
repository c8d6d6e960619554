//! The product as a user runs it, inside a [`TestStack`]: `fleetlog up` and `fleetlog
//! simulate` as real processes, and an HTTP client with tokens signed by the stack's key.

#![allow(
    clippy::unwrap_used,
    clippy::missing_panics_doc,
    reason = "test harness: a failed unwrap is a failed test"
)]

use std::time::{Duration, Instant};

use fleetlog_api::auth::{Auth, Role};
use fleetlog_runtime::auth_settings::AuthSettings;
use serde_json::{Value, json};
use uuid::Uuid;

use super::TestStack;
use crate::TestApp;
use crate::process::{ChildGuard, fleetlog, isolate_ports, wait_for_status};

/// The product's JWT key.
pub const SECRET: &str = "ride-journey-test-secret-of-at-least-32-bytes";
/// Device id of the first simulated scooter.
pub const ID_BASE: u64 = 356_307_042_440_000;

/// `fleetlog up` and the simulator; killed when dropped.
pub(super) struct Product {
    _up: ChildGuard,
    _sim: ChildGuard,
    api: String,
    http: reqwest::Client,
    auth: Auth,
}

impl Product {
    /// `fleetlog up` on free ports of `app` (its settings get them), then `scooters`
    /// simulated Teltonika scooters reporting every second.
    ///
    /// # Panics
    /// When the product does not come up.
    pub(super) async fn start(app: &mut TestApp, scooters: u32) -> Self {
        isolate_ports(&mut app.settings);
        let mut up = fleetlog(&app.settings);
        up.arg("up")
            .env("FLEETLOG_AUTH__JWT_SECRET", SECRET)
            .env("FLEETLOG_COMMANDS__UNLOCK_TIMEOUT_S", "4")
            .env("FLEETLOG_COMMANDS__TICK_INTERVAL_MS", "200");
        let up = ChildGuard::spawn(up);
        let api = format!("http://{}", app.settings.http.api_addr);
        let ready = wait_for_status(&format!("{api}/readyz"), 200, Duration::from_secs(90)).await;
        assert_eq!(ready, Some(200), "fleetlog up became ready");
        let mut sim = fleetlog(&app.settings);
        sim.args([
            "simulate",
            "--protocol",
            "teltonika",
            "--interval",
            "1",
            "--seed",
            "7",
        ])
        .args(["--scooters", &scooters.to_string()])
        .args(["--id-base", &ID_BASE.to_string()])
        .args(["--gateway", &app.settings.gateway.teltonika_addr]);
        let sim = ChildGuard::spawn(sim);
        let auth = Auth::new(AuthSettings {
            jwt_secret: Some(SECRET.into()),
            ..AuthSettings::default()
        })
        .unwrap();
        Self {
            _up: up,
            _sim: sim,
            api,
            http: reqwest::Client::new(),
            auth,
        }
    }
}

impl TestStack {
    fn product(&self) -> &Product {
        self.product
            .as_ref()
            .expect("a stack built with .product(…)")
    }

    /// Base URL of the product's API.
    pub fn api(&self) -> &str {
        &self.product().api
    }

    /// The HTTP client of the stack.
    pub fn http(&self) -> &reqwest::Client {
        &self.product().http
    }

    /// A fresh user id and an access token for it with `role`, signed by the product's key.
    ///
    /// # Panics
    /// When signing fails.
    pub fn token(&self, role: Role) -> (Uuid, String) {
        let id = Uuid::now_v7();
        (
            id,
            self.product().auth.access_token(id, role).expect("signed"),
        )
    }

    #[allow(missing_docs)]
    pub async fn post(&self, token: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http()
            .post(format!("{}{path}", self.api()))
            .bearer_auth(token)
            .timeout(Duration::from_secs(30));
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    #[allow(missing_docs)]
    pub async fn get(&self, token: &str, path: &str) -> (u16, Value) {
        let resp = self
            .http()
            .get(format!("{}{path}", self.api()))
            .bearer_auth(token)
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// The command's view once it is done (long-polling), failing after a minute.
    #[allow(missing_docs)]
    pub async fn settled(&self, token: &str, command_id: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let (status, view) = self
                .get(token, &format!("/v1/commands/{command_id}?wait=5s"))
                .await;
            assert_eq!(status, 200, "{view}");
            if view["done"] == true {
                return view;
            }
            assert!(Instant::now() < deadline, "command never settled: {view}");
        }
    }

    /// Submit and wait for the outcome: (command id, view).
    #[allow(missing_docs)]
    pub async fn run(&self, token: &str, path: &str, body: Option<Value>) -> (String, Value) {
        let (status, accepted) = self.post(token, path, body).await;
        assert_eq!(status, 202, "{path}: {accepted}");
        assert_eq!(accepted["status"], "pending");
        let id = accepted["command_id"].as_str().unwrap().to_owned();
        let view = self.settled(token, &id).await;
        (id, view)
    }

    /// Register the `index`-th simulated scooter; its vehicle id.
    #[allow(missing_docs)]
    pub async fn register(&self, operator: &str, index: u64) -> String {
        let body = json!({
            "device_id": (ID_BASE + index).to_string(),
            "protocol": "TELTONIKA",
            "model": "Ninebot Max G30",
            "qr_code": format!("QR-{index}"),
        });
        let (_, view) = self.run(operator, "/v1/admin/vehicles", Some(body)).await;
        assert_eq!(view["status"], "accepted", "{view}");
        view["vehicle_id"].as_str().unwrap().to_owned()
    }

    /// Wait until `n` registered vehicles are online with a position (a device counts from
    /// its first report after the gateway learnt its registration).
    ///
    /// # Panics
    /// When they do not within 60 s.
    pub async fn wait_reporting(&self, token: &str, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let (status, page) = self.get(token, "/v1/admin/vehicles").await;
            assert_eq!(status, 200, "{page}");
            let ready = page["items"].as_array().map_or(0, |items| {
                items
                    .iter()
                    .filter(|v| v["online"] == true && v["position"].is_object())
                    .count()
            });
            if ready >= n {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the fleet never reported: {page}"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Reserve `vehicle` as soon as the deciders find it bookable: online, with a battery
    /// known (its first report decoded after the gateway learnt the registration).
    #[allow(missing_docs)]
    pub async fn reserve_when_online(&self, rider: &str, vehicle: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let path = format!("/v1/vehicles/{vehicle}/reserve");
            let (_, view) = self.run(rider, &path, None).await;
            if view["status"] == "accepted" || Instant::now() > deadline {
                return view;
            }
            let code = view["reason"]["code"].as_str();
            assert!(matches!(code, Some("offline" | "battery_low")), "{view}");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

/// Sign up and log in through the API: a real rider account.
///
/// # Panics
/// When the API refuses.
pub async fn rider_login(stack: &TestStack) -> (Uuid, String) {
    let email = format!("{}@example.com", Uuid::new_v4().simple());
    let creds = json!({"email": email, "password": "correct horse battery staple"});
    let resp = stack
        .http()
        .post(format!("{}/v1/auth/signup", stack.api()))
        .json(&creds)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let login: Value = stack
        .http()
        .post(format!("{}/v1/auth/login", stack.api()))
        .json(&creds)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["access_token"].as_str().unwrap().to_owned();
    let (_, me) = stack.get(&token, "/v1/me").await;
    (
        Uuid::parse_str(me["user_id"].as_str().unwrap()).unwrap(),
        token,
    )
}
