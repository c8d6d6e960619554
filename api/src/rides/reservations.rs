//! A rider's reservations from the rides read model: `GET /v1/me/reservations` (newest
//! first, cursor paginated, `?state=active|cancelled|expired|converted` to filter; read by
//! [`super::read::reservations_of`]).

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::{AuthError, AuthUser, Role};
use crate::error::ApiError;
use crate::page::{self, After, Page};
use crate::read_model::{Aged, RIDES};
use crate::state::ApiState;

const STATES: [&str; 4] = ["active", "cancelled", "expired", "converted"];

/// `?state=&limit=&cursor=`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ReservationQuery {
    /// Only reservations in this state: `active`, `cancelled`, `expired` or `converted`.
    state: Option<String>,
    /// Reservations per page, 1 to 100 (default 20).
    limit: Option<i64>,
    /// A previous page's `next_cursor`.
    cursor: Option<String>,
}

/// One reservation as the rider sees it.
#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[schema(as = Reservation)]
pub(crate) struct ReservationView {
    reservation_id: Uuid,
    vehicle_id: Uuid,
    /// `active`, then the first of `cancelled`, `expired` or `converted` (into a ride).
    state: String,
    made_at: Option<DateTime<Utc>>,
    expires_at: Option<DateTime<Utc>>,
    ended_at: Option<DateTime<Utc>>,
    reason: Option<String>,
    /// The ride it became, once converted.
    ride_id: Option<Uuid>,
}

/// The rider's reservations, newest first.
#[utoipa::path(
    get, path = "/v1/me/reservations", tag = "rides", operation_id = "my_reservations",
    security(("bearer" = [])),
    params(ReservationQuery),
    responses(
        (status = 200, description = "A page of reservations", body = Page<ReservationView>, headers(("X-Fleetlog-Data-Age-Ms" = i64))),
        (status = 400, description = "`invalid_parameter` (`state`, `limit` or `cursor`)"),
    )
)]
pub(super) async fn my_reservations(
    State(state): State<ApiState>,
    user: AuthUser,
    query: Result<Query<ReservationQuery>, QueryRejection>,
) -> Result<Aged<Json<Page<ReservationView>>>, ApiError> {
    if user.role != Role::Rider {
        return Err(AuthError::Forbidden.into());
    }
    let Query(q) =
        query.map_err(|_| ApiError::invalid_parameter("limit", "limit must be a number"))?;
    if q.state.as_deref().is_some_and(|s| !STATES.contains(&s)) {
        return Err(ApiError::invalid_parameter(
            "state",
            "state must be active, cancelled, expired or converted",
        ));
    }
    let limit = page::limit(q.limit, page::HISTORY)?;
    let after: Option<After> = page::cursor(q.cursor.as_deref())?;
    let age = state.read_models.data_age(&[RIDES]).await?;
    let rows = super::read::reservations_of(
        &state.read_models,
        user.user_id,
        q.state.as_deref(),
        after,
        limit + 1,
    )
    .await?;
    let page = Page::of(rows, limit, |r: &ReservationView| {
        Some((r.made_at?, r.reservation_id))
    });
    Ok(Aged(age, Json(page)))
}
