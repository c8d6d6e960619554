//! Accounts end to end, over HTTP against real PostgreSQL: sign-up and login, the §9
//! error shape, login limits, refresh rotation and logout, bearer token checks, staff
//! accounts with TOTP created by `fleetlog admin create`, and MDS provider tokens.

#[path = "../../../src/cli/admin.rs"]
mod admin;

use admin::{AdminCreateArgs, StaffRole};
use axum::routing::get;
use fleetlog_api::ApiState;
use fleetlog_api::auth::jwt::{Claims, now_unix};
use fleetlog_api::auth::{AuthSettings, RequireProvider, Role};
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

#[tokio::test]
async fn a_rider_signs_up_logs_in_and_reads_their_account() {
    let api = spawn_api().await;
    let email = email();
    let created = api.signup(&format!("  {}", email.to_uppercase())).await;
    assert_eq!(created["email"], email.as_str(), "normalised to lower case");
    assert_eq!(created["role"], "rider");

    let tokens = api.tokens(&email).await;
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 900);
    assert!(token(&tokens, "refresh_token").starts_with("flr_"));

    let me = api
        .get("/v1/me", Some(&token(&tokens, "access_token")))
        .await;
    assert_eq!(me.status(), StatusCode::OK);
    let me: Value = me.json().await.expect("json");
    assert_eq!(me["user_id"], created["user_id"]);
    assert_eq!(me["email"], email.as_str());
    assert_eq!(me["role"], "rider");
    assert_eq!(me["totp_enabled"], false);
    assert!(me["created_at"].is_string());
}

#[tokio::test]
async fn signing_up_twice_with_the_same_email_is_a_conflict() {
    let api = spawn_api().await;
    let email = email();
    api.signup(&email).await;
    let again = api
        .post(
            "/v1/auth/signup",
            json!({"email": email.to_uppercase(), "password": PASSWORD}),
        )
        .await;
    let (status, err) = error(again).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (StatusCode::CONFLICT, Some("email_taken"))
    );
}

#[tokio::test]
async fn signup_refuses_an_invalid_email_and_a_short_password_naming_the_field() {
    let api = spawn_api().await;
    let bad_email = api
        .post(
            "/v1/auth/signup",
            json!({"email": "not-an-email", "password": PASSWORD}),
        )
        .await;
    let (status, err) = error(bad_email).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        (err["code"].as_str(), err["field"].as_str()),
        (Some("invalid_email"), Some("email"))
    );

    let short = api
        .post(
            "/v1/auth/signup",
            json!({"email": email(), "password": "123456789"}),
        )
        .await;
    let (status, err) = error(short).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        (err["code"].as_str(), err["field"].as_str()),
        (Some("weak_password"), Some("password"))
    );
}

