//! The schema registry speaks Confluent's REST API over real HTTP, backed by a fresh
//! PostgreSQL database per test: ids, versions, compatibility, deletes, config and
//! Confluent's error bodies.

use std::time::Duration;

use fleetlog_registry as registry;
use fleetlog_tests::{TestApp, spawn_app};
use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

const SR_JSON: &str = "application/vnd.schemaregistry.v1+json";

/// A registry served in-process on an ephemeral port, stopped when dropped.
struct Registry {
    /// The URL with the admin credential.
    base: String,
    /// The URL without it.
    public: String,
    client: reqwest::Client,
    shutdown: CancellationToken,
    server: Option<JoinHandle<anyhow::Result<()>>>,
    _app: TestApp,
}

impl Registry {
    async fn start() -> Self {
        let app = spawn_app().await;
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let public = format!("http://{}", listener.local_addr().expect("bound"));
        let access = fleetlog_tests::stack::registry_access();
        // The admin credential in the URL's user info: reqwest sends it as Basic auth.
        let base = access.authorise_url(&public);
        let shutdown = CancellationToken::new();
        let server = tokio::spawn(registry::serve(
            listener,
            app.pool.clone(),
            access,
            shutdown.clone(),
        ));
        Self {
            base,
            public,
            client: reqwest::Client::new(),
            shutdown,
            server: Some(server),
            _app: app,
        }
    }

    /// Send `body` (if any) as `content_type` (if any); the status and parsed body.
    async fn raw(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: Option<String>,
    ) -> (StatusCode, Value) {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(content_type) = content_type {
            request = request.header(CONTENT_TYPE, content_type);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        let response = request.send().await.expect("the registry answers");
        let status = response.status();
        let text = response.text().await.expect("a readable body");
        let body = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("{status} with a non-JSON body: {text:?}"));
        (status, body)
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let body = body.map(|body| body.to_string());
        self.raw(method, path, Some(SR_JSON), body).await
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PUT, path, Some(body)).await
    }

    async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, None).await
    }

    /// Register `schema` under `subject`, expecting success; the id.
    async fn register(&self, subject: &str, schema: &str) -> i64 {
        let (status, body) = self
            .post(
                &format!("/subjects/{subject}/versions"),
                json!({ "schema": schema }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["id"].as_i64().expect("an integer id")
    }

    async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(server) = self.server.take() {
            let stopped = tokio::time::timeout(Duration::from_secs(10), server).await;
            let served = stopped.expect("the registry stops within 10 s");
            served
                .expect("the server task ran")
                .expect("serve returned Ok");
        }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

fn ride(extra_fields: &str) -> String {
    format!(
        r#"{{"type":"record","name":"RideStarted","namespace":"fleetlog.rides","fields":[{{"name":"ride_id","type":"string"}}{extra_fields}]}}"#
    )
}

fn v1() -> String {
    ride("")
}

/// `v1` plus a field without a default: not backward compatible.
fn with_required_field() -> String {
    ride(r#",{"name":"battery","type":"int"}"#)
}

/// `v1` plus a field with a default: compatible in every direction.
fn with_defaulted_field() -> String {
    ride(r#",{"name":"battery","type":"int","default":100}"#)
}

/// The body of a 200 answer.
fn ok((status, body): (StatusCode, Value)) -> Value {
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

fn assert_error(actual: (StatusCode, Value), status: u16, error_code: i64) {
    let (actual_status, body) = actual;
    assert_eq!(actual_status.as_u16(), status, "{body}");
    assert_eq!(body["error_code"], json!(error_code), "{body}");
    assert!(body["message"].is_string(), "{body}");
}

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

#[tokio::test]
async fn the_root_types_and_mode_endpoints_answer_like_confluent() {
    let sr = Registry::start().await;
    assert_eq!(sr.get("/").await, (StatusCode::OK, json!({})));
    assert_eq!(sr.get("/schemas/types").await.1, json!(["AVRO"]));
    assert_eq!(sr.get("/mode").await.1, json!({"mode": "READWRITE"}));
    sr.stop().await;
}

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
