//! What command intake writes: the request of each accepted command in
//! `command_requests`, unique per actor and idempotency key (what makes a retry answer the
//! first command), and its removal when the log certainly did not take it.

use fleetlog_schemas::events::AppCommand;
use sqlx::PgPool;
use uuid::Uuid;

/// A command's request as recorded.
#[derive(Debug)]
pub(crate) struct NewRequest<'a> {
    /// The command, as it is appended.
    pub(crate) command: &'a AppCommand,
    /// Who sent it.
    pub(crate) actor_id: Uuid,
    /// Their role (`rider`, `operator`, `admin`, `provider`).
    pub(crate) actor_role: &'a str,
    /// Its snake_case name.
    pub(crate) kind: &'a str,
    /// The hash of what the client asked for (see `intake`).
    pub(crate) fingerprint: &'a str,
    /// The command as stored, to append again on a retry.
    pub(crate) stored: &'a serde_json::Value,
}

/// Record `request`: `false` when its actor already used its idempotency key.
///
/// # Errors
/// Database failures.
pub(crate) async fn record(pool: &PgPool, request: NewRequest<'_>) -> Result<bool, sqlx::Error> {
    let command = request.command;
    let inserted: Option<Uuid> = sqlx::query_scalar(
        "INSERT INTO command_requests
             (command_id, actor_id, actor_role, idempotency_key, fingerprint, kind, target_id, command)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (actor_id, idempotency_key) DO NOTHING
         RETURNING command_id",
    )
    .bind(command.command_id)
    .bind(request.actor_id)
    .bind(request.actor_role)
    .bind(&command.idempotency_key)
    .bind(request.fingerprint)
    .bind(request.kind)
    .bind(command.key())
    .bind(request.stored)
    .fetch_optional(pool)
    .await?;
    Ok(inserted.is_some())
}

/// The fingerprint and stored command of the request `actor` sent with `key`.
///
/// # Errors
/// Database failures, and `RowNotFound` when there is none.
pub(crate) async fn recorded(
    pool: &PgPool,
    actor: Uuid,
    key: &str,
) -> Result<(String, serde_json::Value), sqlx::Error> {
    sqlx::query_as(
        "SELECT fingerprint, command FROM command_requests
         WHERE actor_id = $1 AND idempotency_key = $2",
    )
    .bind(actor)
    .bind(key)
    .fetch_one(pool)
    .await
}

/// Forget the request of `command_id` (the log refused it: a retry starts clean).
///
/// # Errors
/// Database failures.
pub(crate) async fn forget(pool: &PgPool, command_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM command_requests WHERE command_id = $1")
        .bind(command_id)
        .execute(pool)
        .await?;
    Ok(())
}
