//! The MDS 2.0 provider API (micromobility) for cities, from the fleet and rides read models.
//!
//! | route | answers |
//! |---|---|
//! | `GET /mds/vehicles`, `/mds/vehicles/{device_id}` | registered vehicles (paged: `links.next`) |
//! | `GET /mds/vehicles/status`, `/mds/vehicles/status/{device_id}` | each vehicle's newest event and telemetry point (paged) |
//! | `GET /mds/trips?end_time=YYYY-MM-DDTHH` | rides that ended in that UTC hour |
//! | `GET /mds/events/historical?event_time=YYYY-MM-DDTHH` | events of that hour |
//! | `GET /mds/events/recent?start_time=<ms>&end_time=<ms>` | events in `[start, end)`, at most two weeks old (paged) |
//! | `GET /mds/telemetry?telemetry_time=YYYY-MM-DDTHH` | telemetry points of that hour |
//!
//! Every route needs a provider token (`POST /v1/admin/provider-tokens`; anyone else gets
//! 403) and `Accept: application/vnd.mds+json;version=2.0` (anything else, including no
//! `Accept`, is `406`: we serve 2.0 only and do not guess). Answers carry that media type,
//! `version: "2.0.0"`, `X-Fleetlog-Data-Age-Ms` ([`crate::read_model::age`]), and for the
//! near-real-time routes `last_updated` (ms: when the read models were last known current)
//! and `ttl` (ms). Hours not over yet, or before we
//! operated, are `404`; hours over but still open to late data (`FLEETLOG_MDS__
//! HOUR_CLOSE_DELAY_S`, and the projections' lag) are `202`. Errors have the API's one
//! shape (architecture §9). How our events map to MDS events: [`read`].

pub mod config;
pub mod hour;
pub mod json;
pub mod read;
mod routes;

use axum::Router;
use axum::http::header::{self, HeaderValue};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::Value;

pub use config::{MdsConfig, MdsConfigError};

use crate::error::ApiError;
use crate::read_model::{Aged, DataAge};
use crate::state::ApiState;

/// The media type of MDS 2.0 requests and responses.
pub const MEDIA_TYPE: &str = "application/vnd.mds+json;version=2.0";
/// `version` in every body (the schema wants major.minor.patch).
pub const BODY_VERSION: &str = "2.0.0";

/// The routes.
pub fn router() -> Router<ApiState> {
    Router::new()
        .route("/mds/vehicles", get(routes::vehicles))
        .route("/mds/vehicles/status", get(routes::statuses))
        .route("/mds/vehicles/status/{device_id}", get(routes::status))
        .route("/mds/vehicles/{device_id}", get(routes::vehicle))
        .route("/mds/trips", get(routes::trips))
        .route("/mds/events/historical", get(routes::historical_events))
        .route("/mds/events/recent", get(routes::recent_events))
        .route("/mds/telemetry", get(routes::telemetry))
}

/// Whether `Accept` asks for MDS 2.0 (one of its media ranges is
/// `application/vnd.mds+json` with `version=2.0`).
///
/// # Errors
/// 406 `not_acceptable`.
pub fn check_accept(headers: &HeaderMap) -> Result<(), ApiError> {
    let wanted = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|range| {
            let mut parts = range.split(';').map(str::trim);
            let media = parts.next().unwrap_or_default();
            media.eq_ignore_ascii_case("application/vnd.mds+json")
                && parts.any(|p| {
                    p.split_once('=').is_some_and(|(k, v)| {
                        k.trim().eq_ignore_ascii_case("version")
                            && v.trim().trim_matches('"') == "2.0"
                    })
                })
        });
    if wanted {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::NOT_ACCEPTABLE,
            "not_acceptable",
            "send Accept: application/vnd.mds+json;version=2.0 (the only MDS version served)",
        )
        .with_field("Accept"))
    }
}

/// An MDS answer: a JSON body with the MDS media type, read from read models of
/// `data_age`.
#[derive(Debug)]
pub struct Mds {
    status: StatusCode,
    body: Value,
    data_age: DataAge,
}

impl Mds {
    /// `200` with `body`.
    pub fn ok(body: Value, data_age: DataAge) -> Self {
        Self {
            status: StatusCode::OK,
            body,
            data_age,
        }
    }

    /// `202`: the hour is over but not final yet.
    pub fn processing(data_age: DataAge) -> Self {
        Self {
            status: StatusCode::ACCEPTED,
            body: serde_json::json!({
                "version": BODY_VERSION,
                "status": "processing",
                "message": "this hour is not final yet; ask again later",
            }),
            data_age,
        }
    }
}

impl IntoResponse for Mds {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(MEDIA_TYPE));
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-cache"),
        );
        if self.status == StatusCode::ACCEPTED {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
        }
        Aged(self.data_age, response).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: Option<&str>) -> bool {
        let mut headers = HeaderMap::new();
        if let Some(v) = value {
            headers.insert(header::ACCEPT, HeaderValue::from_str(v).expect("header"));
        }
        check_accept(&headers).is_ok()
    }

    #[test]
    fn only_mds_2_0_is_acceptable() {
        assert!(accept(Some("application/vnd.mds+json;version=2.0")));
        assert!(accept(Some("application/vnd.mds+json; version=\"2.0\"")));
        assert!(accept(Some(
            "text/html, application/vnd.mds+json;q=0.9;version=2.0"
        )));
        assert!(!accept(None));
        assert!(!accept(Some("application/json")));
        assert!(!accept(Some("*/*")));
        assert!(!accept(Some("application/vnd.mds+json")));
        assert!(!accept(Some("application/vnd.mds+json;version=1.2")));
        assert!(!accept(Some("application/vnd.mds+json;version=2.0.0")));
        let err = check_accept(&HeaderMap::new()).expect_err("406");
        assert_eq!(err.status(), StatusCode::NOT_ACCEPTABLE);
    }
}
