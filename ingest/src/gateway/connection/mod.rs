//! One device connection: handshake, framing, append-then-ACK, downlink commands.
//!
//! Frames are appended in arrival order and their ACKs written in the same order, each only
//! after the broker acknowledged that frame. At most `max_inflight_per_connection` appends
//! wait at once; beyond that the connection stops reading (TCP backpressure) instead of
//! buffering without bound.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use fleetlog_runtime::producer::ProduceError;
use fleetlog_schemas::events::{FrameStatus as StoredStatus, RawFrameRef, ReplyOutcome};
use rdkafka::producer::DeliveryFuture;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::WriteHalf;
use tokio::sync::Notify;
use tokio::time::{Instant, sleep_until, timeout};
use tokio_util::sync::CancellationToken;

mod commands;

use super::Gateway;
use super::admission::Admission;
use super::close::Close;
use super::commands::CommandState;
use super::metrics as m;
use super::publish::{PublishError, now_ms};
use super::rate::RateLimit;
use super::router::Claim;
use super::session_events;
use crate::protocol::{Frame, FrameError, Protocol, Session, next_frame};

const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

struct Pending {
    delivery: Option<DeliveryFuture>,
    ack: Option<Bytes>,
    read_at: Instant,
}

/// State of one connection task.
pub(crate) struct Connection {
    gw: Arc<Gateway>,
    protocol: Protocol,
    peer: SocketAddr,
    /// `peer` as text, as stored in every frame.
    peer_text: Box<str>,
    conn_id: u64,
    session: Session,
    device_id: Option<String>,
    quarantined: bool,
    frames: i64,
    rate: RateLimit,
    commands: CommandState,
    /// Commands may wait in the router's mailbox: set at login and when woken, cleared
    /// once the mailbox was found empty (so the router's lock is not taken per frame).
    mailbox: bool,
    wake: Arc<Notify>,
    stop: CancellationToken,
    shutdown: CancellationToken,
    /// When this connection last sent a complete frame (ms since the epoch).
    last_frame_ms: Arc<AtomicI64>,
    /// The login's directory update (the close's waits for it).
    login: Option<tokio::task::JoinHandle<()>>,
}

impl Connection {
    pub(crate) fn new(
        gw: Arc<Gateway>,
        protocol: Protocol,
        peer: SocketAddr,
        shutdown: CancellationToken,
    ) -> Self {
        let rate = RateLimit::per_second(gw.settings.max_frames_per_sec);
        Self {
            conn_id: gw.next_conn_id(),
            gw,
            protocol,
            peer,
            peer_text: peer.to_string().into_boxed_str(),
            session: Session::new(protocol),
            device_id: None,
            quarantined: false,
            frames: 0,
            rate,
            commands: CommandState::default(),
            mailbox: false,
            wake: Arc::new(Notify::new()),
            stop: shutdown.child_token(),
            shutdown,
            last_frame_ms: Arc::new(AtomicI64::new(now_ms())),
            login: None,
        }
    }

    /// Serve until the connection ends; then report and clean up.
    pub(crate) async fn serve(mut self, mut stream: TcpStream) {
        let protocol = self.protocol.as_str();
        metrics::gauge!(m::CONNECTIONS, "protocol" => protocol).increment(1.0);
        let close = self.run(&mut stream).await;
        metrics::gauge!(m::CONNECTIONS, "protocol" => protocol).decrement(1.0);
        metrics::counter!(m::DISCONNECTS, "protocol" => protocol, "reason" => close.label())
            .increment(1);
        tracing::info!(peer = %self.peer, protocol, device = ?self.device_id,
            reason = close.label(), detail = ?close.detail(), frames = self.frames, "connection closed");
        let _ = stream.shutdown().await;
        self.finish(&close);
    }

    fn finish(&mut self, close: &Close) {
        let Some(device_id) = self.device_id.clone() else {
            return;
        };
        self.gw.router.unregister(&device_id, self.conn_id);
        if let Some(request) = self.commands.take_current() {
            let text = format!(
                "connection closed ({}) before the device answered",
                close.label()
            );
            self.gw.report(request, ReplyOutcome::TimedOut, Some(text));
        }
        let login = self.login.take();
        session_events::disconnected(
            &self.gw,
            &device_id,
            self.conn_id,
            close,
            self.frames,
            login,
        );
    }

