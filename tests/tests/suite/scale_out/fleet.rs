//! The simulated fleet of the scale-out test: each scooter ([`SimScooter`], the
//! simulator's own device model) logs in at one gateway, reports every second and obeys
//! the commands it gets, and after a session of a few seconds (or when its gateway dies)
//! moves to the other gateway. What each scooter saw is kept for the verdict: the frames
//! the gateways ACKed and the spans it was logged in somewhere.

use std::time::Duration;

use bytes::Bytes;
use fleetlog_ingest::protocol::Protocol;
use fleetlog_ingest::simulator::{DeviceError, SimScooter};
use rand::Rng;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Reports per scooter and second.
const REPORT_EVERY: Duration = Duration::from_secs(1);
/// A session lasts this long (drawn per session) before the scooter moves gateways.
const SESSION_S: std::ops::Range<f64> = 6.0..18.0;
/// Pause after a failed connect or login before trying the other gateway.
const RETRY_AFTER: Duration = Duration::from_millis(300);

/// What one scooter saw.
#[derive(Debug, Default)]
pub(super) struct Seen {
    /// Its device id.
    pub device: String,
    /// Every frame a gateway ACKed.
    pub acked: Vec<Bytes>,
    /// When it was logged in: (login answered, connection ended), ms since the epoch.
    pub online: Vec<(i64, i64)>,
    /// Sessions it had (logins answered).
    pub sessions: u32,
    /// Commands it obeyed.
    pub obeyed: u32,
}

impl Seen {
    /// Whether it was logged in at some gateway at some moment of `from_ms..=to_ms`.
    pub(super) fn online_during(&self, from_ms: i64, to_ms: i64) -> bool {
        self.online
            .iter()
            .any(|&(start, end)| start <= to_ms && end >= from_ms)
    }
}

/// The 15-digit device id of scooter `index`.
pub(super) fn imei(index: usize) -> String {
    format!("357{:012}", 424_242_000_000 + index)
}

/// Drive scooter `index` over `gateways` (Teltonika listeners) until `stop`.
pub(super) async fn drive(index: usize, gateways: Vec<String>, stop: CancellationToken) -> Seen {
    let device = imei(index);
    let mut sim = SimScooter::new(Protocol::Teltonika, &device, index as u64)
        .with_ack_timeout(Duration::from_secs(5))
        .with_ack_log();
    let mut seen = Seen {
        device,
        ..Seen::default()
    };
    let mut at = index % gateways.len();
    // Stagger the first logins over one report period.
    let stagger = REPORT_EVERY.mul_f64(index as f64 / 200.0);
    tokio::select! {
        () = stop.cancelled() => return seen,
        () = tokio::time::sleep(stagger) => {}
    }
    while !stop.is_cancelled() {
        let length = Duration::from_secs_f64(rand::rng().random_range(SESSION_S));
        let logged_in = session(&mut sim, &gateways[at], length, &stop, &mut seen).await;
        if let Some(start) = logged_in {
            seen.online.push((start, now_ms()));
        }
        seen.acked.extend(sim.take_acked());
        sim.disconnect();
        at = (at + 1) % gateways.len();
        if logged_in.is_none() {
            tokio::select! {
                () = stop.cancelled() => {}
                () = tokio::time::sleep(RETRY_AFTER) => {}
            }
        }
    }
    seen
}

/// One connection to `addr` for about `length` (or until `stop`): `Some(login time)` once
/// the login was answered (whatever ended the session), `None` when it never was. Every
/// step is bounded (connect, login and ACKs by the ACK timeout, commands by the report
/// period), so a stop is noticed within seconds.
async fn session(
    sim: &mut SimScooter,
    addr: &str,
    length: Duration,
    stop: &CancellationToken,
    seen: &mut Seen,
) -> Option<i64> {
    sim.connect(addr).await.ok()?;
    sim.login().await.ok()?;
    let start = now_ms();
    seen.sessions += 1;
    let end = Instant::now() + length;
    let _ended: Result<(), DeviceError> = async {
        while Instant::now() < end && !stop.is_cancelled() {
            if !sim.send_report().await?.is_ok() {
                return Ok(()); // no ACK: reconnect (elsewhere) and send it again
            }
            seen.acked.extend(sim.take_acked());
            let next = Instant::now() + REPORT_EVERY;
            while let Some(command) = sim.next_command_until(next).await? {
                sim.obey(command).await?;
                seen.obeyed += 1;
            }
        }
        Ok(())
    }
    .await;
    Some(start)
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
