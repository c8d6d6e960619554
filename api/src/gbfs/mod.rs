//! GBFS 2.3 and 3.0 (public, no authentication) from the fleet and rides read models.
//!
//! | URL | what |
//! |---|---|
//! | `/gbfs/gbfs.json`, `/gbfs/gbfs_versions.json`, `/gbfs/manifest.json` | the entry points: the 3.0 (current version) files |
//! | `/gbfs/3.0/{gbfs, gbfs_versions, manifest, system_information, vehicle_types, vehicle_status, geofencing_zones, system_pricing_plans}.json` | GBFS 3.0 |
//! | `/gbfs/2.3/{gbfs, gbfs_versions, system_information, vehicle_types, free_bike_status, geofencing_zones, system_pricing_plans}.json` | GBFS 2.3 |
//!
//! Both versions are written from the same rows ([`read`]) by [`feeds`] and [`zones`];
//! public vehicle ids rotate after every trip ([`ids`]). Every file has the GBFS envelope
//! (`last_updated`, `ttl`, `version`, `data`) and `Cache-Control: public, max-age=<ttl>`;
//! files read from a read model are [`Aged`]: they carry `X-Fleetlog-Data-Age-Ms`
//! ([`crate::read_model::age`]), and their `last_updated` is the time the read model was
//! last known current (now minus that age). Unknown files are a 404 in the §9 error shape.

pub mod config;
pub mod feeds;
pub mod ids;
pub mod read;
pub mod zones;

use crate::read_model::{Aged, DataAge, FLEET, Projection, RIDES};
use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::header;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

pub use config::{GbfsConfig, GbfsConfigError, Plan};
pub use feeds::{Feed, Version};
pub use ids::{IdKey, public_vehicle_id};

use crate::error::ApiError;
use crate::state::ApiState;

/// The routes.
pub fn router() -> Router<ApiState> {
    Router::new()
        .route("/gbfs/{file}", get(entry_point))
        .route("/gbfs/{version}/{file}", get(versioned))
}

/// A GBFS file ready to send.
#[derive(Debug)]
struct Document {
    version: Version,
    ttl_s: u32,
    last_updated: DateTime<Utc>,
    data: Value,
    /// The age of the read models it was written from; `None` for files written from the
    /// configuration alone.
    data_age: Option<DataAge>,
}

impl IntoResponse for Document {
    fn into_response(self) -> Response {
        let ctx_time = match self.version {
            Version::V2_3 => json!(self.last_updated.timestamp()),
            Version::V3_0 => json!(
                self.last_updated
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
        };
        let body = json!({
            "last_updated": ctx_time,
            "ttl": self.ttl_s,
            "version": self.version.as_str(),
            "data": self.data,
        });
        let mut response = axum::Json(body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_str(&format!("public, max-age={}", self.ttl_s))
                .unwrap_or(HeaderValue::from_static("no-cache")),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
        match self.data_age {
            Some(age) => Aged(age, response).into_response(),
            None => response,
        }
    }
}

fn unknown_feed(path: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no GBFS file {path}: the files are listed in /gbfs/gbfs.json"),
    )
}

/// `/gbfs/{file}`: the 3.0 entry points (`gbfs.json`, `gbfs_versions.json`, `manifest.json`).
async fn entry_point(
    State(state): State<ApiState>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Result<Document, ApiError> {
    let Path(file) = path.map_err(|_| unknown_feed("(not UTF-8)"))?;
    let feed = Feed::parse(Version::V3_0, &file)
        .filter(|f| matches!(f, Feed::Gbfs | Feed::GbfsVersions | Feed::Manifest))
        .ok_or_else(|| unknown_feed(&file))?;
    document(&state, &headers, Version::V3_0, feed).await
}

/// `/gbfs/{version}/{file}`.
async fn versioned(
    State(state): State<ApiState>,
    headers: HeaderMap,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Document, ApiError> {
    let Path((version, file)) = path.map_err(|_| unknown_feed("(not UTF-8)"))?;
    let (version, feed) = Version::parse(&version)
        .and_then(|v| Some((v, Feed::parse(v, &file)?)))
        .ok_or_else(|| unknown_feed(&format!("{version}/{file}")))?;
    document(&state, &headers, version, feed).await
}

/// Public URL of `/gbfs`: the configured one, else `http://` + the request's `Host`.
fn base_url(config: &GbfsConfig, headers: &HeaderMap) -> Result<String, ApiError> {
    if let Some(base) = &config.base_url {
        return Ok(base.clone());
    }
    Ok(format!("{}/gbfs", request_origin(headers)?))
}

/// `http://` + the request's `Host` (checked to be a host name and port), for links.
///
/// # Errors
/// 400 `invalid_host` when `Host` is missing or not a host name.
pub(crate) fn request_origin(headers: &HeaderMap) -> Result<String, ApiError> {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]_".contains(&b))
        })
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_host",
                "the Host header is missing or not a host name",
            )
            .with_field("Host")
        })?;
    Ok(format!("http://{host}"))
}

