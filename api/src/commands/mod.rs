//! Commands over HTTP: riders reserve, ride and park; operators register, service, lock,
//! unlock, locate and draw zones. Every route validates the shape of the request, then
//! appends the command to `app.commands.v1` ([`intake`]) and answers `202` with its id;
//! the deciders rule on it, and `GET /v1/commands/{id}` ([`status`]) tells the outcome.
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
pub mod status;

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
    path.map(|Path(id)| id).map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_id",
            format!("{field} must be a UUID"),
        )
        .with_field(field)
    })
}

type VehiclePath = Result<Path<Uuid>, PathRejection>;

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
