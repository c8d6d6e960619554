//! Login limits: failed logins per email and per address (also concurrent, and through
//! `X-Forwarded-For`, forged or from a trusted proxy), an operator delayed but never locked
//! out by someone else's failures, and wrong TOTP codes limited per account.

use fleetlog_tests::unique_name;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use super::admin::StaffRole;
use super::{
    Api, PASSWORD, email, email_with_account, error, spawn_api, spawn_api_with, stored_totp_secret,
    totp_now,
};

#[tokio::test]
async fn five_failed_logins_for_an_email_are_followed_by_429_with_retry_after() {
    let api = spawn_api().await;
    let email = email();
    api.signup(&email).await;
    for _ in 0..5 {
        assert_eq!(
            api.login(&email, "wrong password").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    // Past the limit attempts are spaced by a growing delay (1 s after the latest, then
    // 2 s …): of two at once, at most one is let through.
    let (first, second) = tokio::join!(
        api.login(&email, "wrong password"),
        api.login(&email, PASSWORD)
    );
    let limited = if first.status() == StatusCode::TOO_MANY_REQUESTS {
        first
    } else {
        second
    };
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let (status, err) = error(limited).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited"))
    );
    // Another account from the same address is still under the address's limit.
    let other = email_with_account(&api).await;
    assert_eq!(api.login(&other, PASSWORD).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn failed_logins_from_one_address_are_limited_across_emails() {
    let api = spawn_api_with(|auth| auth.login_max_failures_per_ip = 3).await;
    for _ in 0..3 {
        assert_eq!(
            api.login(&email(), PASSWORD).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let (status, err) = error(api.login(&email(), PASSWORD).await).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited"))
    );
}

/// `n` logins of `email` with `password` sent at once; their statuses.
async fn concurrent_logins(api: &Api, email: &str, password: &str, n: usize) -> Vec<StatusCode> {
    let attempts = (0..n).map(|_| async { api.login(email, password).await.status() });
    futures::future::join_all(attempts).await
}

#[tokio::test]
async fn concurrent_wrong_passwords_never_get_more_tries_than_the_email_limit() {
    let api = spawn_api_with(|auth| auth.login_max_failures_per_ip = 1000).await;
    let email = email_with_account(&api).await;
    let statuses = concurrent_logins(&api, &email, "wrong password", 16).await;
    let verified = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let limited = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((verified, limited), (5, 11), "{statuses:?}");
}

/// Log in with the right password, waiting out `Retry-After` answers (at most `limit`).
async fn login_when_allowed(
    api: &Api,
    email: &str,
    body: impl Fn() -> Value,
    limit: u64,
) -> Response {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(limit);
    loop {
        let response = api.post("/v1/auth/login", body()).await;
        if response.status() != StatusCode::TOO_MANY_REQUESTS {
            return response;
        }
        let wait: u64 = response.headers()["retry-after"]
            .to_str()
            .expect("ascii")
            .parse()
            .expect("seconds");
        assert!(
            std::time::Instant::now() < deadline && wait <= limit,
            "{email} still limited (Retry-After {wait})"
        );
        tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
    }
}

#[tokio::test]
async fn failed_logins_by_someone_else_delay_an_operator_but_never_lock_them_out() {
    let api = spawn_api_with(|auth| {
        auth.login_max_failures_per_ip = 1000;
        auth.login_max_failures_per_email = 2;
        auth.login_max_delay_s = 2;
    })
    .await;
    let email = format!("{}@example.com", unique_name("ops"));
    api.create_staff(&email, StaffRole::Operator, false).await;
    // The attacker keeps failing (most of these are already refused with 429).
    let statuses = concurrent_logins(&api, &email, "guess", 12).await;
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    let body = || json!({"email": email, "password": PASSWORD});
    let response = login_when_allowed(&api, &email, body, 3).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn wrong_totp_codes_are_limited_per_account_even_with_the_right_password() {
    let api = spawn_api_with(|auth| {
        auth.login_max_failures_per_ip = 1000;
        auth.login_max_failures_per_email = 100;
        auth.login_max_totp_failures = 2;
        auth.login_max_delay_s = 2;
    })
    .await;
    let email = format!("{}@example.com", unique_name("ops"));
    api.create_staff(&email, StaffRole::Operator, true).await;
    let secret = stored_totp_secret(&api, &email).await;
    let code = totp_now(&secret);
    let wrong = format!(
        "{:06}",
        (code.parse::<u32>().expect("digits") + 1) % 1_000_000
    );
    let with = |totp: &str| json!({"email": email, "password": PASSWORD, "totp": totp});
    for _ in 0..2 {
        let (status, err) = error(api.post("/v1/auth/login", with(&wrong)).await).await;
        assert_eq!(
            (status, err["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("invalid_totp"))
        );
    }
    let (status, err) = error(api.post("/v1/auth/login", with(&wrong)).await).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")),
        "the third wrong code is not even checked"
    );
    let response = login_when_allowed(&api, &email, || with(&totp_now(&secret)), 3).await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "the right code once the delay passed"
    );
}

async fn login_from(api: &Api, forwarded_for: &str) -> StatusCode {
    api.http
        .post(format!("{}/v1/auth/login", api.base))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({"email": email(), "password": PASSWORD}))
        .send()
        .await
        .expect("request")
        .status()
}

#[tokio::test]
async fn a_forged_x_forwarded_for_does_not_escape_the_address_limit() {
    let api = spawn_api_with(|auth| auth.login_max_failures_per_ip = 2).await;
    let mut statuses = Vec::new();
    for i in 0..4 {
        statuses.push(login_from(&api, &format!("198.51.100.{i}")).await);
    }
    assert_eq!(
        statuses,
        [
            StatusCode::UNAUTHORIZED,
            StatusCode::UNAUTHORIZED,
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_address_limit() {
    let api = spawn_api_with(|auth| {
        auth.login_max_failures_per_ip = 2;
        auth.trusted_proxies = "127.0.0.1".into();
    })
    .await;
    let mut statuses = Vec::new();
    for client in [
        "198.51.100.1",
        "198.51.100.1",
        "198.51.100.1",
        "198.51.100.2",
    ] {
        statuses.push(login_from(&api, &format!("{client}, 127.0.0.1")).await);
    }
    assert_eq!(
        statuses,
        [
            StatusCode::UNAUTHORIZED,
            StatusCode::UNAUTHORIZED,
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::UNAUTHORIZED
        ]
    );
}
