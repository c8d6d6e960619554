//! `GET /v1/stream`: Server-Sent Events of the fleet events a caller may see, read from
//! `fleet.events.v1` and resumable with `Last-Event-ID`.
//!
//! - Operators and admins see every fleet event (vehicle state changes, reservations,
//!   rides, alarms, zones, command outcomes).
//! - Riders see their own: reservations and rides whose `rider_id` is theirs, and the
//!   outcomes (`command_accepted`, `command_rejected`) of commands they sent.
//!
//! Each event's SSE `id` is the position after it on every partition
//! (`<partition>:<next offset>` joined by `.`), so a client that reconnects with
//! `Last-Event-ID` resumes exactly where it stopped, even across API restarts; without it
//! the stream starts at the head.
//!
//! **One reader per process.** One Kafka consumer per API process ([`reader::Live`],
//! started by the first stream, stopped with the API's shutdown token) reads the log at the
//! head, decodes each record once and broadcasts it; each stream ([`client`]) filters it
//! for its user and keeps its own position ([`cursor`]). A stream that starts behind the
//! shared reader (a resume) or falls behind its buffer (a slow client) reads the stretch
//! with a short-lived consumer of its own, then joins the broadcast with no gap and no
//! duplicate; it never slows the others.
//!
//! **Caps and ends.** Streams are capped per account and per process
//! (`FLEETLOG_API__STREAM_MAX_PER_USER`, `__STREAM_MAX_PER_PROCESS`; over a cap:
//! `429 too_many_streams` with `Retry-After`), counted by an RAII [`caps::Permit`]. A stream
//! ends when the client goes away, its access token expires (its `exp`), its account's
//! sessions were ended (checked every [`sessions::STREAM_CHECK`]) or the API shuts down; a
//! comment line keeps idle connections open.

mod caps;
mod client;
mod cursor;
mod hub;
mod item;
pub mod metrics;
mod position;
mod reader;

use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use futures::Stream;
use tokio::sync::mpsc;

use crate::auth::{AuthError, AuthUser, Role, sessions};
use crate::error::ApiError;
use crate::state::ApiState;
use caps::Refused;
pub use hub::{StreamHub, StreamStats};
use position::Position;

/// Events buffered per connection before its stream waits for the client.
const BUFFER: usize = 256;

/// The OpenAPI description of the route.
#[derive(utoipa::OpenApi)]
#[openapi(paths(stream))]
pub(crate) struct Doc;

/// The route.
pub fn router() -> Router<ApiState> {
    Router::new().route("/v1/stream", get(stream))
}

/// `GET /v1/stream`: Server-Sent Events of the fleet events the caller may see.
#[utoipa::path(
    get, path = "/v1/stream", tag = "stream",
    security(("bearer" = [])),
    params(("Last-Event-ID" = Option<String>, Header, nullable = false,
        description = "The `id` of the last event received: resume exactly after it")),
    responses(
        (status = 200, description = "A `text/event-stream` until the access token expires \
            (or the session ends): `id:` (the position after the event on every partition), \
            `event:` (its type) and `data:` (JSON `{type, event_id, occurred_at_ms, \
            correlation_id, vehicle_id, data}`); a comment every 15 s",
            content_type = "text/event-stream", body = String),
        (status = 403, description = "`forbidden`: provider tokens"),
        (status = 429, description = "`too_many_streams`: the account or the API process \
            holds its cap of open streams; or `rate_limited`: too many requests",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
async fn stream(
    State(state): State<ApiState>,
    user: AuthUser,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    if user.role == Role::Provider {
        return Err(AuthError::Forbidden.into());
    }
    // Streams close at `exp` (the JWT check lets a token through for the second of `exp`
    // itself): a token whose `exp` passed opens none.
    if client::time_left(user).is_some_and(|left| left.is_zero()) {
        return Err(AuthError::TokenExpired.into());
    }
    // A token from before a password change or a disable opens no stream.
    if !sessions::still_valid(&state.pool, user).await? {
        return Err(AuthError::InvalidToken.into());
    }
    let permit = state.streams.caps().acquire(user.user_id).map_err(|cap| {
        let label = match cap {
            Refused::User => "user",
            Refused::Process => "process",
        };
        ::metrics::counter!(metrics::REFUSED, "cap" => label).increment(1);
        ApiError::too_many_streams(cap == Refused::User, sessions::STREAM_CHECK)
    })?;
    let live = state.streams.live().await.map_err(ApiError::internal)?;
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(Position::parse);
    let (tx, rx) = mpsc::channel(BUFFER);
    let follower = client::Follower {
        state,
        user,
        live,
        resume,
        tx,
        permit,
    };
    tokio::spawn(follower.run());
    let events = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|event| (Ok(event), rx))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
