//! `scooter.sessions.v1`: connected / disconnected, appended in tasks of the gateway's
//! tracker, so shutdown waits for them (the disconnects of a stopping gateway included).
//! The same moments update the directory (`device_sessions`, [`super::directory`]): a
//! login names this session as the device's holder and then hands the commands pending for
//! the device to its mailbox; a close (after its login's update) ends the session's row.

use std::net::SocketAddr;
use std::sync::Arc;

use fleetlog_schemas::events::{
    SessionChange, SessionConnected, SessionDisconnected, SessionEvent,
};

use tokio::task::JoinHandle;

use super::Gateway;
use super::close::Close;
use super::publish::now_ms;
use crate::protocol::Protocol;

/// The session id of connection `conn_id` (in the session events and the directory).
pub(crate) fn session_id(gw: &Gateway, conn_id: u64) -> uuid::Uuid {
    uuid::Uuid::new_v5(&gw.instance_id, &conn_id.to_be_bytes())
}

/// The device identified itself on connection `conn_id`. Returns the task that names the
/// session in the directory and then queues the device's pending commands here.
pub(crate) fn connected(
    gw: &Arc<Gateway>,
    device_id: &str,
    conn_id: u64,
    protocol: Protocol,
    peer: SocketAddr,
) -> JoinHandle<()> {
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
    let (session, device) = (event.session_id, event.device_id.clone());
    publish(gw, event);
    let gw = gw.clone();
    gw.tasks.clone().spawn(async move {
        if let Err(err) = gw.directory.open(&device, session).await {
            tracing::warn!(device, error = %err, "directory not updated: no commands delivered to this session");
            return;
        }
        match gw.directory.pending_for(&device).await {
            Ok(pending) => {
                for request in pending {
                    gw.router.route(request);
                }
            }
            Err(err) => tracing::warn!(device, error = %err, "pending commands not read"),
        }
    })
}

/// Connection `conn_id` of the device ended; its directory row closes once `login` (the
/// task [`connected`] returned) is done.
pub(crate) fn disconnected(
    gw: &Arc<Gateway>,
    device_id: &str,
    conn_id: u64,
    close: &Close,
    frames: i64,
    login: Option<JoinHandle<()>>,
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
    let (session, device) = (event.session_id, event.device_id.clone());
    publish(gw, event);
    let directory = gw.directory.clone();
    gw.tasks.spawn(async move {
        if let Some(login) = login {
            let _ = login.await;
        }
        if let Err(err) = directory.close(&device, session).await {
            tracing::warn!(device, error = %err, "directory not updated at the close");
        }
    });
}

fn publish(gw: &Arc<Gateway>, event: SessionEvent) {
    let publisher = gw.publisher.clone();
    gw.tasks.spawn(async move {
        if let Err(err) = publisher.session(&event).await {
            tracing::warn!(device = %event.device_id, error = %err, "session event not appended");
        }
    });
}
