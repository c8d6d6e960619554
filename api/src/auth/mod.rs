//! Accounts and authentication: riders sign up and log in, operators and admins are
//! created by `fleetlog admin create` (optionally with TOTP), MDS providers hold
//! long-lived opaque tokens issued by an admin.
//!
//! Access tokens are short-lived HS256 JWTs; refresh tokens are opaque, stored hashed and
//! rotated on use (reuse of a rotated one revokes its whole family). Handlers take the
//! caller from the [`AuthUser`] extractor or one of its role guards.

pub mod accounts;
pub mod admin_routes;
pub mod client_addr;
pub mod context;
pub mod extract;
pub mod jwt;
pub mod password;
pub mod provider;
pub mod rate_limit;
pub mod refresh;
pub mod request_limit;
pub mod routes;
pub mod session_routes;
pub mod sessions;
pub mod settings;
pub mod tokens;
pub mod totp;
pub mod totp_key;

use std::time::Duration;

use axum::http::header::WWW_AUTHENTICATE;
use axum::http::{HeaderValue, StatusCode};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

pub use context::Auth;
pub use extract::{AuthUser, RequireAdmin, RequireOperator, RequireProvider, RequireRider};
pub use settings::AuthSettings;

/// Who a caller is allowed to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A rider account (self sign-up).
    Rider,
    /// Fleet staff (created by `fleetlog admin create`).
    Operator,
    /// Fleet staff who may also manage credentials such as provider tokens.
    Admin,
    /// An MDS consumer (a city or regulator) holding a provider token; not an account.
    Provider,
}

impl Role {
    /// The name used in tokens, the database and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Rider => "rider",
            Role::Operator => "operator",
            Role::Admin => "admin",
            Role::Provider => "provider",
        }
    }

    /// The role named `name`, if any.
    pub fn parse(name: &str) -> Option<Role> {
        match name {
            "rider" => Some(Role::Rider),
            "operator" => Some(Role::Operator),
            "admin" => Some(Role::Admin),
            "provider" => Some(Role::Provider),
            _ => None,
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an authentication step failed. Mapped to the §9 shape by `From<AuthError> for
/// ApiError`; only [`AuthError::Internal`] and [`AuthError::Store`] become 500s.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The email is not a plausible address.
    #[error("invalid email address")]
    InvalidEmail,
    /// The password does not meet the policy.
    #[error("{0}")]
    WeakPassword(&'static str),
    /// An account with this email exists.
    #[error("an account with this email already exists")]
    EmailTaken,
    /// Wrong email or password (the same answer for both).
    #[error("invalid email or password")]
    InvalidCredentials,
    /// The account needs a TOTP code and none was given.
    #[error("a TOTP code is required")]
    TotpRequired,
    /// The TOTP code is wrong, expired or already used.
    #[error("invalid TOTP code")]
    InvalidTotp,
    /// Too many failed attempts; retry after the given time.
    #[error("too many attempts")]
    RateLimited(Duration),
    /// No `Authorization: Bearer` header.
    #[error("missing bearer token")]
    MissingToken,
    /// The token is malformed, tampered with, revoked or unknown.
    #[error("invalid token")]
    InvalidToken,
    /// The token has expired.
    #[error("token expired")]
    TokenExpired,
    /// Authenticated, but the role may not do this.
    #[error("forbidden")]
    Forbidden,
    /// The addressed resource does not exist.
    #[error("not found")]
    NotFound,
    /// A request value is out of range.
    #[error("{message}")]
    Invalid {
        /// The offending field.
        field: &'static str,
        /// What is wrong with it.
        message: &'static str,
    },
    /// The database failed.
    #[error("database: {0}")]
    Store(#[from] sqlx::Error),
    /// Hashing, signing or configuration failed.
    #[error("{0}")]
    Internal(String),
}

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> Self {
        let message = err.to_string();
        let (status, code) = match &err {
            AuthError::InvalidEmail => {
                return unprocessable("invalid_email", message).with_field("email");
            }
            AuthError::WeakPassword(_) => {
                return unprocessable("weak_password", message).with_field("password");
            }
            AuthError::Invalid { field, .. } => {
                return unprocessable("invalid_field", message).with_field(*field);
            }
            AuthError::RateLimited(retry_after) => return ApiError::rate_limited(*retry_after),
            AuthError::MissingToken => return bearer_challenge("missing_token", message),
            AuthError::InvalidToken => return bearer_challenge("invalid_token", message),
            AuthError::TokenExpired => return bearer_challenge("token_expired", message),
            AuthError::Store(_) | AuthError::Internal(_) => return ApiError::internal(err),
            AuthError::EmailTaken => (StatusCode::CONFLICT, "email_taken"),
            AuthError::InvalidCredentials => (StatusCode::UNAUTHORIZED, "invalid_credentials"),
            AuthError::TotpRequired => (StatusCode::UNAUTHORIZED, "totp_required"),
            AuthError::InvalidTotp => (StatusCode::UNAUTHORIZED, "invalid_totp"),
            AuthError::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            AuthError::NotFound => (StatusCode::NOT_FOUND, "not_found"),
        };
        ApiError::new(status, code, message)
    }
}

fn unprocessable(code: &'static str, message: String) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
}

/// A 401 for a bad or absent bearer token, with the RFC 6750 challenge header.
fn bearer_challenge(code: &'static str, message: String) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, code, message)
        .with_header(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in [Role::Rider, Role::Operator, Role::Admin, Role::Provider] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn domain_errors_map_to_client_statuses_and_codes() {
        let cases = [
            (AuthError::EmailTaken, 409, "email_taken"),
            (AuthError::InvalidCredentials, 401, "invalid_credentials"),
            (AuthError::TotpRequired, 401, "totp_required"),
            (AuthError::InvalidTotp, 401, "invalid_totp"),
            (AuthError::MissingToken, 401, "missing_token"),
            (AuthError::TokenExpired, 401, "token_expired"),
            (AuthError::Forbidden, 403, "forbidden"),
            (
                AuthError::RateLimited(Duration::from_secs(3)),
                429,
                "rate_limited",
            ),
            (AuthError::Internal("boom".into()), 500, "internal"),
        ];
        for (err, status, code) in cases {
            let api = ApiError::from(err);
            assert_eq!((api.status().as_u16(), api.code()), (status, code));
        }
        assert_eq!(
            ApiError::from(AuthError::InvalidEmail).field(),
            Some("email")
        );
    }
}
