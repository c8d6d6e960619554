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
//! the stream starts at the head. Each connection reads the log with a consumer of its own
//! (assigned, never committing); a comment line keeps idle connections open.

mod position;

use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use fleetlog_schemas::envelope::Envelope;
use fleetlog_schemas::events::FleetEventBody;
use fleetlog_schemas::topics;
use futures::Stream;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::{Message, Offset, TopicPartitionList};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::auth::{AuthError, AuthUser, Role, sessions};
use crate::error::ApiError;
use crate::state::ApiState;
use position::Position;

/// Events buffered per connection before the reader waits for the client.
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
        (status = 200, description = "An endless `text/event-stream`: `id:` (the position after \
            the event on every partition), `event:` (its type) and `data:` (JSON \
            `{type, event_id, occurred_at_ms, correlation_id, vehicle_id, data}`); a comment \
            every 15 s", content_type = "text/event-stream", body = String),
        (status = 403, description = "`forbidden`: provider tokens"),
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
    // A token from before a password change or a disable opens no stream.
    if !sessions::still_valid(&state.pool, user).await? {
        return Err(AuthError::InvalidToken.into());
    }
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(Position::parse);
    // Metadata and watermarks are blocking calls of librdkafka.
    let setup = state.clone();
    let (consumer, position) = tokio::task::spawn_blocking(move || assign(&setup, resume.as_ref()))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    let (tx, rx) = mpsc::channel(BUFFER);
    tokio::spawn(pump(state, user, consumer, position, tx));
    let events = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|event| (Ok(event), rx))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// A consumer of its own on every partition of `fleet.events.v1`, at `resume` or the head,
/// and the position it starts from (every partition named, so later ids resume exactly).
fn assign(
    state: &ApiState,
    resume: Option<&Position>,
) -> Result<(StreamConsumer, Position), rdkafka::error::KafkaError> {
    let group = format!(
        "{}-stream-{}",
        state.commands.kafka().client_id,
        Uuid::now_v7()
    );
    let consumer: StreamConsumer =
        fleetlog_runtime::kafka::consumer_config(state.commands.kafka(), &group).create()?;
    let metadata =
        consumer.fetch_metadata(Some(topics::FLEET_EVENTS.name()), Duration::from_secs(5))?;
    let mut tpl = TopicPartitionList::new();
    let mut start = Position::default();
    for topic in metadata.topics() {
        for p in topic.partitions() {
            let offset = match resume.and_then(|r| r.next_offset(p.id())) {
                Some(offset) => offset,
                None => {
                    let timeout = Duration::from_secs(5);
                    consumer
                        .fetch_watermarks(topics::FLEET_EVENTS.name(), p.id(), timeout)?
                        .1
                }
            };
            start.advance(p.id(), offset);
            tpl.add_partition_offset(topics::FLEET_EVENTS.name(), p.id(), Offset::Offset(offset))?;
        }
    }
    consumer.assign(&tpl)?;
    Ok((consumer, start))
}

/// Read, filter for `user`, and send until the client goes away.
async fn pump(
    state: ApiState,
    user: AuthUser,
    consumer: StreamConsumer,
    mut position: Position,
    tx: mpsc::Sender<Event>,
) {
    let mut session_check = tokio::time::interval(sessions::STREAM_CHECK);
    loop {
        let message = tokio::select! {
            () = tx.closed() => return,
            _ = session_check.tick() => {
                // The stream ends once its account's sessions were ended (or the check
                // fails: better to make the client reconnect than to stream on unchecked).
                if !sessions::still_valid(&state.pool, user).await.unwrap_or(false) {
                    tracing::info!(user_id = %user.user_id, "session ended; closing the stream");
                    return;
                }
                continue;
            }
            m = consumer.recv() => m,
        };
        let Ok(message) = message else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        position.advance(message.partition(), message.offset() + 1);
        let Some(payload) = message.payload() else {
            continue;
        };
        let Ok(envelope) = Envelope::from_message(&message) else {
            continue;
        };
        let Ok((event, _)) = state
            .commands
            .codec()
            .decode(topics::FLEET_EVENTS, payload)
            .await
        else {
            continue;
        };
        if !visible(&state, user, &event.event).await {
            continue;
        }
        let (kind, body) = describe(&event.event);
        let data = json!({
            "type": kind,
            "event_id": envelope.id,
            "occurred_at_ms": event.occurred_at_ms,
            "correlation_id": envelope.correlation_id,
            "vehicle_id": envelope.subject,
            "data": body,
        });
        let sse = Event::default()
            .id(position.to_string())
            .event(kind)
            .data(data.to_string());
        if tx.send(sse).await.is_err() {
            return;
        }
    }
}

/// The event's `snake_case` type and its fields.
fn describe(body: &FleetEventBody) -> (String, Value) {
    let value = serde_json::to_value(body).unwrap_or(Value::Null);
    match value {
        Value::Object(map) if map.len() == 1 => {
            let (name, inner) = map.into_iter().next().unwrap_or_default();
            (snake(&name), inner)
        }
        other => ("fleet_event".to_owned(), other),
    }
}

fn snake(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 4);
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether `user` may see `body`.
async fn visible(state: &ApiState, user: AuthUser, body: &FleetEventBody) -> bool {
    use FleetEventBody as B;
    if matches!(user.role, Role::Operator | Role::Admin) {
        return true;
    }
    let mine = |rider: &Uuid| *rider == user.user_id;
    match body {
        B::ReservationMade(e) => mine(&e.rider_id),
        B::ReservationExpired(e) => mine(&e.rider_id),
        B::ReservationCancelled(e) => mine(&e.rider_id),
        B::RideRequested(e) => mine(&e.rider_id),
        B::RideStarted(e) => mine(&e.rider_id),
        B::RideEnded(e) => mine(&e.rider_id),
        B::RideFailed(e) => mine(&e.rider_id),
        B::CommandAccepted(e) => sent_by(state, e.command_id, user.user_id).await,
        B::CommandRejected(e) => sent_by(state, e.command_id, user.user_id).await,
        _ => false,
    }
}

async fn sent_by(state: &ApiState, command_id: Uuid, user: Uuid) -> bool {
    crate::commands::read::sent_by(&state.pool, command_id, user)
        .await
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_are_snake_case_names_of_the_union_branch() {
        assert_eq!(snake("RideStarted"), "ride_started");
        assert_eq!(snake("VehicleStateChanged"), "vehicle_state_changed");
    }
}
