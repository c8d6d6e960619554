//! The files of one partition range: rows go to
//! `<topic>/date=YYYY-MM-DD/part-<partition>-<first offset>-<last offset>.<ext>`, a new
//! file starting whenever the date (UTC, of the broker timestamp) or the writer schema
//! changes or a file reaches the most rows per file; rejected records go to
//! `<topic>/_rejects/part-<partition>-<first>-<last>.jsonl`. Each file is written under a
//! temporary name and renamed once complete, then summed (SHA-256).

use std::io::Read;
use std::path::{Path, PathBuf};

use chrono::DateTime;
use rdkafka::Message;
use rdkafka::message::{Headers, OwnedMessage};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::manifest::{FileEntry, RejectsEntry};
use crate::row::Row;
use crate::sink::Sink;
use crate::{ExportError, Format, json};

struct Open {
    date: String,
    schema_id: u32,
    first: i64,
    last: i64,
    rows: u64,
    tmp: PathBuf,
    sink: Sink,
}

/// Writes the files of one partition range.
pub(crate) struct PartWriter {
    out: PathBuf,
    topic: String,
    partition: i32,
    format: Format,
    max_rows: u64,
    open: Option<Open>,
    files: Vec<FileEntry>,
    rejects: Vec<String>,
    reject_offsets: Option<(i64, i64)>,
}

fn io(path: &Path, source: std::io::Error) -> ExportError {
    ExportError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// `YYYY-MM-DD` (UTC) of a broker timestamp.
fn date_of(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms).map_or_else(
        || "1970-01-01".to_owned(),
        |t| t.format("%Y-%m-%d").to_string(),
    )
}

/// Size and SHA-256 of a file.
fn checksum(path: &Path) -> Result<(u64, String), ExportError> {
    let mut file = std::fs::File::open(path).map_err(|e| io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(|e| io(path, e))?;
        if n == 0 {
            break;
        }
        bytes += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((bytes, hex::encode(hasher.finalize())))
}

impl PartWriter {
    pub(crate) fn new(
        out: &Path,
        topic: &str,
        partition: i32,
        format: Format,
        max_rows: usize,
    ) -> Self {
        Self {
            out: out.to_owned(),
            topic: topic.to_owned(),
            partition,
            format,
            max_rows: max_rows.max(1) as u64,
            open: None,
            files: Vec::new(),
            rejects: Vec::new(),
            reject_offsets: None,
        }
    }

    /// Add a decoded row.
    pub(crate) fn push(&mut self, row: Row) -> Result<(), ExportError> {
        let date = date_of(row.timestamp_ms);
        let fits = self.open.as_ref().is_some_and(|o| {
            o.date == date && o.schema_id == row.schema.id && o.rows < self.max_rows
        });
        if !fits {
            self.close()?;
            let dir = self.out.join(&self.topic).join(format!("date={date}"));
            std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
            let tmp = dir.join(format!(".part-{}-{}.tmp", self.partition, row.offset));
            let sink = Sink::create(&tmp, self.format, &row.schema, &self.topic, self.partition)?;
            self.open = Some(Open {
                date,
                schema_id: row.schema.id,
                first: row.offset,
                last: row.offset,
                rows: 0,
                tmp,
                sink,
            });
        }
        if let Some(open) = self.open.as_mut() {
            open.last = row.offset;
            open.rows += 1;
            open.sink.push(&open.tmp, row)?;
        }
        Ok(())
    }

    /// Add a record that could not be decoded, with the reason.
    pub(crate) fn reject(&mut self, message: &OwnedMessage, reason: &str) {
        let headers: Vec<Value> = message
            .headers()
            .map(|h| {
                h.iter()
                    .map(|h| {
                        Value::from(vec![
                            h.key.to_owned(),
                            hex::encode(h.value.unwrap_or_default()),
                        ])
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut object = Map::new();
        object.insert("topic".into(), self.topic.clone().into());
        object.insert("partition".into(), self.partition.into());
        object.insert("offset".into(), message.offset().into());
        object.insert(
            "timestamp_ms".into(),
            crate::decode::timestamp_ms(message).into(),
        );
        object.insert("key_hex".into(), message.key().map(hex::encode).into());
        object.insert(
            "value_hex".into(),
            message.payload().map(hex::encode).into(),
        );
        object.insert("headers".into(), Value::Array(headers));
        object.insert("reason".into(), reason.into());
        self.rejects.push(json::line(Value::Object(object)));
        let offset = message.offset();
        self.reject_offsets = Some(match self.reject_offsets {
            Some((first, _)) => (first, offset),
            None => (offset, offset),
        });
    }

    fn close(&mut self) -> Result<(), ExportError> {
        let Some(open) = self.open.take() else {
            return Ok(());
        };
        open.sink.finish(&open.tmp)?;
        let name = format!(
            "part-{}-{}-{}.{}",
            self.partition,
            open.first,
            open.last,
            self.format.extension()
        );
        let relative = format!("{}/date={}/{name}", self.topic, open.date);
        let path = self.out.join(&relative);
        std::fs::rename(&open.tmp, &path).map_err(|e| io(&path, e))?;
        let (bytes, sha256) = checksum(&path)?;
        self.files.push(FileEntry {
            path: relative,
            date: open.date,
            first_offset: open.first,
            last_offset: open.last,
            rows: open.rows,
            schema_id: open.schema_id,
            bytes,
            sha256,
        });
        Ok(())
    }

    /// Close the open file and write the rejects; returns what was written.
    pub(crate) fn finish(mut self) -> Result<(Vec<FileEntry>, Option<RejectsEntry>), ExportError> {
        self.close()?;
        let Some((first, last)) = self.reject_offsets else {
            return Ok((self.files, None));
        };
        let dir = self.out.join(&self.topic).join("_rejects");
        std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
        let relative = format!(
            "{}/_rejects/part-{}-{first}-{last}.jsonl",
            self.topic, self.partition
        );
        let path = self.out.join(&relative);
        let tmp = dir.join(format!(".part-{}-{first}.tmp", self.partition));
        let mut text = self.rejects.join("\n");
        text.push('\n');
        std::fs::write(&tmp, text).map_err(|e| io(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| io(&path, e))?;
        let (bytes, sha256) = checksum(&path)?;
        let rejects = RejectsEntry {
            path: relative,
            first_offset: first,
            last_offset: last,
            rows: self.rejects.len() as u64,
            bytes,
            sha256,
        };
        Ok((self.files, Some(rejects)))
    }
}