    async fn run(&mut self, stream: &mut TcpStream) -> Close {
        let (mut rd, mut wr) = stream.split();
        let mut buf = BytesMut::new();
        let mut inflight: VecDeque<Pending> = VecDeque::new();
        let settings = self.gw.settings.clone();
        let max_inflight = settings.max_inflight_per_connection.max(1);
        let idle_timeout = Duration::from_millis(settings.idle_timeout_ms);
        let handshake_deadline =
            Instant::now() + Duration::from_millis(settings.handshake_timeout_ms);
        let mut last_read = Instant::now();
        // One timer for the handshake and idle timeouts. Reads only move `last_read`; the
        // timer is re-armed when it fires early, so frames cost no timer operations.
        let timer = sleep_until(handshake_deadline);
        tokio::pin!(timer);
        loop {
            // The rarely taken paths that write (commands, ACKs, frames) are boxed: their
            // futures are large, and inline they would size every idle connection's task.
            if self.mailbox
                && let Err(close) = Box::pin(self.send_commands(&mut wr, inflight.is_empty())).await
            {
                return close;
            }
            // Boxed, and only while a command waits (rare): idle tasks hold no second timer.
            let command_timer = self
                .commands
                .busy()
                .then(|| Box::pin(sleep_until(self.command_deadline())));
            let command_busy = command_timer.is_some();
            tokio::select! {
                biased;
                () = self.stop.cancelled() => return self.stopped(),
                done = next_delivery(&mut inflight), if !inflight.is_empty() => {
                    if let Err(close) = Box::pin(self.complete(done, &mut inflight, &mut wr)).await {
                        return close;
                    }
                }
                () = self.wake.notified() => self.mailbox = true,
                read = rd.read_buf(&mut buf), if inflight.len() < max_inflight => {
                    match read {
                        Ok(0) => return Close::PeerClosed,
                        Ok(n) => {
                            self.gw.frame_metrics(self.protocol).bytes.increment(n as u64);
                            let was_in = self.device_id.is_some();
                            let frames_before = self.frames;
                            if let Err(close) = Box::pin(self.process(&mut buf, &mut inflight, &mut wr)).await {
                                return close;
                            }
                            // Only a login or complete frames keep a connection alive: a
                            // client trickling bytes of a frame it never finishes is cut off.
                            if self.device_id.is_some() && (!was_in || self.frames > frames_before) {
                                last_read = Instant::now();
                                if !was_in {
                                    timer.as_mut().reset(last_read + idle_timeout);
                                }
                            }
                        }
                        Err(err) => return Close::Io(err.to_string()),
                    }
                }
                () = &mut timer => {
                    let logged_in = self.device_id.is_some();
                    let due = if logged_in { last_read + idle_timeout } else { handshake_deadline };
                    if Instant::now() >= due {
                        return if logged_in { Close::IdleTimeout } else { Close::HandshakeTimeout };
                    }
                    timer.as_mut().reset(due);
                }
                () = async {
                    match command_timer {
                        Some(timer) => timer.await,
                        None => std::future::pending().await,
                    }
                }, if command_busy => {
                    if let Some(request) = self.commands.take_expired(now_ms()) {
                        self.gw.report(request, ReplyOutcome::TimedOut, Some("no answer before expiry".into()));
                    }
                }
            }
        }
    }

    /// Why `stop` was cancelled: the gateway stops, or a newer connection took over.
    fn stopped(&self) -> Close {
        if self.shutdown.is_cancelled() {
            Close::Shutdown
        } else {
            Close::Replaced
        }
    }

    fn command_deadline(&self) -> Instant {
        let ms = self
            .commands
            .deadline_ms()
            .map_or(60_000, |at| (at - now_ms()).max(0));
        Instant::now() + Duration::from_millis(u64::try_from(ms).unwrap_or(0))
    }

