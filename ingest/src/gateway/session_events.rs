//! `scooter.sessions.v1`: connected / disconnected, appended in tasks of the gateway's
//! tracker, so shutdown waits for them (the disconnects of a stopping gateway included).

use std::net::SocketAddr;
use std::sync::Arc;

use fleetlog_schemas::events::{
    SessionChange, SessionConnected, SessionDisconnected, SessionEvent,
};

use super::Gateway;
use super::close::Close;
use super::publish::now_ms;
use crate::protocol::Protocol;

fn session_id(gw: &Gateway, conn_id: u64) -> uuid::Uuid {
    uuid::Uuid::new_v5(&gw.instance_id, &conn_id.to_be_bytes())
}

/// The device identified itself on connection `conn_id`.
pub(crate) fn connected(
    gw: &Arc<Gateway>,
    device_id: &str,
    conn_id: u64,
    protocol: Protocol,
    peer: SocketAddr,
) {
    let event = SessionEvent {
        session_id: session_id(gw, conn_id),
        device_id: device_id.to_owned(),
        gateway_id: gw.settings.gateway_id.clone(),
        at_ms: now_ms(),
        change: SessionChange::SessionConnected(SessionConnected {
            protocol: super::stored_protocol(protocol),
            remote_addr: peer.to_string(),
        }),
    };
    publish(gw, event);
}

/// Connection `conn_id` of the device ended.
pub(crate) fn disconnected(
    gw: &Arc<Gateway>,
    device_id: &str,
    conn_id: u64,
    close: &Close,
    frames: i64,
) {
    let event = SessionEvent {
        session_id: session_id(gw, conn_id),
        device_id: device_id.to_owned(),
        gateway_id: gw.settings.gateway_id.clone(),
        at_ms: now_ms(),
        change: SessionChange::SessionDisconnected(SessionDisconnected {
            reason: close.reason(),
            detail: close.detail(),
            frames,
        }),
    };
    publish(gw, event);
}

fn publish(gw: &Arc<Gateway>, event: SessionEvent) {
    let publisher = gw.publisher.clone();
    gw.tasks.spawn(async move {
        if let Err(err) = publisher.session(&event).await {
            tracing::warn!(device = %event.device_id, error = %err, "session event not appended");
        }
    });
}
