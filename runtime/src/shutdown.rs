//! Graceful shutdown: one [`CancellationToken`] and one [`JoinSet`] per process.
//!
//! SIGINT/SIGTERM (or any task failing) cancels the token; tasks get
//! `shutdown_grace_ms` to finish, then whatever is left is aborted. Any task that fails
//! makes the whole process exit non-zero.

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
}

impl Shutdown {
    /// A supervisor whose tasks get `grace` to finish after cancellation.
    pub fn new(grace: Duration) -> Self {
        Self {
            token: CancellationToken::new(),
            tasks: JoinSet::new(),
            running: std::collections::BTreeMap::new(),
            grace,
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
        tokio::spawn(async move {
            wait_for_signal().await;
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

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut term) = signal(SignalKind::terminate()) else {
            let _ = tokio::signal::ctrl_c().await;
            return;
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
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
