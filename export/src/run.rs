//! One export run: resolve the ranges, skip what the manifest already has, read and write
//! the rest partition by partition, and record each finished range in the manifest.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use fleetlog_runtime::{Settings, kafka};
use rdkafka::Message;
use rdkafka::consumer::StreamConsumer;

use crate::bounds::{self, Bound};
use crate::consume::{self, RangeReader};
use crate::decode::{Decoded, decode};
use crate::extent;
use crate::manifest::{self, LastRun, Manifest, RangeEntry};
use crate::part::PartWriter;
use crate::registry::Schemas;
use crate::{ExportError, Format, sink};

/// What to export, and where.
#[derive(Debug, Clone)]
pub struct ExportRequest {
    /// Topics (each must exist on the broker).
    pub topics: Vec<String>,
    /// First record of every partition.
    pub from: Bound,
    /// End of every partition (exclusive).
    pub to: Bound,
    /// Output directory (created if missing).
    pub out: PathBuf,
    /// File format.
    pub format: Format,
    /// Most rows per data file.
    pub max_rows_per_file: usize,
}

/// Told how far the run is, e.g. to draw a progress bar.
pub trait Progress {
    /// The run will read `records` records.
    fn begin(&self, records: u64) {
        let _ = records;
    }
    /// `records` more were read, `bytes` of keys and values.
    fn advance(&self, records: u64, bytes: u64) {
        let _ = (records, bytes);
    }
    /// The run is over.
    fn end(&self) {}
}

/// No progress output.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct ExportReport {
    /// Records read from the broker.
    pub records: u64,
    /// Rows written to data files.
    pub rows: u64,
    /// Records written to rejects files.
    pub rejected: u64,
    /// Bytes of keys and values read.
    pub bytes: u64,
    /// Data files written.
    pub files: usize,
    /// Ranges read and written.
    pub exported: Vec<RangeEntry>,
    /// Ranges skipped because the manifest already had them.
    pub skipped: Vec<RangeEntry>,
    /// Offsets in the requested ranges, exported now or before.
    pub in_range: u64,
    /// Offsets of the skipped ranges.
    pub skipped_records: u64,
    /// Topics of which the range holds no record, and why.
    pub empty: Vec<EmptyTopic>,
    /// Time the reading and writing took.
    pub elapsed: Duration,
}

/// A topic of which the requested range holds no record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmptyTopic {
    /// The topic.
    pub topic: String,
    /// Why the range holds nothing (see [`crate::extent::why_empty`]).
    pub reason: String,
}

fn offsets(ranges: &[RangeEntry]) -> u64 {
    ranges
        .iter()
        .map(|r| u64::try_from(r.to - r.from).unwrap_or(0))
        .sum()
}

fn entry(topic: &str, partition: i32, [from, to]: [i64; 2]) -> RangeEntry {
    RangeEntry {
        topic: topic.to_owned(),
        partition,
        from,
        to,
    }
}

