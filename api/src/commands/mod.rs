//! Commands over HTTP: riders reserve, ride and park; operators register, service, lock,
//! unlock, locate and draw zones. Every route validates the shape of the request, then
//! appends the command to `app.commands.v1` ([`intake`]) and answers `202` with its id;
//! the deciders rule on it, and `GET /v1/commands/{id}` ([`status`]) tells the outcome.
//! Their SQL is in [`read`] and `write` (the `command_requests` rows).
//!
//! | route | who | command |
//! |---|---|---|
//! | `POST /v1/vehicles/{vehicle_id}/reserve` | rider | reserve |
//! | `POST /v1/vehicles/{vehicle_id}/cancel-reservation` | rider | cancel reservation |
//! | `POST /v1/vehicles/{vehicle_id}/start-ride` | rider | start ride (unlock) |
//! | `POST /v1/vehicles/{vehicle_id}/end-ride` | rider | end ride (lock) |
//! | `POST /v1/admin/vehicles` | operator | register vehicle |
//! | `POST /v1/admin/vehicles/{vehicle_id}/out-of-service` | operator | set out of service |
//! | `POST /v1/admin/vehicles/{vehicle_id}/in-service` | operator | back in service |
//! | `POST /v1/admin/vehicles/{vehicle_id}/lock` / `unlock` | operator | remote lock / unlock |
//! | `POST /v1/admin/vehicles/{vehicle_id}/locate` | operator | locate (beep) |
//! | `POST /v1/admin/vehicles/{vehicle_id}/end-ride` | operator | end a ride, `force` with a reason |
//! | `POST /v1/admin/vehicles/{vehicle_id}/cancel-reservation` | operator | cancel a reservation |
//! | `POST /v1/admin/zones`, `PUT /v1/admin/zones/{zone_id}` | operator | define or change a zone |
//! | `GET /v1/commands/{command_id}[?wait=5s]` | the issuer, or staff | the outcome |

pub mod bodies;
pub mod intake;
pub mod log;
pub mod read;
pub mod status;
mod write;

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post, put};
use fleetlog_schemas::events::{AppCommandBody as B, LocateVehicle, ReserveVehicle};
use uuid::Uuid;

use crate::auth::extract::{RequireOperator, RequireRider};
use crate::error::ApiError;
use crate::json::{ApiJson, OptionalJson};
use crate::state::ApiState;
use bodies::{
    CancelReservationBody, EndRideBody, InServiceBody, OutOfServiceBody, RegisterVehicleBody,
    RemoteBody, StartRideBody, ZoneBody,
};

pub use log::CommandLog;

/// The OpenAPI description of these routes.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    status::get,
    reserve,
    rider_cancel,
    start_ride,
    rider_end,
    register,
    out_of_service,
    in_service,
    lock,
    unlock,
    locate,
    operator_end,
    operator_cancel,
    create_zone,
    define_zone
))]
pub(crate) struct Doc;

/// The command routes.
pub fn router() -> Router<ApiState> {
    Router::new()
        .route("/v1/commands/{command_id}", get(status::get))
        .route("/v1/vehicles/{vehicle_id}/reserve", post(reserve))
        .route(
            "/v1/vehicles/{vehicle_id}/cancel-reservation",
            post(rider_cancel),
        )
        .route("/v1/vehicles/{vehicle_id}/start-ride", post(start_ride))
        .route("/v1/vehicles/{vehicle_id}/end-ride", post(rider_end))
        .route("/v1/admin/vehicles", post(register))
        .route(
            "/v1/admin/vehicles/{vehicle_id}/out-of-service",
            post(out_of_service),
        )
        .route(
            "/v1/admin/vehicles/{vehicle_id}/in-service",
            post(in_service),
        )
        .route("/v1/admin/vehicles/{vehicle_id}/lock", post(lock))
        .route("/v1/admin/vehicles/{vehicle_id}/unlock", post(unlock))
        .route("/v1/admin/vehicles/{vehicle_id}/locate", post(locate))
        .route(
            "/v1/admin/vehicles/{vehicle_id}/end-ride",
            post(operator_end),
        )
        .route(
            "/v1/admin/vehicles/{vehicle_id}/cancel-reservation",
            post(operator_cancel),
        )
        .route("/v1/admin/zones", post(create_zone))
        .route("/v1/admin/zones/{zone_id}", put(define_zone))
}

