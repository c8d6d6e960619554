//! The simulator against an in-test gateway peer: a listener on 127.0.0.1:0 that frames,
//! runs a [`Session`] and answers like the gateway (login replies, ACKs), built from the
//! protocol modules. No broker involved.

#![allow(clippy::unwrap_used)] // tests may unwrap

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use fleetlog_ingest::protocol::{
    CommandContext, DeviceCommand, Frame, FrameKind, Inbound, LockState, Protocol, Record, Session,
    decode_records, encode_command, next_frame,
};
use fleetlog_ingest::simulator::{
    AckOutcome, LiveStats, ProtocolChoice, SimScooter, SimStats, SimulateArgs,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;

const ID: &str = "350000000000000";
const WAIT: Duration = Duration::from_secs(3);

/// The listening side of the fake gateway.
struct Peer {
    listener: TcpListener,
    protocol: Protocol,
}

impl Peer {
    async fn bind(protocol: Protocol) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self { listener, protocol }
    }

    fn addr(&self) -> String {
        self.listener.local_addr().unwrap().to_string()
    }

    async fn accept(&self) -> Conn {
        let (stream, _) = timeout(WAIT, self.listener.accept())
            .await
            .unwrap()
            .unwrap();
        Conn {
            stream,
            buf: BytesMut::new(),
            session: Session::new(self.protocol),
            protocol: self.protocol,
            withhold_acks: false,
        }
    }
}

/// One accepted device connection, answered like the gateway does.
struct Conn {
    stream: TcpStream,
    buf: BytesMut,
    session: Session,
    protocol: Protocol,
    /// Send login replies but no data ACKs.
    withhold_acks: bool,
}

impl Conn {
    /// The next frame from the device, after writing the gateway's answer to it.
    async fn next(&mut self) -> (Frame, Inbound) {
        loop {
            if let Some(frame) = next_frame(self.protocol, &mut self.buf, 4096).unwrap() {
                let inbound = self.session.on_frame(&frame).unwrap();
                let login_reply = inbound.login.as_ref().and_then(|l| l.accept_reply.clone());
                let ack = inbound.ack.clone().filter(|_| !self.withhold_acks);
                for answer in [login_reply, ack].into_iter().flatten() {
                    self.send(&answer).await;
                }
                return (frame, inbound);
            }
            let n = timeout(WAIT, self.stream.read_buf(&mut self.buf))
                .await
                .expect("device went quiet")
                .unwrap();
            assert_ne!(n, 0, "device closed the connection");
        }
    }

    /// The next frame that decodes to a record of kind `message`, with its raw bytes.
    async fn next_record(&mut self, message: &str) -> (Record, Bytes) {
        loop {
            let (frame, _) = self.next().await;
            let records = decode_records(self.protocol, &frame.raw).unwrap();
            if let Some(rec) = records.into_iter().find(|r| r.message == message) {
                return (rec, frame.raw);
            }
        }
    }

    async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
    }

    async fn command(&mut self, command: &DeviceCommand, ctx: &CommandContext) {
        let bytes = encode_command(self.protocol, ID, command, ctx).unwrap();
        self.send(&bytes).await;
    }
}

/// A one-scooter fleet reporting every 0.2 s to `peer`.
struct Fleet {
    live: Arc<LiveStats>,
    stop: CancellationToken,
    task: JoinHandle<anyhow::Result<SimStats>>,
}

impl Fleet {
    fn start(protocol: ProtocolChoice, peer: &Peer) -> Self {
        let args = SimulateArgs {
            protocol,
            scooters: 1,
            interval: 0.2,
            gateway: Some(peer.addr()),
            ack_timeout_ms: 300,
            seed: Some(42),
            ..SimulateArgs::default()
        };
        let live = Arc::new(LiveStats::default());
        let stop = CancellationToken::new();
        let task = tokio::spawn(fleetlog_ingest::simulator::run_with(
            args,
            stop.clone(),
            live.clone(),
        ));
        Self { live, stop, task }
    }

    async fn stop(self) -> SimStats {
        self.stop.cancel();
        timeout(WAIT, self.task).await.unwrap().unwrap().unwrap()
    }
}

