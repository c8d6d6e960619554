//! Staff accounts made by `fleetlog admin create`: an operator with TOTP logs in only with a
//! valid unused code, a taken email is refused, and an admin issues MDS provider tokens
//! that authenticate as the provider until revoked.

use fleetlog_api::auth::Role;
use fleetlog_tests::unique_name;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::admin::{AdminCreateArgs, StaffRole};
use super::{PASSWORD, admin, error, spawn_api, stored_totp_secret, token, totp_now};

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
