//! `GET /v1/commands/{command_id}[?wait=5s]`: what became of a command — `pending` until
//! decided, then `accepted` or `rejected` (with the decider's code and message), and for
//! commands that wait on the device, `completed` or `failed`. With `wait`, the request
//! long-polls until the command is done or the time is up.
//!
//! The outcome comes from the rides read model (`commands` table of the live `rides`
//! version); the request itself, and whose it is, from `command_requests` (both read by
//! [`super::read`]).

use super::read;
use crate::read_model::{Aged, RIDES};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::{AuthError, AuthUser, Role};
use crate::error::ApiError;
use crate::state::ApiState;

/// Longest `?wait=`.
pub const MAX_WAIT: Duration = Duration::from_secs(25);
/// How often a long poll looks again.
const POLL: Duration = Duration::from_millis(25);

/// Whether `kind` waits on the device after it was accepted.
pub fn has_device_step(kind: &str) -> bool {
    matches!(
        kind,
        "start_ride" | "end_ride" | "remote_lock" | "remote_unlock" | "locate_vehicle"
    )
}

/// `?wait=`: `5s`, `500ms` or plain seconds.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WaitQuery {
    /// Long-poll until the command is done, at most this long: `5s`, `500ms` or `5`
    /// (seconds, at most 25).
    wait: Option<String>,
}

fn parse_wait(text: &str) -> Option<Duration> {
    let text = text.trim();
    let (number, unit_ms) = if let Some(n) = text.strip_suffix("ms") {
        (n, 1)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1000)
    } else {
        (text, 1000)
    };
    let n: u64 = number.trim().parse().ok()?;
    Some(Duration::from_millis(n.checked_mul(unit_ms)?).min(MAX_WAIT))
}

/// Why a command was rejected or failed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = CommandReason)]
pub(crate) struct Reason {
    code: Option<String>,
    message: Option<String>,
}

/// What became of a command.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = CommandStatus)]
pub(crate) struct CommandView {
    command_id: Uuid,
    kind: String,
    status: String,
    /// Nothing more will happen to it.
    done: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    vehicle_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    zone_id: Option<Uuid>,
    requested_at: DateTime<Utc>,
    decided_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
    reason: Option<Reason>,
}

/// `GET /v1/commands/{command_id}`: what became of a command.
#[utoipa::path(
    get, path = "/v1/commands/{command_id}", tag = "commands", operation_id = "get_command",
    security(("bearer" = [])),
    params(("command_id" = Uuid, Path, description = "The command"), WaitQuery),
    responses(
        (status = 200, description = "Its status: `pending`, `accepted`, `rejected`, `completed` or `failed`", body = CommandView, headers(("X-Fleetlog-Data-Age-Ms" = i64))),
        (status = 400, description = "`invalid_id` or `invalid_wait`"),
        (status = 404, description = "`not_found`: no such command, or another rider's"),
    )
)]
pub(crate) async fn get(
    State(state): State<ApiState>,
    user: AuthUser,
    path: Result<Path<Uuid>, PathRejection>,
    query: Result<Query<WaitQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Aged<Json<CommandView>>, ApiError> {
    if user.role == Role::Provider {
        return Err(AuthError::Forbidden.into());
    }
    let Path(command_id) =
        path.map_err(|_| ApiError::invalid_id("command_id", "command id must be a UUID"))?;
    let wait = match query.ok().and_then(|Query(q)| q.wait) {
        None => Duration::ZERO,
        Some(text) => parse_wait(&text).ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_wait",
                "wait must look like 5s, 500ms or 5 (seconds, at most 25)",
            )
            .with_field("wait")
        })?,
    };
    let request = read::request(&state.pool, command_id).await?;
    // Riders see their own commands only; others' are as unknown as missing ones.
    let Some(read::Request {
        kind,
        target_id: target,
        requested_at,
        ..
    }) = request.filter(|r| user.role != Role::Rider || r.actor_id == user.user_id)
    else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such command",
        ));
    };
    let deadline = Instant::now() + wait;
    loop {
        let age = state.read_models.data_age(&[RIDES]).await?;
        let outcome = read::outcome(&state.read_models, command_id).await?;
        let done = outcome.as_ref().is_some_and(|o| is_done(&kind, &o.status));
        if done || Instant::now() >= deadline {
            let zone = kind == "define_zone";
            return Ok(Aged(
                age,
                Json(CommandView {
                    command_id,
                    status: outcome
                        .as_ref()
                        .map_or_else(|| "pending".to_owned(), |o| o.status.clone()),
                    done,
                    vehicle_id: (!zone).then_some(target),
                    zone_id: zone.then_some(target),
                    requested_at,
                    decided_at: outcome.as_ref().and_then(|o| o.decided_at),
                    finished_at: outcome.as_ref().and_then(|o| o.finished_at),
                    reason: outcome
                        .filter(|o| o.code.is_some() || o.message.is_some())
                        .map(|o| Reason {
                            code: o.code,
                            message: o.message,
                        }),
                    kind,
                }),
            ));
        }
        tokio::time::sleep(POLL).await;
    }
}

fn is_done(kind: &str, status: &str) -> bool {
    match status {
        "rejected" | "completed" | "failed" => true,
        "accepted" => !has_device_step(kind),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_reads_seconds_and_milliseconds_and_is_capped() {
        assert_eq!(parse_wait("5s"), Some(Duration::from_secs(5)));
        assert_eq!(parse_wait("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_wait("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_wait("999s"), Some(MAX_WAIT));
        assert_eq!(parse_wait("soon"), None);
        assert_eq!(parse_wait("-1s"), None);
    }

    #[test]
    fn accepted_is_final_only_for_commands_without_a_device_step() {
        assert!(is_done("reserve_vehicle", "accepted"));
        assert!(!is_done("start_ride", "accepted"));
        assert!(is_done("start_ride", "failed"));
        assert!(!is_done("start_ride", "pending"));
    }
}
