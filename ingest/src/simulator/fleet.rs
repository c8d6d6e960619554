//! Running a fleet: one task per scooter (connect, log in, report every interval, obey
//! commands, reconnect with backoff), a summary line every 10 s, and the final counters.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::{Instant, sleep};
use tokio_util::sync::CancellationToken;

use super::config::SimulateArgs;
use super::device::SimScooter;
use super::link::DeviceError;
use super::stats::{LiveStats, SimStats};

/// How often the running fleet logs its counters.
const SUMMARY_EVERY: Duration = Duration::from_secs(10);
/// First reconnect delay; it doubles up to [`BACKOFF_MAX`] and resets after a login.
const BACKOFF_MIN: Duration = Duration::from_millis(100);
/// Longest reconnect delay.
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// Battery of the `--low-battery` scooters, percent: below the default minimum a rider
/// may reserve or ride (`FLEETLOG_COMMANDS__MIN_BATTERY_PCT`, 15).
pub const LOW_BATTERY_PCT: f64 = 8.0;
/// Spreads the per-scooter seeds (the 64-bit golden ratio).
const SEED_STEP: u64 = 0x9E37_79B9_7F4A_7C15;

/// Runs the fleet `args` describes until `shutdown` is cancelled or `--duration` passed,
/// and returns the final counters.
pub async fn run(args: SimulateArgs, shutdown: CancellationToken) -> anyhow::Result<SimStats> {
    run_with(args, shutdown, Arc::new(LiveStats::default())).await
}

/// Like [`run`], counting into `live` so the caller can watch progress meanwhile.
pub async fn run_with(
    args: SimulateArgs,
    shutdown: CancellationToken,
    live: Arc<LiveStats>,
) -> anyhow::Result<SimStats> {
    let plan = args.plan()?;
    if plan.scooters.is_empty() {
        return Ok(live.snapshot());
    }
    let stop = shutdown.child_token();
    let mut tasks = JoinSet::new();
    if let Some(duration) = plan.duration {
        tasks.spawn(stop_after(duration, stop.clone()));
    }
    tasks.spawn(summarise(live.clone(), stop.clone()));
    let n = plan.scooters.len() as f64;
    tracing::info!(scooters = plan.scooters.len(), interval = ?plan.interval, seed = plan.seed,
        "simulator starting");
    for s in plan.scooters {
        let seed = plan.seed.wrapping_add(s.index.wrapping_mul(SEED_STEP));
        let mut sim = SimScooter::new(s.protocol, s.device_id, seed)
            .with_ack_timeout(plan.ack_timeout)
            .with_stats(live.clone());
        if s.index < plan.low_battery {
            let mut state = sim.state().clone();
            state.battery_pct = LOW_BATTERY_PCT;
            sim = sim.with_state(state);
        }
        let stagger = plan.interval.mul_f64(s.index as f64 / n);
        tasks.spawn(drive(sim, s.addr, plan.interval, stagger, stop.clone()));
    }
    while let Some(done) = tasks.join_next().await {
        if let Err(err) = done {
            stop.cancel();
            tasks.shutdown().await;
            anyhow::bail!("simulator task failed: {err}");
        }
    }
    let stats = live.snapshot();
    tracing::info!("simulator stopped: {stats}");
    Ok(stats)
}

async fn stop_after(duration: Duration, stop: CancellationToken) {
    if pause(duration, &stop).await {
        stop.cancel();
    }
}

async fn summarise(live: Arc<LiveStats>, stop: CancellationToken) {
    while pause(SUMMARY_EVERY, &stop).await {
        tracing::info!("simulator: {}", live.snapshot());
    }
}

/// Sleeps for `d`; `false` if `stop` came first.
async fn pause(d: Duration, stop: &CancellationToken) -> bool {
    tokio::select! {
        () = stop.cancelled() => false,
        () = sleep(d) => true,
    }
}

/// One scooter's life: sessions until stopped, with backoff between them.
async fn drive(
    mut sim: SimScooter,
    addr: String,
    interval: Duration,
    stagger: Duration,
    stop: CancellationToken,
) {
    if !pause(stagger, &stop).await {
        return;
    }
    let mut backoff = Backoff::default();
    loop {
        let err = tokio::select! {
            () = stop.cancelled() => return,
            err = session(&mut sim, &addr, interval, &mut backoff) => err,
        };
        sim.disconnect();
        let delay = backoff.next_delay();
        tracing::debug!(device = sim.device_id(), error = %err, ?delay, "reconnecting");
        if !pause(delay, &stop).await {
            return;
        }
    }
}

/// One connection: log in, then report every interval and obey commands in between;
/// report at once after a lock change. Returns why the connection ended.
async fn session(
    sim: &mut SimScooter,
    addr: &str,
    interval: Duration,
    backoff: &mut Backoff,
) -> DeviceError {
    if let Err(err) = login(sim, addr).await {
        return err;
    }
    backoff.reset();
    let mut next = Instant::now();
    loop {
        match sim.send_report().await {
            Ok(outcome) if outcome.is_ok() => {}
            Ok(outcome) => return DeviceError::AckFailed(outcome),
            Err(err) => return err,
        }
        let now = Instant::now();
        if now >= next {
            next = (next + interval).max(now);
        }
        if let Err(err) = obey_until(sim, next).await {
            return err;
        }
    }
}

async fn login(sim: &mut SimScooter, addr: &str) -> Result<(), DeviceError> {
    sim.connect(addr).await?;
    sim.login().await
}

/// Obeys commands until `deadline`, or until one changed the lock.
async fn obey_until(sim: &mut SimScooter, deadline: Instant) -> Result<(), DeviceError> {
    while let Some(command) = sim.next_command_until(deadline).await? {
        let obeyed = sim.obey(command).await?;
        if !obeyed.reply.is_ok() {
            return Err(DeviceError::AckFailed(obeyed.reply));
        }
        if obeyed.lock_changed {
            return Ok(());
        }
    }
    Ok(())
}

/// Exponential reconnect delays with ±25 % jitter.
#[derive(Debug)]
struct Backoff {
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self { next: BACKOFF_MIN }
    }
}

impl Backoff {
    fn next_delay(&mut self) -> Duration {
        let base = self.next;
        self.next = (base * 2).min(BACKOFF_MAX);
        base.mul_f64(rand::random_range(0.75..1.25))
    }

    fn reset(&mut self) {
        self.next = BACKOFF_MIN;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_and_resets() {
        let mut b = Backoff::default();
        let delays: Vec<_> = (0..12).map(|_| b.next_delay()).collect();
        assert!(delays[0] <= BACKOFF_MIN.mul_f64(1.25));
        assert!(delays[11] >= BACKOFF_MAX.mul_f64(0.75));
        assert!(delays.iter().all(|d| *d <= BACKOFF_MAX.mul_f64(1.25)));
        b.reset();
        assert!(b.next_delay() <= BACKOFF_MIN.mul_f64(1.25));
    }
}
