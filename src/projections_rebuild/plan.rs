//! The plan printed before a rebuild: what will be replayed (topics, partitions,
//! records, from the broker's watermarks now), into which build, and about how long it
//! takes.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use anyhow::Context;
use fleetlog_runtime::{Settings, kafka};
use rdkafka::consumer::{BaseConsumer, Consumer};

/// `(topic, partition)` → `(low, high)` watermarks.
pub(crate) type Watermarks = BTreeMap<(String, i32), (i64, i64)>;

const TIMEOUT: Duration = Duration::from_secs(10);

/// Records per second the plan's estimate assumes, on the low side: a debug build did
/// 2.7k–5.7k/s in `tests/tests/suite/projections_rebuild.rs` and a release build about 19k/s in
/// `fleetlog bench rebuild` (fleet, two loaded cores). The progress bar shows the real
/// rate and ETA.
pub(crate) const ASSUMED_RATE: f64 = 4000.0;

/// The watermarks of every partition of `topics`, asked of the broker now.
///
/// # Errors
/// When the broker does not answer or a topic does not exist.
pub(crate) async fn watermarks(settings: &Settings, topics: &[&str]) -> anyhow::Result<Watermarks> {
    let kafka = settings.kafka.clone();
    let topics: Vec<String> = topics.iter().map(|t| (*t).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let group = format!("fleetlog-rebuild-{}", uuid::Uuid::new_v4().simple());
        let consumer: BaseConsumer = kafka::consumer_config(&kafka, &group).create()?;
        let mut out = Watermarks::new();
        for topic in topics {
            let metadata = consumer.fetch_metadata(Some(&topic), TIMEOUT)?;
            let partitions = metadata
                .topics()
                .first()
                .map(|t| t.partitions().len())
                .unwrap_or_default();
            anyhow::ensure!(
                partitions > 0,
                "topic {topic} does not exist (create it with `fleetlog topics create`)"
            );
            for p in 0..i32::try_from(partitions)? {
                let marks = consumer.fetch_watermarks(&topic, p, TIMEOUT)?;
                out.insert((topic.clone(), p), marks);
            }
        }
        Ok(out)
    })
    .await
    .context("watermark task")?
}

/// How far a build is: `(replayed, total)` records, counted from each partition's low
/// watermark to its high one.
pub(crate) fn progress(marks: &Watermarks, stored: &HashMap<(String, i32), i64>) -> (u64, u64) {
    let (mut done, mut total) = (0_i64, 0_i64);
    for (tp, &(low, high)) in marks {
        let at = stored.get(tp).copied().unwrap_or(low).clamp(low, high);
        done += at - low;
        total += high - low;
    }
    (
        u64::try_from(done).unwrap_or(0),
        u64::try_from(total).unwrap_or(0),
    )
}

/// What a rebuild is about to do.
#[derive(Debug)]
pub(crate) struct Plan<'a> {
    pub(crate) name: &'a str,
    pub(crate) shape: u32,
    pub(crate) live: Option<u32>,
    /// The build to write, and whether it resumes one in progress.
    pub(crate) build: (u32, bool),
    pub(crate) marks: &'a Watermarks,
    pub(crate) stored: &'a HashMap<(String, i32), i64>,
    pub(crate) switch_lag: u64,
    pub(crate) keep: Duration,
}

impl Plan<'_> {
    /// The plan as text, one line per topic.
    pub(crate) fn render(&self) -> String {
        let mut by_topic: BTreeMap<&str, (usize, i64)> = BTreeMap::new();
        for ((topic, _), (low, high)) in self.marks {
            let entry = by_topic.entry(topic.as_str()).or_default();
            entry.0 += 1;
            entry.1 += high - low;
        }
        let (done, total) = progress(self.marks, self.stored);
        let remaining = total.saturating_sub(done);
        let (version, resumed) = self.build;
        let mut out = format!("rebuild plan for {} (shape {})\n", self.name, self.shape);
        out += &match self.live {
            Some(v) => format!(
                "  live:  proj_{}_v{v} keeps serving and consuming\n",
                self.name
            ),
            None => "  live:  none\n".to_owned(),
        };
        out += &format!(
            "  build: proj_{}_v{version} from offset 0{}\n",
            self.name,
            if resumed {
                format!(" (resumed: {done} of {total} records done)")
            } else {
                String::new()
            }
        );
        out += &format!("  {:<32} {:>10} {:>12}\n", "TOPIC", "PARTITIONS", "RECORDS");
        for (topic, (partitions, records)) in &by_topic {
            out += &format!("  {topic:<32} {partitions:>10} {records:>12}\n");
        }
        #[allow(clippy::cast_precision_loss, reason = "an estimate")]
        let seconds = remaining as f64 / ASSUMED_RATE;
        out += &format!(
            "  records to replay: {remaining} (of {total}); estimated {seconds:.1} s at ~{ASSUMED_RATE:.0} records/s\n"
        );
        out += &format!(
            "  switch when fewer than {} records behind; then keep {} for {} s before dropping it\n",
            self.switch_lag,
            self.live.map_or_else(
                || "nothing".to_owned(),
                |v| format!("proj_{}_v{v}", self.name)
            ),
            self.keep.as_secs()
        );
        out
    }
}