async fn document(
    state: &ApiState,
    headers: &HeaderMap,
    version: Version,
    feed: Feed,
) -> Result<Document, ApiError> {
    let config = &*state.gbfs;
    let read_models = &*state.read_models;
    let needs_links = matches!(
        feed,
        Feed::Gbfs | Feed::GbfsVersions | Feed::Manifest | Feed::SystemInformation
    );
    let base = if needs_links {
        base_url(config, headers)?
    } else {
        String::new()
    };
    let ctx = feeds::Ctx {
        config,
        version,
        base: &base,
    };
    let sources: &[Projection] = match feed {
        Feed::VehicleStatus => &[FLEET, RIDES],
        Feed::VehicleTypes | Feed::GeofencingZones => &[FLEET],
        _ => &[],
    };
    let data_age = if sources.is_empty() {
        None
    } else {
        Some(read_models.data_age(sources).await?)
    };
    let data = match feed {
        Feed::Gbfs => ctx.discovery(),
        Feed::GbfsVersions => ctx.versions(),
        Feed::Manifest => ctx.manifest(),
        Feed::SystemInformation => ctx.system_information(),
        Feed::SystemPricingPlans => ctx.pricing_plans(),
        Feed::VehicleTypes => ctx.vehicle_types(&read::models(read_models).await?),
        Feed::VehicleStatus => ctx.vehicle_status(&read::vehicles(read_models).await?),
        Feed::GeofencingZones => ctx.geofencing_zones(&read::zones(read_models).await?),
    };
    let now = Utc::now();
    let last_updated = data_age.map_or(now, |age| age.last_updated(now));
    Ok(Document {
        version,
        ttl_s: if feed.is_status() {
            config.status_ttl_s
        } else {
            config.ttl_s
        },
        last_updated,
        data,
        data_age,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_str(value).expect("header"));
        headers
    }

    #[test]
    fn links_use_the_configured_url_else_the_request_s_host() {
        let mut config = GbfsConfig::default();
        let url = base_url(&config, &host("127.0.0.1:8080")).expect("host");
        assert_eq!(url, "http://127.0.0.1:8080/gbfs");
        let url = base_url(&config, &host("[::1]:80")).expect("host");
        assert_eq!(url, "http://[::1]:80/gbfs");
        for bad in ["evil.example/path?", "a b", "x\"y", ""] {
            let err = base_url(&config, &host(bad)).expect_err(bad);
            assert_eq!(
                (err.status(), err.code()),
                (StatusCode::BAD_REQUEST, "invalid_host")
            );
        }
        assert!(base_url(&config, &HeaderMap::new()).is_err());
        config.base_url = Some("https://gbfs.example.com/gbfs".into());
        let url = base_url(&config, &host("evil.example")).expect("configured");
        assert_eq!(url, "https://gbfs.example.com/gbfs");
    }

    #[tokio::test]
    async fn a_document_has_the_envelope_and_the_cache_headers() {
        let response = Document {
            version: Version::V2_3,
            ttl_s: 42,
            last_updated: DateTime::from_timestamp(1_764_000_000, 0).expect("time"),
            data: json!({"bikes": []}),
            data_age: Some(DataAge::current_as_of(Utc::now())),
        }
        .into_response();
        let headers = response.headers();
        assert_eq!(headers[header::CACHE_CONTROL], "public, max-age=42");
        assert!(headers.contains_key(crate::read_model::DATA_AGE));
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .expect("body");
        let body: Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(
            body,
            json!({"last_updated": 1_764_000_000, "ttl": 42, "version": "2.3",
                   "data": {"bikes": []}})
        );
    }
}
