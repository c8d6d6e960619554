//! `DIR/_manifest.json`: what an export directory holds — per topic and partition the
//! offset ranges already exported (half-open `[from, to)`, merged), every data file with
//! its offsets, rows, schema id, size and SHA-256, every rejects file, and what the last
//! run exported and skipped. Written with sorted keys and no wall-clock values, through a
//! temporary file and a rename, after every finished range.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::ExportError;

/// Name of the manifest inside the output directory.
pub const FILE_NAME: &str = "_manifest.json";
/// Version of the manifest layout.
pub const LAYOUT_VERSION: u32 = 1;

/// The settings that shape the files; a directory is only added to with the same ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// `parquet` or `jsonl`.
    pub format: String,
    /// Parquet `created_by`.
    pub created_by: String,
    /// Parquet compression.
    pub compression: String,
    /// Rows per Parquet row group.
    pub row_group_rows: usize,
    /// Most rows per data file.
    pub max_rows_per_file: usize,
}

/// One data file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Path below the output directory, `/`-separated.
    pub path: String,
    /// `YYYY-MM-DD` (UTC) of the records' broker timestamps.
    pub date: String,
    /// Offset of the first row.
    pub first_offset: i64,
    /// Offset of the last row.
    pub last_offset: i64,
    /// Rows in the file.
    pub rows: u64,
    /// Registry id of the writer schema of every row.
    pub schema_id: u32,
    /// File size.
    pub bytes: u64,
    /// SHA-256 of the file, lowercase hex.
    pub sha256: String,
}

/// One rejects file (JSON lines, one rejected record each).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectsEntry {
    /// Path below the output directory.
    pub path: String,
    /// Offset of the first rejected record.
    pub first_offset: i64,
    /// Offset of the last rejected record.
    pub last_offset: i64,
    /// Rejected records.
    pub rows: u64,
    /// File size.
    pub bytes: u64,
    /// SHA-256 of the file, lowercase hex.
    pub sha256: String,
}

/// What is exported of one partition.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionEntry {
    /// Exported offset ranges `[from, to)`, sorted and merged.
    pub ranges: Vec<[i64; 2]>,
    /// Data files, by first offset.
    pub files: Vec<FileEntry>,
    /// Rejects files, by first offset.
    pub rejects: Vec<RejectsEntry>,
}

/// A range of one partition, `[from, to)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RangeEntry {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// First offset.
    pub from: i64,
    /// One past the last offset.
    pub to: i64,
}

/// What the last run asked for and did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastRun {
    /// The ranges `--from`/`--to` resolved to (empty ones left out).
    pub requested: Vec<RangeEntry>,
    /// The parts of them read and written by this run.
    pub exported: Vec<RangeEntry>,
    /// The parts already in the manifest, not read again.
    pub skipped: Vec<RangeEntry>,
}

/// The whole manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`LAYOUT_VERSION`].
    pub layout_version: u32,
    /// The settings every file was written with.
    pub settings: Settings,
    /// Topic → partition (as text) → what is exported.
    pub topics: BTreeMap<String, BTreeMap<String, PartitionEntry>>,
    /// The last run.
    pub last_run: LastRun,
}

impl Manifest {
    /// An empty manifest for `settings`.
    pub fn new(settings: Settings) -> Self {
        Self {
            layout_version: LAYOUT_VERSION,
            settings,
            topics: BTreeMap::new(),
            last_run: LastRun::default(),
        }
    }

    /// The manifest in `dir`, if there is one.
    ///
    /// # Errors
    /// [`ExportError::Manifest`] when it cannot be read or parsed.
    pub fn load(dir: &Path) -> Result<Option<Self>, ExportError> {
        let path = dir.join(FILE_NAME);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(manifest_error(&path, e.to_string())),
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| manifest_error(&path, e.to_string()))
    }

    /// Write to `dir/_manifest.json` (sorted keys, two-space indent, final newline).
    ///
    /// # Errors
    /// [`ExportError::Io`] when it cannot be written.
    pub fn save(&self, dir: &Path) -> Result<(), ExportError> {
        let value = serde_json::to_value(self).map_err(|e| manifest_error(dir, e.to_string()))?;
        let mut text = serde_json::to_string_pretty(&crate::json::sorted(value))
            .map_err(|e| manifest_error(dir, e.to_string()))?;
        text.push('\n');
        let tmp: PathBuf = dir.join(format!(".{FILE_NAME}.tmp"));
        let io = |e| ExportError::Io {
            path: tmp.display().to_string(),
            source: e,
        };
        std::fs::write(&tmp, text).map_err(io)?;
        std::fs::rename(&tmp, dir.join(FILE_NAME)).map_err(io)
    }

    /// The entry of one partition, created empty if missing.
    pub fn partition_mut(&mut self, topic: &str, partition: i32) -> &mut PartitionEntry {
        self.topics
            .entry(topic.to_owned())
            .or_default()
            .entry(partition.to_string())
            .or_default()
    }

    /// The ranges already exported of one partition.
    pub fn covered(&self, topic: &str, partition: i32) -> Vec<[i64; 2]> {
        self.topics
            .get(topic)
            .and_then(|p| p.get(&partition.to_string()))
            .map(|p| p.ranges.clone())
            .unwrap_or_default()
    }
}

fn manifest_error(path: &Path, reason: String) -> ExportError {
    ExportError::Manifest {
        path: path.display().to_string(),
        reason,
    }
}