    async fn complete(
        &mut self,
        done: Result<(), String>,
        inflight: &mut VecDeque<Pending>,
        wr: &mut WriteHalf<'_>,
    ) -> Result<(), Close> {
        let Some(pending) = inflight.pop_front() else {
            return Ok(());
        };
        if let Err(err) = done {
            metrics::counter!(m::APPEND_ERRORS, "protocol" => self.protocol.as_str()).increment(1);
            return Err(Close::AppendFailed(err));
        }
        if let Some(ack) = pending.ack {
            write(wr, &ack).await?;
            self.gw
                .frame_metrics(self.protocol)
                .ack_latency
                .record(pending.read_at.elapsed().as_secs_f64());
        }
        Ok(())
    }

    async fn process(
        &mut self,
        buf: &mut BytesMut,
        inflight: &mut VecDeque<Pending>,
        wr: &mut WriteHalf<'_>,
    ) -> Result<(), Close> {
        let max = self.gw.settings.max_frame_bytes;
        loop {
            match next_frame(self.protocol, buf, max) {
                Ok(None) => return Ok(()),
                Ok(Some(frame)) => self.on_frame(frame, inflight, wr).await?,
                Err(FrameError::Oversize { size, max }) => {
                    self.append_oversize(buf, max, inflight).await;
                    return Err(Close::Oversize(format!("frame of {size} bytes, max {max}")));
                }
                Err(err) => return Err(Close::Protocol(err.to_string())),
            }
        }
    }

    async fn on_frame(
        &mut self,
        frame: Frame,
        inflight: &mut VecDeque<Pending>,
        wr: &mut WriteHalf<'_>,
    ) -> Result<(), Close> {
        let read_at = Instant::now();
        if !self.rate.allow(read_at) {
            return Err(Close::RateLimited);
        }
        self.frames += 1;
        self.last_frame_ms.store(now_ms(), Ordering::Relaxed);
        let inbound = self
            .session
            .on_frame(&frame)
            .map_err(|e| Close::Protocol(e.to_string()))?;
        let mut ack = inbound.ack.clone();
        if let Some(login) = &inbound.login {
            if !self.admit(&login.device_id) {
                if let Some(reject) = &login.reject_reply {
                    write(wr, reject).await?;
                }
                return Err(Close::Rejected);
            }
            ack = ack.or_else(|| login.accept_reply.clone());
        }
        if self.device_id.is_none() {
            return Err(Close::Protocol("frame before login".into()));
        }
        let status = self.stored_status(&frame);
        self.gw
            .frame_metrics(self.protocol)
            .frames(status)
            .increment(1);
        if !frame.is_ok() {
            ack = None;
        }
        if let Some(reply) = &inbound.command_reply {
            self.on_command_reply(reply, wr).await?;
        }
        let Some(device_id) = self.device_id.as_deref() else {
            return Err(Close::Protocol("frame before login".into()));
        };
        let delivery = if inbound.append || inbound.login.is_some() {
            let raw = self.raw_frame(&frame.raw, status, device_id);
            Some(self.append(raw, device_id).await?)
        } else {
            None
        };
        if delivery.is_some() || ack.is_some() {
            inflight.push_back(Pending {
                delivery,
                ack,
                read_at,
            });
        }
        Ok(())
    }

    /// Start appending `raw`; the connection ends if it cannot (or is stopped meanwhile).
    async fn append(&self, raw: RawFrameRef<'_>, device_id: &str) -> Result<DeliveryFuture, Close> {
        let appended = self.gw.publisher.append_frame(raw, device_id, &self.stop);
        match appended.await {
            Ok(delivery) => Ok(delivery),
            Err(PublishError::Produce(ProduceError::Cancelled)) => Err(self.stopped()),
            Err(err) => Err(Close::AppendFailed(err.to_string())),
        }
    }

