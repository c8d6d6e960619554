//! The API router: the operational endpoints plus `/v1`, with §9 errors for unknown
//! routes and methods.

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{StatusCode, header};
use axum::middleware::map_response;
use axum::response::{IntoResponse, Response};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::auth::request_limit::Caller;
use crate::error::{self, ApiError};
use crate::state::ApiState;
use crate::{auth, commands, console, fleet, gbfs, mds, openapi, ops, rides, stream};

/// Largest `/v1` request body, in bytes (larger ones get 413 `payload_too_large`).
pub const BODY_LIMIT_BYTES: usize = 64 * 1024;
/// Longest a `/v1` request may take (then 503 `timeout`).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Every route the API serves: `/healthz`, `/readyz`, `/metrics`, `/v1/auth/*`,
/// `/v1/me`, `/v1/admin/provider-tokens`, the command routes of [`commands`], the public
/// GBFS feeds of [`gbfs`] and `/openapi.json` ([`openapi`]) (with the same timeout). Serve it with connect info (see
/// [`crate::server::run`]) so login limits see client addresses.
pub fn router(state: ApiState) -> Router {
    let v1 = limits(client_routes(), BODY_LIMIT_BYTES, REQUEST_TIMEOUT)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            per_caller_limit,
        ))
        .with_state(state.clone());
    ops::router(state.ops)
        .merge(v1)
        .merge(console::router(state.console.clone()))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
}

/// The routes clients call, before limits and state: `/v1`, GBFS, MDS and `/openapi.json`
/// (whose document must name every `/v1` route here: see [`openapi`]).
pub(crate) fn client_routes() -> Router<ApiState> {
    Router::new()
        .merge(auth::routes::router())
        .merge(auth::admin_routes::router())
        .merge(auth::session_routes::router())
        .merge(commands::router())
        .merge(rides::router())
        .merge(fleet::router())
        .merge(stream::router())
        .merge(gbfs::router())
        .merge(mds::router())
        .merge(openapi::router())
}

/// At most `auth.requests_per_s` requests per second per verified caller (the account or
/// provider token of a bearer token that verifies, else the client address; see
/// [`auth::request_limit`]): `429 rate_limited` with `Retry-After` beyond.
async fn per_caller_limit(
    axum::extract::State(state): axum::extract::State<ApiState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let identity = auth::extract::bearer_token(request.headers())
        .ok()
        .and_then(|token| state.auth.verified_identity(token));
    let caller = match identity {
        Some(id) => Caller::Identity(id),
        None => Caller::address(
            auth::extract::ClientIp::of(&state.auth, request.extensions(), request.headers()).0,
        ),
    };
    match state.auth.request_allowed(caller) {
        Ok(()) => next.run(request).await,
        Err(wait) => ApiError::rate_limited(wait).into_response(),
    }
}

/// Body limit (413 from [`crate::json::ApiJson`]), request timeout (503 `timeout`) and
/// request tracing around `routes`.
fn limits<S>(routes: Router<S>, body_limit: usize, timeout: Duration) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    routes
        .layer(DefaultBodyLimit::max(body_limit))
        // Inside out: the timeout answers a bare 503, which the next layer dresses.
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            timeout,
        ))
        .layer(map_response(timeout_as_json))
        .layer(TraceLayer::new_for_http())
}

/// The timeout layer answers a bare 503; give it the §9 shape. (Handlers never answer a
/// 503 without a body.)
async fn timeout_as_json(response: Response) -> Response {
    let bare = response.status() == StatusCode::SERVICE_UNAVAILABLE
        && !response.headers().contains_key(header::CONTENT_TYPE);
    if bare {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            "the request took too long",
        )
        .into_response()
    } else {
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use axum::body::Body;
    use axum::http::Request;
    use axum::routing::get;
    use tower::ServiceExt as _;

    #[tokio::test]
    async fn a_request_that_takes_too_long_gets_a_json_503() {
        let slow = Router::new().route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(10)).await;
                "late"
            }),
        );
        let request = Request::get("/slow").body(Body::empty()).expect("request");
        let response = limits(slow, 1024, Duration::from_millis(20))
            .oneshot(request)
            .await
            .expect("infallible");
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .expect("body");
        let body: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(body["error"]["code"], "timeout");
    }
}
