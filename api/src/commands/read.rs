//! What the command routes read: a command's request as `command_requests` recorded it
//! (whose it is, what and when), and its outcome from the rides read model (`commands`
//! table of the live `rides` version).

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::read_model::{RIDES, ReadModels};

/// A command's outcome as the rides read model has it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Outcome {
    /// `accepted`, `rejected`, `completed` or `failed`.
    pub status: String,
    /// The rejection or failure code.
    pub code: Option<String>,
    /// Its message.
    pub message: Option<String>,
    /// When it was decided.
    pub decided_at: Option<DateTime<Utc>>,
    /// When the device step finished.
    pub finished_at: Option<DateTime<Utc>>,
}

/// The outcome of `command_id`, if the rides read model has one yet.
///
/// # Errors
/// Database failures.
pub async fn outcome(read: &ReadModels, command_id: Uuid) -> Result<Option<Outcome>, sqlx::Error> {
    let Some(schema) = read.live_schema(RIDES).await? else {
        return Ok(None);
    };
    let sql = format!(
        "SELECT status, code, message, decided_at, finished_at
         FROM {schema}.commands WHERE command_id = $1"
    );
    match sqlx::query_as(&sql)
        .bind(command_id)
        .fetch_optional(read.pool())
        .await
    {
        Ok(row) => Ok(row),
        // The live version exists but has not created its tables yet.
        Err(e) if crate::read_model::is_missing_table(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// A command as requested.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Request {
    /// Who sent it.
    pub actor_id: Uuid,
    /// Its snake_case name.
    pub kind: String,
    /// The vehicle or zone it is about.
    pub target_id: Uuid,
    /// When it was accepted by the API.
    pub requested_at: DateTime<Utc>,
}

/// The request of `command_id`, if there was one.
///
/// # Errors
/// Database failures.
pub async fn request(pool: &PgPool, command_id: Uuid) -> Result<Option<Request>, sqlx::Error> {
    sqlx::query_as(
        "SELECT actor_id, kind, target_id, requested_at FROM command_requests WHERE command_id = $1",
    )
    .bind(command_id)
    .fetch_optional(pool)
    .await
}

/// Whether `actor` sent `command_id`.
///
/// # Errors
/// Database failures.
pub async fn sent_by(pool: &PgPool, command_id: Uuid, actor: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM command_requests WHERE command_id = $1 AND actor_id = $2)",
    )
    .bind(command_id)
    .bind(actor)
    .fetch_one(pool)
    .await
}
