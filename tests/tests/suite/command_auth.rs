//! Every command route refuses what it must before anything reaches the log: a missing,
//! expired, tampered or wrong-role token (401/403), a malformed body (400), a body of the
//! wrong shape or with a bad value (422 naming the field), an unusable idempotency key —
//! always in the §9 JSON error shape. The API runs in-process over real PostgreSQL.

use fleetlog_api::ApiState;
use fleetlog_api::auth::jwt::{Claims, now_unix};
use fleetlog_api::auth::{AuthSettings, Role};
use fleetlog_tests::spawn_app;
use reqwest::Method;
use serde_json::Value;
use tokio_util::sync::DropGuard;
use uuid::Uuid;

const SECRET: &str = "command-auth-test-secret-of-32-bytes+";

struct Api {
    state: ApiState,
    base: String,
    http: reqwest::Client,
    _stop: DropGuard,
}

async fn api() -> Api {
    let app = spawn_app().await;
    let auth = AuthSettings {
        jwt_secret: Some(SECRET.into()),
        ..AuthSettings::default()
    };
    let state = fleetlog_tests::api::state(&app, auth);
    let (base, stop) = fleetlog_tests::api::serve(fleetlog_api::router(state.clone())).await;
    Api {
        state,
        base,
        http: reqwest::Client::new(),
        _stop: stop,
    }
}

impl Api {
    fn token(&self, role: Role) -> String {
        self.state.auth.access_token(Uuid::now_v7(), role).unwrap()
    }

    /// Status and JSON body of a request with an optional token, body and extra header.
    async fn call(
        &self,
        method: &Method,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
        header: Option<(&str, &str)>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req
                .header("content-type", "application/json")
                .body(body.to_owned());
        }
        if let Some((name, value)) = header {
            req = req.header(name, value);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        (status, body)
    }
}

