//! The queue-full retry, apart from rdkafka: how long to wait between tries and when to
//! give up.
//!
//! librdkafka refuses a record with `QueueFull` when its local queue holds
//! `queue.buffering.max.messages` records (or bytes): the broker is slower than the
//! producers, or gone. Waiting and trying again is the backpressure; waiting with a
//! growing, bounded backoff keeps it from being a busy loop, and a limit (or a
//! cancellation) keeps a caller from waiting for ever on a broker that does not come back.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How a send waits out librdkafka's full queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The wait after the first `QueueFull`.
    pub first_backoff: Duration,
    /// The longest wait between two tries (the backoff doubles up to it).
    pub max_backoff: Duration,
    /// Give up once the queue stayed full this long.
    pub give_up_after: Duration,
}

impl RetryPolicy {
    /// 5 ms, doubling up to 100 ms, for at most `give_up_after`.
    pub fn new(give_up_after: Duration) -> Self {
        Self {
            first_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(100),
            give_up_after,
        }
    }

    /// The wait before try `retry + 1` (the first retry is 0): `first_backoff` doubled
    /// `retry` times, at most `max_backoff`.
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX);
        self.first_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

/// One try's outcome that is not a success.
#[derive(Debug)]
pub enum Refusal<R, E> {
    /// The queue is full: the item comes back, to be tried again.
    QueueFull(R),
    /// Refused for another reason: not retried.
    Failed(E),
}

/// Why [`retry_while_full`] gave up.
#[derive(Debug, PartialEq, Eq)]
pub enum GaveUp<E> {
    /// A try failed for another reason than a full queue.
    Failed(E),
    /// The queue stayed full for [`RetryPolicy::give_up_after`] (the time waited).
    StillFull(Duration),
    /// `cancel` was cancelled while the queue was full.
    Cancelled,
}

/// Try `item`, which the queue just refused as full, again with `attempt` until it is
/// taken: first after [`RetryPolicy::backoff`]`(0)`, then after each further `QueueFull`
/// a longer backoff; the last try is at [`RetryPolicy::give_up_after`] at the latest.
///
/// Callers make the first try themselves, so a record the queue takes costs no clock read,
/// timer or allocation here.
///
/// # Errors
/// [`GaveUp`]: another refusal, the limit reached, or `cancel` cancelled.
pub async fn retry_while_full<R, T, E>(
    policy: &RetryPolicy,
    cancel: Option<&CancellationToken>,
    mut item: R,
    mut attempt: impl FnMut(R) -> Result<T, Refusal<R, E>>,
) -> Result<T, GaveUp<E>> {
    let started = Instant::now();
    let mut retry = 0u32;
    loop {
        let waited = started.elapsed();
        let Some(left) = policy
            .give_up_after
            .checked_sub(waited)
            .filter(|left| !left.is_zero())
        else {
            return Err(GaveUp::StillFull(waited));
        };
        let wait = policy.backoff(retry).min(left);
        retry = retry.saturating_add(1);
        if cancelled_during(cancel, tokio::time::sleep(wait)).await {
            return Err(GaveUp::Cancelled);
        }
        match attempt(item) {
            Ok(done) => return Ok(done),
            Err(Refusal::Failed(err)) => return Err(GaveUp::Failed(err)),
            Err(Refusal::QueueFull(back)) => item = back,
        }
    }
}

