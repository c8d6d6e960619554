//! Consumer groups as the broker describes them.

use std::time::{Duration, Instant};

use fleetlog_runtime::settings::KafkaSettings;
use rdkafka::consumer::{BaseConsumer, Consumer};

/// Wait (blocking, at most 30 s) until consumer group `group` is stable with `members`
/// members; the last description seen when it never is.
///
/// # Errors
/// The last `(state, members)` seen, when the group did not get there in time.
///
/// # Panics
/// When no client can be created or the broker does not describe groups.
pub fn wait_for_stable_group(
    kafka: &KafkaSettings,
    group: &str,
    members: usize,
) -> Result<(), String> {
    let probe: BaseConsumer = fleetlog_runtime::kafka::consumer_config(kafka, "probe")
        .create()
        .expect("probe client");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let list = probe
            .fetch_group_list(Some(group), Duration::from_secs(10))
            .expect("group described");
        let seen = list
            .groups()
            .first()
            .map(|g| (g.state().to_owned(), g.members().len()));
        if seen
            .as_ref()
            .is_some_and(|(state, n)| state == "Stable" && *n == members)
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("group {group}: {seen:?}"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
