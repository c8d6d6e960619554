//! The operator console: a single page served at `/console/`, hand-written ES modules,
//! CSS and HTML from `api/console/` plus the map libraries vendored from npm in
//! `api/console/vendor/` (Leaflet, Leaflet.markercluster), all embedded in the binary (no
//! build step, nothing fetched from a CDN). It talks only to the public `/v1` API of the
//! host it was served from, and its `Content-Security-Policy` makes the browser refuse any
//! other host — but for map tiles from the host of `FLEETLOG_CONSOLE__TILE_URL` when set.

mod assets;
mod config;

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Json, Router};

pub use config::{ConsoleConfig, ConsoleConfigError, SELF_ONLY_POLICY};

use crate::error::ApiError;

/// The routes: `/console` (redirect), `/console/` (the page), `/console/config.json` (the
/// map's tile URL, or `null` for the offline grid) and the page's assets.
pub fn router(config: Arc<ConsoleConfig>) -> Router {
    Router::new()
        .route(
            "/console",
            get(|| async { Redirect::permanent("/console/") }),
        )
        .route(
            "/console/",
            get(|State(c): State<Arc<ConsoleConfig>>| async move { asset(&c, "index.html") }),
        )
        .route("/console/config.json", get(settings))
        .route("/console/{*file}", get(file))
        .with_state(config)
}

async fn file(State(config): State<Arc<ConsoleConfig>>, Path(file): Path<String>) -> Response {
    asset(&config, &file)
}

async fn settings(State(config): State<Arc<ConsoleConfig>>) -> Response {
    let mut response = Json(config.as_ref()).into_response();
    secure(&config, &mut response);
    response
}

/// The embedded asset `name` with its content type, the CSP and cache headers, or the
/// JSON 404 of every unknown path.
fn asset(config: &ConsoleConfig, name: &str) -> Response {
    let Some(found) = assets::find(name) else {
        return ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such console file")
            .into_response();
    };
    let mut response = found.body.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(found.content_type),
    );
    secure(config, &mut response);
    response
}

/// The headers every console answer carries.
fn secure(config: &ConsoleConfig, response: &mut Response) {
    let headers = response.headers_mut();
    // Not content-hashed and small: fetched again on every load, so a new binary's
    // console is never mixed with an old one's modules.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(policy) = HeaderValue::from_str(config.policy()) {
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt as _;

    async fn get(path: &str) -> Response {
        let request = Request::get(path).body(Body::empty()).expect("request");
        router(Arc::new(ConsoleConfig::default()))
            .oneshot(request)
            .await
            .expect("infallible")
    }

    #[tokio::test]
    async fn the_page_and_its_modules_are_served_with_a_self_only_policy() {
        let page = get("/console/").await;
        assert_eq!(page.status(), StatusCode::OK);
        assert_eq!(
            page.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        let csp = page.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .expect("ascii");
        assert!(csp.contains("default-src 'self'") && csp.contains("connect-src 'self'"));
        let script = get("/console/app.js").await;
        assert_eq!(
            script.headers()[header::CONTENT_TYPE],
            "text/javascript; charset=utf-8"
        );
        assert_eq!(
            get("/console/nope.js").await.status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            get("/console/../Cargo.toml").await.status(),
            StatusCode::NOT_FOUND
        );
        let redirect = get("/console").await;
        assert_eq!(redirect.status(), StatusCode::PERMANENT_REDIRECT);
        assert_eq!(redirect.headers()[header::LOCATION], "/console/");
    }

    #[tokio::test]
    async fn the_map_libraries_are_the_pinned_ones_and_config_json_says_offline() {
        use sha2::Digest as _;
        let pinned = include_str!("../../console/package.json");
        assert!(pinned.contains("\"leaflet\": \"1.9.4\""));
        assert!(pinned.contains("\"leaflet.markercluster\": \"1.5.3\""));
        let leaflet = assets::find("vendor/leaflet.js").expect("embedded");
        assert!(std::str::from_utf8(leaflet.body).is_ok_and(|t| t.contains("1.9.4")));
        // The embedded files are the ones scripts/console-vendor.sh copied from npm.
        let sums = include_str!("../../console/vendor/SHA256SUMS");
        assert_eq!(sums.lines().count(), 5);
        for line in sums.lines() {
            let (sum, name) = line.split_once("  ").expect("sha256sum format");
            let asset = format!("vendor/{name}");
            let found = assets::find(&asset).expect("embedded");
            let digest = sha2::Sha256::digest(found.body);
            let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(hex, sum, "{asset}");
            assert_eq!(
                get(&format!("/console/{asset}")).await.status(),
                StatusCode::OK
            );
        }
        let config = get("/console/config.json").await;
        assert_eq!(config.status(), StatusCode::OK);
        assert_eq!(
            config.headers()[header::CONTENT_SECURITY_POLICY],
            SELF_ONLY_POLICY
        );
        let body = axum::body::to_bytes(config.into_body(), 4096)
            .await
            .expect("body");
        let json: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(json["tile_url"], serde_json::Value::Null);
    }

    #[test]
    fn every_module_an_asset_imports_is_embedded() {
        for asset in assets::ALL {
            let Ok(text) = std::str::from_utf8(asset.body) else {
                continue;
            };
            for line in text.lines() {
                let Some(rest) = line.split(" from './").nth(1) else {
                    continue;
                };
                let name = rest.split('\'').next().unwrap_or_default();
                assert!(
                    assets::find(name).is_some(),
                    "{} imports {name}, which is not embedded",
                    asset.name
                );
            }
        }
    }
}