/// Export `request` from the broker and registry of `settings`.
///
/// # Errors
/// See [`ExportError`]; ranges finished before a failure stay in the manifest, and a
/// re-run continues with the rest.
pub async fn export(
    settings: &Settings,
    request: &ExportRequest,
    progress: &dyn Progress,
) -> Result<ExportReport, ExportError> {
    let mut topics: Vec<String> = Vec::new();
    for topic in &request.topics {
        if !topic.is_empty() && !topics.contains(topic) {
            topics.push(topic.clone());
        }
    }
    if topics.is_empty() {
        return Err(ExportError::NoTopics);
    }
    let out = &request.out;
    std::fs::create_dir_all(out).map_err(|source| ExportError::Io {
        path: out.display().to_string(),
        source,
    })?;
    let wanted = manifest::Settings {
        format: request.format.to_string(),
        created_by: sink::CREATED_BY.into(),
        compression: "snappy".into(),
        row_group_rows: sink::ROW_GROUP_ROWS,
        max_rows_per_file: request.max_rows_per_file,
    };
    let mut manifest = match Manifest::load(out)? {
        Some(found) if found.settings != wanted => {
            return Err(ExportError::Manifest {
                path: out.join(manifest::FILE_NAME).display().to_string(),
                reason: format!(
                    "the directory holds an export written with {:?}; this run would use {:?} \
                     — export into another --out",
                    found.settings, wanted
                ),
            });
        }
        Some(found) => found,
        None => Manifest::new(wanted),
    };
    let mut schemas = Schemas::connect(&settings.schema_registry_url).await?;
    let group = format!("fleetlog-export-{}", uuid::Uuid::new_v4().simple());
    let consumer: StreamConsumer = kafka::consumer_config(&settings.kafka, &group)
        .create()
        .map_err(|source| ExportError::Kafka {
            what: "creating a consumer".into(),
            source,
        })?;

    let probe: StreamConsumer = kafka::consumer_config(&settings.kafka, &group)
        .create()
        .map_err(|source| ExportError::Kafka {
            what: "creating a consumer".into(),
            source,
        })?;

    let mut run = LastRun::default();
    let mut empty = Vec::new();
    for (topic, partitions) in consume::partitions(&consumer, &topics)? {
        let mut extents = Vec::with_capacity(partitions.len());
        let mut found = false;
        for partition in partitions {
            let extent = consume::extent(&probe, &topic, partition).await?;
            extents.push(extent);
            let (from, to) = consume::resolve(
                &consumer,
                &topic,
                partition,
                &extent,
                request.from,
                request.to,
            )?;
            if from >= to {
                continue;
            }
            found = true;
            run.requested.push(entry(&topic, partition, [from, to]));
            let covered = manifest.covered(&topic, partition);
            for range in bounds::overlap(from, to, &covered) {
                run.skipped.push(entry(&topic, partition, range));
            }
            for range in bounds::missing(from, to, &covered) {
                run.exported.push(entry(&topic, partition, range));
            }
        }
        if !found {
            let reason = extent::why_empty(&extents, request.from, request.to);
            empty.push(EmptyTopic { topic, reason });
        }
    }
    drop(probe);

    let total: i64 = run.exported.iter().map(|r| r.to - r.from).sum();
    progress.begin(u64::try_from(total).unwrap_or(0));
    let started = Instant::now();
    let mut report = ExportReport::default();
    for range in &run.exported {
        export_range(
            &consumer,
            &mut schemas,
            request,
            range,
            &mut manifest,
            progress,
            &mut report,
        )
        .await?;
        manifest.save(out)?;
    }
    report.elapsed = started.elapsed();
    progress.end();
    report.exported = run.exported.clone();
    report.skipped = run.skipped.clone();
    report.in_range = offsets(&run.requested);
    report.skipped_records = offsets(&run.skipped);
    report.empty = empty;
    manifest.last_run = run;
    manifest.save(out)?;
    Ok(report)
}

async fn export_range(
    consumer: &StreamConsumer,
    schemas: &mut Schemas,
    request: &ExportRequest,
    range: &RangeEntry,
    manifest: &mut Manifest,
    progress: &dyn Progress,
    report: &mut ExportReport,
) -> Result<(), ExportError> {
    let (topic, partition) = (range.topic.as_str(), range.partition);
    let mut reader = RangeReader::start(consumer, topic, partition, range.from, range.to)?;
    let mut writer = PartWriter::new(
        &request.out,
        topic,
        partition,
        request.format,
        request.max_rows_per_file,
    );
    let (mut pending_records, mut pending_bytes) = (0u64, 0u64);
    while let Some(message) = reader.next().await? {
        let bytes = message.key().map_or(0, <[u8]>::len) + message.payload().map_or(0, <[u8]>::len);
        match decode(schemas, &message).await? {
            Decoded::Row(row) => {
                writer.push(*row)?;
                report.rows += 1;
            }
            Decoded::Reject(reason) => {
                writer.reject(&message, &reason);
                report.rejected += 1;
            }
        }
        report.records += 1;
        report.bytes += bytes as u64;
        pending_records += 1;
        pending_bytes += bytes as u64;
        if pending_records == 512 {
            progress.advance(pending_records, pending_bytes);
            (pending_records, pending_bytes) = (0, 0);
        }
    }
    progress.advance(pending_records, pending_bytes);
    let (files, rejects) = writer.finish()?;
    report.files += files.len();
    let entry = manifest.partition_mut(topic, partition);
    entry.files.extend(files);
    entry.files.sort_by_key(|f| f.first_offset);
    entry.files.dedup_by(|a, b| a.path == b.path);
    if let Some(rejects) = rejects {
        entry.rejects.push(rejects);
        entry.rejects.sort_by_key(|r| r.first_offset);
    }
    bounds::merge(&mut entry.ranges, range.from, range.to);
    Ok(())
}
