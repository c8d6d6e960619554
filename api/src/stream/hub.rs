//! [`StreamHub`]: what the streams of one API process share — the caps, the shared reader
//! (started by the first stream, stopped with the API's shutdown token or when the hub is
//! dropped) and the reader counts.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use fleetlog_runtime::settings::ApiSettings;
use tokio::sync::OnceCell;
use tokio_util::sync::CancellationToken;

use super::caps::{Caps, Limits};
use super::reader::{Counters, Live, ReaderError};
use crate::commands::CommandLog;

/// The live streams of one API process. Dropping it stops the shared reader.
pub struct StreamHub {
    log: CommandLog,
    caps: Arc<Caps>,
    live: OnceCell<Arc<Live>>,
    counters: Arc<Counters>,
    stop: CancellationToken,
}

/// How many streams and readers a hub has (for operators and tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamStats {
    /// Streams open now.
    pub open: u32,
    /// Kafka consumers reading for streams now (the shared reader and catch-ups).
    pub readers_open: u64,
    /// Kafka consumers ever opened for streams (the shared reader counts once).
    pub readers_created: u64,
}

impl std::fmt::Debug for StreamHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamHub")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl StreamHub {
    /// A hub reading through `log`'s broker and codec, with the caps of `settings`, its
    /// streams and reader ending when `shutdown` is cancelled.
    pub fn new(log: CommandLog, settings: &ApiSettings, shutdown: &CancellationToken) -> Self {
        super::metrics::describe();
        Self {
            log,
            caps: Caps::new(Limits::from(settings)),
            live: OnceCell::new(),
            counters: Arc::default(),
            stop: shutdown.child_token(),
        }
    }

    /// The counts now.
    pub fn stats(&self) -> StreamStats {
        StreamStats {
            open: self.caps.open(),
            readers_open: self.counters.open.load(Ordering::Relaxed),
            readers_created: self.counters.created.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn caps(&self) -> &Arc<Caps> {
        &self.caps
    }

    pub(crate) fn log(&self) -> &CommandLog {
        &self.log
    }

    pub(crate) fn counters(&self) -> &Arc<Counters> {
        &self.counters
    }

    /// Cancelled when the API shuts down (or the hub is dropped).
    pub(crate) fn stop(&self) -> &CancellationToken {
        &self.stop
    }

    /// The shared reader, started by the first caller.
    pub(crate) async fn live(&self) -> Result<Arc<Live>, ReaderError> {
        self.live
            .get_or_try_init(|| {
                Live::start(
                    self.log.clone(),
                    Arc::clone(&self.counters),
                    self.stop.clone(),
                )
            })
            .await
            .cloned()
    }
}

impl Drop for StreamHub {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}
