//! The wrapper over a real rdkafka client whose broker never answers: librdkafka's queue
//! holds one record, so the second is refused as full.

use std::time::Duration;

use rdkafka::producer::FutureRecord;
use tokio_util::sync::CancellationToken;

use super::retry::RetryPolicy;
use super::{ProduceError, Producer, TrySendError};

/// A producer to a port nothing listens on, whose queue takes one record.
fn producer_with_a_queue_of_one(give_up_after: Duration) -> Producer {
    let client = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", "127.0.0.1:9")
        .set("queue.buffering.max.messages", "1")
        .set("message.timeout.ms", "60000")
        .set("log_level", "0")
        .create()
        .expect("a producer needs no broker to exist");
    let retry = RetryPolicy {
        first_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(10),
        give_up_after,
    };
    Producer::with_policy(client, retry, Duration::from_millis(100))
}

fn record(payload: &str) -> FutureRecord<'_, str, str> {
    FutureRecord::to("fleetlog-never-created")
        .key("k")
        .payload(payload)
}

#[tokio::test]
async fn try_send_hands_the_record_back_when_the_queue_is_full() {
    let producer = producer_with_a_queue_of_one(Duration::from_secs(1));
    let _first = producer
        .try_send(record("one"))
        .ok()
        .expect("the queue takes one");
    match producer.try_send(record("two")) {
        Err(TrySendError::QueueFull(back)) => assert_eq!(back.payload, Some("two")),
        Err(TrySendError::Failed(err)) => panic!("refused: {err}"),
        Ok(_) => panic!("a queue of one took two records"),
    }
}

#[tokio::test]
async fn send_gives_up_when_the_queue_stays_full() {
    let producer = producer_with_a_queue_of_one(Duration::from_millis(50));
    let _first = producer.send(record("one"), None).await.expect("queued");
    let err = producer
        .send(record("two"), None)
        .await
        .err()
        .expect("the queue stays full");
    assert!(
        matches!(err, ProduceError::QueueFull(w) if w >= Duration::from_millis(50)),
        "{err}"
    );
}

#[tokio::test]
async fn send_stops_waiting_when_cancelled() {
    let producer = producer_with_a_queue_of_one(Duration::from_secs(3600));
    let _first = producer.send(record("one"), None).await.expect("queued");
    let token = CancellationToken::new();
    token.cancel();
    let err = producer
        .send(record("two"), Some(&token))
        .await
        .err()
        .expect("cancelled");
    assert!(matches!(err, ProduceError::Cancelled), "{err}");
}

#[tokio::test]
async fn a_delivery_never_reported_times_out_and_a_flush_is_bounded() {
    let producer = producer_with_a_queue_of_one(Duration::from_secs(1));
    let delivery = producer.send(record("one"), None).await.expect("queued");
    let err = producer.delivered(delivery).await.expect_err("no broker");
    assert!(matches!(err, ProduceError::DeliveryTimeout(_)), "{err}");
    assert_eq!(producer.in_flight(), 1);
    let started = std::time::Instant::now();
    let err = producer
        .flush(Duration::from_millis(100))
        .await
        .expect_err("still in flight");
    assert!(matches!(err, ProduceError::Kafka(_)), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
}
