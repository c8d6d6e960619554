//! How one projector runs: batch limits, retries, the partitions it owns, lag refresh.
//!
//! Built from [`fleetlog_runtime::Settings`] (`FLEETLOG_PROJECTIONS__*`), plus the
//! options only the caller knows, such as the partition subset of a scaled-out projector.

use std::collections::HashMap;
use std::time::Duration;

use fleetlog_runtime::Settings;
use fleetlog_runtime::settings::KafkaSettings;

/// The configuration of one running projection.
#[derive(Debug, Clone, PartialEq)]
pub struct RuntimeConfig {
    /// Broker connection (client presets come from `fleetlog_runtime::kafka`).
    pub kafka: KafkaSettings,
    /// Most records applied in one transaction (at least 1).
    pub batch_max_records: usize,
    /// Longest a batch waits to fill once its first record arrived.
    pub batch_max_wait: Duration,
    /// Attempts at a batch that fails with a poison error before the poison record is
    /// isolated (at least 1).
    pub max_retries: u32,
    /// Partitions this process assigns itself, of every topic of the projection; `None`
    /// (the default) joins the build's consumer group, which splits the partitions
    /// between the processes running it and hands a dead one's to the others.
    ///
    /// With a fixed subset there is no rebalancing: a process that dies is restarted by
    /// its supervisor and resumes from the offsets stored in PostgreSQL; a second process
    /// claiming the same partitions fences this one, which then stops.
    pub partitions: Option<Vec<i32>>,
    /// Who this process is in `projection_claims` (`fleetlog projections status`).
    pub owner: String,
    /// How often the lag table and the lag metrics are refreshed.
    pub lag_interval: Duration,
    /// Longest wait for the broker's acknowledgement of a dead-letter record.
    pub dlq_timeout: Duration,
    /// The build version to write (schema `proj_<name>_v<N>`), which must be registered
    /// in `projection_versions`; `None` follows the live version (registering the code's
    /// version as live when none is) and, when a rebuild retires it, restarts on the new
    /// live version from that version's stored offsets.
    pub version: Option<u32>,
    /// A rebuild: no side effects. Poison records are parked (and kept in
    /// `projection_parked_records`) but not sent to the dead-letter topic again.
    pub rebuild: bool,
    /// Stop once every partition's stored offset reached its bound here (a partition
    /// absent has bound 0); records at or past the bound are not applied. `None`: run
    /// until shutdown.
    pub end_offsets: Option<HashMap<(String, i32), i64>>,
    /// The bulk load of a fresh build (with [`RuntimeConfig::end_offsets`]): the runtime
    /// calls `Projection::begin_bulk` on start, `apply_bulk` per batch, and
    /// `Projection::finish_bulk` once the end offsets are reached, marking the build's
    /// bulk load done (`projection_versions.bulk_done_at`) in the same transaction.
    pub bulk: bool,
}

impl RuntimeConfig {
    /// Defaults from `settings`: all partitions, lag every 2 s.
    pub fn from_settings(settings: &Settings) -> Self {
        let p = &settings.projections;
        Self {
            kafka: settings.kafka.clone(),
            batch_max_records: p.batch_max_records.max(1),
            batch_max_wait: Duration::from_millis(p.batch_max_wait_ms),
            max_retries: p.max_retries.max(1),
            partitions: None,
            owner: format!(
                "{}-{} pid {}",
                settings.kafka.client_id,
                settings.kafka.instance_id,
                std::process::id()
            ),
            lag_interval: Duration::from_secs(2),
            dlq_timeout: Duration::from_secs(30),
            version: None,
            rebuild: false,
            end_offsets: None,
            bulk: false,
        }
    }

    /// Write build `version` (see [`RuntimeConfig::version`]) as a rebuild: no side
    /// effects (see [`RuntimeConfig::rebuild`]).
    #[must_use]
    pub fn rebuilding(mut self, version: u32) -> Self {
        self.version = Some(version);
        self.rebuild = true;
        self
    }

    /// Bulk-load up to `end` (see [`RuntimeConfig::bulk`]).
    #[must_use]
    pub fn bulk_until(mut self, end: HashMap<(String, i32), i64>) -> Self {
        self.end_offsets = Some(end);
        self.bulk = true;
        self
    }

    /// Stop at `end` (see [`RuntimeConfig::end_offsets`]).
    #[must_use]
    pub fn with_end_offsets(mut self, end: HashMap<(String, i32), i64>) -> Self {
        self.end_offsets = Some(end);
        self
    }

    /// Consume only `partitions` of each topic (see [`RuntimeConfig::partitions`]).
    #[must_use]
    pub fn with_partitions(mut self, partitions: Vec<i32>) -> Self {
        self.partitions = Some(partitions);
        self
    }

    /// Refresh lag every `interval`.
    #[must_use]
    pub fn with_lag_interval(mut self, interval: Duration) -> Self {
        self.lag_interval = interval;
        self
    }

    /// The consumer group of build `version` of projection `name` in the deployment whose
    /// id is `deployment` ([`crate::deployment_id`]).
    pub fn group_id(deployment: &str, name: &str, version: u32) -> String {
        format!("fleetlog-projection-{name}-v{version}-{deployment}")
    }

    /// Whether the partitions come from the consumer group (a serving run of all
    /// partitions) rather than from this process (a subset, or a bounded run).
    pub(crate) fn in_group(&self) -> bool {
        self.partitions.is_none() && self.end_offsets.is_none()
    }

    /// Which of `count` partitions to consume.
    pub(crate) fn select_partitions(&self, count: i32) -> Vec<i32> {
        match &self.partitions {
            None => (0..count).collect(),
            Some(subset) => {
                let mut chosen: Vec<i32> = subset
                    .iter()
                    .copied()
                    .filter(|p| (0..count).contains(p))
                    .collect();
                chosen.sort_unstable();
                chosen.dedup();
                chosen
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partition_subset_keeps_only_existing_partitions_once_in_order() {
        let config =
            RuntimeConfig::from_settings(&Settings::default()).with_partitions(vec![3, 1, 9, 1]);
        assert_eq!(config.select_partitions(4), vec![1, 3]);
        let all = RuntimeConfig::from_settings(&Settings::default());
        assert_eq!(all.select_partitions(3), vec![0, 1, 2]);
    }

    #[test]
    fn zero_limits_from_settings_are_raised_to_one() {
        let mut settings = Settings::default();
        settings.projections.batch_max_records = 0;
        settings.projections.max_retries = 0;
        let config = RuntimeConfig::from_settings(&settings);
        assert_eq!((config.batch_max_records, config.max_retries), (1, 1));
    }
}
