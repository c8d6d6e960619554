//! One output file being written: Parquet (fixed writer settings) or JSON lines.
//!
//! Parquet settings never change between runs, so the same rows give the same bytes:
//! `created_by` [`CREATED_BY`], Snappy compression, row groups of [`ROW_GROUP_ROWS`] rows,
//! writer version 1.0, default encodings and statistics, and key-value metadata
//! `fleetlog.topic`, `fleetlog.partition`, `fleetlog.schema_id` (no times, no hosts).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{WriterProperties, WriterVersion};

use crate::registry::Compiled;
use crate::row::{self, Row};
use crate::{ExportError, Format, json};

/// `created_by` of every Parquet file.
pub const CREATED_BY: &str = "fleetlog export (parquet-rs 60)";
/// Rows per Parquet row group.
pub const ROW_GROUP_ROWS: usize = 65_536;
/// Rows converted to Arrow at a time.
const BATCH_ROWS: usize = 8_192;

/// An open output file.
pub(crate) enum Sink {
    Parquet {
        writer: Box<ArrowWriter<BufWriter<File>>>,
        pending: Vec<Row>,
    },
    Jsonl(BufWriter<File>),
}

fn io(path: &Path, source: std::io::Error) -> ExportError {
    ExportError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn parquet_error(path: &Path, reason: impl std::fmt::Display) -> ExportError {
    ExportError::Write {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

impl Sink {
    /// Create `path` for rows of `schema` in `format`.
    pub(crate) fn create(
        path: &Path,
        format: Format,
        schema: &Compiled,
        topic: &str,
        partition: i32,
    ) -> Result<Self, ExportError> {
        let file = BufWriter::new(File::create(path).map_err(|e| io(path, e))?);
        Ok(match format {
            Format::Jsonl => Self::Jsonl(file),
            Format::Parquet => {
                let metadata = vec![
                    KeyValue::new("fleetlog.topic".into(), topic.to_owned()),
                    KeyValue::new("fleetlog.partition".into(), partition.to_string()),
                    KeyValue::new("fleetlog.schema_id".into(), schema.id.to_string()),
                ];
                let properties = WriterProperties::builder()
                    .set_created_by(CREATED_BY.into())
                    .set_writer_version(WriterVersion::PARQUET_1_0)
                    .set_compression(Compression::SNAPPY)
                    .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
                    .set_max_row_group_bytes(None)
                    .set_key_value_metadata(Some(metadata))
                    .build();
                let writer = ArrowWriter::try_new(
                    file,
                    std::sync::Arc::clone(&schema.arrow),
                    Some(properties),
                )
                .map_err(|e| parquet_error(path, e))?;
                Self::Parquet {
                    writer: Box::new(writer),
                    pending: Vec::with_capacity(BATCH_ROWS),
                }
            }
        })
    }

    /// Add one row.
    pub(crate) fn push(&mut self, path: &Path, row: Row) -> Result<(), ExportError> {
        match self {
            Self::Jsonl(file) => {
                let mut line = json::line(json::row(&row));
                line.push('\n');
                file.write_all(line.as_bytes()).map_err(|e| io(path, e))
            }
            Self::Parquet { writer, pending } => {
                pending.push(row);
                if pending.len() >= BATCH_ROWS {
                    flush(writer, pending, path)?;
                }
                Ok(())
            }
        }
    }

    /// Write what is buffered and close the file.
    pub(crate) fn finish(self, path: &Path) -> Result<(), ExportError> {
        match self {
            Self::Jsonl(mut file) => {
                file.flush().map_err(|e| io(path, e))?;
                file.get_ref().sync_all().map_err(|e| io(path, e))
            }
            Self::Parquet {
                mut writer,
                mut pending,
            } => {
                flush(&mut writer, &mut pending, path)?;
                writer.finish().map_err(|e| parquet_error(path, e))?;
                let file = writer.inner_mut();
                file.flush().map_err(|e| io(path, e))?;
                file.get_ref().sync_all().map_err(|e| io(path, e))
            }
        }
    }
}

fn flush(
    writer: &mut ArrowWriter<BufWriter<File>>,
    pending: &mut Vec<Row>,
    path: &Path,
) -> Result<(), ExportError> {
    let Some(first) = pending.first() else {
        return Ok(());
    };
    let schema = std::sync::Arc::clone(&first.schema);
    let batch = row::batch(&schema, pending).map_err(|e| parquet_error(path, e))?;
    writer.write(&batch).map_err(|e| parquet_error(path, e))?;
    pending.clear();
    Ok(())
}
