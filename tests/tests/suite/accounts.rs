//! Accounts end to end, over HTTP against real PostgreSQL: sign-up and login, the §9
//! error shape, login limits, refresh rotation and logout, bearer token checks, staff
//! accounts with TOTP created by `fleetlog admin create`, and MDS provider tokens.
//!
//! Here: the in-process [`Api`] and the helpers the tests share (`fleetlog admin create`'s
//! module, TOTP codes); the tests, by concern, in the submodules.

#[path = "../../../src/cli/admin.rs"]
mod admin;

mod login_limits;
mod signup_login;
mod staff;

use admin::{AdminCreateArgs, StaffRole};
use axum::routing::get;
use fleetlog_api::ApiState;
use fleetlog_api::auth::{AuthSettings, RequireProvider};
use fleetlog_tests::{TestApp, spawn_app, unique_name};
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use tokio_util::sync::DropGuard;
use totp_rs::{Algorithm, Secret, TOTP};

const SECRET: &str = "test-secret-test-secret-test-secret!";
const PASSWORD: &str = "correct horse battery";

/// The API router served in-process (with connect info) on a free loopback port.
struct Api {
    app: TestApp,
    state: ApiState,
    base: String,
    http: reqwest::Client,
    _stop: DropGuard,
}

async fn spawn_api() -> Api {
    spawn_api_with(|_| {}).await
}

async fn spawn_api_with(configure: impl FnOnce(&mut AuthSettings)) -> Api {
    let app = spawn_app().await;
    let mut auth = AuthSettings {
        jwt_secret: Some(SECRET.into()),
        totp_key: app.settings.auth.totp_key.clone(),
        ..AuthSettings::default()
    };
    configure(&mut auth);
    let state = fleetlog_tests::api::state(&app, auth);
    // A route only provider tokens may call, to see who the extractor says the caller is.
    let probe_route = axum::Router::new()
        .route(
            "/test/provider",
            get(|RequireProvider(user): RequireProvider| async move {
                axum::Json(json!({"user_id": user.user_id, "role": user.role}))
            }),
        )
        .with_state(state.clone());
    let router = fleetlog_api::router(state.clone()).merge(probe_route);
    let (base, stop) = fleetlog_tests::api::serve(router).await;
    Api {
        app,
        state,
        base,
        http: reqwest::Client::new(),
        _stop: stop,
    }
}

impl Api {
    async fn post(&self, path: &str, body: Value) -> Response {
        self.http
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await
            .expect("request")
    }

    async fn post_raw(&self, path: &str, content_type: Option<&str>, body: Vec<u8>) -> Response {
        let mut request = self.http.post(format!("{}{path}", self.base)).body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        request.send().await.expect("request")
    }

    async fn get(&self, path: &str, token: Option<&str>) -> Response {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("request")
    }

    async fn signup(&self, email: &str) -> Value {
        let response = self
            .post(
                "/v1/auth/signup",
                json!({"email": email, "password": PASSWORD}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json().await.expect("json")
    }

    async fn login(&self, email: &str, password: &str) -> Response {
        self.post(
            "/v1/auth/login",
            json!({"email": email, "password": password}),
        )
        .await
    }

    /// Log in with the right password and return the token response.
    async fn tokens(&self, email: &str) -> Value {
        let response = self.login(email, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.expect("json")
    }

    async fn create_staff(&self, email: &str, role: StaffRole, require_totp: bool) {
        let args = AdminCreateArgs {
            email: email.into(),
            role,
            password: Some(PASSWORD.into()),
            password_stdin: false,
            require_totp,
        };
        admin::create(&self.app.settings, args)
            .await
            .expect("admin create");
    }
}

/// The status and the `error` object of a §9 error response.
async fn error(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let content_type = response.headers()["content-type"].clone();
    assert_eq!(content_type, "application/json", "{status}");
    let body: Value = response.json().await.expect("json error body");
    (status, body["error"].clone())
}

fn email() -> String {
    format!("{}@example.com", unique_name("rider"))
}

fn token(tokens: &Value, name: &str) -> String {
    tokens[name].as_str().expect(name).to_owned()
}

async fn email_with_account(api: &Api) -> String {
    let email = email();
    api.signup(&email).await;
    email
}

/// The TOTP secret of `email` as stored, opened with the test stack's key.
async fn stored_totp_secret(api: &Api, email: &str) -> String {
    let (id, stored): (uuid::Uuid, String) =
        sqlx::query_as("SELECT id, totp_secret FROM accounts WHERE email = $1")
            .bind(email)
            .fetch_one(&api.app.pool)
            .await
            .expect("secret stored");
    api.state
        .auth
        .totp_key()
        .expect("the test stack has a TOTP key")
        .open(id, &stored)
        .expect("opens")
        .secret
}

fn totp_now(secret: &str) -> String {
    let bytes = Secret::Encoded(secret.into())
        .to_bytes()
        .expect("base32 secret");
    TOTP::new(Algorithm::SHA1, 6, 1, 30, bytes, None, "test".into())
        .expect("totp")
        .generate_current()
        .expect("clock")
}