fn distinct_positions(records: &[Record]) -> usize {
    let mut points: Vec<_> = records.iter().map(|r| (r.lat_e7, r.lon_e7)).collect();
    points.dedup();
    points.len()
}

#[tokio::test]
async fn a_teltonika_scooter_logs_in_reports_and_counts_the_acks() {
    let peer = Peer::bind(Protocol::Teltonika).await;
    let mut sim = SimScooter::new(Protocol::Teltonika, ID, 7);
    let addr = peer.addr();
    let (mut conn, connected) = tokio::join!(peer.accept(), sim.connect(&addr));
    connected.unwrap();
    let (logged_in, (_, inbound)) = tokio::join!(sim.login(), conn.next());
    logged_in.unwrap();
    assert_eq!(inbound.login.unwrap().device_id, ID);
    for _ in 0..3 {
        let (outcome, (frame, _)) = tokio::join!(sim.send_report(), conn.next());
        assert_eq!(outcome.unwrap(), AckOutcome::Acked);
        let records = decode_records(Protocol::Teltonika, &frame.raw).unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].ignition, Some(false), "starts locked");
        assert_eq!(
            records[0].lat_e7,
            Some((sim.state().lat_deg * 1e7).round() as i32)
        );
    }
    let stats = sim.stats().snapshot();
    assert_eq!((stats.frames_sent, stats.acks_received), (4, 4));
    assert!(sim.unacked_frames().is_empty());
}

#[tokio::test]
async fn a_teltonika_scooter_resends_the_same_packet_after_a_withheld_ack() {
    let peer = Peer::bind(Protocol::Teltonika).await;
    let fleet = Fleet::start(ProtocolChoice::Teltonika, &peer);
    let mut first = peer.accept().await;
    first.withhold_acks = true;
    first.next().await; // login, answered
    let (_, withheld) = first.next_record("avl").await;
    let mut second = peer.accept().await;
    let (_, login) = second.next().await;
    assert!(login.login.is_some());
    let (_, resent) = second.next_record("avl").await;
    assert_eq!(
        resent, withheld,
        "the unACKed packet is re-sent byte for byte"
    );
    let (_, fresh) = second.next_record("avl").await;
    assert_ne!(fresh, withheld);
    let stats = fleet.stop().await;
    assert!(stats.resends >= 1 && stats.reconnects >= 1 && stats.ack_failures >= 1);
    drop(first);
}

#[tokio::test]
async fn a_teltonika_unlock_command_is_answered_and_the_scooter_rides_off() {
    let peer = Peer::bind(Protocol::Teltonika).await;
    let fleet = Fleet::start(ProtocolChoice::Teltonika, &peer);
    let mut conn = peer.accept().await;
    conn.next().await;
    let (parked, _) = conn.next_record("avl").await;
    assert_eq!(parked.ignition, Some(false));
    conn.command(&DeviceCommand::Unlock, &CommandContext::default())
        .await;
    let reply = loop {
        let (frame, inbound) = conn.next().await;
        if frame.kind == (FrameKind::TeltonikaPacket { codec_id: 0x0C }) {
            break inbound.command_reply.unwrap();
        }
    };
    assert_eq!(reply.text(), "sclockctrl: unlocked");
    let (first, _) = conn.next_record("avl").await;
    assert_eq!(
        first.ignition,
        Some(true),
        "the next record reports the unlock"
    );
    assert_eq!(
        first.event_io_id,
        Some(239),
        "sent because the lock changed"
    );
    let mut ride = vec![first];
    for _ in 0..3 {
        ride.push(conn.next_record("avl").await.0);
    }
    assert!(distinct_positions(&ride) >= 3, "moves once unlocked");
    assert!(ride[3].odometer_m > ride[0].odometer_m);
    assert_eq!(fleet.live.lock_of(ID), Some(LockState::Unlocked));
    let stats = fleet.stop().await;
    assert_eq!(stats.commands_obeyed, 1);
    assert!(
        stats.to_string().contains("0 locked, 1 unlocked"),
        "{stats}"
    );
}

