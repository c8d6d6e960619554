//! Sessions end when an account changes (issue 16, item 4), over HTTP against real
//! PostgreSQL and the broker: a password change ends the account's other sessions, a
//! disabled account can neither log in, refresh nor keep a live stream open, and a login's
//! refresh family has an absolute lifetime however often it rotates.

use std::time::{Duration, Instant};

use fleetlog_api::ApiState;
use fleetlog_api::auth::accounts::{self, NewStaff};
use fleetlog_api::auth::{AuthSettings, Role};
use fleetlog_tests::{TestApp, spawn_app, unique_name};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_util::sync::DropGuard;

const PASSWORD: &str = "correct horse battery";
const NEW_PASSWORD: &str = "a brand new passphrase";

struct Api {
    app: TestApp,
    base: String,
    http: reqwest::Client,
    _stop: DropGuard,
}

async fn spawn_api(configure: impl FnOnce(&mut AuthSettings)) -> Api {
    let app = spawn_app().await;
    let mut auth = AuthSettings {
        jwt_secret: Some("test-secret-test-secret-test-secret!".into()),
        ..AuthSettings::default()
    };
    configure(&mut auth);
    let state: ApiState = fleetlog_tests::api::state(&app, auth);
    let (base, stop) = fleetlog_tests::api::serve(fleetlog_api::router(state)).await;
    Api {
        app,
        base,
        http: reqwest::Client::new(),
        _stop: stop,
    }
}

impl Api {
    async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        let mut request = self.http.post(format!("{}{path}", self.base)).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn rider(&self) -> String {
        let email = format!("{}@example.com", unique_name("rider"));
        let body = json!({"email": email, "password": PASSWORD});
        assert_eq!(
            self.post("/v1/auth/signup", None, body).await.0,
            StatusCode::CREATED
        );
        email
    }

    async fn admin(&self) -> String {
        let email = format!("{}@example.com", unique_name("admin"));
        let new = NewStaff {
            email: email.clone(),
            password: PASSWORD.into(),
            role: Role::Admin,
            require_totp: false,
        };
        accounts::create_staff(&self.app.pool, new, "t", None)
            .await
            .unwrap();
        email
    }

    /// Log in: (status, access token, refresh token).
    async fn login(&self, email: &str, password: &str) -> (StatusCode, String, String) {
        let body = json!({"email": email, "password": password});
        let (status, tokens) = self.post("/v1/auth/login", None, body).await;
        let token = |name: &str| tokens[name].as_str().unwrap_or_default().to_owned();
        (status, token("access_token"), token("refresh_token"))
    }

    async fn refresh(&self, refresh_token: &str) -> (StatusCode, Value) {
        let body = json!({"refresh_token": refresh_token});
        self.post("/v1/auth/refresh", None, body).await
    }

    async fn user_id(&self, email: &str) -> uuid::Uuid {
        sqlx::query_scalar("SELECT id FROM accounts WHERE email = $1")
            .bind(email)
            .fetch_one(&self.app.pool)
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn a_password_change_ends_every_session_and_only_the_new_password_logs_in() {
    let api = spawn_api(|_| {}).await;
    let email = api.rider().await;
    let (_, phone, _) = api.login(&email, PASSWORD).await;
    let (_, _, laptop_refresh) = api.login(&email, PASSWORD).await;

    let wrong = json!({"current_password": "not my password", "new_password": NEW_PASSWORD});
    let (status, body) = api.post("/v1/me/password", Some(&phone), wrong).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_credentials"))
    );
    let weak = json!({"current_password": PASSWORD, "new_password": "short"});
    let (status, _) = api.post("/v1/me/password", Some(&phone), weak).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        api.refresh(&laptop_refresh).await.0,
        StatusCode::OK,
        "refused changes end nothing"
    );
    let (_, _, laptop_refresh) = api.login(&email, PASSWORD).await;

    let change = json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD});
    let (status, _) = api.post("/v1/me/password", Some(&phone), change).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = api.refresh(&laptop_refresh).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_token")),
        "the other device's session ended"
    );
    assert_eq!(
        api.login(&email, PASSWORD).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, _, refresh) = api.login(&email, NEW_PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(api.refresh(&refresh).await.0, StatusCode::OK);
}

/// Read `response`'s body until it ends; `true` when it ended within `limit`.
async fn ends_within(mut response: reqwest::Response, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, response.chunk()).await {
            Ok(Ok(Some(_))) => {}
            Ok(Ok(None) | Err(_)) => return true,
            Err(_) => return false,
        }
    }
}

#[tokio::test]
async fn a_disabled_account_cannot_log_in_refresh_or_keep_its_live_stream() {
    let api = spawn_api(|_| {}).await;
    let rider = api.rider().await;
    let (_, access, refresh) = api.login(&rider, PASSWORD).await;
    let stream = api
        .http
        .get(format!("{}/v1/stream", api.base))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);

    let (_, admin, _) = api.login(&api.admin().await, PASSWORD).await;
    let path = format!("/v1/admin/accounts/{}/disable", api.user_id(&rider).await);
    let (status, _) = api.post(&path, Some(&access), json!({})).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a rider cannot disable anyone"
    );
    let (status, _) = api.post(&path, Some(&admin), json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    assert!(
        ends_within(stream, Duration::from_secs(15)).await,
        "the open stream ends"
    );
    assert_eq!(api.refresh(&refresh).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        api.login(&rider, PASSWORD).await.0,
        StatusCode::UNAUTHORIZED
    );
    let again = api
        .http
        .get(format!("{}/v1/stream", api.base))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED, "no new stream");
    let unknown = format!("/v1/admin/accounts/{}/disable", uuid::Uuid::now_v7());
    assert_eq!(
        api.post(&unknown, Some(&admin), json!({})).await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_login_cannot_be_refreshed_past_its_absolute_lifetime() {
    let api = spawn_api(|auth| auth.session_max_s = 2).await;
    let email = api.rider().await;
    let started = Instant::now();
    let (_, _, mut refresh) = api.login(&email, PASSWORD).await;
    // Rotating keeps working until the family is 2 s old, then stops for good.
    let expired = loop {
        let (status, body) = api.refresh(&refresh).await;
        if status != StatusCode::OK {
            break (status, body);
        }
        refresh = body["refresh_token"].as_str().unwrap().to_owned();
        assert!(started.elapsed() < Duration::from_secs(10), "never expired");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(started.elapsed() >= Duration::from_secs(2));
    assert_eq!(
        (expired.0, expired.1["error"]["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("token_expired"))
    );
    assert_eq!(api.login(&email, PASSWORD).await.0, StatusCode::OK);
}
