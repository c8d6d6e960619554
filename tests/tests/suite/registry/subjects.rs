//! Subjects, versions and ids: one id per schema across subjects, re-registering and lookups,
//! soft then hard deletes of subjects and versions (ids keep resolving), and concurrent
//! registrations making one id.

use reqwest::StatusCode;
use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};
use tokio::task::JoinSet;

use super::{Registry, SR_JSON, assert_error, ok, v1, with_defaulted_field, with_required_field};

#[tokio::test]
async fn an_identical_schema_gets_the_same_id_under_two_subjects() {
    let sr = Registry::start().await;
    let id = sr.register("rides-value", &v1()).await;
    let reformatted = r#"{ "namespace": "fleetlog.rides", "name": "RideStarted",
        "type": "record", "fields": [ { "type": "string", "name": "ride_id" } ] }"#;
    assert_eq!(sr.register("archive-value", reformatted).await, id);

    let (_, versions) = sr.get(&format!("/schemas/ids/{id}/versions")).await;
    assert_eq!(
        versions,
        json!([{"subject": "archive-value", "version": 1}, {"subject": "rides-value", "version": 1}])
    );
    let (_, schema) = sr.get(&format!("/schemas/ids/{id}")).await;
    assert_eq!(
        schema,
        json!({ "schema": v1() }),
        "the first registration's text is kept"
    );
    sr.stop().await;
}

#[tokio::test]
async fn re_registering_a_schema_returns_its_id_without_a_new_version() {
    let sr = Registry::start().await;
    let first = sr.register("rides-value", &v1()).await;
    assert_eq!(sr.register("rides-value", &v1()).await, first);
    assert_eq!(sr.get("/subjects/rides-value/versions").await.1, json!([1]));
    sr.stop().await;
}

#[tokio::test]
async fn lookup_finds_the_registered_version_and_tells_a_missing_schema_from_a_missing_subject() {
    let sr = Registry::start().await;
    let id = sr.register("rides-value", &v1()).await;
    let (status, found) = sr
        .post("/subjects/rides-value", json!({ "schema": v1() }))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        found,
        json!({"subject": "rides-value", "version": 1, "id": id, "schema": v1()})
    );

    let other = json!({ "schema": with_defaulted_field() });
    assert_error(
        sr.post("/subjects/rides-value", other.clone()).await,
        404,
        40403,
    );
    assert_error(sr.post("/subjects/elsewhere", other).await, 404, 40401);
    assert_error(
        sr.post("/subjects/rides-value", json!({"schema": "{"}))
            .await,
        422,
        42201,
    );
    sr.stop().await;
}

#[tokio::test]
async fn a_subject_must_be_soft_deleted_before_it_is_hard_deleted() {
    let sr = Registry::start().await;
    sr.register("rides-value", &v1()).await;
    sr.register("rides-value", &with_defaulted_field()).await;
    sr.put("/config/rides-value", json!({"compatibility": "NONE"}))
        .await;
    let subject = "/subjects/rides-value";

    assert_error(
        sr.delete(&format!("{subject}?permanent=true")).await,
        404,
        40405,
    );
    assert_eq!(ok(sr.delete(subject).await), json!([1, 2]));
    assert_error(sr.delete(subject).await, 404, 40404);
    assert_eq!(ok(sr.get("/subjects").await), json!([]));
    assert_eq!(
        ok(sr.get("/subjects?deleted=true").await),
        json!(["rides-value"])
    );
    assert_error(sr.get(&format!("{subject}/versions")).await, 404, 40401);
    assert_eq!(
        ok(sr.get(&format!("{subject}/versions?deleted=true")).await),
        json!([1, 2])
    );
    assert_error(sr.get("/config/rides-value").await, 404, 40408);

    assert_eq!(
        ok(sr.delete(&format!("{subject}?permanent=true")).await),
        json!([1, 2])
    );
    assert_error(
        sr.get(&format!("{subject}/versions?deleted=true")).await,
        404,
        40401,
    );
    assert_error(
        sr.delete(&format!("{subject}?permanent=true")).await,
        404,
        40401,
    );
    sr.stop().await;
}

#[tokio::test]
async fn schema_ids_keep_resolving_after_their_subject_is_deleted() {
    let sr = Registry::start().await;
    let id = sr.register("rides-value", &v1()).await;
    ok(sr.delete("/subjects/rides-value").await);
    assert_eq!(
        ok(sr.get(&format!("/schemas/ids/{id}")).await),
        json!({ "schema": v1() })
    );
    assert_eq!(
        ok(sr.get(&format!("/schemas/ids/{id}/versions")).await),
        json!([])
    );
    let deleted_usages = ok(sr
        .get(&format!("/schemas/ids/{id}/versions?deleted=true"))
        .await);
    assert_eq!(
        deleted_usages,
        json!([{"subject": "rides-value", "version": 1}])
    );

    ok(sr.delete("/subjects/rides-value?permanent=true").await);
    assert_eq!(
        ok(sr.get(&format!("/schemas/ids/{id}")).await),
        json!({ "schema": v1() })
    );
    assert_eq!(
        sr.register("rides-value", &v1()).await,
        id,
        "the id survives"
    );
    assert_eq!(
        ok(sr.get("/subjects/rides-value/versions").await),
        json!([1])
    );
    sr.stop().await;
}

