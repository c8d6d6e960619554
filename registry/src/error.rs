//! Every way a registry request can fail, and its Confluent error body.
//!
//! Confluent clients branch on `error_code` (e.g. 40401 vs 40403 on lookup), so each
//! variant carries the exact HTTP status and code of Confluent Schema Registry 7.x and
//! a message worded like Confluent's. [`RegistryError`] is the one `IntoResponse`
//! mapping: handlers return `Result<_, RegistryError>` and nothing else.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::types::SrJson;

/// A failed registry request.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RegistryError {
    /// 404 / 40401: the subject has no (visible) versions.
    #[error("Subject '{0}' not found.")]
    SubjectNotFound(String),
    /// 404 / 40402: the subject exists but not this version.
    #[error("Version {0} not found.")]
    VersionNotFound(i32),
    /// 404 / 40403: the posted schema is not registered under the subject.
    #[error("Schema not found")]
    SchemaNotFound,
    /// 404 / 40403: no schema has this id.
    #[error("Schema {0} not found")]
    SchemaIdNotFound(i32),
    /// 404 / 40404: soft delete of an already soft-deleted subject.
    #[error("Subject '{0}' was soft deleted.Set permanent=true to delete permanently")]
    SubjectSoftDeleted(String),
    /// 404 / 40405: permanent delete of a subject that was not soft-deleted first.
    #[error("Subject '{0}' was not deleted first before being permanently deleted")]
    SubjectNotSoftDeleted(String),
    /// 404 / 40406: soft delete of an already soft-deleted version.
    #[error("Subject '{0}' Version {1} was soft deleted.Set permanent=true to delete permanently")]
    VersionSoftDeleted(String, String),
    /// 404 / 40407: permanent delete of a version that was not soft-deleted first.
    #[error("Subject '{0}' Version {1} was not deleted first before being permanently deleted")]
    VersionNotSoftDeleted(String, String),
    /// 404 / 40408: the subject has no compatibility level of its own.
    #[error("Subject '{0}' does not have subject-level compatibility configured")]
    CompatibilityNotConfigured(String),
    /// 409 / 409: the schema breaks the subject's compatibility level.
    #[error(
        "Schema being registered is incompatible with an earlier schema for subject \"{subject}\", details: [{}]",
        details.join(", ")
    )]
    Incompatible {
        /// The subject registered under.
        subject: String,
        /// Confluent-style detail entries.
        details: Vec<String>,
    },
    /// 422 / 42201: unparseable schema, unsupported type or references.
    #[error("{0}")]
    InvalidSchema(String),
    /// 422 / 42202: a version that is neither a positive int32 nor `latest`.
    #[error(
        "The specified version '{0}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string \"latest\""
    )]
    InvalidVersion(String),
    /// 422 / 42203: an unknown compatibility level.
    #[error(
        "Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive"
    )]
    InvalidCompatibility,
    /// 422 / 42205: import-mode fields (`id`, `version`) on a READWRITE registry.
    #[error("Subject {0} is not in import mode")]
    NotImportMode(String),
    /// 422 / 422: well-formed JSON of the wrong shape.
    #[error("{0}")]
    Unprocessable(String),
    /// 400 / 400: the body is not JSON, or the query string is not decodable.
    #[error("{0}")]
    BadRequest(String),
    /// 413 / 413: the body exceeds the request size limit.
    #[error("HTTP 413 Request Entity Too Large")]
    PayloadTooLarge,
    /// 415 / 415: a content type that is not JSON.
    #[error("HTTP 415 Unsupported Media Type")]
    UnsupportedMediaType,
    /// 401 / 40101: a write without the admin credential.
    #[error("Unauthorized: registry writes need the admin credential (HTTP Basic)")]
    Unauthorized,
    /// 403 / 40301: a write with a wrong credential.
    #[error("User is denied operation: wrong registry admin credential")]
    Forbidden,
    /// 404 / 404: no such route (or an unusable path parameter).
    #[error("HTTP 404 Not Found")]
    NotFound,
    /// 405 / 405: the route exists, the method does not.
    #[error("HTTP 405 Method Not Allowed")]
    MethodNotAllowed,
    /// 500 / 50001: PostgreSQL failed.
    #[error("Error in the backend data store")]
    Store(#[from] sqlx::Error),
}

/// The Confluent error body: `{"error_code": …, "message": …}`.
#[derive(Debug, Serialize)]
struct ErrorBody {
    error_code: u32,
    message: String,
}

impl RegistryError {
    /// The HTTP status and Confluent `error_code`.
    pub(crate) fn codes(&self) -> (StatusCode, u32) {
        use RegistryError as E;
        match self {
            E::SubjectNotFound(_) => (StatusCode::NOT_FOUND, 40401),
            E::VersionNotFound(_) => (StatusCode::NOT_FOUND, 40402),
            E::SchemaNotFound | E::SchemaIdNotFound(_) => (StatusCode::NOT_FOUND, 40403),
            E::SubjectSoftDeleted(_) => (StatusCode::NOT_FOUND, 40404),
            E::SubjectNotSoftDeleted(_) => (StatusCode::NOT_FOUND, 40405),
            E::VersionSoftDeleted(..) => (StatusCode::NOT_FOUND, 40406),
            E::VersionNotSoftDeleted(..) => (StatusCode::NOT_FOUND, 40407),
            E::CompatibilityNotConfigured(_) => (StatusCode::NOT_FOUND, 40408),
            E::Incompatible { .. } => (StatusCode::CONFLICT, 409),
            E::InvalidSchema(_) => (StatusCode::UNPROCESSABLE_ENTITY, 42201),
            E::InvalidVersion(_) => (StatusCode::UNPROCESSABLE_ENTITY, 42202),
            E::InvalidCompatibility => (StatusCode::UNPROCESSABLE_ENTITY, 42203),
            E::NotImportMode(_) => (StatusCode::UNPROCESSABLE_ENTITY, 42205),
            E::Unprocessable(_) => (StatusCode::UNPROCESSABLE_ENTITY, 422),
            E::BadRequest(_) => (StatusCode::BAD_REQUEST, 400),
            E::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, 413),
            E::UnsupportedMediaType => (StatusCode::UNSUPPORTED_MEDIA_TYPE, 415),
            E::Unauthorized => (StatusCode::UNAUTHORIZED, 40101),
            E::Forbidden => (StatusCode::FORBIDDEN, 40301),
            E::NotFound => (StatusCode::NOT_FOUND, 404),
            E::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, 405),
            E::Store(_) => (StatusCode::INTERNAL_SERVER_ERROR, 50001),
        }
    }
}

impl IntoResponse for RegistryError {
    fn into_response(self) -> Response {
        if let Self::Store(err) = &self {
            tracing::error!(error = %err, "schema registry store failed");
        }
        let (status, error_code) = self.codes();
        let body = ErrorBody {
            error_code,
            message: self.to_string(),
        };
        (status, SrJson(body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_incompatibility_message_lists_its_details_like_confluent() {
        let err = RegistryError::Incompatible {
            subject: "s".into(),
            details: vec!["{a}".into(), "{b}".into()],
        };
        assert_eq!(
            err.to_string(),
            "Schema being registered is incompatible with an earlier schema for subject \"s\", details: [{a}, {b}]"
        );
        assert_eq!(err.codes(), (StatusCode::CONFLICT, 409));
    }

    #[test]
    fn store_errors_do_not_leak_their_cause() {
        let err = RegistryError::from(sqlx::Error::PoolTimedOut);
        assert_eq!(err.to_string(), "Error in the backend data store");
        assert_eq!(err.codes().1, 50001);
    }
}
