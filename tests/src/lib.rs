//! The end-to-end test harness of fleetlog.
//!
//! Tests here talk to the real broker (Apache Kafka, started by `make test` and reached through
//! `KAFKA_BROKERS`) and the real PostgreSQL (`DATABASE_URL` names the server; every test
//! gets its own freshly migrated database). Topic and group names are unique per test.
//! Tests that must stop a broker start their own with [`broker::TestBroker`].

pub mod api;
pub mod broker;
pub mod demo;
pub mod group;
pub mod kill_timings;
pub mod log;
pub mod process;
pub mod python;
pub mod readmodel;
pub mod stack;
pub mod test_stack;

use fleetlog_runtime::{Settings, db};
use sqlx::PgPool;

/// A test's own slice of the stack: settings pointing at the shared broker and a fresh,
/// migrated database.
pub struct TestApp {
    /// Settings every service under test receives.
    pub settings: Settings,
    /// A pool on the test's database.
    pub pool: PgPool,
    /// The test database's name.
    pub database: String,
}

/// A name no other test (or earlier run) uses: `<prefix>-<uuid>`.
pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// A device id no other test uses: 15 digits, `prefix` (3 digits) then 12 random ones.
///
/// # Panics
/// When `prefix` is not 3 digits.
pub fn unique_imei(prefix: &str) -> String {
    assert!(
        prefix.len() == 3 && prefix.bytes().all(|b| b.is_ascii_digit()),
        "a 3-digit prefix"
    );
    let n = uuid::Uuid::new_v4().as_u128() % 1_000_000_000_000;
    format!("{prefix}{n:012}")
}

/// Settings from the environment (as `make test` sets it) with a fresh database.
///
/// # Panics
/// When PostgreSQL is unreachable or migrations fail: the harness cannot continue.
pub async fn spawn_app() -> TestApp {
    let mut settings = Settings::load().expect("settings from the environment");
    // TOTP secrets are stored sealed: every test stack gets a key of its own.
    settings
        .auth
        .totp_key
        .get_or_insert_with(|| unique_name("test-totp-key"));
    let database = format!("fleetlog_test_{}", uuid::Uuid::new_v4().simple());
    let mut url = reqwest::Url::parse(&settings.database_url).expect("DATABASE_URL is a URL");
    url.set_path(&format!("/{database}"));
    settings.database_url = url.to_string();
    db::ensure_database(&settings.database_url)
        .await
        .expect("test database created");
    let pool = db::pool(&settings.database_url, 8).expect("pool");
    db::migrate(&pool).await.expect("migrations apply");
    TestApp {
        settings,
        pool,
        database,
    }
}
