//! The handlers of [`super::router`].

use crate::read_model::{DataAge, FLEET, RIDES};
use std::collections::HashMap;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use super::hour::{Hour, Readiness, readiness};
use super::read::{self, EventFilter};
use super::{BODY_VERSION, Mds, check_accept, json as mds_json};
use crate::auth::RequireProvider;
use crate::error::ApiError;
use crate::page::{Cursor, Page};
use crate::state::ApiState;

type Params = Query<HashMap<String, String>>;

/// Two weeks: the oldest `start_time` of `/events/recent`, ms.
const RECENT_WINDOW_MS: i64 = 14 * 24 * 3_600_000;

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn query_params(
    query: Result<Params, QueryRejection>,
) -> Result<HashMap<String, String>, ApiError> {
    query
        .map(|Query(params)| params)
        .map_err(|_| ApiError::invalid_parameter("query", "the query string cannot be read"))
}

fn db(err: sqlx::Error) -> ApiError {
    ApiError::internal(err)
}

fn device_id(path: Result<Path<String>, PathRejection>) -> Result<Uuid, ApiError> {
    let raw = path.map(|Path(raw)| raw).unwrap_or_default();
    Uuid::parse_str(&raw).map_err(|_| ApiError::invalid_id("device_id", "device_id is not a UUID"))
}

/// The data age of the read models behind MDS (fleet and rides): measure it before
/// reading.
async fn data_age(state: &ApiState) -> Result<DataAge, ApiError> {
    Ok(state.read_models.data_age(&[FLEET, RIDES]).await?)
}

/// `version`, `last_updated` and `ttl` of a near-real-time answer.
fn realtime(state: &ApiState, age: DataAge, payload: (&str, Vec<Value>)) -> Value {
    let mut body = json!({
        "version": BODY_VERSION,
        "last_updated": age.last_updated(chrono::Utc::now()).timestamp_millis(),
        "ttl": state.mds.ttl_ms,
    });
    body[payload.0] = Value::Array(payload.1);
    body
}

/// `links` of a page: `first`, and `next` (null on the last page).
fn links(origin: &str, path: &str, fixed: &str, next: Option<String>) -> Value {
    let url = |extra: &str| {
        let query = [fixed, extra]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join("&");
        if query.is_empty() {
            format!("{origin}{path}")
        } else {
            format!("{origin}{path}?{query}")
        }
    };
    json!({
        "first": url(""),
        "next": next.map(|after| url(&format!("after={after}"))),
    })
}

fn origin(state: &ApiState, headers: &HeaderMap) -> Result<String, ApiError> {
    match state
        .gbfs
        .base_url
        .as_deref()
        .and_then(|b| b.strip_suffix("/gbfs"))
    {
        Some(base) => Ok(base.to_owned()),
        None => crate::gbfs::request_origin(headers),
    }
}

/// `?after=`: where an MDS page starts (a [`Cursor`], as in the API's own pages).
fn page_after<C: Cursor>(params: &HashMap<String, String>) -> Result<Option<C>, ApiError> {
    params
        .get("after")
        .map(|a| {
            C::decode(a).ok_or_else(|| ApiError::invalid_parameter("after", "not a page cursor"))
        })
        .transpose()
}

/// Where an `/events/recent` page starts: after the event `(timestamp, event_id)`,
/// written `<ts>_<event_id>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct EventAfter(i64, Uuid);

impl Cursor for EventAfter {
    fn encode(&self) -> String {
        format!("{}_{}", self.0, self.1)
    }

    fn decode(text: &str) -> Option<Self> {
        let (ts, id) = text.split_once('_')?;
        Some(Self(ts.parse().ok()?, Uuid::parse_str(id).ok()?))
    }
}

/// One page of vehicles after `?after=` (`page_size` of them) and the cursor of the next
/// page, if there is one: what `/mds/vehicles` and `/mds/vehicles/status` page through.
async fn vehicle_page(
    state: &ApiState,
    params: &HashMap<String, String>,
) -> Result<(Vec<read::VehicleRow>, Option<String>), ApiError> {
    let after: Option<Uuid> = page_after(params)?;
    let size = i64::from(state.mds.page_size);
    let rows = read::vehicles(&state.read_models, after, None, size + 1)
        .await
        .map_err(db)?;
    let page = Page::of(rows, size, |r: &read::VehicleRow| Some(r.vehicle_id));
    Ok((page.items, page.next_cursor))
}
/// `GET /mds/vehicles`.
pub(super) async fn vehicles(
    RequireProvider(_): RequireProvider,
    State(state): State<ApiState>,
    headers: HeaderMap,
    query: Result<Params, QueryRejection>,
) -> Result<Mds, ApiError> {
    check_accept(&headers)?;
    let params = query_params(query)?;
    let age = data_age(&state).await?;
    let (rows, next) = vehicle_page(&state, &params).await?;
    let items = rows
        .iter()
        .map(|r| mds_json::vehicle(&state.mds, r))
        .collect();
    let mut body = realtime(&state, age, ("vehicles", items));
    body["links"] = links(&origin(&state, &headers)?, "/mds/vehicles", "", next);
    Ok(Mds::ok(body, age))
}