#[tokio::test]
async fn bad_request_bodies_and_unknown_routes_get_json_errors() {
    let api = spawn_api().await;
    let json = Some("application/json");
    let malformed = api
        .post_raw("/v1/auth/signup", json, b"{\"email\": ".to_vec())
        .await;
    let (status, err) = error(malformed).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("malformed_json"))
    );

    let missing = api.post("/v1/auth/signup", json!({"email": email()})).await;
    let (status, err) = error(missing).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        (err["code"].as_str(), err["field"].as_str()),
        (Some("missing_field"), Some("password"))
    );

    let wrong_type = api
        .post(
            "/v1/auth/signup",
            json!({"email": email(), "password": 1234567890}),
        )
        .await;
    let (status, err) = error(wrong_type).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        (err["code"].as_str(), err["field"].as_str()),
        (Some("invalid_field"), Some("password"))
    );

    let not_json = api
        .post_raw("/v1/auth/signup", Some("text/plain"), b"{}".to_vec())
        .await;
    let (status, err) = error(not_json).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(err["code"], "unsupported_media_type");
    let no_type = api.post_raw("/v1/auth/signup", None, b"{}".to_vec()).await;
    assert_eq!(no_type.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let huge = format!(
        r#"{{"email": "{}", "password": "x"}}"#,
        "a".repeat(70 * 1024)
    );
    let too_large = api
        .post_raw("/v1/auth/signup", json, huge.into_bytes())
        .await;
    let (status, err) = error(too_large).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("payload_too_large"))
    );

    let (status, err) = error(api.get("/v1/nothing-here", None).await).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (status, err) = error(api.get("/v1/auth/login", None).await).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, Some("method_not_allowed"))
    );
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_answer() {
    let api = spawn_api().await;
    let email = email();
    api.signup(&email).await;
    let wrong_password = api.login(&email, "not the password").await;
    let unknown_email = api.login("nobody@example.com", PASSWORD).await;
    assert_eq!(wrong_password.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(unknown_email.status(), StatusCode::UNAUTHORIZED);
    let wrong_password: Value = wrong_password.json().await.expect("json");
    let unknown_email: Value = unknown_email.json().await.expect("json");
    assert_eq!(wrong_password, unknown_email);
    assert_eq!(wrong_password["error"]["code"], "invalid_credentials");
}

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

async fn email_with_account(api: &Api) -> String {
    let email = email();
    api.signup(&email).await;
    email
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

#[tokio::test]
async fn a_refresh_rotates_the_token_and_reusing_the_old_one_revokes_the_family() {
    let api = spawn_api().await;
    let email = email_with_account(&api).await;
    let first = token(&api.tokens(&email).await, "refresh_token");

    let rotated = api
        .post("/v1/auth/refresh", json!({"refresh_token": first}))
        .await;
    assert_eq!(rotated.status(), StatusCode::OK);
    let rotated: Value = rotated.json().await.expect("json");
    let second = token(&rotated, "refresh_token");
    assert_ne!(second, first);
    let me = api
        .get("/v1/me", Some(&token(&rotated, "access_token")))
        .await;
    assert_eq!(me.status(), StatusCode::OK);

    let reuse = api
        .post("/v1/auth/refresh", json!({"refresh_token": first}))
        .await;
    let (status, _) = error(reuse).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let next = api
        .post("/v1/auth/refresh", json!({"refresh_token": second}))
        .await;
    let (status, err) = error(next).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the family is revoked: {err}"
    );
    let live: i64 =
        sqlx::query_scalar("SELECT count(*) FROM refresh_tokens WHERE revoked_at IS NULL")
            .fetch_one(&api.app.pool)
            .await
            .expect("count");
    assert_eq!(live, 0);
}

#[tokio::test]
async fn logout_revokes_the_refresh_token() {
    let api = spawn_api().await;
    let email = email_with_account(&api).await;
    let refresh = token(&api.tokens(&email).await, "refresh_token");
    let logout = api
        .post("/v1/auth/logout", json!({"refresh_token": refresh}))
        .await;
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    let (status, _) = error(
        api.post("/v1/auth/refresh", json!({"refresh_token": refresh}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let unknown = api
        .post("/v1/auth/logout", json!({"refresh_token": "flr_unknown"}))
        .await;
    assert_eq!(unknown.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn missing_expired_tampered_and_wrong_role_tokens_are_refused() {
    let api = spawn_api().await;
    let email = email_with_account(&api).await;
    let access = token(&api.tokens(&email).await, "access_token");

    let missing = api.get("/v1/me", None).await;
    assert_eq!(missing.headers()["www-authenticate"], "Bearer");
    let (status, err) = error(missing).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("missing_token"))
    );

    let claims = api.state.auth.keys().decode(&access).expect("valid");
    let expired = Claims {
        exp: now_unix() - 60,
        iat: now_unix() - 960,
        ..claims
    };
    let expired = api.state.auth.keys().encode(&expired).expect("signed");
    let (status, err) = error(api.get("/v1/me", Some(&expired)).await).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("token_expired"))
    );

    let mut tampered = access.clone().into_bytes();
    let at = tampered.len() - 10;
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).expect("ascii");
    let (status, err) = error(api.get("/v1/me", Some(&tampered)).await).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_token"))
    );

    let as_rider = api
        .http
        .post(format!("{}/v1/admin/provider-tokens", api.base))
        .bearer_auth(&access)
        .json(&json!({"name": "city"}))
        .send()
        .await
        .expect("request");
    let (status, err) = error(as_rider).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
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

#[tokio::test]
async fn an_operator_created_with_totp_logs_in_only_with_a_valid_unused_code() {
    let api = spawn_api().await;
    let email = format!("{}@example.com", unique_name("ops"));
    api.create_staff(&email, StaffRole::Operator, true).await;
    let secret = stored_totp_secret(&api, &email).await;

    let (status, err) = error(api.login(&email, PASSWORD).await).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("totp_required"))
    );

    let code = totp_now(&secret);
    let wrong = format!(
        "{:06}",
        (code.parse::<u32>().expect("digits") + 1) % 1_000_000
    );
    let with = |totp: &str| json!({"email": email, "password": PASSWORD, "totp": totp});
    let (status, err) = error(api.post("/v1/auth/login", with(&wrong)).await).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_totp"))
    );

    let ok = api.post("/v1/auth/login", with(&code)).await;
    assert_eq!(ok.status(), StatusCode::OK);
    let tokens: Value = ok.json().await.expect("json");
    let me: Value = api
        .get("/v1/me", Some(&token(&tokens, "access_token")))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        (me["role"].as_str(), me["totp_enabled"].as_bool()),
        (Some("operator"), Some(true))
    );

    let (status, err) = error(api.post("/v1/auth/login", with(&code)).await).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_totp")),
        "a code works once"
    );
}

