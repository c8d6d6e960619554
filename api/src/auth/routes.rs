//! `/v1/auth/*` (signup, login, refresh, logout) and `/v1/me`.

use std::time::Instant;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::accounts::{self, Account, Credentials};
use super::extract::{AuthUser, ClientIp};
use super::jwt::now_unix;
use super::{AuthError, Role, password, refresh, totp, totp_key};
use crate::error::ApiError;
use crate::json::ApiJson;
use crate::state::ApiState;

/// The OpenAPI description of these routes.
#[derive(utoipa::OpenApi)]
#[openapi(paths(signup, login, refresh, logout, me))]
pub(crate) struct Doc;

/// The public auth routes and `/v1/me`.
pub fn router() -> Router<ApiState> {
    Router::new()
        .route("/v1/auth/signup", post(signup))
        .route("/v1/auth/login", post(login))
        .route("/v1/auth/refresh", post(refresh))
        .route("/v1/auth/logout", post(logout))
        .route("/v1/me", get(me))
}

/// `POST /v1/auth/signup`.
#[derive(Deserialize, ToSchema)]
struct SignupRequest {
    /// The rider's email.
    email: String,
    /// At least 10 characters.
    password: String,
}

/// A new rider account.
#[derive(Serialize, ToSchema)]
struct SignupResponse {
    user_id: Uuid,
    email: String,
    role: Role,
}

/// `POST /v1/auth/login`.
#[derive(Deserialize, ToSchema)]
struct LoginRequest {
    email: String,
    password: String,
    /// The current TOTP code, for accounts that require one.
    #[serde(default)]
    totp: Option<String>,
}

/// `POST /v1/auth/refresh` and `/v1/auth/logout`.
#[derive(Deserialize, ToSchema)]
struct RefreshRequest {
    refresh_token: String,
}

/// An access token and a refresh token.
#[derive(Serialize, ToSchema)]
struct TokenResponse {
    /// HS256 JWT for `Authorization: Bearer`.
    access_token: String,
    /// Opaque; rotates on every refresh.
    refresh_token: String,
    /// Always `Bearer`.
    #[schema(value_type = String, pattern = "^Bearer$")]
    token_type: &'static str,
    /// Seconds until the access token expires.
    expires_in: u64,
}

/// `POST /v1/auth/signup`: create a rider account.
#[utoipa::path(
    post, path = "/v1/auth/signup", tag = "auth",
    request_body = SignupRequest,
    responses(
        (status = 201, description = "The account", body = SignupResponse),
        (status = 409, description = "`email_taken`"),
        (status = 422, description = "`invalid_email`, `weak_password`, or a body of the wrong shape"),
    )
)]
#[tracing::instrument(skip_all)]
async fn signup(
    State(state): State<ApiState>,
    ApiJson(req): ApiJson<SignupRequest>,
) -> Result<(StatusCode, Json<SignupResponse>), ApiError> {
    let email = password::normalise_email(&req.email)?;
    password::check_policy(&req.password)?;
    let hash = state.auth.hash_password(req.password).await?;
    let account = accounts::insert(&state.pool, &email, &hash, Role::Rider, None).await?;
    tracing::info!(user_id = %account.user_id, "rider signed up");
    Ok((
        StatusCode::CREATED,
        Json(SignupResponse {
            user_id: account.user_id,
            email: account.email,
            role: account.role,
        }),
    ))
}