/// A UUID path segment, or `400 invalid_id` naming it.
fn id(path: Result<Path<Uuid>, PathRejection>, field: &str) -> Result<Uuid, ApiError> {
    path.map(|Path(id)| id)
        .map_err(|_| ApiError::invalid_id(field, format!("{field} must be a UUID")))
}

type VehiclePath = Result<Path<Uuid>, PathRejection>;

/// `POST /v1/vehicles/{vehicle_id}/reserve` (riders): reserve the vehicle.
#[utoipa::path(
    post, path = "/v1/vehicles/{vehicle_id}/reserve", tag = "commands",
    security(("bearer" = [])),
    params(("vehicle_id" = Uuid, Path, description = "The vehicle"), ("Idempotency-Key" = Option<String>, Header, nullable = false, description = "1 to 200 printable ASCII characters; a retry with the same key and command answers the first command")),
    responses(
        (status = 202, description = "Appended to the log; follow `Location`", body = intake::CommandAccepted,
            headers(("Location" = String, description = "`/v1/commands/{command_id}`"))),
        (status = 400, description = "`invalid_id` (a path id that is not a UUID) or `invalid_idempotency_key`"),
        (status = 422, description = "`idempotency_key_reused`, or a body of the wrong shape (`field` names it)"),
        (status = 503, description = "`log_unavailable`: the broker did not take it (retry with the same key), or `timeout`",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
async fn reserve(
    State(state): State<ApiState>,
    RequireRider(user): RequireRider,
    headers: HeaderMap,
    path: VehiclePath,
) -> Result<Response, ApiError> {
    let vehicle_id = id(path, "vehicle_id")?;
    let body = B::ReserveVehicle(ReserveVehicle { vehicle_id });
    intake::submit(&state, user, &headers, body).await
}

/// `POST …/cancel-reservation` (riders): cancel the reservation.
#[utoipa::path(
    post, path = "/v1/vehicles/{vehicle_id}/cancel-reservation", tag = "commands",
    security(("bearer" = [])),
    params(("vehicle_id" = Uuid, Path, description = "The vehicle"), ("Idempotency-Key" = Option<String>, Header, nullable = false, description = "1 to 200 printable ASCII characters; a retry with the same key and command answers the first command")),
    request_body = Option<CancelReservationBody>,
    responses(
        (status = 202, description = "Appended to the log; follow `Location`", body = intake::CommandAccepted,
            headers(("Location" = String, description = "`/v1/commands/{command_id}`"))),
        (status = 400, description = "`invalid_id` (a path id that is not a UUID) or `invalid_idempotency_key`"),
        (status = 422, description = "`idempotency_key_reused`, or a body of the wrong shape (`field` names it)"),
        (status = 503, description = "`log_unavailable`: the broker did not take it (retry with the same key), or `timeout`",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
async fn rider_cancel(
    State(state): State<ApiState>,
    RequireRider(user): RequireRider,
    headers: HeaderMap,
    path: VehiclePath,
    OptionalJson(body): OptionalJson<CancelReservationBody>,
) -> Result<Response, ApiError> {
    let vehicle_id = id(path, "vehicle_id")?;
    let body = B::CancelReservation(body.command(vehicle_id)?);
    intake::submit(&state, user, &headers, body).await
}

/// `POST …/start-ride` (riders): start a ride (unlock).
#[utoipa::path(
    post, path = "/v1/vehicles/{vehicle_id}/start-ride", tag = "commands",
    security(("bearer" = [])),
    params(("vehicle_id" = Uuid, Path, description = "The vehicle"), ("Idempotency-Key" = Option<String>, Header, nullable = false, description = "1 to 200 printable ASCII characters; a retry with the same key and command answers the first command")),
    request_body = Option<StartRideBody>,
    responses(
        (status = 202, description = "Appended to the log; follow `Location`", body = intake::CommandAccepted,
            headers(("Location" = String, description = "`/v1/commands/{command_id}`"))),
        (status = 400, description = "`invalid_id` (a path id that is not a UUID) or `invalid_idempotency_key`"),
        (status = 422, description = "`idempotency_key_reused`, or a body of the wrong shape (`field` names it)"),
        (status = 503, description = "`log_unavailable`: the broker did not take it (retry with the same key), or `timeout`",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
async fn start_ride(
    State(state): State<ApiState>,
    RequireRider(user): RequireRider,
    headers: HeaderMap,
    path: VehiclePath,
    OptionalJson(body): OptionalJson<StartRideBody>,
) -> Result<Response, ApiError> {
    let vehicle_id = id(path, "vehicle_id")?;
    let body = B::StartRide(body.command(vehicle_id)?);
    intake::submit(&state, user, &headers, body).await
}

/// `POST …/end-ride` (riders): end the ride (lock, then priced).
#[utoipa::path(
    post, path = "/v1/vehicles/{vehicle_id}/end-ride", tag = "commands",
    security(("bearer" = [])),
    params(("vehicle_id" = Uuid, Path, description = "The vehicle"), ("Idempotency-Key" = Option<String>, Header, nullable = false, description = "1 to 200 printable ASCII characters; a retry with the same key and command answers the first command")),
    request_body = Option<EndRideBody>,
    responses(
        (status = 202, description = "Appended to the log; follow `Location`", body = intake::CommandAccepted,
            headers(("Location" = String, description = "`/v1/commands/{command_id}`"))),
        (status = 400, description = "`invalid_id` (a path id that is not a UUID) or `invalid_idempotency_key`"),
        (status = 403, description = "`forbidden`: not a rider, or `force` (operators only)"),
        (status = 422, description = "`idempotency_key_reused`, or a body of the wrong shape (`field` names it)"),
        (status = 503, description = "`log_unavailable`: the broker did not take it (retry with the same key), or `timeout`",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
async fn rider_end(
    State(state): State<ApiState>,
    RequireRider(user): RequireRider,
    headers: HeaderMap,
    path: VehiclePath,
    OptionalJson(body): OptionalJson<EndRideBody>,
) -> Result<Response, ApiError> {
    let vehicle_id = id(path, "vehicle_id")?;
    if body.force {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "only operators may force the end of a ride",
        )
        .with_field("force"));
    }
    let body = B::EndRide(body.command(vehicle_id)?);
    intake::submit(&state, user, &headers, body).await
}

/// `POST /v1/admin/vehicles` (operators): register a vehicle.
#[utoipa::path(
    post, path = "/v1/admin/vehicles", tag = "commands",
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, nullable = false, description = "1 to 200 printable ASCII characters; a retry with the same key and command answers the first command")),
    request_body = RegisterVehicleBody,
    responses(
        (status = 202, description = "Appended to the log; follow `Location`", body = intake::CommandAccepted,
            headers(("Location" = String, description = "`/v1/commands/{command_id}`"))),
        (status = 400, description = "`invalid_idempotency_key`"),
        (status = 422, description = "`idempotency_key_reused`, or a body of the wrong shape (`field` names it)"),
        (status = 503, description = "`log_unavailable`: the broker did not take it (retry with the same key), or `timeout`",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
async fn register(
    State(state): State<ApiState>,
    RequireOperator(user): RequireOperator,
    headers: HeaderMap,
    ApiJson(body): ApiJson<RegisterVehicleBody>,
) -> Result<Response, ApiError> {
    let new_id = intake::new_id(user, &headers)?;
    let body = B::RegisterVehicle(body.command(new_id)?);
    intake::submit(&state, user, &headers, body).await
}

/// `POST …/out-of-service` (operators): take the vehicle out of service.
#[utoipa::path(
    post, path = "/v1/admin/vehicles/{vehicle_id}/out-of-service", tag = "commands",
    security(("bearer" = [])),
    params(("vehicle_id" = Uuid, Path, description = "The vehicle"), ("Idempotency-Key" = Option<String>, Header, nullable = false, description = "1 to 200 printable ASCII characters; a retry with the same key and command answers the first command")),
    request_body = OutOfServiceBody,
    responses(
        (status = 202, description = "Appended to the log; follow `Location`", body = intake::CommandAccepted,
            headers(("Location" = String, description = "`/v1/commands/{command_id}`"))),
        (status = 400, description = "`invalid_id` (a path id that is not a UUID) or `invalid_idempotency_key`"),
        (status = 422, description = "`idempotency_key_reused`, or a body of the wrong shape (`field` names it)"),
        (status = 503, description = "`log_unavailable`: the broker did not take it (retry with the same key), or `timeout`",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
async fn out_of_service(
    State(state): State<ApiState>,
    RequireOperator(user): RequireOperator,
    headers: HeaderMap,
    path: VehiclePath,
    ApiJson(body): ApiJson<OutOfServiceBody>,
) -> Result<Response, ApiError> {
    let vehicle_id = id(path, "vehicle_id")?;
    let body = B::SetOutOfService(body.command(vehicle_id)?);
    intake::submit(&state, user, &headers, body).await
}

/// `POST …/in-service` (operators): back in service.
#[utoipa::path(
    post, path = "/v1/admin/vehicles/{vehicle_id}/in-service", tag = "commands",
    security(("bearer" = [])),
    params(("vehicle_id" = Uuid, Path, description = "The vehicle"), ("Idempotency-Key" = Option<String>, Header, nullable = false, description = "1 to 200 printable ASCII characters; a retry with the same key and command answers the first command")),
    request_body = Option<InServiceBody>,
    responses(
        (status = 202, description = "Appended to the log; follow `Location`", body = intake::CommandAccepted,
            headers(("Location" = String, description = "`/v1/commands/{command_id}`"))),
        (status = 400, description = "`invalid_id` (a path id that is not a UUID) or `invalid_idempotency_key`"),
        (status = 422, description = "`idempotency_key_reused`, or a body of the wrong shape (`field` names it)"),
        (status = 503, description = "`log_unavailable`: the broker did not take it (retry with the same key), or `timeout`",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
async fn in_service(
    State(state): State<ApiState>,
    RequireOperator(user): RequireOperator,
    headers: HeaderMap,
    path: VehiclePath,
    OptionalJson(body): OptionalJson<InServiceBody>,
) -> Result<Response, ApiError> {
    let vehicle_id = id(path, "vehicle_id")?;
    let body = B::SetInService(body.command(vehicle_id)?);
    intake::submit(&state, user, &headers, body).await
}

/// `POST …/lock` (operators): remote lock.
#[utoipa::path(
    post, path = "/v1/admin/vehicles/{vehicle_id}/lock", tag = "commands",
    security(("bearer" = [])),
    params(("vehicle_id" = Uuid, Path, description = "The vehicle"), ("Idempotency-Key" = Option<String>, Header, nullable = false, description = "1 to 200 printable ASCII characters; a retry with the same key and command answers the first command")),
    request_body = Option<RemoteBody>,
    responses(
        (status = 202, description = "Appended to the log; follow `Location`", body = intake::CommandAccepted,
            headers(("Location" = String, description = "`/v1/commands/{command_id}`"))),
        (status = 400, description = "`invalid_id` (a path id that is not a UUID) or `invalid_idempotency_key`"),
        (status = 422, description = "`idempotency_key_reused`, or a body of the wrong shape (`field` names it)"),
        (status = 503, description = "`log_unavailable`: the broker did not take it (retry with the same key), or `timeout`",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
async fn lock(
    State(state): State<ApiState>,
    RequireOperator(user): RequireOperator,
    headers: HeaderMap,
    path: VehiclePath,
    OptionalJson(body): OptionalJson<RemoteBody>,
) -> Result<Response, ApiError> {
    let vehicle_id = id(path, "vehicle_id")?;
    let body = B::RemoteLock(body.lock(vehicle_id)?);
    intake::submit(&state, user, &headers, body).await
}

/// `POST …/unlock` (operators): remote unlock.
#[utoipa::path(
    post, path = "/v1/admin/vehicles/{vehicle_id}/unlock", tag = "commands",
    security(("bearer" = [])),
    params(("vehicle_id" = Uuid, Path, description = "The vehicle"), ("Idempotency-Key" = Option<String>, Header, nullable = false, description = "1 to 200 printable ASCII characters; a retry with the same key and command answers the first command")),
    request_body = Option<RemoteBody>,
    responses(
        (status = 202, description = "Appended to the log; follow `Location`", body = intake::CommandAccepted,
            headers(("Location" = String, description = "`/v1/commands/{command_id}`"))),
        (status = 400, description = "`invalid_id` (a path id that is not a UUID) or `invalid_idempotency_key`"),
        (status = 422, description = "`idempotency_key_reused`, or a body of the wrong shape (`field` names it)"),
        (status = 503, description = "`log_unavailable`: the broker did not take it (retry with the same key), or `timeout`",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
async fn unlock(
    State(state): State<ApiState>,
    RequireOperator(user): RequireOperator,
    headers: HeaderMap,
    path: VehiclePath,
    OptionalJson(body): OptionalJson<RemoteBody>,
) -> Result<Response, ApiError> {
    let vehicle_id = id(path, "vehicle_id")?;
    let body = B::RemoteUnlock(body.unlock(vehicle_id)?);
    intake::submit(&state, user, &headers, body).await
}

/// `POST …/locate` (operators): beep and report.
#[utoipa::path(
    post, path = "/v1/admin/vehicles/{vehicle_id}/locate", tag = "commands",
    security(("bearer" = [])),
    params(("vehicle_id" = Uuid, Path, description = "The vehicle"), ("Idempotency-Key" = Option<String>, Header, nullable = false, description = "1 to 200 printable ASCII characters; a retry with the same key and command answers the first command")),
    responses(
        (status = 202, description = "Appended to the log; follow `Location`", body = intake::CommandAccepted,
            headers(("Location" = String, description = "`/v1/commands/{command_id}`"))),
        (status = 400, description = "`invalid_id` (a path id that is not a UUID) or `invalid_idempotency_key`"),
        (status = 422, description = "`idempotency_key_reused`, or a body of the wrong shape (`field` names it)"),
        (status = 503, description = "`log_unavailable`: the broker did not take it (retry with the same key), or `timeout`",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
async fn locate(
    State(state): State<ApiState>,
    RequireOperator(user): RequireOperator,
    headers: HeaderMap,
    path: VehiclePath,
) -> Result<Response, ApiError> {
    let vehicle_id = id(path, "vehicle_id")?;
    let body = B::LocateVehicle(LocateVehicle { vehicle_id });
    intake::submit(&state, user, &headers, body).await
}

/// `POST /v1/admin/vehicles/{vehicle_id}/end-ride` (operators): end a ride, `force` with a reason.
#[utoipa::path(
    post, path = "/v1/admin/vehicles/{vehicle_id}/end-ride", tag = "commands",
    security(("bearer" = [])),
    params(("vehicle_id" = Uuid, Path, description = "The vehicle"), ("Idempotency-Key" = Option<String>, Header, nullable = false, description = "1 to 200 printable ASCII characters; a retry with the same key and command answers the first command")),
    request_body = Option<EndRideBody>,
    responses(
        (status = 202, description = "Appended to the log; follow `Location`", body = intake::CommandAccepted,
            headers(("Location" = String, description = "`/v1/commands/{command_id}`"))),
        (status = 400, description = "`invalid_id` (a path id that is not a UUID) or `invalid_idempotency_key`"),
        (status = 422, description = "`idempotency_key_reused`, or a body of the wrong shape (`field` names it)"),
        (status = 503, description = "`log_unavailable`: the broker did not take it (retry with the same key), or `timeout`",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
async fn operator_end(
    State(state): State<ApiState>,
    RequireOperator(user): RequireOperator,
    headers: HeaderMap,
    path: VehiclePath,
    OptionalJson(body): OptionalJson<EndRideBody>,
) -> Result<Response, ApiError> {
    let vehicle_id = id(path, "vehicle_id")?;
    let body = B::EndRide(body.command(vehicle_id)?);
    intake::submit(&state, user, &headers, body).await
}

/// `POST /v1/admin/vehicles/{vehicle_id}/cancel-reservation` (operators): cancel a reservation.
#[utoipa::path(
    post, path = "/v1/admin/vehicles/{vehicle_id}/cancel-reservation", tag = "commands",
    security(("bearer" = [])),
    params(("vehicle_id" = Uuid, Path, description = "The vehicle"), ("Idempotency-Key" = Option<String>, Header, nullable = false, description = "1 to 200 printable ASCII characters; a retry with the same key and command answers the first command")),
    request_body = Option<CancelReservationBody>,
    responses(
        (status = 202, description = "Appended to the log; follow `Location`", body = intake::CommandAccepted,
            headers(("Location" = String, description = "`/v1/commands/{command_id}`"))),
        (status = 400, description = "`invalid_id` (a path id that is not a UUID) or `invalid_idempotency_key`"),
        (status = 422, description = "`idempotency_key_reused`, or a body of the wrong shape (`field` names it)"),
        (status = 503, description = "`log_unavailable`: the broker did not take it (retry with the same key), or `timeout`",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
async fn operator_cancel(
    State(state): State<ApiState>,
    RequireOperator(user): RequireOperator,
    headers: HeaderMap,
    path: VehiclePath,
    OptionalJson(body): OptionalJson<CancelReservationBody>,
) -> Result<Response, ApiError> {
    let vehicle_id = id(path, "vehicle_id")?;
    let body = B::CancelReservation(body.command(vehicle_id)?);
    intake::submit(&state, user, &headers, body).await
}

/// `POST /v1/admin/zones` (operators): define a new zone.
#[utoipa::path(
    post, path = "/v1/admin/zones", tag = "commands",
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, nullable = false, description = "1 to 200 printable ASCII characters; a retry with the same key and command answers the first command")),
    request_body = ZoneBody,
    responses(
        (status = 202, description = "Appended to the log; follow `Location`", body = intake::CommandAccepted,
            headers(("Location" = String, description = "`/v1/commands/{command_id}`"))),
        (status = 400, description = "`invalid_idempotency_key`"),
        (status = 422, description = "`idempotency_key_reused`, or a body of the wrong shape (`field` names it)"),
        (status = 503, description = "`log_unavailable`: the broker did not take it (retry with the same key), or `timeout`",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
async fn create_zone(
    State(state): State<ApiState>,
    RequireOperator(user): RequireOperator,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ZoneBody>,
) -> Result<Response, ApiError> {
    let zone_id = intake::new_id(user, &headers)?;
    let body = B::DefineZone(body.command(zone_id)?);
    intake::submit(&state, user, &headers, body).await
}

/// `PUT /v1/admin/zones/{zone_id}` (operators): define or change a zone.
#[utoipa::path(
    put, path = "/v1/admin/zones/{zone_id}", tag = "commands",
    security(("bearer" = [])),
    params(("zone_id" = Uuid, Path, description = "The zone"), ("Idempotency-Key" = Option<String>, Header, nullable = false, description = "1 to 200 printable ASCII characters; a retry with the same key and command answers the first command")),
    request_body = ZoneBody,
    responses(
        (status = 202, description = "Appended to the log; follow `Location`", body = intake::CommandAccepted,
            headers(("Location" = String, description = "`/v1/commands/{command_id}`"))),
        (status = 400, description = "`invalid_id` (a path id that is not a UUID) or `invalid_idempotency_key`"),
        (status = 422, description = "`idempotency_key_reused`, or a body of the wrong shape (`field` names it)"),
        (status = 503, description = "`log_unavailable`: the broker did not take it (retry with the same key), or `timeout`",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
async fn define_zone(
    State(state): State<ApiState>,
    RequireOperator(user): RequireOperator,
    headers: HeaderMap,
    path: Result<Path<Uuid>, PathRejection>,
    ApiJson(body): ApiJson<ZoneBody>,
) -> Result<Response, ApiError> {
    let zone_id = id(path, "zone_id")?;
    let body = B::DefineZone(body.command(zone_id)?);
    intake::submit(&state, user, &headers, body).await
}
