//! `fleetlog export`: topics into date-partitioned Parquet (or JSON lines) through the
//! schema registry, with a progress bar on a terminal (see `docs/export.md`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use fleetlog_export::{Bound, ExportReport, ExportRequest, Format, Progress};
use fleetlog_runtime::Settings;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Options of `fleetlog export`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ExportArgs {
    /// Topics to export, comma-separated (or repeated).
    #[arg(long, value_delimiter = ',', required = true)]
    topics: Vec<String>,
    /// Start in every partition: `earliest`, an offset, a date (`2026-01-02`, midnight
    /// UTC) or an RFC 3339 time (the first record at or after it, by broker timestamp;
    /// before the first record is the start, after the last is the end).
    #[arg(long, default_value = "earliest")]
    from: Bound,
    /// End in every partition, exclusive: `latest` (the high watermark when the run
    /// starts), an offset, a date (midnight UTC) or an RFC 3339 time (after the last
    /// record is the end).
    #[arg(long, default_value = "latest")]
    to: Bound,
    /// Output directory (created if missing; re-runs skip ranges already exported).
    #[arg(long)]
    out: PathBuf,
    /// File format.
    #[arg(long, default_value = "parquet")]
    format: Format,
    /// Most rows per data file.
    #[arg(long, default_value_t = 1_000_000)]
    max_rows_per_file: usize,
    /// No progress bar (it is also hidden when stderr is not a terminal).
    #[arg(long)]
    no_progress: bool,
}

impl ExportArgs {
    /// The library request for these options.
    pub(crate) fn request(&self) -> ExportRequest {
        ExportRequest {
            topics: self.topics.clone(),
            from: self.from,
            to: self.to,
            out: self.out.clone(),
            format: self.format,
            max_rows_per_file: self.max_rows_per_file,
        }
    }
}

/// A progress bar with the record rate, on stderr.
struct Bar(ProgressBar);

impl Progress for Bar {
    fn begin(&self, records: u64) {
        self.0.set_length(records);
        self.0.enable_steady_tick(Duration::from_millis(200));
    }

    fn advance(&self, records: u64, bytes: u64) {
        let _ = bytes;
        self.0.inc(records);
    }

    fn end(&self) {
        self.0.finish_and_clear();
    }
}

/// Run the export and print what it did.
pub(crate) async fn run(settings: Settings, args: ExportArgs) -> anyhow::Result<ExitCode> {
    let bar = if args.no_progress {
        ProgressBar::hidden()
    } else {
        ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {human_pos}/{human_len} records  {per_sec}  eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let report = fleetlog_export::export(&settings, &args.request(), &Bar(bar)).await?;
    print_report(&report, &args);
    Ok(ExitCode::SUCCESS)
}

fn print_report(report: &ExportReport, args: &ExportArgs) {
    let seconds = report.elapsed.as_secs_f64().max(1e-9);
    if report.records > 0 {
        println!(
            "exported {} records ({} rows, {} rejected) into {} files under {} in {:.1} s \
             ({:.0} records/s, {:.1} MB/s)",
            report.records,
            report.rows,
            report.rejected,
            report.files,
            args.out.display(),
            report.elapsed.as_secs_f64(),
            report.records as f64 / seconds,
            report.bytes as f64 / seconds / 1e6,
        );
    } else if report.in_range == 0 {
        println!(
            "nothing to export: no record in [{}, {}) of {}",
            args.from,
            args.to,
            args.topics.join(", ")
        );
    } else if report.exported.is_empty() {
        println!(
            "nothing new: the {} records in [{}, {}) were exported before into {} (its \
             _manifest.json has them; export into another --out to write them again)",
            report.skipped_records,
            args.from,
            args.to,
            args.out.display()
        );
    } else {
        println!(
            "read no records: the {} offsets left to export hold none (compacted away, or \
             transaction markers)",
            report.in_range - report.skipped_records
        );
    }
    for r in &report.exported {
        println!(
            "  exported  {}/{} [{}, {})",
            r.topic, r.partition, r.from, r.to
        );
    }
    for r in &report.skipped {
        println!(
            "  skipped   {}/{} [{}, {}) (already in the manifest)",
            r.topic, r.partition, r.from, r.to
        );
    }
    for e in &report.empty {
        println!("  empty     {}: {}", e.topic, e.reason);
    }
}