#[tokio::test]
async fn a_version_must_be_soft_deleted_before_it_is_hard_deleted() {
    let sr = Registry::start().await;
    sr.register("rides-value", &v1()).await;
    sr.register("rides-value", &with_defaulted_field()).await;
    let first = "/subjects/rides-value/versions/1";

    assert_error(
        sr.delete(&format!("{first}?permanent=true")).await,
        404,
        40407,
    );
    assert_eq!(ok(sr.delete(first).await), json!(1));
    assert_error(sr.delete(first).await, 404, 40406);
    assert_error(sr.get(first).await, 404, 40402);
    assert_eq!(
        ok(sr.get(&format!("{first}?deleted=true")).await)["version"],
        json!(1)
    );
    assert_eq!(
        ok(sr.get("/subjects/rides-value/versions").await),
        json!([2])
    );
    let all = ok(sr.get("/subjects/rides-value/versions?deleted=true").await);
    assert_eq!(all, json!([1, 2]));

    assert_eq!(
        ok(sr.delete(&format!("{first}?permanent=true")).await),
        json!(1)
    );
    assert_error(sr.delete(first).await, 404, 40402);
    assert_eq!(
        ok(sr.delete("/subjects/rides-value/versions/latest").await),
        json!(2)
    );
    assert_error(
        sr.get("/subjects/rides-value/versions/latest").await,
        404,
        40401,
    );
    sr.stop().await;
}

#[tokio::test]
async fn a_soft_deleted_schema_registered_again_comes_back_as_a_new_version_with_its_id() {
    let sr = Registry::start().await;
    sr.put("/config/rides-value", json!({"compatibility": "NONE"}))
        .await;
    let id = sr.register("rides-value", &v1()).await;
    sr.register("rides-value", &with_required_field()).await;
    ok(sr.delete("/subjects/rides-value/versions/1").await);

    let lookup = json!({ "schema": v1() });
    assert_error(
        sr.post("/subjects/rides-value", lookup.clone()).await,
        404,
        40403,
    );
    let found = ok(sr.post("/subjects/rides-value?deleted=true", lookup).await);
    assert_eq!(found["version"], json!(1));

    assert_eq!(sr.register("rides-value", &v1()).await, id, "same id");
    let all = ok(sr.get("/subjects/rides-value/versions?deleted=true").await);
    assert_eq!(
        all,
        json!([2, 3]),
        "a new version; the soft-deleted one is dropped"
    );
    sr.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_registrations_of_a_new_schema_in_one_subject_make_one_id_and_one_version()
 {
    let sr = Registry::start().await;
    let ids = register_concurrently(&sr, |_| "rides-value".to_owned()).await;
    assert!(ids.windows(2).all(|pair| pair[0] == pair[1]), "{ids:?}");
    assert_eq!(sr.get("/subjects/rides-value/versions").await.1, json!([1]));
    sr.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_registrations_of_a_new_schema_in_twenty_subjects_make_one_id() {
    let sr = Registry::start().await;
    let ids = register_concurrently(&sr, |task| format!("subject-{task}")).await;
    assert!(ids.windows(2).all(|pair| pair[0] == pair[1]), "{ids:?}");
    let (_, usages) = sr.get(&format!("/schemas/ids/{}/versions", ids[0])).await;
    assert_eq!(usages.as_array().unwrap().len(), 20);
    sr.stop().await;
}

/// Register `v1` from 20 tasks at once, task `n` under `subject(n)`; the ids.
async fn register_concurrently(sr: &Registry, subject: impl Fn(usize) -> String) -> Vec<i64> {
    let mut tasks = JoinSet::new();
    for task in 0..20 {
        let url = format!("{}/subjects/{}/versions", sr.base, subject(task));
        let client = sr.client.clone();
        tasks.spawn(async move {
            let response = client
                .post(url)
                .header(CONTENT_TYPE, SR_JSON)
                .body(json!({ "schema": v1() }).to_string())
                .send()
                .await
                .expect("the registry answers");
            assert_eq!(response.status(), StatusCode::OK);
            let body: Value = response.json().await.expect("a JSON body");
            body["id"].as_i64().expect("an integer id")
        });
    }
    tasks.join_all().await
}
