//! Poison records: a named poison record is dead-lettered (with its headers) and parks its
//! key while other keys flow; an unnamed one is found by bisection, a keyless one only
//! dead-lettered.

use std::collections::HashMap;
use std::time::Duration;

use fleetlog_processor::ProjectionRuntime;
use fleetlog_processor::testing::{CountingProjection, POISON};
use fleetlog_processor::{self as runtime, ReleaseMode, RuntimeError, dlq_headers};
use fleetlog_runtime::kafka;
use fleetlog_tests::{TestApp, spawn_app, unique_name};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Headers;
use rdkafka::producer::FutureRecord;
use rdkafka::{Message, Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;

use super::{config, counted, counts, create_topic, poison, produce, start, wait_for_offsets};

async fn dead_letters(
    app: &TestApp,
    topic: &str,
    expected: usize,
) -> Vec<rdkafka::message::OwnedMessage> {
    let consumer: StreamConsumer = kafka::consumer_config(&app.settings.kafka, &unique_name("g"))
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(&fleetlog_schemas::topics::dlq(topic), 0, Offset::Beginning)
        .expect("partition added");
    consumer.assign(&tpl).expect("partition assigned");
    let mut out = Vec::new();
    while out.len() < expected {
        let msg = tokio::time::timeout(Duration::from_secs(30), consumer.recv())
            .await
            .expect("a dead letter within 30 s")
            .expect("a readable record");
        out.push(msg.detach());
    }
    out
}

fn header(msg: &rdkafka::message::OwnedMessage, name: &str) -> String {
    let headers = msg.headers().expect("headers");
    let value = headers
        .iter()
        .find(|h| h.key == name)
        .and_then(|h| h.value)
        .expect(name);
    String::from_utf8_lossy(value).into_owned()
}

#[tokio::test]
async fn a_poison_record_is_dead_lettered_and_parks_its_key_while_other_keys_flow() {
    let app = spawn_app().await;
    let topic = create_topic(&app, 1).await;
    produce(
        &app,
        &topic,
        &[
            counted("a", "a1", 1),
            poison("a"),
            counted("b", "b1", 10),
            counted("a", "a3", 3),
            counted("c", "c1", 100),
            poison("c"),
            counted("b", "b2", 20),
            counted("a", "a4", 4),
            counted("c", "c3", 300),
            counted("b", "b3", 30),
        ],
    )
    .await;
    let running = start(&app, &topic);
    wait_for_offsets(&app.pool, 10, Duration::from_secs(60)).await;

    let c = counts(&app.pool).await;
    assert_eq!(c["b"], (3, 60, 3), "other keys keep flowing");
    assert_eq!(
        c["a"],
        (1, 1, 1),
        "a's records after the poison one are parked"
    );
    assert_eq!(c["c"], (1, 100, 1));

    let letters = dead_letters(&app, &topic, 2).await;
    let by_key: HashMap<_, _> = letters
        .iter()
        .map(|m| (m.key().unwrap().to_vec(), m))
        .collect();
    let a = by_key[&b"a".to_vec()];
    assert_eq!(a.payload(), Some(POISON));
    assert!(
        header(a, dlq_headers::ERROR).contains("undecodable payload"),
        "{}",
        header(a, dlq_headers::ERROR)
    );
    assert_eq!(header(a, dlq_headers::PROCESSOR), "counting");
    assert_eq!(header(a, dlq_headers::TOPIC), topic);
    assert_eq!(header(a, dlq_headers::PARTITION), "0");
    assert_eq!(header(a, dlq_headers::OFFSET), "1");
    assert!(chrono_like(&header(a, dlq_headers::AT)));
    assert_eq!(header(by_key[&b"c".to_vec()], dlq_headers::OFFSET), "5");

    // A later record of the parked key is parked too.
    produce(&app, &topic, &[counted("a", "a5", 5)]).await;
    wait_for_offsets(&app.pool, 11, Duration::from_secs(30)).await;
    assert_eq!(counts(&app.pool).await["a"], (1, 1, 1));
    let parked = runtime::parked(&app.pool, "counting", 1).await.unwrap();
    let waiting: HashMap<_, _> = parked.iter().map(|p| (p.key.clone(), p.waiting)).collect();
    assert_eq!(
        waiting,
        HashMap::from([(b"a".to_vec(), 4), (b"c".to_vec(), 2)])
    );

    // Releasing with the unfixed projection fails and changes nothing.
    let unfixed = CountingProjection::new(&topic);
    let err = runtime::release(&app.pool, &unfixed, &topic, b"a", ReleaseMode::RetryPoison)
        .await
        .expect_err("still poison");
    assert!(matches!(err, RuntimeError::Projection { .. }), "{err}");
    // The fixed projection applies them in order, poison included.
    let fixed = CountingProjection::new(&topic).accepting_poison();
    let released = runtime::release(&app.pool, &fixed, &topic, b"a", ReleaseMode::RetryPoison)
        .await
        .unwrap();
    assert_eq!((released.applied, released.dropped), (4, 0));
    assert_eq!(counts(&app.pool).await["a"], (5, 1 + 3 + 4 + 5, 5));
    // Skipping drops c's parked records.
    assert_eq!(
        runtime::skip(&app.pool, "counting", 1, &topic, b"c")
            .await
            .unwrap(),
        2
    );
    assert!(
        runtime::skip(&app.pool, "counting", 1, &topic, b"c")
            .await
            .is_err()
    );

    // Both keys flow again.
    produce(
        &app,
        &topic,
        &[counted("a", "a6", 6), counted("c", "c4", 400)],
    )
    .await;
    wait_for_offsets(&app.pool, 13, Duration::from_secs(30)).await;
    running.stop().await;
    let c = counts(&app.pool).await;
    assert_eq!(c["a"], (6, 1 + 3 + 4 + 5 + 6, 6));
    assert_eq!(c["c"], (2, 500, 2));
    assert!(
        runtime::parked(&app.pool, "counting", 1)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn an_unnamed_poison_record_is_found_by_bisection_and_a_keyless_one_only_dead_lettered() {
    let app = spawn_app().await;
    let topic = create_topic(&app, 1).await;
    let mut records = vec![
        counted("a", "a1", 1),
        counted("b", "b1", 10),
        poison("a"),
        counted("b", "b2", 20),
        counted("a", "a3", 3),
        counted("b", "b3", 30),
    ];
    records.extend((0..20).map(|i| counted("c", &format!("c{i}"), 1)));
    produce(&app, &topic, &records).await;
    let producer = kafka::producer(&app.settings.kafka, "test").expect("producer");
    producer
        .send(
            FutureRecord::<(), [u8]>::to(&topic).payload(POISON),
            Duration::from_secs(10),
        )
        .await
        .map_err(|(e, _)| e)
        .unwrap();
    produce(
        &app,
        &topic,
        &[counted("a", "a4", 4), counted("c", "c20", 1)],
    )
    .await;

    let token = CancellationToken::new();
    let projection = CountingProjection::new(&topic).without_naming_poison();
    let runtime = ProjectionRuntime::new(projection, config(&app), app.pool.clone());
    let handle = tokio::spawn(runtime.run(token.clone()));
    wait_for_offsets(&app.pool, 29, Duration::from_secs(60)).await;
    token.cancel();
    handle.await.unwrap().unwrap();

    let c = counts(&app.pool).await;
    assert_eq!(
        c["a"],
        (1, 1, 1),
        "records of a after the poison one are parked"
    );
    assert_eq!(c["b"], (3, 60, 3));
    assert_eq!(c["c"], (21, 21, 21));
    let letters = dead_letters(&app, &topic, 2).await;
    let offsets: Vec<String> = letters
        .iter()
        .map(|m| header(m, dlq_headers::OFFSET))
        .collect();
    assert_eq!(offsets, ["2", "26"]);
    assert_eq!(letters[1].key(), None);
    let parked = runtime::parked(&app.pool, "counting", 1).await.unwrap();
    assert_eq!(
        parked.len(),
        1,
        "only the keyed poison record parks its key"
    );
    assert_eq!(
        (parked[0].key.as_slice(), parked[0].waiting),
        (&b"a"[..], 3)
    );
}

fn chrono_like(at: &str) -> bool {
    at.len() >= 20 && at.ends_with('Z') && at.as_bytes().get(10) == Some(&b'T')
}
