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

/// Microseconds as milliseconds with three decimals (exact).
fn ms(us: u64) -> String {
    format!("{}.{:03}", us / 1000, us % 1000)
}

/// One record as a row: when it was meant to start (Unix ms), its
/// transaction and stage, the latencies the report uses, and the outcome.
pub fn row(r: &Record, run: &RunView) -> [String; 9] {
    let (ok, error) = match &r.outcome {
        Outcome::Ok => ("true", ""),
        Outcome::Error(kind) => ("false", kind.as_str()),
    };
    [
        ms(run.t0_unix_ms * 1000 + r.effective_start_us()),
        run.names.get(r.txn as usize).cloned().unwrap_or_default(),
        run.profile
            .stages
            .get(r.stage as usize)
            .map(|s| s.name.clone())
            .unwrap_or_default(),
        ms(r.latency_us()),
        ms(r.service_us()),
        r.first_byte_us
            .map(|fb| ms(fb.saturating_sub(r.effective_start_us())))
            .unwrap_or_default(),
        ms(r.lag_us()),
        ok.to_string(),
        error.to_string(),
    ]
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
            while let Some(r) = rx.blocking_recv() {
                out.write_record(row(&r, &run))
                    .map_err(|e| write_error(e.into()))?;
            }
            out.flush().map_err(write_error)
        })
    }
}