/// Run `wait`; true when `cancel` came first.
async fn cancelled_during(
    cancel: Option<&CancellationToken>,
    wait: impl Future<Output = ()>,
) -> bool {
    match cancel {
        Some(token) => tokio::select! {
            () = token.cancelled() => true,
            () = wait => false,
        },
        None => {
            wait.await;
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    fn policy(give_up_after_ms: u64) -> RetryPolicy {
        RetryPolicy {
            first_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(8),
            give_up_after: Duration::from_millis(give_up_after_ms),
        }
    }

    #[test]
    fn the_backoff_doubles_and_stays_bounded() {
        let policy = RetryPolicy::new(Duration::from_secs(300));
        let waits: Vec<u64> = (0..8)
            .map(|r| policy.backoff(r).as_millis() as u64)
            .collect();
        assert_eq!(waits, [5, 10, 20, 40, 80, 100, 100, 100]);
        assert_eq!(policy.backoff(u32::MAX), Duration::from_millis(100));
    }

    #[test]
    fn a_zero_first_backoff_never_waits_longer_than_the_bound() {
        let policy = RetryPolicy {
            first_backoff: Duration::ZERO,
            ..RetryPolicy::new(Duration::from_secs(1))
        };
        assert_eq!(policy.backoff(40), Duration::ZERO);
    }

    #[tokio::test]
    async fn a_record_taken_at_the_first_retry_waits_only_the_first_backoff() {
        let started = Instant::now();
        let taken: Result<u8, GaveUp<()>> = retry_while_full(&policy(1000), None, 7u8, Ok).await;
        assert_eq!(taken, Ok(7));
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(1) && waited < Duration::from_millis(500));
    }

    #[tokio::test]
    async fn a_queue_full_at_the_limit_gives_up_without_another_try() {
        let taken: Result<u8, GaveUp<()>> =
            retry_while_full(&policy(0), None, 7u8, |_| panic!("no try past the limit")).await;
        assert!(matches!(taken, Err(GaveUp::StillFull(_))), "{taken:?}");
    }

    #[tokio::test]
    async fn a_full_queue_is_tried_again_until_it_takes_the_record() {
        let tries = Cell::new(0);
        let taken: Result<u8, GaveUp<()>> = retry_while_full(&policy(5000), None, 7u8, |r| {
            tries.set(tries.get() + 1);
            if tries.get() < 4 {
                Err(Refusal::QueueFull(r))
            } else {
                Ok(r)
            }
        })
        .await;
        assert_eq!(taken, Ok(7));
        assert_eq!(tries.get(), 4);
    }

    #[tokio::test]
    async fn another_refusal_is_not_retried() {
        let tries = Cell::new(0);
        let taken: Result<u8, GaveUp<&str>> = retry_while_full(&policy(5000), None, 7u8, |_| {
            tries.set(tries.get() + 1);
            Err(Refusal::Failed("unknown topic"))
        })
        .await;
        assert_eq!(taken, Err(GaveUp::Failed("unknown topic")));
        assert_eq!(tries.get(), 1);
    }

    #[tokio::test]
    async fn it_gives_up_at_the_limit_without_spinning() {
        let tries = Cell::new(0u32);
        let started = Instant::now();
        let taken: Result<u8, GaveUp<()>> = retry_while_full(&policy(60), None, 7u8, |r| {
            tries.set(tries.get() + 1);
            Err(Refusal::QueueFull(r))
        })
        .await;
        let waited = started.elapsed();
        assert!(
            matches!(taken, Err(GaveUp::StillFull(w)) if w >= Duration::from_millis(60)),
            "{taken:?}"
        );
        assert!(waited >= Duration::from_millis(60) && waited < Duration::from_secs(2));
        // Waits of 1, 2, 4, 8, 8 … ms: about 60 / 8 + 4 tries, the last at the limit; never
        // a busy loop (timer granularity only makes the waits longer, so fewer tries).
        assert!(
            tries.get() >= 2 && tries.get() <= 14,
            "{} tries",
            tries.get()
        );
    }

    #[tokio::test]
    async fn a_cancellation_ends_the_wait_at_once() {
        let token = CancellationToken::new();
        let canceller = token.clone();
        let tries = Cell::new(0u32);
        let started = Instant::now();
        let slow = RetryPolicy {
            first_backoff: Duration::from_secs(3600),
            max_backoff: Duration::from_secs(3600),
            give_up_after: Duration::from_secs(7200),
        };
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            canceller.cancel();
        });
        let taken: Result<u8, GaveUp<()>> = retry_while_full(&slow, Some(&token), 7u8, |r| {
            tries.set(tries.get() + 1);
            Err(Refusal::QueueFull(r))
        })
        .await;
        assert_eq!(taken, Err(GaveUp::Cancelled));
        assert_eq!(tries.get(), 0);
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
