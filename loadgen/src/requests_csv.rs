//! `--requests-csv FILE`: one CSV row per request, written while the run
//! goes on (like k6's and Locust's CSV outputs), for tools that want every
//! sample rather than the report's histograms.
//!
//! A [`Consumer`] of the run's records: the file is created before the
//! run starts (a bad path fails at once), rows are written from a blocking
//! thread through a buffer, and the file is flushed when the run ends.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use tokio::task::JoinHandle;

use crate::record::{Outcome, Record, RecordRx};
use crate::run::{Consumer, ConsumerError, RunView};

/// How long the writer waits between batches of rows.
const BATCH_WAIT: std::time::Duration = std::time::Duration::from_millis(20);

/// Columns, in order.
pub const HEADER: [&str; 9] = [
    "time_unix_ms",
    "transaction",
    "stage",
    "latency_ms",
    "service_ms",
    "ttfb_ms",
    "lag_ms",
    "ok",
    "error",
];

/// The per-request CSV writer.
pub struct RequestsCsv {
    path: PathBuf,
    out: csv::Writer<BufWriter<File>>,
}

impl RequestsCsv {
    /// Create (or truncate) the file and write the header.
    pub fn create(path: &Path) -> Result<RequestsCsv, ConsumerError> {
        let write_error = |source| ConsumerError::Write {
            path: path.display().to_string(),
            source,
        };
        let file = File::create(path).map_err(write_error)?;
        let mut out = csv::Writer::from_writer(BufWriter::with_capacity(256 * 1024, file));
        out.write_record(HEADER)
            .map_err(|e| write_error(e.into()))?;
        Ok(RequestsCsv {
            path: path.to_path_buf(),
            out,
        })
    }
}

/// One record as a row: when it was meant to start (Unix ms), its
/// transaction and stage, the latencies the report uses, and the outcome.
/// Fields are formatted into `buf`, reused from row to row.
pub fn write_row<W: std::io::Write>(
    out: &mut csv::Writer<W>,
    r: &Record,
    run: &RunView,
    buf: &mut String,
) -> csv::Result<()> {
    use std::fmt::Write;
    // Microseconds as milliseconds with three decimals (exact).
    let mut ms = |out: &mut csv::Writer<W>, us: Option<u64>| {
        buf.clear();
        if let Some(us) = us {
            let _ = write!(buf, "{}.{:03}", us / 1000, us % 1000);
        }
        out.write_field(buf.as_bytes())
    };
    let start = r.effective_start_us();
    ms(out, Some(run.t0_unix_ms * 1000 + start))?;
    out.write_field(run.names.get(r.txn as usize).map_or("", String::as_str))?;
    out.write_field(
        run.profile
            .stages
            .get(r.stage as usize)
            .map_or("", |s| s.name.as_str()),
    )?;
    ms(out, Some(r.latency_us()))?;
    ms(out, Some(r.service_us()))?;
    ms(out, r.first_byte_us.map(|fb| fb.saturating_sub(start)))?;
    ms(out, Some(r.lag_us()))?;
    match &r.outcome {
        Outcome::Ok => {
            out.write_field("true")?;
            out.write_field("")?;
        }
        Outcome::Error(kind) => {
            out.write_field("false")?;
            out.write_field(kind)?;
        }
    }
    out.write_record(None::<&[u8]>)
}

impl Consumer for RequestsCsv {
    fn name(&self) -> &'static str {
        "requests CSV"
    }

    fn start(
        self: Box<Self>,
        run: RunView,
        mut rx: RecordRx,
    ) -> JoinHandle<Result<(), ConsumerError>> {
        let RequestsCsv { path, mut out } = *self;
        tokio::task::spawn_blocking(move || {
            let write_error = |source| ConsumerError::Write {
                path: path.display().to_string(),
                source,
            };
            let mut buf = String::new();
            // Wake every 20 ms and write what has come, rather than once
            // per record: a thread woken per record cost more than the row.
            while let Some(first) = rx.blocking_recv() {
                write_row(&mut out, &first, &run, &mut buf).map_err(|e| write_error(e.into()))?;
                while let Ok(r) = rx.try_recv() {
                    write_row(&mut out, &r, &run, &mut buf).map_err(|e| write_error(e.into()))?;
                }
                std::thread::sleep(BATCH_WAIT);
            }
            out.flush().map_err(write_error)
        })
    }
}
