//! Offsets and lag: records reach the read model and a restart resumes at the stored
//! offsets, two projectors with disjoint partition subsets share the work, and the lag table
//! and metrics read zero once caught up.

use std::time::{Duration, Instant};

use fleetlog_processor as runtime;
use fleetlog_tests::spawn_app;

use super::{config, counted, counts, create_topic, produce, start, start_with, wait_for_offsets};

#[tokio::test]
async fn records_reach_the_read_model_and_a_restart_resumes_at_the_stored_offsets() {
    let app = spawn_app().await;
    let topic = create_topic(&app, 2).await;
    let first: Vec<_> = (0..100)
        .map(|i| counted(&format!("k{}", i % 5), &format!("r{i}"), i))
        .collect();
    produce(&app, &topic, &first).await;

    let running = start(&app, &topic);
    wait_for_offsets(&app.pool, 100, Duration::from_secs(60)).await;
    running.stop().await;
    let after_first = counts(&app.pool).await;
    for k in 0..5 {
        let total: i64 = (0..100).filter(|i| i % 5 == k).sum();
        assert_eq!(after_first[&format!("k{k}")], (20, total, 20), "k{k}");
    }
    let live = runtime::live_schema(&app.pool, "counting").await.unwrap();
    assert_eq!(live.as_deref(), Some("proj_counting_v1"));

    let second: Vec<_> = (100..150)
        .map(|i| counted(&format!("k{}", i % 5), &format!("r{i}"), i))
        .collect();
    produce(&app, &topic, &second).await;
    let running = start(&app, &topic);
    wait_for_offsets(&app.pool, 150, Duration::from_secs(60)).await;
    running.stop().await;
    let after_restart = counts(&app.pool).await;
    let deliveries: i64 = after_restart.values().map(|c| c.2).sum();
    assert_eq!(
        deliveries, 150,
        "no record was handed to the projection twice"
    );
    for k in 0..5 {
        let total: i64 = (0..150).filter(|i| i % 5 == k).sum();
        assert_eq!(after_restart[&format!("k{k}")], (30, total, 30), "k{k}");
    }
}

#[tokio::test]
async fn two_projectors_with_disjoint_partition_subsets_share_the_work() {
    let app = spawn_app().await;
    let topic = create_topic(&app, 2).await;
    let records: Vec<_> = (0..200)
        .map(|i| counted(&format!("k{}", i % 10), &format!("r{i}"), 1))
        .collect();
    produce(&app, &topic, &records).await;
    let first = start_with(&app, &topic, config(&app).with_partitions(vec![0]));
    let second = start_with(&app, &topic, config(&app).with_partitions(vec![1]));
    wait_for_offsets(&app.pool, 200, Duration::from_secs(60)).await;
    first.stop().await;
    second.stop().await;
    let c = counts(&app.pool).await;
    assert_eq!(c.len(), 10);
    assert!(c.values().all(|&v| v == (20, 20, 20)), "{c:?}");
    let partitions: Vec<i32> = sqlx::query_scalar(
        "SELECT partition FROM projection_offsets WHERE projection = 'counting' ORDER BY 1",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(partitions, vec![0, 1]);
}

#[tokio::test]
async fn lag_table_and_metrics_read_zero_once_caught_up() {
    let metrics = fleetlog_runtime::telemetry::metrics_handle();
    let app = spawn_app().await;
    let topic = create_topic(&app, 2).await;
    let records: Vec<_> = (0..50)
        .map(|i| counted(&format!("k{i}"), &format!("r{i}"), 1))
        .collect();
    produce(&app, &topic, &records).await;
    let running = start(&app, &topic);
    wait_for_offsets(&app.pool, 50, Duration::from_secs(60)).await;

    let deadline = Instant::now() + Duration::from_secs(30);
    let rows = loop {
        let rows: Vec<(i32, i64, i64, i64)> = sqlx::query_as(
            "SELECT partition, next_offset, high_watermark, lag_records FROM projection_lag \
             WHERE projection = 'counting' AND version = 1 AND topic = $1 ORDER BY partition",
        )
        .bind(&topic)
        .fetch_all(&app.pool)
        .await
        .unwrap();
        if rows.len() == 2 && rows.iter().map(|r| r.1).sum::<i64>() == 50 {
            break rows;
        }
        assert!(
            Instant::now() < deadline,
            "lag table not refreshed: {rows:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    running.stop().await;
    for (partition, next, high, lag) in rows {
        assert_eq!((next, lag), (high, 0), "partition {partition}");
    }

    let text = metrics.render();
    for p in 0..2 {
        let labels = format!("{{projection=\"counting\",topic=\"{topic}\",partition=\"{p}\"}}");
        for name in [runtime::metrics::LAG_RECORDS, runtime::metrics::LAG_SECONDS] {
            let line = format!("{name}{labels} 0");
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
    }
    for name in [
        runtime::metrics::RECORDS_APPLIED,
        runtime::metrics::BATCH_SECONDS,
        runtime::metrics::PARKED_KEYS,
    ] {
        assert!(text.contains(name), "{name} missing in\n{text}");
    }
}
