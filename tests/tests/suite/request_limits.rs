//! The per-caller request limit of the API (`FLEETLOG_AUTH__REQUESTS_PER_S`), over HTTP.
//! The limit is keyed on the verified caller: an account over its limit gets `429
//! rate_limited` with `Retry-After` and the §9 error body however it spells its
//! `Authorization` header; made-up tokens count against the client address, so varying
//! them does not escape the limit; another account and the health endpoints are not
//! affected, and a limited caller is served again once its allowance refills.

use std::time::{Duration, Instant};

use fleetlog_api::auth::AuthSettings;
use fleetlog_tests::{spawn_app, unique_name};
use reqwest::StatusCode;
use serde_json::{Value, json};

const LIMIT: u32 = 5;
const PASSWORD: &str = "correct horse battery";

struct Api {
    base: String,
    http: reqwest::Client,
    _stop: tokio_util::sync::DropGuard,
}

async fn spawn_api() -> Api {
    let app = spawn_app().await;
    let auth = AuthSettings {
        jwt_secret: Some("test-secret-test-secret-test-secret!".into()),
        requests_per_s: LIMIT,
        ..AuthSettings::default()
    };
    let state = fleetlog_tests::api::state(&app, auth);
    let (base, stop) = fleetlog_tests::api::serve(fleetlog_api::router(state)).await;
    Api {
        base,
        http: reqwest::Client::new(),
        _stop: stop,
    }
}

impl Api {
    async fn me(&self, authorization: &str) -> reqwest::Response {
        self.http
            .get(format!("{}/v1/me", self.base))
            .header("authorization", authorization)
            .send()
            .await
            .unwrap()
    }

    /// A new rider's access token (signup and login spend 2 of the address's requests).
    async fn rider_token(&self) -> String {
        let email = format!("{}@example.com", unique_name("rider"));
        let body = json!({"email": email, "password": PASSWORD});
        let signup = self.post("/v1/auth/signup", &body).await;
        assert_eq!(signup.status(), StatusCode::CREATED);
        let login: Value = self
            .post("/v1/auth/login", &body)
            .await
            .json()
            .await
            .unwrap();
        login["access_token"].as_str().unwrap().to_owned()
    }

    async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Wait (bounded) until `authorization` is served again.
    async fn served_again(&self, authorization: &str) -> StatusCode {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let status = self.me(authorization).await.status();
            if status != StatusCode::TOO_MANY_REQUESTS || Instant::now() > deadline {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Statuses of `authorizations` sent one after the other.
async fn statuses(api: &Api, authorizations: &[String]) -> Vec<StatusCode> {
    let mut statuses = Vec::new();
    for authorization in authorizations {
        statuses.push(api.me(authorization).await.status());
    }
    statuses
}

#[tokio::test]
async fn respelling_the_authorization_header_of_one_account_does_not_escape_its_limit() {
    let api = spawn_api().await;
    let token = api.rider_token().await;
    let spellings: Vec<String> = [
        "Bearer {t}",
        "bearer {t}",
        "BEARER {t}",
        "Bearer  {t}",
        "Bearer {t} ",
        "bEaReR {t}",
        "Bearer   {t}",
    ]
    .iter()
    .map(|s| s.replace("{t}", &token))
    .collect();
    let seen = statuses(&api, &spellings).await;
    assert!(
        seen[..LIMIT as usize].iter().all(|s| *s == StatusCode::OK),
        "{seen:?}"
    );
    assert!(
        seen[LIMIT as usize..]
            .iter()
            .all(|s| *s == StatusCode::TOO_MANY_REQUESTS),
        "{seen:?}"
    );
    let limited = api.me(&spellings[0]).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.headers()["retry-after"], "1");
    let body: Value = limited.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited", "{body}");
}

#[tokio::test]
async fn made_up_tokens_count_against_the_client_address_however_they_vary() {
    let api = spawn_api().await;
    let guesses: Vec<String> = (0..LIMIT + 3)
        .map(|i| format!("Bearer guess-{i}-{}", unique_name("t")))
        .collect();
    let seen = statuses(&api, &guesses).await;
    assert!(
        seen[..LIMIT as usize]
            .iter()
            .all(|s| *s == StatusCode::UNAUTHORIZED),
        "{seen:?}"
    );
    assert!(
        seen[LIMIT as usize..]
            .iter()
            .all(|s| *s == StatusCode::TOO_MANY_REQUESTS),
        "{seen:?}"
    );
    let no_token = api
        .http
        .get(format!("{}/v1/me", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        no_token.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "no token at all is the same address"
    );
}

#[tokio::test]
async fn other_accounts_and_health_are_served_while_one_account_is_limited_and_it_recovers() {
    let api = spawn_api().await;
    let first = format!("Bearer {}", api.rider_token().await);
    // Signup and login cost the address 4 of its 5 requests.
    let second = format!("Bearer {}", api.rider_token().await);
    let seen = statuses(&api, &vec![first.clone(); LIMIT as usize + 1]).await;
    assert_eq!(
        seen[LIMIT as usize],
        StatusCode::TOO_MANY_REQUESTS,
        "{seen:?}"
    );

    assert_eq!(
        api.me(&second).await.status(),
        StatusCode::OK,
        "another account is not limited"
    );
    let health = api
        .http
        .get(format!("{}/healthz", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK, "health is never limited");
    assert_eq!(
        api.served_again(&first).await,
        StatusCode::OK,
        "served again once the allowance refilled"
    );
}