/// `POST /v1/auth/login`: tokens for an email and password (and TOTP code).
#[utoipa::path(
    post, path = "/v1/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Tokens", body = TokenResponse),
        (status = 401, description = "`invalid_credentials`, `totp_required` or `invalid_totp`"),
        (status = 429, description = "`rate_limited`: too many failed logins, or too many requests",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
#[tracing::instrument(skip_all, fields(ip = ?ip))]
async fn login(
    State(state): State<ApiState>,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    let email = password::login_key(&req.email);
    let limiter = state.auth.limiter();
    // Counted before the password is checked: concurrent guesses cannot pass together.
    limiter
        .begin(&email, ip, Instant::now())
        .map_err(AuthError::RateLimited)?;
    match authenticate(&state, &email, req).await {
        Ok(creds) => {
            limiter.succeeded(&email, ip);
            tracing::info!(user_id = %creds.id, role = %creds.role, "logged in");
            Ok(Json(
                issue_tokens(&state, creds.id, creds.role, creds.token_version).await?,
            ))
        }
        Err(err) => {
            if matches!(err, AuthError::InvalidCredentials | AuthError::InvalidTotp) {
                tracing::info!(reason = %err, "login refused");
            } else {
                limiter.not_a_failure(&email, ip);
            }
            Err(err.into())
        }
    }
}

/// Check password then (when the account has one) the TOTP code. The TOTP answers come
/// only after a right password, so they reveal nothing about other accounts.
async fn authenticate(
    state: &ApiState,
    email: &str,
    req: LoginRequest,
) -> Result<Credentials, AuthError> {
    // PostgreSQL text cannot hold NUL: no account has such an email.
    if email.contains('\0') {
        return Err(AuthError::InvalidCredentials);
    }
    let creds = accounts::credentials(&state.pool, email).await?;
    let phc = creds.as_ref().map(|c| c.password_hash.clone());
    let matched = state.auth.verify_password(req.password, phc).await?;
    let creds = match creds {
        Some(creds) if matched => creds,
        _ => return Err(AuthError::InvalidCredentials),
    };
    if let Some(stored) = &creds.totp_secret {
        let code = req
            .totp
            .as_deref()
            .filter(|code| !code.trim().is_empty())
            .ok_or(AuthError::TotpRequired)?;
        let opened = open_totp_secret(state, creds.id, stored)?;
        // Wrong codes have a limit of their own, per account: a stolen password alone
        // cannot be used to try codes at the email's pace.
        let limiter = state.auth.limiter();
        limiter
            .begin_totp(creds.id, Instant::now())
            .map_err(AuthError::RateLimited)?;
        let now = u64::try_from(now_unix()).unwrap_or_default();
        let step = totp::matching_step(&opened.secret, code, now)?.ok_or(AuthError::InvalidTotp)?;
        if !accounts::consume_totp_step(&state.pool, creds.id, step).await? {
            return Err(AuthError::InvalidTotp);
        }
        limiter.totp_succeeded(creds.id);
        if let (true, Some(key)) = (opened.legacy, state.auth.totp_key()) {
            let sealed = key.seal(creds.id, &opened.secret)?;
            accounts::seal_totp_secret(&state.pool, creds.id, stored, &sealed).await?;
            tracing::info!(user_id = %creds.id, "legacy TOTP secret sealed");
        }
    }
    Ok(creds)
}

/// The TOTP secret `stored` for `account`: sealed ones need the configured key; a legacy
/// clear one is taken as is.
fn open_totp_secret(
    state: &ApiState,
    account: Uuid,
    stored: &str,
) -> Result<totp_key::Opened, AuthError> {
    match state.auth.totp_key() {
        Some(key) => key.open(account, stored),
        None if totp_key::is_sealed(stored) => Err(AuthError::Internal(
            "a sealed TOTP secret but FLEETLOG_AUTH__TOTP_KEY is not set".into(),
        )),
        None => Ok(totp_key::Opened {
            secret: stored.to_owned(),
            legacy: true,
        }),
    }
}

/// A new access token and the first refresh token of a new family.
async fn issue_tokens(
    state: &ApiState,
    id: Uuid,
    role: Role,
    token_version: i32,
) -> Result<TokenResponse, AuthError> {
    let settings = state.auth.settings();
    let refresh_token = refresh::issue(
        &state.pool,
        id,
        Uuid::now_v7(),
        chrono::Utc::now(),
        settings.refresh_ttl(),
    )
    .await?;
    Ok(TokenResponse {
        access_token: state.auth.access_token_at(id, role, token_version)?,
        refresh_token,
        token_type: "Bearer",
        expires_in: settings.access_ttl_s,
    })
}

/// `POST /v1/auth/refresh`: a new token pair; the old refresh token is revoked.
#[utoipa::path(
    post, path = "/v1/auth/refresh", tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new pair", body = TokenResponse),
        (status = 401, description = "`invalid_token`: unknown, expired or revoked refresh token"),
    )
)]
#[tracing::instrument(skip_all)]
async fn refresh(
    State(state): State<ApiState>,
    ApiJson(req): ApiJson<RefreshRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    let settings = state.auth.settings();
    let rotated = refresh::rotate(
        &state.pool,
        &req.refresh_token,
        settings.refresh_ttl(),
        settings.session_max(),
    )
    .await?;
    Ok(Json(TokenResponse {
        access_token: state.auth.access_token_at(
            rotated.account_id,
            rotated.role,
            rotated.token_version,
        )?,
        refresh_token: rotated.refresh_token,
        token_type: "Bearer",
        expires_in: settings.access_ttl_s,
    }))
}

/// `POST /v1/auth/logout`: revoke the refresh token's family.
#[utoipa::path(
    post, path = "/v1/auth/logout", tag = "auth",
    request_body = RefreshRequest,
    responses((status = 204, description = "Revoked"))
)]
#[tracing::instrument(skip_all)]
async fn logout(
    State(state): State<ApiState>,
    ApiJson(req): ApiJson<RefreshRequest>,
) -> Result<StatusCode, ApiError> {
    refresh::revoke(&state.pool, &req.refresh_token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/me`: the caller's account.
#[utoipa::path(
    get, path = "/v1/me", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The account", body = Account),
        (status = 404, description = "`not_found`: the account is gone"),
    )
)]
#[tracing::instrument(skip_all, fields(user_id = %user.user_id))]
async fn me(State(state): State<ApiState>, user: AuthUser) -> Result<Json<Account>, ApiError> {
    if user.role == Role::Provider {
        return Err(AuthError::Forbidden.into());
    }
    let account = accounts::find(&state.pool, user.user_id)
        .await?
        .ok_or(AuthError::NotFound)?;
    Ok(Json(account))
}
