//! Compatibility rules: the default `BACKWARD_TRANSITIVE` level refuses a field without a
//! default and accepts one with a default as a new version, levels are configured globally
//! and per subject, and the compatibility endpoint answers without registering.

use reqwest::StatusCode;
use serde_json::json;

use super::{Registry, assert_error, v1, with_defaulted_field, with_required_field};

#[tokio::test]
async fn adding_a_field_without_a_default_is_rejected_by_the_default_backward_transitive_level() {
    let sr = Registry::start().await;
    assert_eq!(
        sr.get("/config").await.1,
        json!({"compatibilityLevel": "BACKWARD_TRANSITIVE"})
    );
    sr.register("rides-value", &v1()).await;

    let refused = sr
        .post(
            "/subjects/rides-value/versions",
            json!({ "schema": with_required_field() }),
        )
        .await;
    let message = refused.1["message"].as_str().unwrap().to_owned();
    assert_error(refused, 409, 409);
    assert!(
        message.starts_with(
            "Schema being registered is incompatible with an earlier schema for subject \"rides-value\", details: ["
        ),
        "{message}"
    );
    assert!(
        message.contains("READER_FIELD_MISSING_DEFAULT_VALUE"),
        "{message}"
    );
    assert_eq!(sr.get("/subjects/rides-value/versions").await.1, json!([1]));
    sr.stop().await;
}

#[tokio::test]
async fn adding_a_field_with_a_default_is_accepted_as_a_new_version() {
    let sr = Registry::start().await;
    let first = sr.register("rides-value", &v1()).await;
    let second = sr.register("rides-value", &with_defaulted_field()).await;
    assert_ne!(first, second);

    let (status, latest) = sr.get("/subjects/rides-value/versions/latest").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        latest,
        json!({"subject": "rides-value", "version": 2, "id": second, "schema": with_defaulted_field()})
    );
    assert_eq!(sr.get("/subjects/rides-value/versions/-1").await.1, latest);
    assert_eq!(
        sr.get("/subjects/rides-value/versions/1").await.1["id"],
        json!(first)
    );
    sr.stop().await;
}

#[tokio::test]
async fn compatibility_levels_are_configured_globally_and_per_subject() {
    let sr = Registry::start().await;
    sr.register("rides-value", &v1()).await;
    assert_error(sr.get("/config/rides-value").await, 404, 40408);
    let global = sr.get("/config/rides-value?defaultToGlobal=true").await.1;
    assert_eq!(global, json!({"compatibilityLevel": "BACKWARD_TRANSITIVE"}));

    assert_eq!(
        sr.put("/config", json!({"compatibility": "FULL"})).await,
        (StatusCode::OK, json!({"compatibility": "FULL"}))
    );
    assert_eq!(
        sr.get("/config").await.1,
        json!({"compatibilityLevel": "FULL"})
    );
    assert_eq!(
        sr.put("/config/rides-value", json!({"compatibility": "forward"}))
            .await,
        (StatusCode::OK, json!({"compatibility": "FORWARD"}))
    );
    assert_eq!(
        sr.get("/config/rides-value").await.1,
        json!({"compatibilityLevel": "FORWARD"})
    );
    // FORWARD lets a required field in (old readers ignore it); global FULL would not.
    sr.register("rides-value", &with_required_field()).await;

    assert_error(
        sr.put("/config", json!({"compatibility": "SIDEWAYS"}))
            .await,
        422,
        42203,
    );
    assert_error(sr.put("/config/rides-value", json!({})).await, 422, 42203);
    assert_eq!(
        sr.delete("/config/rides-value").await.1,
        json!({"compatibilityLevel": "FORWARD"})
    );
    assert_error(sr.delete("/config/rides-value").await, 404, 40401);
    assert_eq!(
        sr.delete("/config").await.1,
        json!({"compatibilityLevel": "FULL"})
    );
    assert_eq!(
        sr.get("/config").await.1,
        json!({"compatibilityLevel": "BACKWARD_TRANSITIVE"})
    );
    sr.stop().await;
}

#[tokio::test]
async fn the_compatibility_endpoint_answers_without_registering() {
    let sr = Registry::start().await;
    let path = "/compatibility/subjects/rides-value/versions/latest";
    let empty = sr.post(path, json!({ "schema": v1() })).await;
    assert_eq!(empty, (StatusCode::OK, json!({"is_compatible": true})));
    sr.register("rides-value", &v1()).await;

    let bad = json!({ "schema": with_required_field() });
    assert_eq!(
        sr.post(path, bad.clone()).await.1,
        json!({"is_compatible": false})
    );
    let (_, verbose) = sr.post(&format!("{path}?verbose=true"), bad.clone()).await;
    assert_eq!(verbose["is_compatible"], json!(false));
    let messages = verbose["messages"].as_array().unwrap();
    assert!(
        messages.contains(&json!("{oldSchemaVersion: 1}")),
        "{verbose}"
    );
    let all = sr
        .post("/compatibility/subjects/rides-value/versions", bad)
        .await;
    assert_eq!(all.1, json!({"is_compatible": false}));

    let good = json!({ "schema": with_defaulted_field() });
    let (_, ok) = sr.post(&format!("{path}?verbose=true"), good.clone()).await;
    assert_eq!(ok, json!({"is_compatible": true, "messages": []}));
    assert_eq!(
        sr.post(
            "/compatibility/subjects/rides-value/versions/1",
            good.clone()
        )
        .await
        .1["is_compatible"],
        json!(true)
    );
    assert_error(
        sr.post(
            "/compatibility/subjects/rides-value/versions/7",
            good.clone(),
        )
        .await,
        404,
        40402,
    );
    assert_error(
        sr.post("/compatibility/subjects/rides-value/versions/x", good)
            .await,
        422,
        42202,
    );
    assert_eq!(sr.get("/subjects/rides-value/versions").await.1, json!([1]));
    sr.stop().await;
}
