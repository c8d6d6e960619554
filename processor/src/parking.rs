//! Parked keys, from the batch's side: which keys of a batch are parked, and storing
//! poison records and the records queued behind them. Operators release or skip them
//! with the functions in `operator.rs`.

use std::collections::HashSet;

use sqlx::PgConnection;

use super::error::RuntimeError;
use super::projection::SourceRecord;
use super::schema::version_i32;

/// A topic and a record key.
pub(crate) type TopicKey = (String, Vec<u8>);

/// A record that is not applied: a poison record (with its error) or a record of a
/// parked key.
#[derive(Debug, Clone)]
pub(crate) struct ParkEntry<'a> {
    pub(crate) record: &'a SourceRecord,
    /// `Some(error)` for the poison record itself.
    pub(crate) poison: Option<String>,
}

/// The topic and key of `record`, when it has a key.
pub(crate) fn topic_key(record: &SourceRecord) -> Option<TopicKey> {
    record
        .key
        .as_ref()
        .map(|k| (record.topic.clone(), k.clone()))
}

/// The parked keys among the keys of `batch`, locked `FOR SHARE` until the batch commits.
pub(crate) async fn parked_keys(
    tx: &mut PgConnection,
    projection: &str,
    version: u32,
    batch: &[SourceRecord],
) -> Result<HashSet<TopicKey>, RuntimeError> {
    let keys: HashSet<(&str, &[u8])> = batch
        .iter()
        .filter_map(|r| r.key.as_deref().map(|k| (r.topic.as_str(), k)))
        .collect();
    let (topics, keys): (Vec<&str>, Vec<&[u8]>) = keys.into_iter().unzip();
    let rows: Vec<(String, Vec<u8>)> = sqlx::query_as(include_str!("../sql/parked_keys.sql"))
        .bind(projection)
        .bind(version_i32(version))
        .bind(&topics)
        .bind(&keys)
        .fetch_all(tx)
        .await?;
    Ok(rows.into_iter().collect())
}

/// Store `entries` in `projection_parked_records` and park the keys of the poison ones.
/// Poison records without a key are not stored (nothing queues behind them).
pub(crate) async fn store(
    tx: &mut PgConnection,
    projection: &str,
    version: u32,
    entries: &[ParkEntry<'_>],
) -> Result<(), RuntimeError> {
    let keyed: Vec<&ParkEntry<'_>> = entries.iter().filter(|e| e.record.key.is_some()).collect();
    if keyed.is_empty() {
        return Ok(());
    }
    sqlx::query(include_str!("../sql/park_records.sql"))
        .bind(projection)
        .bind(version_i32(version))
        .bind(
            keyed
                .iter()
                .map(|e| e.record.topic.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(keyed.iter().map(|e| e.record.partition).collect::<Vec<_>>())
        .bind(keyed.iter().map(|e| e.record.offset).collect::<Vec<_>>())
        .bind(
            keyed
                .iter()
                .map(|e| e.record.key.as_deref())
                .collect::<Vec<_>>(),
        )
        .bind(
            keyed
                .iter()
                .map(|e| e.record.payload.as_deref())
                .collect::<Vec<_>>(),
        )
        .bind(
            keyed
                .iter()
                .map(|e| headers_json(&e.record.headers))
                .collect::<Vec<_>>(),
        )
        .bind(
            keyed
                .iter()
                .map(|e| e.record.timestamp_ms)
                .collect::<Vec<_>>(),
        )
        .bind(keyed.iter().map(|e| e.poison.is_some()).collect::<Vec<_>>())
        .bind(
            keyed
                .iter()
                .map(|e| e.poison.as_deref())
                .collect::<Vec<_>>(),
        )
        .execute(&mut *tx)
        .await?;
    let poison: Vec<&&ParkEntry<'_>> = keyed.iter().filter(|e| e.poison.is_some()).collect();
    if poison.is_empty() {
        return Ok(());
    }
    sqlx::query(include_str!("../sql/park_keys.sql"))
        .bind(projection)
        .bind(version_i32(version))
        .bind(
            poison
                .iter()
                .map(|e| e.record.topic.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            poison
                .iter()
                .map(|e| e.record.key.as_deref())
                .collect::<Vec<_>>(),
        )
        .bind(
            poison
                .iter()
                .map(|e| e.record.partition)
                .collect::<Vec<_>>(),
        )
        .bind(poison.iter().map(|e| e.record.offset).collect::<Vec<_>>())
        .bind(
            poison
                .iter()
                .map(|e| e.poison.as_deref())
                .collect::<Vec<_>>(),
        )
        .execute(tx)
        .await?;
    Ok(())
}

/// Headers as a JSON array of `[name, hex value]` pairs.
pub(crate) fn headers_json(headers: &[(String, Vec<u8>)]) -> String {
    let pairs: Vec<(&str, String)> = headers
        .iter()
        .map(|(name, value)| (name.as_str(), hex(value)))
        .collect();
    serde_json::to_string(&pairs).unwrap_or_else(|_| "[]".into())
}

/// The inverse of [`headers_json`]; malformed entries are dropped.
pub(crate) fn headers_from_json(json: &str) -> Vec<(String, Vec<u8>)> {
    let pairs: Vec<(String, String)> = serde_json::from_str(json).unwrap_or_default();
    pairs
        .into_iter()
        .filter_map(|(name, value)| unhex(&value).map(|v| (name, v)))
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_survive_the_json_round_trip_in_order() {
        let headers = vec![
            ("ce_id".to_owned(), b"abc".to_vec()),
            ("bin".to_owned(), vec![0, 255, 16]),
            ("empty".to_owned(), vec![]),
        ];
        let json = headers_json(&headers);
        assert_eq!(
            json,
            r#"[["ce_id","616263"],["bin","00ff10"],["empty",""]]"#
        );
        assert_eq!(headers_from_json(&json), headers);
    }
}
