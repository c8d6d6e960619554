//! The one error shape of the HTTP API (architecture §9):
//! `{"error": {"code": "<machine_code>", "message": "...", "field": "<optional>"}}`.
//!
//! Anything the client did wrong is a 4xx with a stable machine code; anything else is a
//! 500 `{"error":{"code":"internal","message":"internal error"}}` whose detail goes to the
//! log only.

use std::borrow::Cow;
use std::time::Duration;

use axum::http::header::{self, HeaderName};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

/// An error answered to an HTTP client in the shape of §9 (boxed: handlers return it in
/// every `Result`).
#[derive(Debug)]
pub struct ApiError(Box<Inner>);

#[derive(Debug)]
struct Inner {
    status: StatusCode,
    code: &'static str,
    message: Cow<'static, str>,
    field: Option<String>,
    headers: HeaderMap,
    source: Option<Source>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.0.status, self.0.code, self.0.message)
    }
}

impl std::error::Error for ApiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0
            .source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

/// The body of every error answer (`ErrorBody` in `/openapi.json`).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ErrorBody)]
pub(crate) struct Body<'a> {
    error: Detail<'a>,
}

/// What went wrong (`ErrorDetail` in `/openapi.json`).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ErrorDetail)]
pub(crate) struct Detail<'a> {
    /// A stable machine code, e.g. `invalid_field`, `forbidden`, `rate_limited`.
    code: &'a str,
    /// A human-readable explanation.
    message: &'a str,
    /// The request field at fault (a JSON path, a parameter or a header name), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    field: Option<&'a str>,
}

impl ApiError {
    /// An error with `status`, a machine `code` and a human `message` (both shown to
    /// the client: never put internals here).
    pub fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self(Box::new(Inner {
            status,
            code,
            message: message.into(),
            field: None,
            headers: HeaderMap::new(),
            source: None,
        }))
    }

    /// A 500 that logs `source` and tells the client only "internal error".
    pub fn internal(source: impl Into<Source>) -> Self {
        let mut err = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error",
        );
        err.0.source = Some(source.into());
        err
    }

    /// 400 `invalid_parameter`: the query parameter (or header) `field` is missing,
    /// malformed or out of range. The API's one helper for a bad parameter.
    pub fn invalid_parameter(
        field: impl Into<String>,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_parameter", message).with_field(field)
    }

    /// 400 `invalid_id`: the path parameter `field` is not an id (a UUID).
    pub fn invalid_id(field: impl Into<String>, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_id", message).with_field(field)
    }

    /// 404 `not_found`.
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "no such resource")
    }

    /// 405 `method_not_allowed`.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "method not allowed on this resource",
        )
    }

    /// 429 `rate_limited` with `Retry-After` (whole seconds, at least 1).
    pub fn rate_limited(retry_after: Duration) -> Self {
        let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many attempts, retry later",
        )
        .with_header(header::RETRY_AFTER, HeaderValue::from(secs.max(1)))
    }

    /// 429 `too_many_streams`: the account (`per_user`) or the API process holds its cap
    /// of open live streams; `Retry-After` says when to try again.
    pub fn too_many_streams(per_user: bool, retry_after: Duration) -> Self {
        let message = if per_user {
            "this account holds its maximum of open streams; close one first"
        } else {
            "this server holds its maximum of open streams; retry later"
        };
        Self::new(StatusCode::TOO_MANY_REQUESTS, "too_many_streams", message).with_header(
            header::RETRY_AFTER,
            HeaderValue::from(retry_after.as_secs().max(1)),
        )
    }

    /// Name the request field at fault (a JSON path such as `email` or `items[0].id`).
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.0.field = Some(field.into());
        self
    }

    /// Add a response header (e.g. `Retry-After`, `WWW-Authenticate`).
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.0.headers.insert(name, value);
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.0.status
    }

    /// The machine code.
    pub fn code(&self) -> &'static str {
        self.0.code
    }

    /// The offending request field, if one was named.
    pub fn field(&self) -> Option<&str> {
        self.0.field.as_deref()
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        Self::internal(err)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let inner = *self.0;
        if let Some(source) = &inner.source {
            tracing::error!(code = inner.code, error = %Chain(source.as_ref()), "request failed");
        }
        let body = Body {
            error: Detail {
                code: inner.code,
                message: &inner.message,
                field: inner.field.as_deref(),
            },
        };
        let mut response = (inner.status, axum::Json(body)).into_response();
        response.headers_mut().extend(inner.headers);
        response
    }
}

/// Displays an error with its causes, `outer: inner: innermost`.
struct Chain<'a>(&'a (dyn std::error::Error + 'static));

impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut next = self.0.source();
        while let Some(err) = next {
            write!(f, ": {err}")?;
            next = err.source();
        }
        Ok(())
    }
}

/// Fallback for unknown routes: 404 in the §9 shape.
pub async fn not_found() -> ApiError {
    ApiError::not_found()
}

/// Fallback for a known route asked with the wrong method: 405 in the §9 shape.
pub async fn method_not_allowed() -> ApiError {
    ApiError::method_not_allowed()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_json(response: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .expect("body");
        serde_json::from_slice(&bytes).expect("json body")
    }

    #[tokio::test]
    async fn an_internal_error_hides_its_detail_from_the_client() {
        let err = ApiError::internal(std::io::Error::other("password=hunter2 at db:5432"));
        let response = err.into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = body_json(response).await;
        assert_eq!(
            body,
            serde_json::json!({"error": {"code": "internal", "message": "internal error"}})
        );
    }

    #[tokio::test]
    async fn a_client_error_names_its_code_message_and_field() {
        let err = ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "weak_password",
            "too short",
        )
        .with_field("password");
        let response = err.into_response();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            body_json(response).await,
            serde_json::json!({"error": {"code": "weak_password", "message": "too short", "field": "password"}})
        );
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        let response = ApiError::rate_limited(Duration::from_millis(1500)).into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "2");
    }
}