#[tokio::test]
async fn admin_create_refuses_a_taken_email() {
    let api = spawn_api().await;
    let email = format!("{}@example.com", unique_name("ops"));
    api.create_staff(&email, StaffRole::Operator, false).await;
    let again = AdminCreateArgs {
        email: email.clone(),
        role: StaffRole::Admin,
        password: Some(PASSWORD.into()),
        password_stdin: false,
        require_totp: false,
    };
    let err = admin::create(&api.app.settings, again)
        .await
        .expect_err("duplicate");
    assert!(format!("{err:#}").contains("already exists"), "{err:#}");
}

#[tokio::test]
async fn an_admin_issues_a_provider_token_that_authenticates_as_provider_until_revoked() {
    let api = spawn_api().await;
    let admin_email = format!("{}@example.com", unique_name("admin"));
    api.create_staff(&admin_email, StaffRole::Admin, false)
        .await;
    let admin_token = token(&api.tokens(&admin_email).await, "access_token");

    let issued = api
        .http
        .post(format!("{}/v1/admin/provider-tokens", api.base))
        .bearer_auth(&admin_token)
        .json(&json!({"name": "City of Example", "expires_in_days": 30}))
        .send()
        .await
        .expect("request");
    assert_eq!(issued.status(), StatusCode::CREATED);
    let issued: Value = issued.json().await.expect("json");
    let provider = token(&issued, "token");
    let token_id = token(&issued, "token_id");
    assert!(provider.starts_with("flp_"));

    let whoami = api.get("/test/provider", Some(&provider)).await;
    assert_eq!(whoami.status(), StatusCode::OK);
    let whoami: Value = whoami.json().await.expect("json");
    assert_eq!(
        whoami,
        json!({"user_id": token_id, "role": Role::Provider.as_str()})
    );
    let (status, _) = error(api.get("/test/provider", Some(&admin_token)).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "an admin is not a provider");

    let as_provider = api
        .http
        .post(format!("{}/v1/admin/provider-tokens", api.base))
        .bearer_auth(&provider)
        .json(&json!({"name": "escalation"}))
        .send()
        .await
        .expect("request");
    assert_eq!(error(as_provider).await.0, StatusCode::FORBIDDEN);

    let revoke = |id: String| {
        api.http
            .delete(format!("{}/v1/admin/provider-tokens/{id}", api.base))
            .bearer_auth(&admin_token)
            .send()
    };
    assert_eq!(
        revoke(token_id.clone()).await.expect("request").status(),
        StatusCode::NO_CONTENT
    );
    let (status, err) = error(api.get("/test/provider", Some(&provider)).await).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_token"))
    );
    let (status, _) = error(revoke(token_id).await.expect("request")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "already revoked");
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

async fn signup_answer(api: &Api, email: &str) -> (StatusCode, Value) {
    let response = api
        .post(
            "/v1/auth/signup",
            json!({"email": email, "password": PASSWORD}),
        )
        .await;
    let status = response.status();
    (status, response.json().await.expect("json"))
}

#[tokio::test]
async fn signup_answers_a_staff_email_exactly_like_a_rider_email() {
    let api = spawn_api().await;
    let staff = format!("{}@example.com", unique_name("ops"));
    api.create_staff(&staff, StaffRole::Admin, false).await;
    let rider = email_with_account(&api).await;
    let (staff_status, staff_body) = signup_answer(&api, &staff).await;
    let (rider_status, rider_body) = signup_answer(&api, &rider).await;
    assert_eq!(staff_status, StatusCode::CONFLICT);
    assert_eq!((staff_status, staff_body), (rider_status, rider_body));
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
