//! One record of `fleet.events.v1` as streams share it: where it sits in the log, and the
//! event decoded once with its SSE `data` already written; and who may see it.

use fleetlog_schemas::envelope::Envelope;
use fleetlog_schemas::events::FleetEventBody;
use fleetlog_schemas::topics;
use fleetlog_schemas::wire::WireCodec;
use rdkafka::Message;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::auth::{AuthUser, Role};
use crate::state::ApiState;

/// A record read from the log, by the shared reader or a catch-up reader.
#[derive(Debug)]
pub(crate) struct Item {
    /// Its partition.
    pub(crate) partition: i32,
    /// Its offset.
    pub(crate) offset: i64,
    /// The reader's next offset on the partition before this record: the reader has
    /// read everything from here up to the record (control records in between).
    pub(crate) prev_next: i64,
    /// The event, unless the record was not one (no payload, no envelope, undecodable).
    pub(crate) event: Option<Decoded>,
}

/// A fleet event, decoded once for every stream.
#[derive(Debug)]
pub(crate) struct Decoded {
    /// The event itself, for [`visible`].
    pub(crate) body: FleetEventBody,
    /// Its `snake_case` type, the SSE `event:`.
    pub(crate) kind: String,
    /// The SSE `data:` JSON: `{type, event_id, occurred_at_ms, correlation_id,
    /// vehicle_id, data}`.
    pub(crate) data: String,
}

/// The fleet event in `message`, unless it is none (no payload, no envelope,
/// undecodable: such records only move positions).
pub(crate) async fn decode<M: Message>(message: &M, codec: &WireCodec) -> Option<Decoded> {
    let payload = message.payload()?;
    let envelope = Envelope::from_message(message).ok()?;
    let (event, _) = codec.decode(topics::FLEET_EVENTS, payload).await.ok()?;
    let (kind, body) = describe(&event.event);
    let data = json!({
        "type": kind,
        "event_id": envelope.id,
        "occurred_at_ms": event.occurred_at_ms,
        "correlation_id": envelope.correlation_id,
        "vehicle_id": envelope.subject,
        "data": body,
    });
    Some(Decoded {
        body: event.event,
        kind,
        data: data.to_string(),
    })
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

/// Whether `user` may see `body`: operators and admins everything; riders their own
/// reservations and rides, and the outcomes of commands they sent.
pub(crate) async fn visible(state: &ApiState, user: AuthUser, body: &FleetEventBody) -> bool {
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
