//! The shape of Confluent's API: its error codes for unknown subjects, ids and versions and
//! unparseable schemas, JSON 4xx errors (never a 500) for malformed bodies, its content types,
//! and the root, types and mode endpoints.

use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, StatusCode};
use serde_json::json;

use super::{Registry, SR_JSON, assert_error, v1};

#[tokio::test]
async fn an_unparseable_avro_schema_is_a_422_42201() {
    let sr = Registry::start().await;
    for schema in [r#"{"type":"record","name":"NoFields"}"#, "not json", ""] {
        let response = sr
            .post("/subjects/s/versions", json!({ "schema": schema }))
            .await;
        assert_error(response, 422, 42201);
    }
    let protobuf = json!({"schema": "syntax = \"proto3\";", "schemaType": "PROTOBUF"});
    assert_error(sr.post("/subjects/s/versions", protobuf).await, 422, 42201);
    let explicit_avro = json!({"schema": v1(), "schemaType": "AVRO", "references": []});
    assert_eq!(
        sr.post("/subjects/s/versions", explicit_avro).await.0,
        StatusCode::OK
    );
    sr.stop().await;
}

#[tokio::test]
async fn an_unknown_subject_is_a_404_40401() {
    let sr = Registry::start().await;
    assert_error(sr.get("/subjects/nope/versions").await, 404, 40401);
    assert_error(sr.get("/subjects/nope/versions/1").await, 404, 40401);
    assert_error(
        sr.get("/subjects/nope/versions/latest/schema").await,
        404,
        40401,
    );
    assert_error(
        sr.post("/subjects/nope", json!({ "schema": v1() })).await,
        404,
        40401,
    );
    assert_error(sr.delete("/subjects/nope").await, 404, 40401);
    sr.register("rides-value", &v1()).await;
    assert_error(sr.get("/subjects/rides-value/versions/2").await, 404, 40402);
    sr.stop().await;
}

#[tokio::test]
async fn an_unknown_schema_id_is_a_404_40403() {
    let sr = Registry::start().await;
    let (_, body) = sr.get("/schemas/ids/4242").await;
    assert_eq!(
        body,
        json!({"error_code": 40403, "message": "Schema 4242 not found"})
    );
    assert_error(sr.get("/schemas/ids/4242/schema").await, 404, 40403);
    assert_error(sr.get("/schemas/ids/4242/versions").await, 404, 40403);
    assert_error(sr.get("/schemas/ids/not-a-number").await, 404, 404);
    sr.stop().await;
}

#[tokio::test]
async fn a_version_that_is_not_a_number_or_latest_is_a_422_42202() {
    let sr = Registry::start().await;
    sr.register("rides-value", &v1()).await;
    for version in ["abc", "0", "-2", "1.5"] {
        let path = format!("/subjects/rides-value/versions/{version}");
        assert_error(sr.get(&path).await, 422, 42202);
        assert_error(sr.delete(&path).await, 422, 42202);
    }
    sr.stop().await;
}

#[tokio::test]
async fn a_malformed_body_is_a_json_4xx_error_and_never_a_500() {
    let sr = Registry::start().await;
    let path = "/subjects/rides-value/versions";
    let cases = [
        (Some(SR_JSON), "{\"schema\": ", 400, 400),
        (Some("application/json"), "", 400, 400),
        (None, "[1, 2", 400, 400),
        (Some(SR_JSON), "{\"schema\": 42}", 422, 422),
        (Some("text/plain"), "{}", 415, 415),
    ];
    for (content_type, body, status, code) in cases {
        let response = sr
            .raw(Method::POST, path, content_type, Some(body.to_owned()))
            .await;
        assert_error(response, status, code);
    }
    let bad_config = sr
        .raw(Method::PUT, "/config", Some(SR_JSON), Some("{".into()))
        .await;
    assert_error(bad_config, 400, 400);
    let (status, body) = sr.get("/no/such/route").await;
    assert_eq!(
        (status, body),
        (
            StatusCode::NOT_FOUND,
            json!({"error_code": 404, "message": "HTTP 404 Not Found"})
        )
    );
    assert_error(sr.call(Method::PATCH, "/subjects", None).await, 405, 405);
    sr.stop().await;
}

#[tokio::test]
async fn every_confluent_content_type_is_accepted_and_answers_are_schemaregistry_json() {
    let sr = Registry::start().await;
    let body = json!({ "schema": v1() }).to_string();
    let mut ids = Vec::new();
    for content_type in [
        Some(SR_JSON),
        Some("application/vnd.schemaregistry+json"),
        Some("application/json"),
        None,
    ] {
        let (status, answer) = sr
            .raw(
                Method::POST,
                "/subjects/s/versions",
                content_type,
                Some(body.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{content_type:?}: {answer}");
        ids.push(answer["id"].clone());
    }
    assert!(ids.windows(2).all(|pair| pair[0] == pair[1]), "{ids:?}");

    let response = sr
        .client
        .get(format!("{}/subjects", sr.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()[CONTENT_TYPE], SR_JSON);
    let raw = sr
        .client
        .get(format!("{}/subjects/s/versions/1/schema", sr.base))
        .send()
        .await
        .unwrap();
    assert_eq!(raw.headers()[CONTENT_TYPE], SR_JSON);
    assert_eq!(raw.text().await.unwrap(), v1());
    sr.stop().await;
}

#[tokio::test]
async fn the_root_types_and_mode_endpoints_answer_like_confluent() {
    let sr = Registry::start().await;
    assert_eq!(sr.get("/").await, (StatusCode::OK, json!({})));
    assert_eq!(sr.get("/schemas/types").await.1, json!(["AVRO"]));
    assert_eq!(sr.get("/mode").await.1, json!({"mode": "READWRITE"}));
    sr.stop().await;
}