    fn admit(&mut self, device_id: &str) -> bool {
        if self.device_id.as_deref() == Some(device_id) {
            return true;
        }
        let decision = self.gw.admission.decide(device_id);
        if decision == Admission::Reject {
            metrics::counter!(m::REFUSED, "protocol" => self.protocol.as_str(), "reason" => "unknown_device")
                .increment(1);
            tracing::info!(peer = %self.peer, device = device_id, "unknown device rejected");
            return false;
        }
        let claim = Claim {
            conn_id: self.conn_id,
            wake: self.wake.clone(),
            replaced: self.stop.clone(),
            peer: self.peer.ip().to_canonical(),
            last_frame_ms: self.last_frame_ms.clone(),
        };
        let silence_ms = self.gw.settings.takeover_silence_ms;
        if !self
            .gw
            .router
            .register(device_id, claim, now_ms(), silence_ms)
        {
            metrics::counter!(m::REFUSED, "protocol" => self.protocol.as_str(), "reason" => "device_online")
                .increment(1);
            tracing::warn!(peer = %self.peer, device = device_id,
                "login refused: the device is online from another address (possible hijack)");
            return false;
        }
        self.quarantined = decision == Admission::Quarantine;
        self.device_id = Some(device_id.to_owned());
        self.mailbox = true;
        let login =
            session_events::connected(&self.gw, device_id, self.conn_id, self.protocol, self.peer);
        // A device logging in again on this connection: the earlier update still runs.
        self.login = Some(login);
        true
    }

    /// How `frame` is stored. A quarantined connection looks again whether its device is
    /// known now (its vehicle registered since the login).
    fn stored_status(&mut self, frame: &Frame) -> StoredStatus {
        if self.quarantined
            && let Some(device_id) = self.device_id.as_deref()
            && self.gw.admission.is_known(device_id)
        {
            tracing::info!(peer = %self.peer, device = device_id, "device known now: out of quarantine");
            self.quarantined = false;
        }
        if !frame.is_ok() {
            StoredStatus::BadChecksum
        } else if self.quarantined {
            StoredStatus::UnknownDevice
        } else {
            StoredStatus::Ok
        }
    }

    fn raw_frame<'a>(
        &'a self,
        raw: &'a [u8],
        status: StoredStatus,
        device_id: &'a str,
    ) -> RawFrameRef<'a> {
        RawFrameRef {
            frame_id: uuid::Uuid::nil(),
            gateway_id: &self.gw.settings.gateway_id,
            protocol: super::stored_protocol(self.protocol),
            remote_addr: &self.peer_text,
            received_at_ms: now_ms(),
            raw,
            status,
            device_id: Some(device_id),
        }
    }

    async fn append_oversize(
        &mut self,
        buf: &BytesMut,
        max: usize,
        inflight: &mut VecDeque<Pending>,
    ) {
        let Some(device_id) = self.device_id.as_deref() else {
            return;
        };
        self.gw
            .frame_metrics(self.protocol)
            .frames(StoredStatus::Oversize)
            .increment(1);
        let keep = buf.len().min(max);
        let raw = self.raw_frame(
            buf.get(..keep).unwrap_or_default(),
            StoredStatus::Oversize,
            device_id,
        );
        if let Ok(delivery) = self.append(raw, device_id).await {
            // Not ACKed; the append completes after the task ends (a stopping gateway
            // flushes it).
            inflight.push_back(Pending {
                delivery: Some(delivery),
                ack: None,
                read_at: Instant::now(),
            });
        }
    }
}

async fn next_delivery(inflight: &mut VecDeque<Pending>) -> Result<(), String> {
    let Some(front) = inflight.front_mut() else {
        return Ok(());
    };
    let Some(delivery) = front.delivery.as_mut() else {
        return Ok(());
    };
    match delivery.await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err((err, _))) => Err(err.to_string()),
        Err(_) => Err("producer dropped the record".into()),
    }
}

async fn write(wr: &mut WriteHalf<'_>, bytes: &[u8]) -> Result<(), Close> {
    match timeout(WRITE_TIMEOUT, wr.write_all(bytes)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(err)) => Err(Close::Io(err.to_string())),
        Err(_) => Err(Close::SlowClient),
    }
}
