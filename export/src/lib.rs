//! `fleetlog export`: topics replayed into a data lake — date-partitioned Parquet (or JSON
//! lines) with typed columns decoded through the schema registry.
//!
//! Layout of the output directory (see `docs/export.md`):
//!
//! ```text
//! DIR/_manifest.json
//! DIR/<topic>/date=YYYY-MM-DD/part-<partition>-<first offset>-<last offset>.parquet
//! DIR/<topic>/_rejects/part-<partition>-<first>-<last>.jsonl
//! ```
//!
//! One Arrow/Parquet schema per Avro writer schema ([`avro_type`]): envelope headers and the
//! record's place on the log first ([`row`]), then one typed column per top-level field.
//! Output is deterministic: the same records give the same bytes (fixed writer settings,
//! no wall-clock values, sorted JSON keys), and ranges already in the manifest are
//! skipped. Records that do not decode go to the rejects file with the reason.

mod avro_type;
pub mod bounds;
mod columns;
mod consume;
mod decode;
mod error;
pub mod extent;
mod json;
pub mod manifest;
mod part;
mod registry;
mod row;
mod run;
mod sink;

pub use bounds::Bound;
pub use error::ExportError;
pub use run::{EmptyTopic, ExportReport, ExportRequest, NoProgress, Progress, export};
pub use sink::{CREATED_BY, ROW_GROUP_ROWS};

/// Output file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Apache Parquet, Snappy-compressed.
    Parquet,
    /// One JSON object per line, sorted keys.
    Jsonl,
}

impl Format {
    /// File name extension.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Parquet => "parquet",
            Self::Jsonl => "jsonl",
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.extension())
    }
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "parquet" => Ok(Self::Parquet),
            "jsonl" => Ok(Self::Jsonl),
            other => Err(format!("unknown format {other:?}: parquet or jsonl")),
        }
    }
}
