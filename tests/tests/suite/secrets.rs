//! Secrets stay out of what fleetlog shows (issue 16, item 5): `/readyz` answers whether
//! the database and broker are reachable without their error text (which names users,
//! databases and hosts), and `fleetlog config` prints the settings with URL passwords
//! replaced and secret settings left out.
//!
//! Needs PostgreSQL (`DATABASE_URL`) and the broker (`KAFKA_BROKERS`); the `fleetlog`
//! binary is the one `cargo build` made (see `fleetlog_tests::process`).

use std::time::Duration;

use fleetlog_api::ops::OpsState;
use fleetlog_runtime::health::Readiness;
use fleetlog_runtime::kafka::BrokerProbe;
use fleetlog_tests::{TestApp, spawn_app, unique_name};
use serde_json::Value;

/// `/readyz` of an ops router whose database pool is `pool`; status and body.
async fn readyz(app: &TestApp, pool: sqlx::PgPool) -> (u16, String) {
    let probe = BrokerProbe::new(&app.settings.kafka).unwrap();
    let ops = OpsState {
        readiness: Readiness::new(pool, probe, Duration::from_secs(3)),
        metrics: fleetlog_runtime::telemetry::metrics_handle(),
    };
    let (base, _stop) = fleetlog_tests::api::serve(fleetlog_api::ops::router(ops)).await;
    let response = reqwest::get(format!("{base}/readyz")).await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn readyz_says_the_database_is_unavailable_without_its_error_text() {
    let app = spawn_app().await;
    let role = unique_name("secret_role").replace('-', "_");
    let database = unique_name("secret_db").replace('-', "_");
    let mut url = reqwest::Url::parse(&app.settings.database_url).unwrap();
    url.set_username(&role).unwrap();
    url.set_path(&format!("/{database}"));
    let unreachable = sqlx::postgres::PgPoolOptions::new()
        .acquire_timeout(Duration::from_secs(2))
        .connect_lazy(url.as_str())
        .unwrap();

    let (status, body) = readyz(&app, unreachable).await;
    assert_eq!(status, 503, "{body}");
    assert!(
        !body.contains(&role) && !body.contains(&database) && !body.contains("role"),
        "{body}"
    );
    let report: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(report["database"], "unavailable", "{body}");
    assert_eq!(report["ready"], false, "{body}");
}

#[tokio::test]
async fn readyz_is_ready_when_the_database_and_broker_answer() {
    let app = spawn_app().await;
    let (status, body) = readyz(&app, app.pool.clone()).await;
    let report: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (status, &report["database"], &report["broker"]),
        (200, &Value::from("ok"), &Value::from("ok")),
        "{body}"
    );
}

#[tokio::test]
async fn fleetlog_config_shows_the_settings_but_no_password_or_secret() {
    let app = spawn_app().await;
    let mut cmd = std::process::Command::new(fleetlog_tests::process::fleetlog_bin());
    let output = cmd
        .arg("config")
        .env(
            "DATABASE_URL",
            "postgres://fleet:db-hunter2@db.internal:5432/fleetlog?password=qp-hunter2",
        )
        .env(
            "SCHEMA_REGISTRY_URL",
            "http://admin:sr-hunter2@registry:8081",
        )
        .env("KAFKA_BROKERS", &app.settings.kafka.brokers)
        .env(
            "FLEETLOG_AUTH__JWT_SECRET",
            "jwt-hunter2-jwt-hunter2-jwt-hunter2-jwt",
        )
        .env("FLEETLOG_REGISTRY__ADMIN_PASSWORD", "admin-hunter2")
        .env("FLEETLOG_GBFS__ID_SECRET", "gbfs-hunter2-gbfs-hunter2")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(!stdout.contains("hunter2"), "{stdout}");
    let shown: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        shown["database_url"],
        "postgres://fleet:***@db.internal:5432/fleetlog?password=***"
    );
    assert_eq!(
        shown["schema_registry_url"],
        "http://admin:***@registry:8081"
    );
    assert_eq!(
        shown["kafka"]["brokers"],
        app.settings.kafka.brokers.as_str()
    );
    assert_eq!(shown["registry"]["admin_user"], "admin");
}

