//! Comparing two builds of a read model: every table of a schema, row by row, leaving out
//! the columns that depend on wall-clock time or on where batches were cut.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use sqlx::PgPool;

/// Columns never compared: `updated_at` (the wall-clock time of the writing transaction)
/// and `last_event_id` (the newest event of the *last batch* that changed the row, so it
/// depends on where batches are cut — two uninterrupted runs differ there too).
pub const VOLATILE: [&str; 2] = ["updated_at", "last_event_id"];

/// A row of a table (alias `t`) as JSON text without the volatile columns.
fn row_text() -> String {
    format!(
        "(to_jsonb(t) - '{}' - '{}')::text",
        VOLATILE[0], VOLATILE[1]
    )
}

/// Row count and an md5 of every row of `schema.table` (as [`row_text`], in text order).
///
/// # Panics
/// When the query fails.
pub async fn fingerprint(pool: &PgPool, schema: &str, table: &str) -> (i64, Option<String>) {
    let row = row_text();
    let sql = format!(
        "SELECT count(*), md5(string_agg({row}, E'\\n' ORDER BY {row})) FROM {schema}.{table} t"
    );
    sqlx::query_as(&sql)
        .fetch_one(pool)
        .await
        .expect("fingerprint")
}

/// The rows of `schema.table` as [`row_text`], in text order.
///
/// # Panics
/// When the query fails.
pub async fn rows(pool: &PgPool, schema: &str, table: &str) -> Vec<String> {
    let row = row_text();
    let sql = format!("SELECT {row} FROM {schema}.{table} t ORDER BY 1");
    sqlx::query_scalar(&sql)
        .fetch_all(pool)
        .await
        .expect("rows")
}

/// The tables of `schema`, by name.
///
/// # Panics
/// When the query fails.
pub async fn tables(pool: &PgPool, schema: &str) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = $1 ORDER BY 1",
    )
    .bind(schema)
    .fetch_all(pool)
    .await
    .expect("tables")
}

/// Assert that `schema` holds the same tables with the same rows in `a` and `b`, naming a
/// few differing rows when not; returns the tables compared.
///
/// # Panics
/// When they differ.
pub async fn assert_same(a: &PgPool, b: &PgPool, schema: &str) -> Vec<String> {
    let listed = tables(a, schema).await;
    assert_eq!(listed, tables(b, schema).await, "the same tables");
    for table in &listed {
        let (fa, fb) = (
            fingerprint(a, schema, table).await,
            fingerprint(b, schema, table).await,
        );
        eprintln!("{table}: A {fa:?}, B {fb:?}");
        if fa != fb {
            let (ra, rb) = (rows(a, schema, table).await, rows(b, schema, table).await);
            let only_a: Vec<_> = ra.iter().filter(|r| !rb.contains(r)).take(3).collect();
            let only_b: Vec<_> = rb.iter().filter(|r| !ra.contains(r)).take(3).collect();
            panic!(
                "{table}: A has {} rows, B {}; rows only in A: {only_a:#?}; only in B: {only_b:#?}",
                ra.len(),
                rb.len()
            );
        }
    }
    listed
}

/// `projection`'s stored offsets in `pool` (the next offset per topic and partition).
///
/// # Panics
/// When the query fails.
pub async fn stored_offsets(pool: &PgPool, projection: &str) -> BTreeMap<(String, i32), i64> {
    let rows: Vec<(String, i32, i64)> = sqlx::query_as(
        "SELECT topic, partition, next_offset FROM projection_offsets WHERE projection = $1",
    )
    .bind(projection)
    .fetch_all(pool)
    .await
    .expect("stored offsets");
    rows.into_iter().map(|(t, p, o)| ((t, p), o)).collect()
}

/// Wait until `projection` in `pool` has stored exactly the offsets `end` (it applied every
/// record before them), at most 60 s; `who` names the build in the failure.
///
/// # Panics
/// When the offsets are not reached in time.
pub async fn wait_until_stored(
    pool: &PgPool,
    projection: &str,
    end: &BTreeMap<(String, i32), i64>,
    who: &str,
) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now = stored_offsets(pool, projection).await;
        if &now == end {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{who}: stored offsets {now:?}, the log ends at {end:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
