//! The scooter gateway: one TCP listener per device protocol.
//!
//! Per connection ([`connection`]): handshake, framing with a hard maximum frame size,
//! every frame appended with its raw bytes to `scooter.frames.v1` (key = device id, a
//! fresh correlation id per frame) and the device's ACK written **only after the broker
//! acknowledged** the append. Connections are bounded by a semaphore; handshake and idle
//! timeouts, a frame-rate limit and bounded in-flight appends protect the process from
//! hostile or broken clients. Downlink commands arrive through [`downlink`].
//!
//! Session events ([`session_events`]) and downlink outcomes (`report.rs`) are appended in
//! tasks of the gateway's [`TaskTracker`], beside its connections: on shutdown [`run`]
//! waits for them and then flushes the producer, within half the shutdown grace period. A
//! final outcome recorded but not appended by then (or ever: the process was killed, the
//! append failed) is appended again by the sweep of any gateway (see [`directory`]).

mod admission;
mod close;
mod commands;
mod connection;
pub mod directory;
pub mod downlink;
pub mod metrics;
mod per_address;
mod publish;
mod rate;
pub mod registered;
mod report;
mod router;
mod session_events;
#[cfg(test)]
mod task_size;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use fleetlog_runtime::Settings;
use fleetlog_runtime::producer::Producer;
use fleetlog_runtime::settings::GatewaySettings;
use fleetlog_schemas::events::Protocol as StoredProtocol;
use fleetlog_schemas::wire::WireCodec;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use admission::{Admission, AdmissionControl};
pub use close::Close;
pub use publish::{PublishError, Publisher};
pub use router::{DownlinkRequest, Router};

use crate::protocol::Protocol;

/// What every connection of one gateway process shares.
pub struct Gateway {
    settings: Arc<GatewaySettings>,
    publisher: Publisher,
    router: Arc<Router>,
    directory: directory::Directory,
    admission: AdmissionControl,
    instance_id: uuid::Uuid,
    conn_ids: AtomicU64,
    slots: Arc<Semaphore>,
    per_address: Arc<per_address::AddressSlots>,
    /// Accept loops, connections and the appends of session events and downlink
    /// outcomes: shutdown waits for all of them.
    tasks: TaskTracker,
    /// Per-frame metric handles: Teltonika, Omni, GT06.
    frame_metrics: [metrics::FrameMetrics; 3],
}

impl Gateway {
    /// A gateway appending through `producer`, encoding with `codec`, finding devices and
    /// pending commands in `directory`.
    pub fn new(
        settings: &GatewaySettings,
        producer: Producer,
        codec: Arc<WireCodec>,
        directory: directory::Directory,
    ) -> Arc<Self> {
        // The recorder must exist before handles are taken (else they record nowhere).
        let _ = fleetlog_runtime::telemetry::metrics_handle();
        metrics::describe();
        Arc::new(Self {
            frame_metrics: [Protocol::Teltonika, Protocol::Omni, Protocol::Gt06]
                .map(|p| metrics::FrameMetrics::new(p.as_str())),
            publisher: Publisher::new(producer, codec, &settings.gateway_id),
            router: Arc::new(Router::default()),
            directory,
            admission: AdmissionControl::from_settings(settings),
            instance_id: uuid::Uuid::now_v7(),
            conn_ids: AtomicU64::new(1),
            slots: Arc::new(Semaphore::new(settings.max_connections)),
            per_address: per_address::AddressSlots::new(settings.max_connections_per_address),
            tasks: TaskTracker::new(),
            settings: Arc::new(settings.clone()),
        })
    }

    /// Devices with an open connection here.
    pub fn connected_devices(&self) -> usize {
        self.router.connected()
    }

    fn frame_metrics(&self, protocol: Protocol) -> &metrics::FrameMetrics {
        &self.frame_metrics[match protocol {
            Protocol::Teltonika => 0,
            Protocol::Omni => 1,
            Protocol::Gt06 => 2,
        }]
    }

    fn next_conn_id(&self) -> u64 {
        self.conn_ids.fetch_add(1, Ordering::Relaxed)
    }
}

/// Connections to PostgreSQL for the directory and the pending commands (logins,
/// delivery claims, outcomes, the sweep).
const DIRECTORY_CONNECTIONS: u32 = 8;

/// The three device listeners.
pub struct Listeners {
    /// Teltonika (default port 5027).
    pub teltonika: TcpListener,
    /// Omni (default port 5028).
    pub omni: TcpListener,
    /// GT06 (default port 5023).
    pub gt06: TcpListener,
}

impl Listeners {
    /// Bind the addresses of the settings.
    ///
    /// # Errors
    /// When an address cannot be bound.
    pub async fn bind(settings: &GatewaySettings) -> anyhow::Result<Self> {
        let bind = |addr: String| async move {
            TcpListener::bind(&addr)
                .await
                .with_context(|| format!("binding {addr}"))
        };
        Ok(Self {
            teltonika: bind(settings.teltonika_addr.clone()).await?,
            omni: bind(settings.omni_addr.clone()).await?,
            gt06: bind(settings.gt06_addr.clone()).await?,
        })
    }

