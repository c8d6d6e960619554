//! Dropping a Kafka client off the caller's thread.
//!
//! rdkafka's consumer drop closes the consumer and then polls, without a bound, until
//! librdkafka says it is closed (`BaseConsumer::drop` in rdkafka 0.39; rust-rdkafka issue
//! #509 shows it never returning). A client dropped inside a tokio runtime's shutdown, or
//! on its blocking pool, would then hold up the runtime's shutdown for ever: the runtime
//! waits for its blocking tasks. [`DetachedDrop`] hands the client to a thread of its own
//! to close; a close that never ends costs that thread, not the process's shutdown.

use std::ops::Deref;

/// A value whose drop runs on a detached thread of its own.
#[derive(Debug)]
pub struct DetachedDrop<T: Send + 'static> {
    inner: Option<T>,
    name: &'static str,
}

impl<T: Send + 'static> DetachedDrop<T> {
    /// Wrap `inner`; `name` names the thread that will drop it.
    pub fn new(inner: T, name: &'static str) -> Self {
        Self {
            inner: Some(inner),
            name,
        }
    }
}

impl<T: Send + 'static> DetachedDrop<T> {
    /// Drop the value now on its thread and wait for that at most `timeout` — a consumer
    /// closed this way leaves its group before the process goes on (and may exit). Past
    /// the timeout the drop goes on detached; `false` then.
    pub async fn drop_within(mut self, timeout: std::time::Duration) -> bool {
        let Some(inner) = self.inner.take() else {
            return true;
        };
        let (done, dropped) = tokio::sync::oneshot::channel();
        let spawned = std::thread::Builder::new()
            .name(self.name.to_owned())
            .spawn(move || {
                drop(inner);
                let _ = done.send(());
            });
        spawned.is_ok() && matches!(tokio::time::timeout(timeout, dropped).await, Ok(Ok(())))
    }
}

impl<T: Send + 'static> Deref for DetachedDrop<T> {
    type Target = T;

    fn deref(&self) -> &T {
        // Only `drop` takes the value out.
        self.inner
            .as_ref()
            .expect("a DetachedDrop holds its value until dropped")
    }
}

impl<T: Send + 'static> Drop for DetachedDrop<T> {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take() {
            // When no thread can be started, the value comes back in the error and is
            // dropped here, as it would have been without the wrapper.
            let _ = std::thread::Builder::new()
                .name(self.name.to_owned())
                .spawn(move || drop(inner));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::Duration;

    use super::*;

    /// Blocks its dropper until told to go, then reports which thread dropped it.
    struct SlowToDrop {
        release: mpsc::Receiver<()>,
        dropped_on: mpsc::Sender<Option<String>>,
    }

    impl Drop for SlowToDrop {
        fn drop(&mut self) {
            let _ = self.release.recv();
            let _ = self
                .dropped_on
                .send(std::thread::current().name().map(str::to_owned));
        }
    }

    #[test]
    fn a_slow_drop_runs_on_its_own_thread_and_does_not_hold_up_the_caller() {
        let (release, released) = mpsc::channel();
        let (dropped_on, dropped) = mpsc::channel();
        let value = DetachedDrop::new(
            SlowToDrop {
                release: released,
                dropped_on,
            },
            "slow-drop",
        );
        drop(value); // returns although the value's drop is still waiting
        assert!(dropped.recv_timeout(Duration::from_millis(50)).is_err());
        release.send(()).unwrap();
        assert_eq!(
            dropped
                .recv_timeout(Duration::from_secs(5))
                .unwrap()
                .as_deref(),
            Some("slow-drop")
        );
    }

    #[tokio::test]
    async fn a_drop_within_waits_for_a_quick_drop_and_gives_up_on_a_slow_one() {
        let (dropped_on, dropped) = mpsc::channel();
        let (release, released) = mpsc::channel();
        let quick = DetachedDrop::new(
            SlowToDrop {
                release: released,
                dropped_on,
            },
            "quick-drop",
        );
        release.send(()).expect("released");
        assert!(quick.drop_within(Duration::from_secs(5)).await);
        assert!(dropped.try_recv().is_ok(), "dropped before it returned");

        let (dropped_on, dropped) = mpsc::channel();
        let (release, released) = mpsc::channel();
        let slow = DetachedDrop::new(
            SlowToDrop {
                release: released,
                dropped_on,
            },
            "slow-drop",
        );
        assert!(!slow.drop_within(Duration::from_millis(50)).await);
        release.send(()).expect("released");
        assert!(
            dropped.recv_timeout(Duration::from_secs(5)).is_ok(),
            "then dropped detached"
        );
    }

    #[test]
    fn it_reads_through_to_its_value() {
        let value = DetachedDrop::new(vec![1, 2, 3], "vec-drop");
        assert_eq!(value.len(), 3);
    }
}
