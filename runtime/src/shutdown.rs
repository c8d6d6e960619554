//! Graceful shutdown: one [`CancellationToken`] and one [`JoinSet`] per process.
//!
//! SIGINT/SIGTERM (or any task failing) cancels the token; tasks get
//! `shutdown_grace_ms` to finish, then whatever is left is aborted. Any task that fails
//! makes the whole process exit non-zero.
//!
//! The signals are caught from the moment the supervisor is created, so a process creates
//! it before its start-up work (database, migrations): a SIGTERM that arrives during
//! start-up is then a graceful stop once start-up is done, not a kill by the default
//! action.

use std::future::Future;
use std::time::Duration;

use anyhow::anyhow;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// The services of one process and the token that stops them.
pub struct Shutdown {
    token: CancellationToken,
    tasks: JoinSet<(String, anyhow::Result<()>)>,
    running: std::collections::BTreeMap<String, usize>,
    grace: Duration,
    signals: StopSignals,
}

impl Shutdown {
    /// A supervisor whose tasks get `grace` to finish after cancellation. From here on
    /// SIGINT and SIGTERM are caught (and kept until [`Shutdown::run`] acts on them).
    ///
    /// Must be called inside a Tokio runtime.
    pub fn new(grace: Duration) -> Self {
        Self {
            token: CancellationToken::new(),
            tasks: JoinSet::new(),
            running: std::collections::BTreeMap::new(),
            grace,
            signals: StopSignals::listen(),
        }
    }

    /// The token every task watches; cancelling it starts the shutdown.
    pub fn token(&self) -> CancellationToken {
        self.token.clone()
    }

    /// Run a named service until it returns. An `Err` stops the whole process.
    pub fn spawn<F>(&mut self, name: impl Into<String>, task: F)
    where
        F: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let name = name.into();
        *self.running.entry(name.clone()).or_default() += 1;
        self.tasks.spawn(async move { (name, task.await) });
    }

    /// Wait for SIGINT/SIGTERM or the first task failure, then drain with the grace
    /// period.
    ///
    /// # Errors
    /// The first task error, or an error naming the tasks that had to be aborted.
    pub async fn run(mut self) -> anyhow::Result<()> {
        let token = self.token.clone();
        let signals = std::mem::replace(&mut self.signals, StopSignals::None);
        tokio::spawn(async move {
            signals.received().await;
            tracing::info!("shutdown signal received");
            token.cancel();
        });
        let mut first_error: Option<anyhow::Error> = None;
        loop {
            tokio::select! {
                () = self.token.cancelled() => break,
                joined = self.tasks.join_next() => match joined {
                    None => break,
                    Some(result) => {
                        finished(&mut self.running, &result);
                        if let Some(err) = task_outcome(result) {
                            first_error.get_or_insert(err);
                            self.token.cancel();
                        }
                    }
                },
            }
        }
        self.token.cancel();
        let drained = tokio::time::timeout(self.grace, async {
            while let Some(result) = self.tasks.join_next().await {
                finished(&mut self.running, &result);
                if let Some(err) = task_outcome(result) {
                    first_error.get_or_insert(err);
                }
            }
        })
        .await;
        if drained.is_err() {
            let left: Vec<&str> = self.running.keys().map(String::as_str).collect();
            first_error.get_or_insert(anyhow!(
                "{} did not stop within the grace period",
                left.join(", ")
            ));
            self.tasks.abort_all();
        }
        first_error.map_or(Ok(()), Err)
    }
}

fn finished(
    running: &mut std::collections::BTreeMap<String, usize>,
    result: &Result<(String, anyhow::Result<()>), tokio::task::JoinError>,
) {
    if let Ok((name, _)) = result
        && let Some(count) = running.get_mut(name)
    {
        *count -= 1;
        if *count == 0 {
            running.remove(name);
        }
    }
}

fn task_outcome(
    result: Result<(String, anyhow::Result<()>), tokio::task::JoinError>,
) -> Option<anyhow::Error> {
    match result {
        Ok((name, Ok(()))) => {
            tracing::info!(task = %name, "stopped");
            None
        }
        Ok((name, Err(err))) => {
            tracing::error!(task = %name, error = ?err, "failed");
            Some(err.context(format!("{name} failed")))
        }
        Err(join) => Some(anyhow!("a task panicked or was aborted: {join}")),
    }
}

/// SIGINT and SIGTERM, caught from [`StopSignals::listen`] on: a signal that arrives
/// before anyone waits is kept, not lost to the default action.
enum StopSignals {
    #[cfg(unix)]
    Unix {
        interrupt: tokio::signal::unix::Signal,
        terminate: tokio::signal::unix::Signal,
    },
    /// Where the signals cannot be caught this way: Ctrl-C, from the first wait on.
    CtrlC,
    /// Already handed to [`Shutdown::run`].
    None,
}

impl StopSignals {
    fn listen() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            match (
                signal(SignalKind::interrupt()),
                signal(SignalKind::terminate()),
            ) {
                (Ok(interrupt), Ok(terminate)) => Self::Unix {
                    interrupt,
                    terminate,
                },
                (Err(err), _) | (_, Err(err)) => {
                    tracing::warn!(error = %err, "cannot catch SIGINT/SIGTERM; only Ctrl-C stops gracefully");
                    Self::CtrlC
                }
            }
        }
        #[cfg(not(unix))]
        {
            Self::CtrlC
        }
    }

    async fn received(self) {
        match self {
            #[cfg(unix)]
            Self::Unix {
                mut interrupt,
                mut terminate,
            } => {
                tokio::select! {
                    _ = interrupt.recv() => {}
                    _ = terminate.recv() => {}
                }
            }
            Self::CtrlC => {
                let _ = tokio::signal::ctrl_c().await;
            }
            Self::None => std::future::pending().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_failing_task_cancels_the_others_and_is_reported() {
        let mut shutdown = Shutdown::new(Duration::from_secs(2));
        let token = shutdown.token();
        shutdown.spawn("waits", async move {
            token.cancelled().await;
            Ok(())
        });
        shutdown.spawn("fails", async { Err(anyhow!("boom")) });
        let err = shutdown.run().await.expect_err("the failure is reported");
        assert!(format!("{err:#}").contains("boom"));
    }

    #[tokio::test]
    async fn a_task_that_ignores_cancellation_is_aborted_after_the_grace_period() {
        let mut shutdown = Shutdown::new(Duration::from_millis(50));
        shutdown.spawn("stubborn", async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(())
        });
        shutdown.token().cancel();
        let err = shutdown.run().await.expect_err("aborted");
        assert!(err.to_string().contains("grace period"));
    }
}
