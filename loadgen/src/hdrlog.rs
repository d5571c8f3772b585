//! HdrHistogram interval logs (the format of Java's `HistogramLogWriter`,
//! readable by HdrHistogram's `HistogramLogProcessor` and plotters): one
//! histogram of all requests' latencies per second, tagged `all`.
//!
//! Values are microseconds; the header's `MaxValueDivisor: 1000` makes the
//! max column read in milliseconds.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use hdrhistogram::serialization::Deserializer;
use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::serialization::interval_log::{
    IntervalLogHistogram, IntervalLogIterator, IntervalLogWriterBuilder, LogEntry, Tag,
};

use crate::report::Report;
use crate::stats::{IntervalAcc, decode, new_hist};

/// Why interval logs could not be read or merged.
#[derive(Debug, thiserror::Error)]
pub enum HdrLogError {
    #[error("{}: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file is not in the interval log format.
    #[error("{}: not an HDR interval log: {cause:?}", .path.display())]
    NotALog {
        path: PathBuf,
        cause: hdrhistogram::serialization::interval_log::LogIteratorError,
    },
    /// An interval's histogram is not base64.
    #[error("{}: bad histogram: {cause}", .path.display())]
    Base64 {
        path: PathBuf,
        cause: base64::DecodeError,
    },
    /// An interval's histogram does not deserialize.
    #[error("{}: bad histogram: {cause:?}", .path.display())]
    Histogram {
        path: PathBuf,
        cause: hdrhistogram::serialization::DeserializeError,
    },
    /// Values beyond loadgen's bounds (1 µs to 1 h).
    #[error("{0:?}")]
    Range(hdrhistogram::errors::AdditionError),
}

/// Write the report's per-second histograms as an interval log.
pub fn write(report: &Report, path: &Path) -> std::io::Result<()> {
    let mut intervals = Vec::new();
    for iv in &report.timeline {
        let latency = decode(&iv.hist).map_err(std::io::Error::other)?;
        intervals.push((
            iv.t,
            IntervalAcc {
                count: iv.count,
                errors: iv.errors,
                latency,
            },
        ));
    }
    let comment = format!(
        "loadgen {} profile {} ({} model) against {}; latency in microseconds from the intended start to the last byte",
        env!("CARGO_PKG_VERSION"),
        report.meta.profile,
        report.meta.model,
        report.meta.target
    );
    write_intervals(&intervals, report.meta.started_unix_ms, &comment, path)
}

/// Write per-second histograms (keyed by Unix second) as an interval log.
pub fn write_intervals(
    intervals: &[(u64, IntervalAcc)],
    started_unix_ms: u64,
    comment: &str,
    path: &Path,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    {
        let mut ser = V2DeflateSerializer::new();
        let base = started_unix_ms / 1000;
        let mut w = IntervalLogWriterBuilder::new()
            .add_comment(comment)
            .with_start_time(UNIX_EPOCH + Duration::from_millis(started_unix_ms))
            .with_base_time(UNIX_EPOCH + Duration::from_secs(base))
            .with_max_value_divisor(1000.0)
            .begin_log_with(&mut buf, &mut ser)?;
        for (t, iv) in intervals {
            w.write_histogram(
                &iv.latency,
                Duration::from_secs(t.saturating_sub(base)),
                Duration::from_secs(1),
                Tag::new("all"),
            )
            .map_err(|e| std::io::Error::other(format!("{e:?}")))?;
        }
    }
    std::fs::File::create(path)?.write_all(&buf)
}

/// Merge the interval logs of several processes: histograms of the same
/// wall-clock second are added. Returns the merged intervals in time order.
pub fn merge_logs(paths: &[PathBuf]) -> Result<Vec<(u64, IntervalAcc)>, HdrLogError> {
    let mut all: std::collections::BTreeMap<u64, IntervalAcc> = Default::default();
    for p in paths {
        for (t, iv) in read(p)? {
            let e = all.entry(t).or_insert_with(|| IntervalAcc {
                count: 0,
                errors: 0,
                latency: new_hist(),
            });
            e.count += iv.count;
            e.latency.add(&iv.latency).map_err(HdrLogError::Range)?;
        }
    }
    Ok(all.into_iter().collect())
}

/// Read an interval log written by [`write`] back into per-second
/// histograms keyed by Unix second.
pub fn read(path: &Path) -> Result<Vec<(u64, IntervalAcc)>, HdrLogError> {
    let bytes = std::fs::read(path).map_err(|source| HdrLogError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut base = 0f64;
    let mut out = Vec::new();
    for entry in IntervalLogIterator::new(&bytes) {
        let entry = entry.map_err(|cause| HdrLogError::NotALog {
            path: path.to_path_buf(),
            cause,
        })?;
        match entry {
            LogEntry::BaseTime(t) => base = t.as_secs_f64(),
            LogEntry::StartTime(_) => {}
            LogEntry::Interval(ilh) => out.push(interval(&ilh, base, path)?),
        }
    }
    Ok(out)
}

fn interval(
    ilh: &IntervalLogHistogram,
    base: f64,
    path: &Path,
) -> Result<(u64, IntervalAcc), HdrLogError> {
    use base64::Engine;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(ilh.encoded_histogram())
        .map_err(|cause| HdrLogError::Base64 {
            path: path.to_path_buf(),
            cause,
        })?;
    let h: hdrhistogram::Histogram<u64> = Deserializer::new()
        .deserialize(&mut raw.as_slice())
        .map_err(|cause| HdrLogError::Histogram {
            path: path.to_path_buf(),
            cause,
        })?;
    let mut latency = new_hist();
    latency.add(&h).map_err(HdrLogError::Range)?;
    let t = (base + ilh.start_timestamp().as_secs_f64()).round() as u64;
    Ok((
        t,
        IntervalAcc {
            count: latency.len(),
            errors: 0,
            latency,
        },
    ))
}