/// Every command route: method, path, who may call it, and a valid body.
fn routes() -> Vec<(Method, String, Role, Option<&'static str>)> {
    let v = Uuid::now_v7();
    let z = Uuid::now_v7();
    let register =
        r#"{"device_id":"356307042441013","protocol":"TELTONIKA","model":"G30","qr_code":"QR1"}"#;
    let zone = r#"{"kind":"NO_PARKING","name":"Park","geometry":{"type":"Polygon","coordinates":[[[13.0,52.0],[13.1,52.0],[13.1,52.1],[13.0,52.0]]]}}"#;
    vec![
        (
            Method::POST,
            format!("/v1/vehicles/{v}/reserve"),
            Role::Rider,
            None,
        ),
        (
            Method::POST,
            format!("/v1/vehicles/{v}/cancel-reservation"),
            Role::Rider,
            None,
        ),
        (
            Method::POST,
            format!("/v1/vehicles/{v}/start-ride"),
            Role::Rider,
            Some("{}"),
        ),
        (
            Method::POST,
            format!("/v1/vehicles/{v}/end-ride"),
            Role::Rider,
            None,
        ),
        (
            Method::POST,
            "/v1/admin/vehicles".into(),
            Role::Operator,
            Some(register),
        ),
        (
            Method::POST,
            format!("/v1/admin/vehicles/{v}/out-of-service"),
            Role::Operator,
            Some(r#"{"reason":"flat tyre"}"#),
        ),
        (
            Method::POST,
            format!("/v1/admin/vehicles/{v}/in-service"),
            Role::Operator,
            None,
        ),
        (
            Method::POST,
            format!("/v1/admin/vehicles/{v}/lock"),
            Role::Operator,
            None,
        ),
        (
            Method::POST,
            format!("/v1/admin/vehicles/{v}/unlock"),
            Role::Operator,
            None,
        ),
        (
            Method::POST,
            format!("/v1/admin/vehicles/{v}/locate"),
            Role::Operator,
            None,
        ),
        (
            Method::POST,
            format!("/v1/admin/vehicles/{v}/end-ride"),
            Role::Operator,
            Some(r#"{"force":true,"reason":"abandoned"}"#),
        ),
        (
            Method::POST,
            format!("/v1/admin/vehicles/{v}/cancel-reservation"),
            Role::Operator,
            None,
        ),
        (
            Method::POST,
            "/v1/admin/zones".into(),
            Role::Operator,
            Some(zone),
        ),
        (
            Method::PUT,
            format!("/v1/admin/zones/{z}"),
            Role::Operator,
            Some(zone),
        ),
        (
            Method::GET,
            format!("/v1/commands/{}", Uuid::now_v7()),
            Role::Rider,
            None,
        ),
    ]
}

fn assert_error(status: u16, body: &Value, want_status: u16, want_code: &str, context: &str) {
    assert_eq!(status, want_status, "{context}: {body}");
    assert_eq!(body["error"]["code"], want_code, "{context}: {body}");
    assert!(body["error"]["message"].is_string(), "{context}: {body}");
}

#[tokio::test]
async fn every_command_route_refuses_missing_expired_tampered_and_wrong_role_tokens() {
    let api = api().await;
    let rider = api.token(Role::Rider);
    let claims = api.state.auth.keys().decode(&rider).unwrap();
    let expired = api
        .state
        .auth
        .keys()
        .encode(&Claims {
            exp: now_unix() - 60,
            ..claims
        })
        .unwrap();
    let mut tampered = rider.clone().into_bytes();
    let at = tampered.len() - 5;
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();

    for (method, path, role, body) in routes() {
        let ctx = format!("{method} {path}");
        let (s, b) = api.call(&method, &path, None, body, None).await;
        assert_error(s, &b, 401, "missing_token", &ctx);
        let (s, b) = api.call(&method, &path, Some(&expired), body, None).await;
        assert_error(s, &b, 401, "token_expired", &ctx);
        let (s, b) = api.call(&method, &path, Some(&tampered), body, None).await;
        assert_error(s, &b, 401, "invalid_token", &ctx);
        let (s, b) = api
            .call(&method, &path, Some("not a jwt"), body, None)
            .await;
        assert_error(s, &b, 401, "invalid_token", &ctx);
        let wrong = match role {
            Role::Rider if method == Method::GET => continue,
            Role::Rider => api.token(Role::Operator),
            _ => api.token(Role::Rider),
        };
        let (s, b) = api.call(&method, &path, Some(&wrong), body, None).await;
        assert_error(s, &b, 403, "forbidden", &ctx);
    }
}

/// Who (`o`perator or `r`ider), path, body, what is wrong, status, code, field.
type BodyCase<'a> = (
    &'a str,
    String,
    &'a str,
    &'a str,
    u16,
    &'a str,
    Option<&'a str>,
);

#[tokio::test]
async fn bad_bodies_ids_and_keys_are_refused_with_the_field_that_is_wrong() {
    let api = api().await;
    let rider = api.token(Role::Rider);
    let operator = api.token(Role::Operator);
    let v = Uuid::now_v7();
    let cases: Vec<BodyCase> = vec![
        // (who, path, body, what, status, code, field)
        (
            "o",
            "/v1/admin/vehicles".into(),
            "{",
            "malformed JSON",
            400,
            "malformed_json",
            None,
        ),
        (
            "o",
            "/v1/admin/vehicles".into(),
            r#"{"protocol":"TELTONIKA","model":"m","qr_code":"q"}"#,
            "missing device",
            422,
            "missing_field",
            Some("device_id"),
        ),
        (
            "o",
            "/v1/admin/vehicles".into(),
            r#"{"device_id":"1; DROP TABLE x","protocol":"TELTONIKA","model":"m","qr_code":"q"}"#,
            "injected device id",
            422,
            "invalid_field",
            Some("device_id"),
        ),
        (
            "o",
            "/v1/admin/vehicles".into(),
            r#"{"device_id":"1","protocol":"MQTT","model":"m","qr_code":"q"}"#,
            "unknown protocol",
            422,
            "invalid_field",
            Some("protocol"),
        ),
        (
            "o",
            "/v1/admin/vehicles".into(),
            r#"{"device_id":"1","protocol":"GT06","model":"m","qr_code":"q","colour":"red"}"#,
            "unknown field",
            422,
            "invalid_field",
            Some("colour"),
        ),
        (
            "o",
            format!("/v1/admin/vehicles/{v}/out-of-service"),
            r#"{"reason":"  "}"#,
            "blank reason",
            422,
            "invalid_field",
            Some("reason"),
        ),
        (
            "o",
            format!("/v1/admin/vehicles/{v}/lock"),
            r#"{"force":true}"#,
            "force without reason",
            422,
            "invalid_field",
            Some("reason"),
        ),
        (
            "o",
            "/v1/admin/zones".into(),
            r#"{"kind":"SLOW","name":"z","geometry":{"type":"Polygon","coordinates":[[[13.0,52.0],[13.1,52.0],[13.1,52.1]]]}}"#,
            "slow zone without limit",
            422,
            "invalid_field",
            Some("speed_limit_kmh"),
        ),
        (
            "o",
            "/v1/admin/zones".into(),
            r#"{"kind":"NO_PARKING","name":"z","geometry":{"type":"Polygon","coordinates":[[[13.0,95.0],[13.1,52.0],[13.1,52.1]]]}}"#,
            "latitude out of range",
            422,
            "invalid_field",
            Some("geometry.coordinates[0]"),
        ),
        (
            "r",
            format!("/v1/vehicles/{v}/start-ride"),
            r#"{"position":{"lat":"north","lon":1}}"#,
            "position of the wrong type",
            422,
            "invalid_field",
            Some("position.lat"),
        ),
        (
            "r",
            format!("/v1/vehicles/{v}/end-ride"),
            r#"{"force":true,"reason":"tired"}"#,
            "rider forcing",
            403,
            "forbidden",
            Some("force"),
        ),
        (
            "r",
            "/v1/vehicles/not-a-uuid/reserve".into(),
            "",
            "bad vehicle id",
            400,
            "invalid_id",
            Some("vehicle_id"),
        ),
    ];
    for (who, path, body, what, status, code, field) in cases {
        let token = if who == "o" { &operator } else { &rider };
        let body = (!body.is_empty()).then_some(body);
        let (s, b) = api
            .call(&Method::POST, &path, Some(token), body, None)
            .await;
        assert_error(s, &b, status, code, what);
        assert_eq!(b["error"]["field"].as_str(), field, "{what}: {b}");
    }
    let path = format!("/v1/vehicles/{v}/reserve");
    for key in ["", &"k".repeat(201), "naïve"] {
        let (s, b) = api
            .call(
                &Method::POST,
                &path,
                Some(&rider),
                None,
                Some(("Idempotency-Key", key)),
            )
            .await;
        assert_error(s, &b, 400, "invalid_idempotency_key", key);
    }
    let (s, b) = api
        .call(
            &Method::GET,
            &format!("/v1/commands/{v}?wait=soon"),
            Some(&rider),
            None,
            None,
        )
        .await;
    assert_error(s, &b, 400, "invalid_wait", "wait");
    let (s, b) = api
        .call(
            &Method::GET,
            &format!("/v1/commands/{v}"),
            Some(&rider),
            None,
            None,
        )
        .await;
    assert_error(s, &b, 404, "not_found", "unknown command");
    // Nothing above was recorded.
    let recorded: i64 = sqlx::query_scalar("SELECT count(*) FROM command_requests")
        .fetch_one(&api.state.pool)
        .await
        .unwrap();
    assert_eq!(recorded, 0);
}