const PASSWORD: &str = "correct horse battery";

/// The API over `app` with its TOTP key; base URL, state and the guard that stops it.
async fn api(app: &TestApp) -> (String, fleetlog_api::ApiState, tokio_util::sync::DropGuard) {
    let auth = fleetlog_api::auth::AuthSettings {
        jwt_secret: Some("test-secret-test-secret-test-secret!".into()),
        totp_key: app.settings.auth.totp_key.clone(),
        ..fleetlog_api::auth::AuthSettings::default()
    };
    let state = fleetlog_tests::api::state(app, auth);
    let (base, stop) = fleetlog_tests::api::serve(fleetlog_api::router(state.clone())).await;
    (base, state, stop)
}

fn code_now(secret_b32: &str) -> String {
    let bytes = totp_rs::Secret::Encoded(secret_b32.into())
        .to_bytes()
        .unwrap();
    totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, bytes, None, "t".into())
        .unwrap()
        .generate_current()
        .unwrap()
}

async fn login(base: &str, email: &str, totp: &str) -> reqwest::StatusCode {
    reqwest::Client::new()
        .post(format!("{base}/v1/auth/login"))
        .json(&serde_json::json!({"email": email, "password": PASSWORD, "totp": totp}))
        .send()
        .await
        .unwrap()
        .status()
}

async fn stored_secret(app: &TestApp, email: &str) -> (uuid::Uuid, String) {
    sqlx::query_as("SELECT id, totp_secret FROM accounts WHERE email = $1")
        .bind(email)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_accounts_table_holds_totp_secrets_only_sealed_and_logins_still_use_them() {
    let app = spawn_app().await;
    let (base, state, _stop) = api(&app).await;
    let email = format!("{}@example.com", unique_name("ops"));
    let new = fleetlog_api::auth::accounts::NewStaff {
        email: email.clone(),
        password: PASSWORD.into(),
        role: fleetlog_api::auth::Role::Operator,
        require_totp: true,
    };
    let created =
        fleetlog_api::auth::accounts::create_staff(&app.pool, new, "t", state.auth.totp_key())
            .await
            .unwrap();
    let uri = created.totp_uri.unwrap();
    let secret = uri
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("secret="))
        .unwrap()
        .to_owned();

    // What a stolen copy of the table holds: neither the secret nor anything that opens
    // without the key, or under another account.
    let (id, stored) = stored_secret(&app, &email).await;
    assert!(
        stored.starts_with("v1:") && !stored.contains(&secret),
        "{stored}"
    );
    let other_key = fleetlog_api::auth::totp_key::TotpKey::from_secret(
        b"not-the-configured-key-not-the-configured-key",
    )
    .unwrap();
    assert!(other_key.open(id, &stored).is_err());
    let key = state.auth.totp_key().unwrap();
    assert!(key.open(uuid::Uuid::now_v7(), &stored).is_err());

    assert_eq!(
        login(&base, &email, &code_now(&secret)).await,
        reqwest::StatusCode::OK
    );
}

#[tokio::test]
async fn a_totp_secret_stored_in_the_clear_before_encryption_still_works_and_gets_sealed() {
    let app = spawn_app().await;
    let (base, _state, _stop) = api(&app).await;
    let email = format!("{}@example.com", unique_name("ops"));
    let secret = fleetlog_api::auth::totp::generate_secret();
    let hash = fleetlog_api::auth::password::hash(PASSWORD).unwrap();
    fleetlog_api::auth::accounts::insert(
        &app.pool,
        &email,
        &hash,
        fleetlog_api::auth::Role::Operator,
        Some(&secret),
    )
    .await
    .unwrap();

    assert_eq!(
        login(&base, &email, &code_now(&secret)).await,
        reqwest::StatusCode::OK
    );
    let (_, stored) = stored_secret(&app, &email).await;
    assert!(
        stored.starts_with("v1:") && !stored.contains(&secret),
        "{stored}"
    );
}