/// `GET /mds/vehicles/{device_id}`.
pub(super) async fn vehicle(
    RequireProvider(_): RequireProvider,
    State(state): State<ApiState>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Result<Mds, ApiError> {
    check_accept(&headers)?;
    let id = device_id(path)?;
    let age = data_age(&state).await?;
    let rows = read::vehicles(&state.read_models, None, Some(id), 1)
        .await
        .map_err(db)?;
    if rows.is_empty() {
        return Err(ApiError::not_found());
    }
    let items = rows
        .iter()
        .map(|r| mds_json::vehicle(&state.mds, r))
        .collect();
    Ok(Mds::ok(realtime(&state, age, ("vehicles", items)), age))
}

/// The statuses of `ids` (vehicles with both an event and a telemetry point).
async fn statuses_of(state: &ApiState, ids: &[Uuid]) -> Result<Vec<Value>, ApiError> {
    let events = read::events(&state.read_models, EventFilter::LatestOf, Some(ids))
        .await
        .map_err(db)?;
    let points = read::telemetry(&state.read_models, None, Some(ids))
        .await
        .map_err(db)?;
    let points: HashMap<Uuid, _> = points.into_iter().map(|p| (p.vehicle_id, p)).collect();
    let mut events: Vec<_> = events.into_iter().collect();
    events.sort_by_key(|e| e.vehicle_id);
    Ok(events
        .iter()
        .filter_map(|e| {
            let point = points.get(&e.vehicle_id)?;
            Some(mds_json::status(&state.mds, e.vehicle_id, e, point))
        })
        .collect())
}

/// `GET /mds/vehicles/status`.
pub(super) async fn statuses(
    RequireProvider(_): RequireProvider,
    State(state): State<ApiState>,
    headers: HeaderMap,
    query: Result<Params, QueryRejection>,
) -> Result<Mds, ApiError> {
    check_accept(&headers)?;
    let params = query_params(query)?;
    let age = data_age(&state).await?;
    let (rows, next) = vehicle_page(&state, &params).await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.vehicle_id).collect();
    let items = statuses_of(&state, &ids).await?;
    let mut body = realtime(&state, age, ("vehicles_status", items));
    body["links"] = links(&origin(&state, &headers)?, "/mds/vehicles/status", "", next);
    Ok(Mds::ok(body, age))
}

/// `GET /mds/vehicles/status/{device_id}`.
pub(super) async fn status(
    RequireProvider(_): RequireProvider,
    State(state): State<ApiState>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Result<Mds, ApiError> {
    check_accept(&headers)?;
    let id = device_id(path)?;
    let age = data_age(&state).await?;
    let items = statuses_of(&state, &[id]).await?;
    if items.is_empty() {
        return Err(ApiError::not_found());
    }
    Ok(Mds::ok(
        realtime(&state, age, ("vehicles_status", items)),
        age,
    ))
}

/// The readiness of `hour` for `/trips` and `/events/historical`: `Err` for 404,
/// `Ok(Err(202))` while not final, `Ok(Ok(age))` when final.
async fn final_hour(state: &ApiState, hour: Hour) -> Result<Result<DataAge, Mds>, ApiError> {
    let age = data_age(state).await?;
    let first = read::first_operation_ms(&state.read_models)
        .await
        .map_err(db)?;
    let current_as_of_ms = age.known_current_at().map(|at| at.timestamp_millis());
    match readiness(
        hour,
        now_ms(),
        state.mds.hour_close_delay_ms,
        current_as_of_ms,
        first,
    ) {
        Readiness::NotPast => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "hour_not_past",
            "this hour is not over yet",
        )),
        Readiness::NotOperating => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_operating",
            "no operations during this hour",
        )),
        Readiness::Processing => Ok(Err(Mds::processing(age))),
        Readiness::Closed => Ok(Ok(age)),
    }
}

/// `GET /mds/trips?end_time=`.
pub(super) async fn trips(
    RequireProvider(_): RequireProvider,
    State(state): State<ApiState>,
    headers: HeaderMap,
    query: Result<Params, QueryRejection>,
) -> Result<Mds, ApiError> {
    check_accept(&headers)?;
    let params = query_params(query)?;
    let hour = Hour::parse("end_time", params.get("end_time").map(String::as_str))?;
    let age = match final_hour(&state, hour).await? {
        Ok(age) => age,
        Err(processing) => return Ok(processing),
    };
    let rows = read::trips(&state.read_models, hour.start_ms, hour.end_ms())
        .await
        .map_err(db)?;
    let trips: Vec<Value> = rows.iter().map(|r| mds_json::trip(&state.mds, r)).collect();
    Ok(Mds::ok(
        json!({ "version": BODY_VERSION, "trips": trips }),
        age,
    ))
}

