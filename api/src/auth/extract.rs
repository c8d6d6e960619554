//! Who is calling: [`AuthUser`] from `Authorization: Bearer <token>` (an access JWT or an
//! MDS provider token), role guards over it, and the client address for rate limits.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use uuid::Uuid;

use super::{AuthError, Role, provider};
use crate::error::ApiError;
use crate::state::ApiState;

/// An authenticated caller. For [`Role::Provider`], `user_id` is the provider token's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthUser {
    /// The account id (or provider token id).
    pub user_id: Uuid,
    /// The role the token carries.
    pub role: Role,
    /// The account's token version the token carries (0 for provider tokens).
    pub token_version: i32,
    /// When the access token expires (its `exp`, seconds since the Unix epoch); `None`
    /// for provider tokens, which are looked up instead.
    pub expires_at: Option<i64>,
}

impl AuthUser {
    /// Authenticate a bearer `token` against `state`.
    ///
    /// # Errors
    /// [`AuthError::InvalidToken`] or [`AuthError::TokenExpired`] when the token is not
    /// valid now; [`AuthError::Store`] when a provider token lookup fails.
    pub async fn from_token(state: &ApiState, token: &str) -> Result<Self, AuthError> {
        if provider::is_provider_token(token) {
            let id = provider::authenticate(&state.pool, state.auth.providers(), token).await?;
            return Ok(Self {
                user_id: id,
                role: Role::Provider,
                token_version: 0,
                expires_at: None,
            });
        }
        let claims = state.auth.keys().decode(token)?;
        Ok(Self {
            user_id: claims.sub,
            role: claims.role,
            token_version: claims.ver,
            expires_at: Some(claims.exp),
        })
    }
}

/// The token of an `Authorization: Bearer <token>` header.
///
/// # Errors
/// [`AuthError::MissingToken`] without the header, [`AuthError::InvalidToken`] when it is
/// not a bearer token.
pub fn bearer_token(headers: &HeaderMap) -> Result<&str, AuthError> {
    let value = headers.get(AUTHORIZATION).ok_or(AuthError::MissingToken)?;
    let value = value.to_str().map_err(|_| AuthError::InvalidToken)?;
    let (scheme, token) = value.split_once(' ').ok_or(AuthError::InvalidToken)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(AuthError::InvalidToken);
    }
    Ok(token)
}

impl<S> FromRequestParts<S> for AuthUser
where
    ApiState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(user) = parts.extensions.get::<AuthUser>() {
            return Ok(*user);
        }
        let state = ApiState::from_ref(state);
        let token = bearer_token(&parts.headers)?;
        let user = AuthUser::from_token(&state, token).await?;
        parts.extensions.insert(user);
        Ok(user)
    }
}

macro_rules! role_guard {
    ($(#[$doc:meta])* $name:ident: $($role:path)|+) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $name(pub AuthUser);

        impl<S> FromRequestParts<S> for $name
        where
            ApiState: FromRef<S>,
            S: Send + Sync,
        {
            type Rejection = ApiError;

            async fn from_request_parts(
                parts: &mut Parts,
                state: &S,
            ) -> Result<Self, Self::Rejection> {
                let user = AuthUser::from_request_parts(parts, state).await?;
                if matches!(user.role, $($role)|+) {
                    Ok(Self(user))
                } else {
                    Err(AuthError::Forbidden.into())
                }
            }
        }
    };
}

role_guard!(
    /// A rider; anyone else gets 403 `forbidden`.
    RequireRider: Role::Rider
);
role_guard!(
    /// Fleet staff: an operator or an admin; anyone else gets 403 `forbidden`.
    RequireOperator: Role::Operator | Role::Admin
);
role_guard!(
    /// An admin; anyone else gets 403 `forbidden`.
    RequireAdmin: Role::Admin
);
role_guard!(
    /// An MDS provider token; anyone else gets 403 `forbidden`.
    RequireProvider: Role::Provider
);

/// The client's address: the server's TCP peer (needs the router served with
/// `into_make_service_with_connect_info::<SocketAddr>()`; `None` otherwise), or, when the
/// peer is a configured trusted proxy, the client it names in `X-Forwarded-For` (see
/// [`super::client_addr`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub Option<IpAddr>);

impl ClientIp {
    /// The client address of a request with `extensions` and `headers`.
    pub fn of(
        auth: &super::Auth,
        extensions: &axum::http::Extensions,
        headers: &HeaderMap,
    ) -> Self {
        Self(
            extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| auth.proxies().client(addr.ip(), headers)),
        )
    }
}

impl<S> FromRequestParts<S> for ClientIp
where
    ApiState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = ApiState::from_ref(state);
        Ok(Self::of(&state.auth, &parts.extensions, &parts.headers))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, value.parse().expect("header"));
        headers
    }

    #[test]
    fn the_bearer_token_is_taken_from_the_authorization_header() {
        assert_eq!(
            bearer_token(&headers("Bearer abc.def")).ok(),
            Some("abc.def")
        );
        assert_eq!(bearer_token(&headers("bearer  abc")).ok(), Some("abc"));
        assert!(matches!(
            bearer_token(&HeaderMap::new()),
            Err(AuthError::MissingToken)
        ));
        assert!(matches!(
            bearer_token(&headers("Basic dXNlcjpw")),
            Err(AuthError::InvalidToken)
        ));
        assert!(matches!(
            bearer_token(&headers("Bearer ")),
            Err(AuthError::InvalidToken)
        ));
    }
}
