//! `GET /v1/admin/projections`: the health of the read models — per projection version
//! (live or rebuilding) its lag behind the log, how far a rebuild has got, the keys parked
//! behind a poison record — and how many records each dead-letter topic holds.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use fleetlog_schemas::topics;
use rdkafka::consumer::{BaseConsumer, Consumer};
use serde::Serialize;

use super::read::{self, VersionRow};
use crate::auth::extract::RequireOperator;
use crate::error::ApiError;
use crate::read_model::DataAge;
use crate::state::ApiState;

/// How long the broker may take to answer for the dead-letter counts.
const BROKER_TIMEOUT: Duration = Duration::from_secs(3);

/// One projection version.
#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub(crate) struct VersionHealth {
    projection: String,
    version: i32,
    state: String,
    created_at: DateTime<Utc>,
    switched_at: Option<DateTime<Utc>>,
    /// Partitions it reads (that its lag has been reported for).
    partitions: i64,
    /// Records on its topics it has not applied yet.
    lag_records: i64,
    /// Records applied (the sum of its next offsets) and on the log (high watermarks).
    applied_records: i64,
    log_records: i64,
    /// Its data age, ms, in the one meaning of `X-Fleetlog-Data-Age-Ms`; `null` while
    /// unknown (no lag reported yet).
    #[sqlx(default)]
    data_age_ms: Option<i64>,
    lag_updated_at: Option<DateTime<Utc>>,
    /// Keys whose records wait behind a poison record.
    parked_keys: i64,
}

/// A version with how far it has read, 0–1 (a rebuild's progress).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = ProjectionVersion)]
pub(crate) struct Version {
    #[serde(flatten)]
    health: VersionHealth,
    progress: f64,
}

/// A dead-letter topic and the records in it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct DeadLetters {
    topic: String,
    records: i64,
}

/// The health of the read models.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = ProjectionsHealth)]
pub(crate) struct Health {
    items: Vec<Version>,
    /// `null` when the broker did not answer.
    dead_letters: Option<Vec<DeadLetters>>,
}

/// `GET /v1/admin/projections` (operators): read-model lag, rebuilds, parked keys and
/// dead letters.
#[utoipa::path(
    get, path = "/v1/admin/projections", tag = "fleet", operation_id = "projections_health",
    security(("bearer" = [])),
    responses((status = 200, description = "Every live or rebuilding version", body = Health))
)]
pub(crate) async fn health(
    State(state): State<ApiState>,
    RequireOperator(_): RequireOperator,
) -> Result<Json<Health>, ApiError> {
    let rows = read::projection_versions(&state.pool).await?;
    let now = Utc::now();
    let items = rows
        .into_iter()
        .map(
            |VersionRow {
                 mut health,
                 current_as_of,
             }| {
                health.data_age_ms = current_as_of
                    .map_or(DataAge::UNKNOWN, DataAge::current_as_of)
                    .ms_at(now);
                #[allow(clippy::cast_precision_loss, reason = "a ratio for display")]
                let progress = if health.log_records > 0 {
                    (health.applied_records as f64 / health.log_records as f64).min(1.0)
                } else {
                    1.0
                };
                Version { health, progress }
            },
        )
        .collect();
    let setup = state.clone();
    let dead_letters = tokio::task::spawn_blocking(move || dead_letters(&setup))
        .await
        .map_err(ApiError::internal)?
        .inspect_err(|err| tracing::warn!(%err, "dead-letter counts unavailable"))
        .ok();
    Ok(Json(Health {
        items,
        dead_letters,
    }))
}

/// Records (high minus low watermark) in each dead-letter topic of the catalogue.
fn dead_letters(state: &ApiState) -> Result<Vec<DeadLetters>, rdkafka::error::KafkaError> {
    let group = format!("{}-console-dlq", state.commands.kafka().client_id);
    let consumer: BaseConsumer =
        fleetlog_runtime::kafka::consumer_config(state.commands.kafka(), &group).create()?;
    let metadata = consumer.fetch_metadata(None, BROKER_TIMEOUT)?;
    let mut out = Vec::new();
    for name in topics::PRIMARY {
        let dlq = topics::dlq(name);
        let Some(topic) = metadata.topics().iter().find(|t| t.name() == dlq) else {
            continue;
        };
        let mut records = 0;
        for p in topic.partitions() {
            let (low, high) = consumer.fetch_watermarks(&dlq, p.id(), BROKER_TIMEOUT)?;
            records += (high - low).max(0);
        }
        out.push(DeadLetters {
            topic: dlq,
            records,
        });
    }
    Ok(out)
}
