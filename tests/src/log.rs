//! Reading what landed on the log.

use std::time::{Duration, Instant};

use fleetlog_runtime::Settings;
use rdkafka::Message;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::OwnedMessage;

/// Read `topic` from the beginning (a fresh consumer group) until `done` says the records
/// seen so far (only those whose key is `key`) are enough, or `timeout` passes.
///
/// # Panics
/// When the consumer cannot be created.
pub async fn read_key_until(
    settings: &Settings,
    topic: &str,
    key: &str,
    timeout: Duration,
    done: impl Fn(&[OwnedMessage]) -> bool,
) -> Vec<OwnedMessage> {
    let consumer: StreamConsumer =
        fleetlog_runtime::kafka::consumer_config(&settings.kafka, &crate::unique_name("reader"))
            .create()
            .expect("consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    let deadline = Instant::now() + timeout;
    let mut seen = Vec::new();
    while !done(&seen) {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        match tokio::time::timeout(left, consumer.recv()).await {
            Ok(Ok(message)) if message.key() == Some(key.as_bytes()) => {
                seen.push(message.detach());
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    seen
}