    /// Where each listener is bound: (Teltonika, Omni, GT06).
    ///
    /// # Errors
    /// When a socket has no local address.
    pub fn local_addrs(&self) -> std::io::Result<(SocketAddr, SocketAddr, SocketAddr)> {
        Ok((
            self.teltonika.local_addr()?,
            self.omni.local_addr()?,
            self.gt06.local_addr()?,
        ))
    }
}

/// Run the gateway (listeners and downlink) until `shutdown`; then close connections,
/// wait for the session events and downlink outcomes still being appended, and flush the
/// producer — all within half of `shutdown_grace_ms` (the other half is the margin before
/// the process's supervisor aborts what is left).
///
/// # Errors
/// When the database URL is invalid or the downlink consumer cannot start.
pub async fn run(
    settings: &Settings,
    listeners: Listeners,
    producer: Producer,
    codec: Arc<WireCodec>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let pool = fleetlog_runtime::db::pool(&settings.database_url, DIRECTORY_CONNECTIONS)
        .context("the directory's database URL")?;
    let directory = directory::Directory::new(pool, settings.gateway.gateway_id.clone());
    let gw = Gateway::new(&settings.gateway, producer, codec.clone(), directory);
    let tracker = gw.tasks.clone();
    for (protocol, listener) in [
        (Protocol::Teltonika, listeners.teltonika),
        (Protocol::Omni, listeners.omni),
        (Protocol::Gt06, listeners.gt06),
    ] {
        tracing::info!(protocol = protocol.as_str(), addr = ?listener.local_addr().ok(), "gateway listening");
        tracker.spawn(accept_loop(
            gw.clone(),
            protocol,
            listener,
            tracker.clone(),
            shutdown.clone(),
        ));
    }
    let group = format!("fleetlog-gateway-{}-vehicles", settings.gateway.gateway_id);
    tracker.spawn({
        let (registered, kafka) = (gw.admission.registered().clone(), settings.kafka.clone());
        let (codec, shutdown) = (codec.clone(), shutdown.clone());
        async move {
            if let Err(err) = registered::follow(registered, &kafka, &group, codec, shutdown).await
            {
                tracing::error!(error = %err, "vehicle registrations not followed: registered devices stay quarantined");
            }
        }
    });
    let downlink = downlink::run(gw.clone(), &settings.kafka, codec, shutdown.clone()).await;
    shutdown.cancel();
    drain(&gw, Duration::from_millis(settings.shutdown_grace_ms) / 2).await;
    downlink
}

/// Wait for the gateway's tasks (connections close at once on shutdown, then their
/// session events and outcomes are appended), then flush the producer; at most `within`.
async fn drain(gw: &Gateway, within: Duration) {
    let deadline = tokio::time::Instant::now() + within;
    gw.tasks.close();
    if tokio::time::timeout_at(deadline, gw.tasks.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            tasks = gw.tasks.len(),
            "gateway tasks (connections, session events, downlink outcomes) still running at shutdown"
        );
    }
    let left = deadline.saturating_duration_since(tokio::time::Instant::now());
    if let Err(err) = gw.publisher.flush(left).await {
        tracing::warn!(error = %err, "gateway appends not flushed at shutdown");
    }
}

async fn accept_loop(
    gw: Arc<Gateway>,
    protocol: Protocol,
    listener: TcpListener,
    tracker: TaskTracker,
    shutdown: CancellationToken,
) {
    loop {
        let accepted = tokio::select! {
            () = shutdown.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => match gw.slots.clone().try_acquire_owned() {
                Ok(permit) => {
                    let Some(address_permit) = gw.per_address.try_acquire(peer.ip()) else {
                        ::metrics::counter!(metrics::REFUSED, "protocol" => protocol.as_str(), "reason" => "per_address")
                            .increment(1);
                        tracing::warn!(%peer, "connection refused: too many from this address");
                        drop(stream);
                        continue;
                    };
                    let _ = stream.set_nodelay(true);
                    let conn =
                        connection::Connection::new(gw.clone(), protocol, peer, shutdown.clone());
                    tracker.spawn(async move {
                        conn.serve(stream).await;
                        drop(address_permit);
                        drop(permit);
                    });
                }
                Err(_) => {
                    ::metrics::counter!(metrics::REFUSED, "protocol" => protocol.as_str(), "reason" => "limit")
                        .increment(1);
                    tracing::debug!(%peer, "connection refused: limit reached");
                    drop(stream);
                }
            },
            Err(err) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(error = %err, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

fn stored_protocol(protocol: Protocol) -> StoredProtocol {
    match protocol {
        Protocol::Teltonika => StoredProtocol::Teltonika,
        Protocol::Omni => StoredProtocol::Omni,
        Protocol::Gt06 => StoredProtocol::Gt06,
    }
}
