//! Writing one build in this process: the projection runtime on the build's version
//! (no side effects; a fresh build bulk-loaded first), watched every 250 ms against the broker's watermarks with a
//! progress bar (rate and ETA) until it is caught up — or, with end offsets, until the
//! runtime reached them.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use fleetlog_processor::RuntimeConfig;
use fleetlog_processor::builds::{self, BulkState};
use fleetlog_runtime::Settings;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use super::plan::{self, Watermarks};

const POLL: Duration = Duration::from_millis(250);
const WATERMARKS_EVERY: Duration = Duration::from_secs(1);
const LOG_EVERY: Duration = Duration::from_secs(5);

/// One build to write.
pub(crate) struct Target<'a> {
    pub(crate) settings: &'a Settings,
    pub(crate) pool: &'a PgPool,
    pub(crate) name: &'a str,
    pub(crate) version: u32,
    /// Stop when this few records (or fewer) are left (ignored with `end`).
    pub(crate) switch_lag: u64,
    /// Run to exactly these offsets instead (see `RuntimeConfig::end_offsets`).
    pub(crate) end: Option<HashMap<(String, i32), i64>>,
    pub(crate) progress: bool,
}

/// Cancels the runtime if this future is dropped.
struct StopOnDrop(CancellationToken);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// Records per batch of a bulk load, at least (bigger `COPY`s are cheaper per row).
const BULK_BATCH: usize = 20_000;

/// Write `target` until it is caught up, then stop its runtime between batches (every
/// committed batch and its offsets are durable: a killed build resumes from them). A
/// fresh build is first bulk-loaded up to the log's end when it started (see
/// `RuntimeConfig::bulk`), then goes on incrementally. Returns the records replayed by
/// this run and how long it took.
///
/// # Errors
/// When the runtime fails or stops early, or the broker does not answer.
pub(crate) async fn catch_up(target: Target<'_>) -> anyhow::Result<(u64, Duration)> {
    let started = Instant::now();
    let base = RuntimeConfig::from_settings(target.settings).rebuilding(target.version);
    let described = fleetlog_projections::describe(target.settings, target.name)?;
    let mut marks: Watermarks = plan::watermarks(target.settings, &described.topics).await?;
    let stored = builds::stored_offsets(target.pool, target.name, target.version).await?;
    let (first, _) = plan::progress(&marks, &stored);
    let bar = bar(target.progress);
    bar.set_position(first);
    bar.reset_eta();
    let (pool, name, version) = (target.pool, target.name, target.version);
    let mut state = builds::bulk_state(pool, name, version).await?;
    if state == BulkState::None && stored.is_empty() && target.end.is_none() {
        let end = marks
            .iter()
            .map(|(tp, &(_, high))| (tp.clone(), high))
            .collect();
        state = builds::start_bulk(pool, name, version, &end).await?;
    }
    if let BulkState::Loading(end) = state {
        let mut config = base.clone().bulk_until(end);
        config.batch_max_records = config.batch_max_records.max(BULK_BATCH);
        drive(&target, config, &described.topics, &mut marks, &bar, None).await?;
        tracing::info!(version, "bulk load done; incremental from here");
    }
    let mut config = base;
    let stop_lag = match &target.end {
        Some(end) => {
            config = config.with_end_offsets(end.clone());
            None
        }
        None => Some(target.switch_lag),
    };
    let done = drive(
        &target,
        config,
        &described.topics,
        &mut marks,
        &bar,
        stop_lag,
    )
    .await?;
    bar.finish_and_clear();
    Ok((done.saturating_sub(first), started.elapsed()))
}

/// Run the runtime with `config` until it returns by itself (`stop_lag` `None`: it has
/// end offsets) or the build is at most `stop_lag` records behind; the records done.
async fn drive(
    target: &Target<'_>,
    config: RuntimeConfig,
    topics: &[&'static str],
    marks: &mut Watermarks,
    bar: &ProgressBar,
    stop_lag: Option<u64>,
) -> anyhow::Result<u64> {
    let stop = CancellationToken::new();
    let _guard = StopOnDrop(stop.clone());
    let (settings, name, pool, token) = (
        target.settings.clone(),
        target.name.to_owned(),
        target.pool.clone(),
        stop.clone(),
    );
    let mut task = tokio::spawn(async move {
        fleetlog_projections::run_with_config(&name, &settings, pool, config, token).await
    });
    let (mut marks_at, mut logged_at) = (Instant::now(), Instant::now());
    loop {
        tokio::select! {
            joined = &mut task => {
                joined.context("build task")??;
                anyhow::ensure!(stop_lag.is_none(), "the build's runtime stopped early");
                let stored = builds::stored_offsets(target.pool, target.name, target.version).await?;
                return Ok(plan::progress(marks, &stored).0);
            }
            () = tokio::time::sleep(POLL) => {}
        }
        if marks_at.elapsed() >= WATERMARKS_EVERY {
            *marks = plan::watermarks(target.settings, topics).await?;
            marks_at = Instant::now();
        }
        let stored = builds::stored_offsets(target.pool, target.name, target.version).await?;
        let (done, total) = plan::progress(marks, &stored);
        bar.set_length(total);
        bar.set_position(done);
        if logged_at.elapsed() >= LOG_EVERY {
            tracing::info!(version = target.version, done, total, "build progress");
            logged_at = Instant::now();
        }
        if stop_lag.is_some_and(|lag| total.saturating_sub(done) <= lag) {
            stop.cancel();
            (&mut task).await.context("build task")??;
            return Ok(done);
        }
    }
}

/// A progress bar on stderr with rate and ETA (hidden when stderr is not a terminal).
fn bar(visible: bool) -> ProgressBar {
    if !visible {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} records {per_sec} ETA {eta}",
    ) {
        bar.set_style(style);
    }
    bar
}
