//! The broker connection and what the Kafka clients are built with (`FLEETLOG_KAFKA__*`,
//! `KAFKA_BROKERS`). Part of [`crate::settings::Settings`], re-exported there.

use serde::{Deserialize, Serialize};

/// Broker connection and the client presets built from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaSettings {
    /// Bootstrap servers, comma separated (`KAFKA_BROKERS`).
    pub brokers: String,
    /// `client.id` prefix of every client this process opens.
    pub client_id: String,
    /// Producer batching delay (`linger.ms`).
    pub linger_ms: u32,
    /// How long a produce may wait for the broker before it fails (`message.timeout.ms`).
    pub message_timeout_ms: u32,
    /// Partitions of every topic created by `fleetlog topics create`.
    pub partitions: i32,
    /// Partitions of the dead-letter topics.
    pub dlq_partitions: i32,
    /// Replication factor of created topics (1 for the single local broker).
    pub replication_factor: i32,
    /// Longest a consumer's fetch waits at the broker when no records arrive
    /// (`fetch.wait.max.ms`). Only a ceiling: Kafka answers a fetch as soon as a record is
    /// there, so it adds no latency to a busy chain.
    pub fetch_wait_max_ms: u32,
    /// This process's instance among the processors of one kind: the decoder's
    /// `transactional.id` is `<client_id>-decoder-<instance_id>`. Give each decoder process
    /// its own; a restarted one keeps its id, so it fences its earlier self. A number
    /// (`FLEETLOG_KAFKA__INSTANCE_ID=2`) is taken as its text.
    #[serde(deserialize_with = "text_or_number")]
    pub instance_id: String,
    /// Longest a Kafka transaction may stay open (`transaction.timeout.ms`): an instance
    /// that died mid-transaction and is not restarted holds back `read_committed` readers of
    /// its partitions at most this long.
    pub transaction_timeout_ms: u32,
    /// How long a consumer-group member may go silent before the group hands its
    /// partitions to the others (`session.timeout.ms`): the longest a dead processor's
    /// partitions wait. The broker accepts 6,000 to 1,800,000 by default.
    pub session_timeout_ms: u32,
}

impl Default for KafkaSettings {
    fn default() -> Self {
        Self {
            brokers: "127.0.0.1:9092".into(),
            client_id: "fleetlog".into(),
            linger_ms: 5,
            message_timeout_ms: 300_000,
            partitions: 4,
            dlq_partitions: 1,
            replication_factor: 1,
            fetch_wait_max_ms: 500,
            instance_id: "1".into(),
            transaction_timeout_ms: 10_000,
            session_timeout_ms: 10_000,
        }
    }
}

/// A text setting that may be given as a number in the environment (`…=2` is read as an
/// integer by the environment provider): the number's decimal text.
fn text_or_number<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Given {
        Text(String),
        Unsigned(u64),
        Signed(i64),
    }
    Ok(match Given::deserialize(deserializer)? {
        Given::Text(text) => text,
        Given::Unsigned(n) => n.to_string(),
        Given::Signed(n) => n.to_string(),
    })
}

#[cfg(test)]
#[allow(
    clippy::result_large_err,
    reason = "figment's Jail API returns its own error type"
)]
mod tests {
    use crate::Settings;

    #[test]
    fn an_instance_id_given_as_a_number_is_taken_as_its_text() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("FLEETLOG_KAFKA__INSTANCE_ID", "2");
            assert_eq!(Settings::load().expect("valid").kafka.instance_id, "2");
            jail.set_env("FLEETLOG_KAFKA__INSTANCE_ID", "decoder-b");
            assert_eq!(
                Settings::load().expect("valid").kafka.instance_id,
                "decoder-b"
            );
            Ok(())
        });
    }
}
