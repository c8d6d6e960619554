//! A minimal in-memory Confluent registry (register, latest by subject, by id) so the wire
//! codec can be tested without PostgreSQL. The real registry is exercised end to end in
//! `tests/tests/confluent_client.rs`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

#[derive(Default)]
struct Registry {
    /// Schema text by id - 1.
    schemas: Vec<String>,
    /// Ids registered under each subject, oldest first.
    subjects: HashMap<String, Vec<u32>>,
}

type Shared = Arc<Mutex<Registry>>;

fn not_found(code: u32, message: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({"error_code": code, "message": message})),
    )
        .into_response()
}

async fn register(
    State(state): State<Shared>,
    Path(subject): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let Some(schema) = body["schema"].as_str() else {
        return (StatusCode::UNPROCESSABLE_ENTITY, "no schema").into_response();
    };
    let mut registry = state.lock().expect("lock");
    let id = match registry.schemas.iter().position(|s| s == schema) {
        Some(index) => index as u32 + 1,
        None => {
            registry.schemas.push(schema.to_owned());
            registry.schemas.len() as u32
        }
    };
    let versions = registry.subjects.entry(subject).or_default();
    if !versions.contains(&id) {
        versions.push(id);
    }
    Json(json!({"id": id})).into_response()
}

async fn latest(State(state): State<Shared>, Path(subject): Path<String>) -> Response {
    let registry = state.lock().expect("lock");
    match registry
        .subjects
        .get(&subject)
        .and_then(|v| v.last().map(|id| (v.len(), *id)))
    {
        Some((version, id)) => Json(json!({
            "subject": subject,
            "version": version,
            "id": id,
            "schema": registry.schemas[id as usize - 1],
        }))
        .into_response(),
        None => not_found(40401, "Subject not found."),
    }
}

async fn by_id(State(state): State<Shared>, Path(id): Path<u32>) -> Response {
    let registry = state.lock().expect("lock");
    match registry.schemas.get((id as usize).wrapping_sub(1)) {
        Some(schema) => Json(json!({"schema": schema})).into_response(),
        None => not_found(40403, "Schema not found"),
    }
}

/// Serve a fresh registry on a free loopback port; returns its base URL.
pub(crate) async fn start() -> String {
    let router = Router::new()
        .route("/subjects/{subject}/versions", post(register))
        .route("/subjects/{subject}/versions/latest", get(latest))
        .route("/schemas/ids/{id}", get(by_id))
        .with_state(Shared::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}")
}
