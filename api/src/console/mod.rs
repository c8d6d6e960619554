//! The operator console: a single page served at `/console/`, hand-written ES modules,
//! CSS and HTML from `api/console/` embedded in the binary (no build step, nothing fetched
//! at run time). It talks only to the public `/v1` API of the host it was served from, and
//! its `Content-Security-Policy` makes the browser refuse any other host.

mod assets;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use crate::error::ApiError;

/// What the browser may load and connect to: this origin only (plus `data:` images).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
    object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The routes: `/console` (redirect), `/console/` (the page) and its assets.
pub fn router() -> Router {
    Router::new()
        .route(
            "/console",
            get(|| async { Redirect::permanent("/console/") }),
        )
        .route("/console/", get(|| async { asset("index.html") }))
        .route("/console/{*file}", get(file))
}

async fn file(Path(file): Path<String>) -> Response {
    asset(&file)
}

/// The embedded asset `name` with its content type, the CSP and cache headers, or the
/// JSON 404 of every unknown path.
fn asset(name: &str) -> Response {
    let Some(found) = assets::find(name) else {
        return ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such console file")
            .into_response();
    };
    let mut response = found.body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(found.content_type),
    );
    // Not content-hashed and small: fetched again on every load, so a new binary's
    // console is never mixed with an old one's modules.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt as _;

    async fn get(path: &str) -> Response {
        let request = Request::get(path).body(Body::empty()).expect("request");
        router().oneshot(request).await.expect("infallible")
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
