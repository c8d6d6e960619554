//! [`SimScooter`]: one simulated device — its physical state, the frames it keeps until
//! the server ACKs them, and its current connection.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::time::Instant;

use super::driver::{Ctx, Driver};
use super::link::{
    AckKey, CommandKind, DeviceError, Expect, Link, Outgoing, ServerCommand, ServerFrame,
};
use super::motion;
use super::scooter::Scooter;
use super::stats::LiveStats;
use crate::protocol::{LockState, Protocol};

/// Teltonika IO id of ignition: the event id of a record sent because the lock changed.
const IGNITION_IO: u16 = 239;
/// Default time to wait for an ACK.
const DEFAULT_ACK_TIMEOUT: Duration = Duration::from_secs(5);

/// How the server answered a frame that needs an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckOutcome {
    /// Every frame that needed an answer got the right one.
    Acked,
    /// Nothing sent needed an answer (Omni positions, GT06 locations, command replies).
    NotExpected,
    /// No answer within the ACK timeout; the frame is kept for re-sending.
    TimedOut,
    /// Teltonika: the count in the ACK differs from the records sent; the packet is kept.
    Wrong {
        /// Records in the packet.
        expected: u32,
        /// Count the server sent.
        got: u32,
    },
}

impl AckOutcome {
    /// Whether nothing is left to re-send.
    pub fn is_ok(self) -> bool {
        matches!(self, Self::Acked | Self::NotExpected)
    }
}

/// What obeying one command did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Obeyed {
    /// The command's kind.
    pub kind: CommandKind,
    /// Whether the lock state changed (report right away).
    pub lock_changed: bool,
    /// How the server answered the reply (Omni L0/L1 results are ACKed; others are not).
    pub reply: AckOutcome,
}

/// One simulated scooter: state, unACKed frames and (when connected) its connection.
///
/// Typical use: [`connect`](Self::connect), [`login`](Self::login), then
/// [`send_report`](Self::send_report) every interval and [`obey`](Self::obey) what
/// [`next_command`](Self::next_command) returns. After a failed ACK, connect and log in
/// again: the next `send_report` first re-sends the kept frames, byte for byte.
#[derive(Debug)]
pub struct SimScooter {
    protocol: Protocol,
    device_id: String,
    scooter: Scooter,
    rng: StdRng,
    driver: Driver,
    link: Option<Link>,
    ack_timeout: Duration,
    unacked: VecDeque<Outgoing>,
    inbox: VecDeque<ServerCommand>,
    last_step: Instant,
    lock_event: bool,
    connections: u64,
    stats: Arc<LiveStats>,
    /// When set, the frames the server ACKed (not logins), in ACK order.
    acked: Option<Vec<Bytes>>,
}

/// A scooter at a random start point (seeded by its id) connected to `addr`, not yet
/// logged in.
pub async fn connect(
    protocol: Protocol,
    addr: &str,
    device_id: &str,
) -> Result<SimScooter, DeviceError> {
    let seed = device_id.parse().unwrap_or(0);
    let mut scooter = SimScooter::new(protocol, device_id, seed);
    scooter.connect(addr).await?;
    Ok(scooter)
}

impl SimScooter {
    /// A locked scooter at a random point near Seoul City Hall, drawn from `seed` (which
    /// also drives its random walk), with its own [`LiveStats`].
    pub fn new(protocol: Protocol, device_id: impl Into<String>, seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let scooter = Scooter::random_start(&mut rng);
        let device_id = device_id.into();
        let stats = Arc::new(LiveStats::default());
        stats.set_lock(&device_id, scooter.lock);
        Self {
            protocol,
            device_id,
            scooter,
            rng,
            driver: Driver::new(protocol),
            link: None,
            ack_timeout: DEFAULT_ACK_TIMEOUT,
            unacked: VecDeque::new(),
            inbox: VecDeque::new(),
            last_step: Instant::now(),
            lock_event: false,
            connections: 0,
            stats,
            acked: None,
        }
    }

    /// Replaces the physical state (start point, lock, battery …).
    pub fn with_state(mut self, scooter: Scooter) -> Self {
        self.scooter = scooter;
        self.stats.set_lock(&self.device_id, self.scooter.lock);
        self
    }

    /// Sets how long to wait for each ACK (default 5 s); also bounds connects and writes.
    pub fn with_ack_timeout(mut self, ack_timeout: Duration) -> Self {
        self.ack_timeout = ack_timeout;
        self
    }

    /// Counts into `stats` (shared by a fleet) instead of the scooter's own.
    pub fn with_stats(mut self, stats: Arc<LiveStats>) -> Self {
        stats.set_lock(&self.device_id, self.scooter.lock);
        self.stats = stats;
        self
    }

