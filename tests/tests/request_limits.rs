//! The per-caller request limit of the API (`FLEETLOG_AUTH__REQUESTS_PER_S`), over HTTP:
//! a bearer token over its limit gets `429 rate_limited` with `Retry-After` and the §9 error
//! body, another token and the health endpoints are not affected, and the token is served
//! again once the window has slid.

#![allow(
    clippy::unwrap_used,
    reason = "an end-to-end test: a failed unwrap is a failed test"
)]

use std::time::Duration;

use fleetlog_api::auth::AuthSettings;
use fleetlog_tests::spawn_app;
use reqwest::StatusCode;
use serde_json::Value;

const LIMIT: u32 = 5;

async fn me(http: &reqwest::Client, base: &str, token: &str) -> reqwest::Response {
    http.get(format!("{base}/v1/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_token_over_its_request_limit_gets_429_with_retry_after_and_others_are_served() {
    let app = spawn_app().await;
    let auth = AuthSettings {
        jwt_secret: Some("test-secret-test-secret-test-secret!".into()),
        requests_per_s: LIMIT,
        ..AuthSettings::default()
    };
    let state = fleetlog_tests::api::state(&app, auth);
    let (base, _stop) = fleetlog_tests::api::serve(fleetlog_api::router(state)).await;
    let http = reqwest::Client::new();

    // Not valid tokens: the limit counts what a caller sends before checking it, so a
    // client guessing tokens is limited too (401 while under the limit).
    let mut statuses = Vec::new();
    let mut limited = None;
    for _ in 0..LIMIT + 3 {
        let response = me(&http, &base, "token-a").await;
        statuses.push(response.status());
        if response.status() == StatusCode::TOO_MANY_REQUESTS && limited.is_none() {
            let retry_after = response.headers()["retry-after"]
                .to_str()
                .unwrap()
                .to_owned();
            limited = Some((retry_after, response.json::<Value>().await.unwrap()));
        }
    }
    let served = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    assert_eq!(served, LIMIT as usize, "{statuses:?}");
    assert!(
        statuses[LIMIT as usize..]
            .iter()
            .all(|s| *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    let (retry_after, body) = limited.unwrap();
    assert_eq!(retry_after, "1");
    assert_eq!(body["error"]["code"], "rate_limited", "{body}");

    assert_eq!(
        me(&http, &base, "token-b").await.status(),
        StatusCode::UNAUTHORIZED,
        "another caller is not limited"
    );
    let health = http.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK, "health is never limited");

    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        me(&http, &base, "token-a").await.status(),
        StatusCode::UNAUTHORIZED,
        "served again once the window slid"
    );
}