fn events_body(state: &ApiState, rows: &[read::EventRow]) -> Value {
    let events: Vec<Value> = rows
        .iter()
        .map(|r| mds_json::event(&state.mds, r))
        .collect();
    json!({ "version": BODY_VERSION, "events": events })
}

/// `GET /mds/events/historical?event_time=`.
pub(super) async fn historical_events(
    RequireProvider(_): RequireProvider,
    State(state): State<ApiState>,
    headers: HeaderMap,
    query: Result<Params, QueryRejection>,
) -> Result<Mds, ApiError> {
    check_accept(&headers)?;
    let params = query_params(query)?;
    let hour = Hour::parse("event_time", params.get("event_time").map(String::as_str))?;
    let age = match final_hour(&state, hour).await? {
        Ok(age) => age,
        Err(processing) => return Ok(processing),
    };
    let filter = EventFilter::Range {
        from_ms: hour.start_ms,
        to_ms: hour.end_ms(),
        after: None,
        limit: i64::MAX,
    };
    let rows = read::events(&state.read_models, filter, None)
        .await
        .map_err(db)?;
    Ok(Mds::ok(events_body(&state, &rows), age))
}

fn millis(params: &HashMap<String, String>, field: &'static str) -> Result<i64, ApiError> {
    let raw = params.get(field).ok_or_else(|| {
        ApiError::invalid_parameter(field, "required: a time in ms since the epoch")
    })?;
    raw.parse::<i64>()
        .ok()
        .filter(|ms| *ms >= 0)
        .ok_or_else(|| ApiError::invalid_parameter(field, "not a time in ms since the epoch"))
}

/// `GET /mds/events/recent?start_time=&end_time=`.
pub(super) async fn recent_events(
    RequireProvider(_): RequireProvider,
    State(state): State<ApiState>,
    headers: HeaderMap,
    query: Result<Params, QueryRejection>,
) -> Result<Mds, ApiError> {
    check_accept(&headers)?;
    let params = query_params(query)?;
    let start = millis(&params, "start_time")?;
    let end = millis(&params, "end_time")?;
    if end < start {
        return Err(ApiError::invalid_parameter("end_time", "before start_time"));
    }
    if start < now_ms() - RECENT_WINDOW_MS {
        return Err(ApiError::invalid_parameter(
            "start_time",
            "more than two weeks ago",
        ));
    }
    let after: Option<EventAfter> = page_after(&params)?;
    let age = data_age(&state).await?;
    let size = i64::from(state.mds.page_size);
    let filter = EventFilter::Range {
        from_ms: start,
        to_ms: end,
        after: after.map(|EventAfter(ts, id)| (ts, id)),
        limit: size + 1,
    };
    let rows = read::events(&state.read_models, filter, None)
        .await
        .map_err(db)?;
    let page = Page::of(rows, size, |r: &read::EventRow| {
        Some(EventAfter(r.ts, r.event_id))
    });
    let mut body = events_body(&state, &page.items);
    body["links"] = links(
        &origin(&state, &headers)?,
        "/mds/events/recent",
        &format!("start_time={start}&end_time={end}"),
        page.next_cursor,
    );
    Ok(Mds::ok(body, age))
}

/// `GET /mds/telemetry?telemetry_time=`.
pub(super) async fn telemetry(
    RequireProvider(_): RequireProvider,
    State(state): State<ApiState>,
    headers: HeaderMap,
    query: Result<Params, QueryRejection>,
) -> Result<Mds, ApiError> {
    check_accept(&headers)?;
    let params = query_params(query)?;
    let hour = Hour::parse(
        "telemetry_time",
        params.get("telemetry_time").map(String::as_str),
    )?;
    let age = data_age(&state).await?;
    let rows = read::telemetry(
        &state.read_models,
        Some((hour.start_ms, hour.end_ms())),
        None,
    )
    .await
    .map_err(db)?;
    let points: Vec<Value> = rows
        .iter()
        .map(|r| mds_json::telemetry(&state.mds, r))
        .collect();
    Ok(Mds::ok(
        json!({ "version": BODY_VERSION, "telemetry": points }),
        age,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_cursor_reads_back_what_it_writes_and_garbage_is_refused() {
        let after = EventAfter(1_764_000_000_123, Uuid::from_u128(7));
        assert_eq!(
            after.encode(),
            format!("1764000000123_{}", Uuid::from_u128(7))
        );
        assert_eq!(EventAfter::decode(&after.encode()), Some(after));
        let params = HashMap::from([("after".to_owned(), "12_not-a-uuid".to_owned())]);
        let err = page_after::<EventAfter>(&params).expect_err("refused");
        assert_eq!(
            (err.code(), err.field()),
            ("invalid_parameter", Some("after"))
        );
        assert_eq!(page_after::<Uuid>(&HashMap::new()).expect("none"), None);
    }
}
