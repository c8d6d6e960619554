//! Simulated Teltonika devices for the ingest benchmark: log in, then send one-record
//! Codec 8E frames and wait for each 4-byte ACK, like a real device.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use fleetlog_ingest::protocol::{Record, teltonika};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// Source address for connection `n`: spread over 127.0.0.2 … so many connections do not
/// exhaust one address's ephemeral ports.
fn source(n: usize) -> SocketAddr {
    let host = 2 + (n / 10_000) as u8;
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, host)), 0)
}

/// Connect device `n` to `gateway` and log in with IMEI `device_id`.
pub(crate) async fn connect(
    gateway: SocketAddr,
    n: usize,
    device_id: &str,
) -> anyhow::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(source(n))?;
    let mut stream = socket.connect(gateway).await.context("connect")?;
    stream.set_nodelay(true)?;
    stream
        .write_all(&teltonika::device::login_packet(device_id)?)
        .await?;
    let mut reply = [0u8; 1];
    tokio::time::timeout(Duration::from_secs(30), stream.read_exact(&mut reply))
        .await
        .context("login reply timed out")??;
    if reply[0] != 1 {
        bail!("login refused");
    }
    Ok(stream)
}

/// A one-record Codec 8E frame of device time `t_ms`.
pub(crate) fn frame(t_ms: i64, n: usize) -> anyhow::Result<bytes::Bytes> {
    let record = Record {
        message: "avl".into(),
        device_time_ms: Some(t_ms),
        lat_e7: Some(375_665_000 + (n % 1000) as i32 * 100),
        lon_e7: Some(1_269_780_000),
        speed_kmh: Some(12.0),
        heading_deg: Some(90),
        satellites: Some(9),
        position_valid: true,
        battery_pct: Some(80),
        ..Record::default()
    };
    Ok(teltonika::device::codec8e_packet(&[record])?)
}

/// Device time of frame `k` (1, 2, …) of device `n`: [`drive`] sends frame `k` with it.
pub(crate) fn device_time_ms(n: usize, k: usize) -> i64 {
    1_764_000_000_000 + n as i64 + k as i64 * 1000
}

/// Wall-clock send times (µs since the Unix epoch) of one connection's frames, in order:
/// entry `k - 1` is frame `k`.
pub(crate) type SendLog = Arc<Mutex<Vec<i64>>>;

/// Send frames until `until`, one every `every` (or back to back when `None`), each
/// waiting for its ACK; returns the ACK latencies in microseconds. With `log`, each
/// frame's send time is recorded there just before it is written.
pub(crate) async fn drive(
    mut stream: TcpStream,
    n: usize,
    every: Option<Duration>,
    until: Instant,
    log: Option<SendLog>,
) -> anyhow::Result<Vec<u32>> {
    drive_on(&mut stream, n, every, until, log).await
}

/// [`drive`] on a borrowed stream, left ready for the next phase (every frame ACKed).
pub(crate) async fn drive_on(
    stream: &mut TcpStream,
    n: usize,
    every: Option<Duration>,
    until: Instant,
    log: Option<SendLog>,
) -> anyhow::Result<Vec<u32>> {
    let mut latencies = Vec::new();
    // Spread the connections' send times over the interval (golden-ratio offsets), as
    // real devices are not synchronised.
    let phase = (n as f64 * 0.618_033_988_75).fract();
    let mut next = tokio::time::Instant::now() + every.map_or(Duration::ZERO, |e| e.mul_f64(phase));
    let mut k = 0;
    let mut ack = [0u8; 4];
    while Instant::now() < until {
        if let Some(every) = every {
            tokio::time::sleep_until(next).await;
            next += every;
        }
        k += 1;
        let frame = frame(device_time_ms(n, k), n)?;
        if let Some(log) = &log {
            let now = chrono::Utc::now().timestamp_micros();
            log.lock()
                .map_err(|_| anyhow::anyhow!("send log poisoned"))?
                .push(now);
        }
        let sent = Instant::now();
        stream.write_all(&frame).await?;
        tokio::time::timeout(Duration::from_secs(30), stream.read_exact(&mut ack))
            .await
            .context("ACK timed out")??;
        if ack != [0, 0, 0, 1] {
            bail!("unexpected ACK {ack:?}");
        }
        latencies.push(u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX));
    }
    Ok(latencies)
}

/// The `q` quantile (0..=1) of sorted microsecond latencies, in milliseconds.
pub(crate) fn quantile_ms(sorted: &[u32], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() - 1) as f64 * q).round() as usize;
    f64::from(sorted[index.min(sorted.len() - 1)]) / 1000.0
}
