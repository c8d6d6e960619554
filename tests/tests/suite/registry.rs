//! The schema registry speaks Confluent's REST API over real HTTP, backed by a fresh
//! PostgreSQL database per test: ids, versions, compatibility, deletes, config and
//! Confluent's error bodies.
//!
//! Here: the in-process [`Registry`] and the schemas the tests share; the tests, by concern,
//! in the submodules.

mod access;
mod compatibility;
mod confluent_api;
mod subjects;

use std::time::Duration;

use fleetlog_registry as registry;
use fleetlog_tests::{TestApp, spawn_app};
use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
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