    /// Keeps every frame the server ACKs (logins aside) for [`Self::take_acked`]: what a
    /// test checks is in the log. Off by default (a long simulation would only grow).
    pub fn with_ack_log(mut self) -> Self {
        self.acked = Some(Vec::new());
        self
    }

    /// The frames ACKed since the last call (empty unless [`Self::with_ack_log`]).
    pub fn take_acked(&mut self) -> Vec<Bytes> {
        self.acked.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// The scooter's protocol.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// The device id (IMEI).
    pub fn device_id(&self) -> &str {
        &self.device_id
    }

    /// The physical state as of the last report or command.
    pub fn state(&self) -> &Scooter {
        &self.scooter
    }

    /// The counters this scooter adds to.
    pub fn stats(&self) -> &Arc<LiveStats> {
        &self.stats
    }

    /// Whether a connection is open.
    pub fn is_connected(&self) -> bool {
        self.link.is_some()
    }

    /// The frames kept because their ACK is missing, oldest first.
    pub fn unacked_frames(&self) -> Vec<Bytes> {
        self.unacked.iter().map(|o| o.bytes.clone()).collect()
    }

    /// Opens a new connection to `addr` (closing any old one). Counts as a reconnect after
    /// the first successful connect.
    pub async fn connect(&mut self, addr: &str) -> Result<(), DeviceError> {
        self.disconnect();
        self.link = Some(Link::connect(addr, self.ack_timeout).await?);
        if self.connections > 0 {
            self.stats.reconnected();
        }
        self.connections += 1;
        Ok(())
    }

    /// Closes the connection; unACKed frames are kept, unread commands dropped.
    pub fn disconnect(&mut self) {
        self.link = None;
        self.inbox.clear();
    }

    /// Sends the login frame and waits for its answer where the protocol has one
    /// (Teltonika `01`, GT06 echo; Omni's Q0 check-in has none).
    pub async fn login(&mut self) -> Result<(), DeviceError> {
        let out = self.driver.login(&self.device_id, &self.scooter)?;
        match self.transmit(&out).await? {
            outcome if outcome.is_ok() => Ok(()),
            _ => Err(DeviceError::NoLoginReply),
        }
    }

    /// Moves the scooter on to now, then re-sends every kept frame and, once those are
    /// ACKed, sends the current report. Anything but `Acked`/`NotExpected` means: reconnect
    /// and call again.
    pub async fn send_report(&mut self) -> Result<AckOutcome, DeviceError> {
        self.advance();
        let flushed = self.flush_unacked().await?;
        if !flushed.is_ok() {
            return Ok(flushed);
        }
        let mut record = self.scooter.record(now_ms());
        if std::mem::take(&mut self.lock_event) {
            record.event_io_id = Some(IGNITION_IO);
            record.priority = Some(1);
        }
        let frames = self.driver.report(&self.device_id, &record)?;
        let sent = self.send_all(frames).await?;
        Ok(
            if flushed == AckOutcome::Acked && sent == AckOutcome::NotExpected {
                flushed
            } else {
                sent
            },
        )
    }

    /// The next command from the server, waiting at most `wait`.
    pub async fn next_command(
        &mut self,
        wait: Duration,
    ) -> Result<Option<ServerCommand>, DeviceError> {
        self.next_command_until(Instant::now() + wait).await
    }

    /// The next command from the server, waiting until `deadline` (tokio time).
    pub async fn next_command_until(
        &mut self,
        deadline: Instant,
    ) -> Result<Option<ServerCommand>, DeviceError> {
        if let Some(command) = self.inbox.pop_front() {
            return Ok(Some(command));
        }
        loop {
            match self.recv(deadline).await? {
                None => return Ok(None),
                Some(ServerFrame::Command(command)) => return Ok(Some(command)),
                Some(_) => {} // a late or duplicate answer: nothing waits for it
            }
        }
    }

    /// Carries out `command` (switching the lock where asked) and answers it in protocol.
    pub async fn obey(&mut self, command: ServerCommand) -> Result<Obeyed, DeviceError> {
        self.advance();
        let now = now_ms();
        let ctx = Ctx {
            device_id: &self.device_id,
            scooter: &self.scooter,
            now_ms: now,
            rng: &mut self.rng,
        };
        let response = self.driver.obey(&command, ctx)?;
        let lock_changed = response.lock.is_some_and(|lock| self.set_lock(lock, now));
        if response.obeyed {
            self.stats.command_obeyed();
        }
        let reply = match response.reply {
            Some(out) => self.send_all(vec![out]).await?,
            None => AckOutcome::NotExpected,
        };
        tracing::debug!(device = %self.device_id, command = %command.text, ?reply, "command obeyed");
        Ok(Obeyed {
            kind: command.kind,
            lock_changed,
            reply,
        })
    }

    /// Moves the scooter on by the time since the last step (only if unlocked).
    pub fn advance(&mut self) {
        let now = Instant::now();
        let dt = now.saturating_duration_since(self.last_step);
        self.last_step = now;
        motion::step(&mut self.scooter, dt, &mut self.rng);
    }

    fn set_lock(&mut self, lock: LockState, now_ms: i64) -> bool {
        let changed = self.scooter.set_lock(lock, now_ms);
        if changed {
            self.lock_event = true;
            self.stats.set_lock(&self.device_id, lock);
        }
        changed
    }

    async fn flush_unacked(&mut self) -> Result<AckOutcome, DeviceError> {
        let mut outcome = AckOutcome::NotExpected;
        while let Some(out) = self.unacked.front().cloned() {
            self.stats.resent();
            outcome = self.transmit(&out).await?;
            if !outcome.is_ok() {
                return Ok(outcome);
            }
            self.unacked.pop_front();
        }
        Ok(outcome)
    }

    /// Sends `frames` in order; one that needs an ACK is kept until the ACK arrives.
    async fn send_all(&mut self, frames: Vec<Outgoing>) -> Result<AckOutcome, DeviceError> {
        let mut result = AckOutcome::NotExpected;
        for out in frames {
            if out.expect.is_none() {
                self.transmit(&out).await?;
                continue;
            }
            self.unacked.push_back(out.clone());
            let outcome = self.transmit(&out).await?;
            if !outcome.is_ok() {
                return Ok(outcome);
            }
            if let Some(i) = self.unacked.iter().position(|o| *o == out) {
                self.unacked.remove(i);
            }
            result = AckOutcome::Acked;
        }
        Ok(result)
    }

    /// Writes one frame and waits for its answer, if it needs one.
    async fn transmit(&mut self, out: &Outgoing) -> Result<AckOutcome, DeviceError> {
        let link = self.link.as_mut().ok_or(DeviceError::NotConnected)?;
        link.write(&out.bytes).await?;
        self.stats.frame_sent();
        let Some(expect) = &out.expect else {
            return Ok(AckOutcome::NotExpected);
        };
        let outcome = self.await_answer(expect).await?;
        if outcome == AckOutcome::Acked {
            self.stats.ack_received();
            if let (Some(acked), Expect::Ack(_)) = (self.acked.as_mut(), expect) {
                acked.push(out.bytes.clone());
            }
        } else {
            self.stats.ack_failed();
        }
        Ok(outcome)
    }

    /// Reads until the answer to `expect` arrives; commands read meanwhile are queued.
    async fn await_answer(&mut self, expect: &Expect) -> Result<AckOutcome, DeviceError> {
        let deadline = Instant::now() + self.ack_timeout;
        loop {
            match self.recv(deadline).await? {
                None => return Ok(AckOutcome::TimedOut),
                Some(ServerFrame::Command(command)) => self.inbox.push_back(command),
                Some(frame) => {
                    if let Some(outcome) = answer(expect, frame)? {
                        return Ok(outcome);
                    }
                }
            }
        }
    }

    /// The next server frame, or `None` once `deadline` passed.
    async fn recv(&mut self, deadline: Instant) -> Result<Option<ServerFrame>, DeviceError> {
        loop {
            let link = self.link.as_mut().ok_or(DeviceError::NotConnected)?;
            if let Some(frame) = self.driver.parse(&mut link.buf)? {
                return Ok(Some(frame));
            }
            if !link.fill(deadline).await? {
                return Ok(None);
            }
        }
    }
}

/// Whether `frame` answers `expect`: `None` if it is about something else.
fn answer(expect: &Expect, frame: ServerFrame) -> Result<Option<AckOutcome>, DeviceError> {
    Ok(match (expect, frame) {
        (Expect::LoginReply, ServerFrame::LoginReply(true)) => Some(AckOutcome::Acked),
        (Expect::LoginReply, ServerFrame::LoginReply(false)) => {
            return Err(DeviceError::Rejected);
        }
        (Expect::Ack(AckKey::Count(expected)), ServerFrame::Ack(AckKey::Count(got))) => {
            Some(if *expected == got {
                AckOutcome::Acked
            } else {
                AckOutcome::Wrong {
                    expected: *expected,
                    got,
                }
            })
        }
        (Expect::Ack(want), ServerFrame::Ack(got)) if *want == got => Some(AckOutcome::Acked),
        _ => None,
    })
}

/// Device time: the wall clock, ms since the epoch.
fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
