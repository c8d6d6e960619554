//! Sign-up and login: accounts and their answers (a staff email answered like a rider's),
//! the §9 error shape for bad bodies and unknown routes, refresh rotation and logout, and
//! missing, expired, tampered and wrong-role bearer tokens.

use fleetlog_api::auth::jwt::{Claims, now_unix};
use fleetlog_tests::unique_name;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::admin::StaffRole;
use super::{Api, PASSWORD, email, email_with_account, error, spawn_api, token};

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
