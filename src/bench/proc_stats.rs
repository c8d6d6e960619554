//! CPU time and resident memory of a process, from `/proc` (Linux).

use std::time::Instant;

/// A point-in-time reading of one process.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ProcSample {
    cpu_ticks: u64,
    at: Instant,
}

fn ticks_per_second() -> f64 {
    // USER_HZ is 100 on every Linux this runs on.
    100.0
}

/// CPU ticks (user + system) of `pid`.
pub(crate) fn sample(pid: u32) -> Option<ProcSample> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may contain spaces) start after ") ".
    let rest = stat.rsplit_once(") ")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(ProcSample {
        cpu_ticks: utime + stime,
        at: Instant::now(),
    })
}

/// Cores used between two samples (1.0 = one core busy the whole time).
pub(crate) fn cores(before: ProcSample, after: ProcSample) -> f64 {
    let cpu = after.cpu_ticks.saturating_sub(before.cpu_ticks) as f64 / ticks_per_second();
    let wall = after.at.duration_since(before.at).as_secs_f64();
    if wall > 0.0 { cpu / wall } else { 0.0 }
}

/// Resident set size of `pid` in KiB.
pub(crate) fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}
