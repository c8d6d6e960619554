//! Access control: writes without the admin credential are refused and change nothing;
//! reads, lookups and compatibility checks need no credential.

use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{Registry, SR_JSON, ok, v1, with_defaulted_field, with_required_field};

impl Registry {
    /// `method path` with `body` sent to the URL without the admin credential, with
    /// `authorization` as the `Authorization` header if given.
    async fn unauthorised(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        authorization: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.public))
            .header(CONTENT_TYPE, SR_JSON);
        if let Some(body) = body {
            request = request.body(body.to_string());
        }
        if let Some(authorization) = authorization {
            request = request.header(reqwest::header::AUTHORIZATION, authorization);
        }
        let response = request.send().await.expect("the registry answers");
        let status = response.status();
        (status, response.json().await.expect("a JSON body"))
    }
}

#[tokio::test]
async fn writes_without_the_admin_credential_are_refused_and_change_nothing() {
    let sr = Registry::start().await;
    let id = sr.register("rides-value", &v1()).await;
    let schema = json!({ "schema": with_defaulted_field() });
    // "admin:guess" and a credential for another user, as Basic auth.
    let wrong = [
        "Basic YWRtaW46Z3Vlc3M=",
        "Basic dGVzdC1hZG1pbjp3cm9uZw==",
        "Bearer abc",
    ];
    let attempts = [
        (
            Method::POST,
            "/subjects/rides-value/versions",
            Some(schema.clone()),
        ),
        (Method::POST, "/subjects/evil-value/versions", Some(schema)),
        (Method::DELETE, "/subjects/rides-value", None),
        (Method::DELETE, "/subjects/rides-value/versions/1", None),
        (
            Method::PUT,
            "/config",
            Some(json!({"compatibility": "NONE"})),
        ),
        (
            Method::PUT,
            "/config/rides-value",
            Some(json!({"compatibility": "NONE"})),
        ),
        (Method::DELETE, "/config", None),
    ];
    for (method, path, body) in &attempts {
        let (status, answer) = sr
            .unauthorised(method.clone(), path, body.clone(), None)
            .await;
        assert_eq!(
            (status, answer["error_code"].as_i64()),
            (StatusCode::UNAUTHORIZED, Some(40101)),
            "{method} {path}: {answer}"
        );
        for authorization in wrong {
            let (status, answer) = sr
                .unauthorised(method.clone(), path, body.clone(), Some(authorization))
                .await;
            assert_eq!(
                (status, answer["error_code"].as_i64()),
                (StatusCode::FORBIDDEN, Some(40301)),
                "{method} {path} with {authorization}: {answer}"
            );
        }
    }
    assert_eq!(ok(sr.get("/subjects").await), json!(["rides-value"]));
    assert_eq!(
        ok(sr.get("/subjects/rides-value/versions").await),
        json!([1])
    );
    assert_eq!(
        ok(sr.get("/config").await)["compatibilityLevel"],
        "BACKWARD_TRANSITIVE"
    );
    assert_eq!(
        ok(sr.get("/subjects/rides-value/versions/latest").await)["id"].as_i64(),
        Some(id)
    );
}

#[tokio::test]
async fn reads_lookups_and_compatibility_checks_need_no_credential() {
    let sr = Registry::start().await;
    let id = sr.register("rides-value", &v1()).await;
    let get = |path: &'static str| sr.unauthorised(Method::GET, path, None, None);
    assert_eq!(ok(get("/subjects").await), json!(["rides-value"]));
    assert_eq!(
        ok(get("/subjects/rides-value/versions/1").await)["id"].as_i64(),
        Some(id)
    );
    let (status, by_id) = sr
        .unauthorised(Method::GET, &format!("/schemas/ids/{id}"), None, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{by_id}");
    assert!(ok(get("/config").await)["compatibilityLevel"].is_string());
    let lookup = sr
        .unauthorised(
            Method::POST,
            "/subjects/rides-value",
            Some(json!({ "schema": v1() })),
            None,
        )
        .await;
    assert_eq!(ok(lookup)["id"].as_i64(), Some(id));
    let check = sr
        .unauthorised(
            Method::POST,
            "/compatibility/subjects/rides-value/versions/latest",
            Some(json!({ "schema": with_required_field() })),
            None,
        )
        .await;
    assert_eq!(ok(check)["is_compatible"], json!(false));
}