#[tokio::test]
async fn an_omni_scooter_unlocks_through_the_key_exchange_and_rides_off() {
    let peer = Peer::bind(Protocol::Omni).await;
    let fleet = Fleet::start(ProtocolChoice::Omni, &peer);
    let mut conn = peer.accept().await;
    let (check_in, _) = conn.next_record("Q0").await;
    assert!(check_in.battery_pct.is_some());
    let (info, _) = conn.next_record("S6").await;
    assert_eq!(info.lock_state, Some(LockState::Locked));
    let ctx = CommandContext {
        user_id: 7,
        unix_time_s: 1_700_000_000,
        ..CommandContext::default()
    };
    conn.command(&DeviceCommand::Unlock, &ctx).await;
    let follow_up = loop {
        let (_, inbound) = conn.next().await;
        if let Some(reply) = inbound.command_reply {
            assert_eq!(reply.command_type.as_deref(), Some("R0"));
            break reply.follow_up.expect("the key answer yields L0");
        }
    };
    conn.send(&follow_up).await;
    let (result, _) = conn.next_record("L0").await;
    assert_eq!(result.lock_state, Some(LockState::Unlocked));
    assert_eq!(result.attributes["user_id"], "7");
    let (info, _) = conn.next_record("S6").await;
    assert_eq!(info.lock_state, Some(LockState::Unlocked));
    let mut ride = Vec::new();
    for _ in 0..4 {
        ride.push(conn.next_record("D0").await.0);
    }
    assert!(distinct_positions(&ride) >= 3, "moves once unlocked");
    let stats = fleet.stop().await;
    assert_eq!(stats.commands_obeyed, 1, "R0 hands out a key, L0 unlocks");
    assert_eq!(stats.locks[ID], LockState::Unlocked);
    assert!(stats.acks_received >= 1, "the L0 result was ACKed");
}

#[tokio::test]
async fn an_omni_lock_result_is_resent_when_its_ack_is_missing() {
    let peer = Peer::bind(Protocol::Omni).await;
    let fleet = Fleet::start(ProtocolChoice::Omni, &peer);
    let mut first = peer.accept().await;
    first.next_record("S6").await;
    first
        .command(&DeviceCommand::Unlock, &CommandContext::default())
        .await;
    let follow_up = loop {
        if let Some(reply) = first.next().await.1.command_reply {
            break reply.follow_up.unwrap();
        }
    };
    first.withhold_acks = true;
    first.send(&follow_up).await;
    let (_, withheld) = first.next_record("L0").await;
    let mut second = peer.accept().await;
    second.next_record("Q0").await;
    let (_, resent) = second.next_record("L0").await;
    assert_eq!(resent, withheld);
    let (info, _) = second.next_record("S6").await;
    assert_eq!(info.lock_state, Some(LockState::Unlocked));
    let stats = fleet.stop().await;
    assert!(stats.resends >= 1 && stats.reconnects >= 1);
}

#[tokio::test]
async fn a_gt06_relay_command_is_answered_with_its_server_flag_and_unlocks() {
    let peer = Peer::bind(Protocol::Gt06).await;
    let fleet = Fleet::start(ProtocolChoice::Gt06, &peer);
    let mut conn = peer.accept().await;
    let (_, login) = conn.next().await;
    assert_eq!(login.login.unwrap().device_id, ID);
    let (status, _) = conn.next_record("heartbeat").await;
    assert_eq!(status.lock_state, Some(LockState::Locked));
    let ctx = CommandContext {
        request_id: 0x0BAD_CAFE,
        serial: 5,
        ..CommandContext::default()
    };
    conn.command(&DeviceCommand::Unlock, &ctx).await;
    let reply = loop {
        if let Some(reply) = conn.next().await.1.command_reply {
            break reply;
        }
    };
    assert_eq!(reply.correlation, Some(0x0BAD_CAFE));
    assert_eq!(reply.text(), "Restore fuel supply: Success!");
    let (status, _) = conn.next_record("heartbeat").await;
    assert_eq!(status.lock_state, Some(LockState::Unlocked));
    let mut ride = Vec::new();
    for _ in 0..4 {
        ride.push(conn.next_record("location").await.0);
    }
    assert!(distinct_positions(&ride) >= 3, "moves once unlocked");
    let stats = fleet.stop().await;
    assert_eq!((stats.commands_obeyed, stats.resends), (1, 0));
    assert!(stats.acks_received >= 3, "login and heartbeats are echoed");
}
