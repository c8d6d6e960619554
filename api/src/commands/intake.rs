//! Command intake: a validated command becomes an [`AppCommand`] with the actor, an
//! idempotency key and a fresh command id, is recorded in `command_requests`, appended to
//! `app.commands.v1`, and answered `202` once the broker acknowledged it.
//!
//! **Idempotency.** The `Idempotency-Key` header (or, without one, the command id) is
//! unique per actor. The same key with the same command returns the first command's id —
//! re-appending it, unchanged, while it is still pending, which the deciders ignore once
//! decided — so a retry after a lost response never has a second effect. The same key with
//! a different command is refused (`422 idempotency_key_reused`). The requests are
//! written by the private `commands::write`.

use axum::Json;
use axum::http::header::LOCATION;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use fleetlog_schemas::events::{Actor, ActorRole, AppCommand, AppCommandBody};
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::log::AppendError;
use super::{read, write};
use crate::auth::{AuthUser, Role};
use crate::error::ApiError;
use crate::state::ApiState;

/// The request header carrying the client's idempotency key.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// Longest idempotency key, in characters.
pub const MAX_KEY_CHARS: usize = 200;

/// The snake_case name of a command, as the API shows it.
pub fn kind(body: &AppCommandBody) -> &'static str {
    match body {
        AppCommandBody::ReserveVehicle(_) => "reserve_vehicle",
        AppCommandBody::CancelReservation(_) => "cancel_reservation",
        AppCommandBody::StartRide(_) => "start_ride",
        AppCommandBody::EndRide(_) => "end_ride",
        AppCommandBody::RegisterVehicle(_) => "register_vehicle",
        AppCommandBody::SetOutOfService(_) => "set_out_of_service",
        AppCommandBody::SetInService(_) => "set_in_service",
        AppCommandBody::RemoteLock(_) => "remote_lock",
        AppCommandBody::RemoteUnlock(_) => "remote_unlock",
        AppCommandBody::LocateVehicle(_) => "locate_vehicle",
        AppCommandBody::DefineZone(_) => "define_zone",
    }
}

fn actor_role(role: Role) -> ActorRole {
    match role {
        Role::Rider => ActorRole::Rider,
        Role::Operator | Role::Provider => ActorRole::Operator,
        Role::Admin => ActorRole::Admin,
    }
}

/// The client's `Idempotency-Key`, if sent.
///
/// # Errors
/// `400 invalid_idempotency_key` when empty, too long or not printable ASCII.
pub fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    let valid = value.to_str().ok().map(str::trim).filter(|k| {
        !k.is_empty() && k.len() <= MAX_KEY_CHARS && k.bytes().all(|b| b.is_ascii_graphic())
    });
    match valid {
        Some(key) => Ok(Some(key.to_owned())),
        None => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_idempotency_key",
            format!("Idempotency-Key must be 1 to {MAX_KEY_CHARS} printable ASCII characters"),
        )
        .with_field("Idempotency-Key")),
    }
}

fn fingerprint(body: &AppCommandBody) -> Result<String, ApiError> {
    // The command id and time are not part of it: only what the client asked for.
    let canonical = serde_json::to_vec(body).map_err(ApiError::internal)?;
    let digest = Sha256::digest(&canonical);
    Ok(digest.iter().map(|b| format!("{b:02x}")).collect())
}

/// The id of something a command creates when the client left it out: stable for one
/// idempotency key (so a retry names the same vehicle or zone), fresh without one.
pub fn new_id(user: AuthUser, headers: &HeaderMap) -> Result<Uuid, ApiError> {
    Ok(match idempotency_key(headers)? {
        Some(key) => Uuid::new_v5(&user.user_id, key.as_bytes()),
        None => Uuid::now_v7(),
    })
}

/// Accept `body` from `user`: record, append, answer `202 {"command_id", "status"}`.
///
/// # Errors
/// `400`/`422` for a bad idempotency key or a key reused for another command; `503
/// log_unavailable` when the broker did not take it.
pub async fn submit(
    state: &ApiState,
    user: AuthUser,
    headers: &HeaderMap,
    body: AppCommandBody,
) -> Result<Response, ApiError> {
    let command_id = Uuid::now_v7();
    let key = idempotency_key(headers)?.unwrap_or_else(|| command_id.to_string());
    let command = AppCommand {
        command_id,
        idempotency_key: key.clone(),
        actor: Actor {
            id: user.user_id.to_string(),
            role: actor_role(user.role),
        },
        requested_at_ms: Utc::now().timestamp_millis(),
        command: body,
    };
    let fingerprint = fingerprint(&command.command)?;
    let stored = serde_json::to_value(&command).map_err(ApiError::internal)?;
    let request = write::NewRequest {
        command: &command,
        actor_id: user.user_id,
        actor_role: user.role.as_str(),
        kind: kind(&command.command),
        fingerprint: &fingerprint,
        stored: &stored,
    };
    if write::record(&state.pool, request).await? {
        return append(state, &command, true).await;
    }
    replay(state, user, &key, &fingerprint).await
}

/// A request whose key was seen: the first command, appended again while pending.
async fn replay(
    state: &ApiState,
    user: AuthUser,
    key: &str,
    fingerprint: &str,
) -> Result<Response, ApiError> {
    let (stored_fingerprint, stored) = write::recorded(&state.pool, user.user_id, key).await?;
    if stored_fingerprint != fingerprint {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            "this Idempotency-Key was already used for a different command",
        )
        .with_field("Idempotency-Key"));
    }
    let command: AppCommand = serde_json::from_value(stored).map_err(ApiError::internal)?;
    let current = read::outcome(&state.read_models, command.command_id).await?;
    if current.is_none() {
        return append(state, &command, false).await;
    }
    let status = current.as_ref().map_or("pending", |o| o.status.as_str());
    Ok(accepted(&command, status))
}

async fn append(state: &ApiState, command: &AppCommand, fresh: bool) -> Result<Response, ApiError> {
    match state.commands.append(command).await {
        Ok(()) => Ok(accepted(command, "pending")),
        Err(err) => {
            if fresh && matches!(err, AppendError::Refused(_)) {
                // Certainly not on the log: forget it, so a retry starts clean.
                if let Err(forget) = write::forget(&state.pool, command.command_id).await {
                    tracing::warn!(command = %command.command_id, error = %forget, "refused command not forgotten");
                }
            }
            tracing::warn!(command = %command.command_id, error = %err, "command not appended");
            Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "log_unavailable",
                "the command could not be recorded; retry with the same Idempotency-Key",
            )
            .with_header(
                axum::http::header::RETRY_AFTER,
                HeaderValue::from_static("1"),
            ))
        }
    }
}

/// The `202` answer to a command.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CommandAccepted {
    /// The command's id, also the correlation id of everything it causes.
    pub command_id: Uuid,
    /// `pending` when new; a retried command's current status.
    pub status: String,
    /// The vehicle it addresses (every command but zones).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub vehicle_id: Option<Uuid>,
    /// The zone it defines (zone commands).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub zone_id: Option<Uuid>,
}

/// `202` with the command id, its status, and the vehicle or zone it addresses.
fn accepted(command: &AppCommand, status: &str) -> Response {
    let location = format!("/v1/commands/{}", command.command_id);
    let zone = matches!(command.command, AppCommandBody::DefineZone(_));
    let body = CommandAccepted {
        command_id: command.command_id,
        status: status.to_owned(),
        vehicle_id: (!zone).then(|| command.key()),
        zone_id: zone.then(|| command.key()),
    };
    let mut response = (StatusCode::ACCEPTED, Json(body)).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(LOCATION, value);
    }
    response
}
