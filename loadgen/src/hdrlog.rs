//! HdrHistogram interval logs (the format of Java's `HistogramLogWriter`,
//! readable by HdrHistogram's `HistogramLogProcessor` and plotters): one
//! histogram of all requests' latencies per second, tagged `all`.
//!
//! Values are microseconds; the header's `MaxValueDivisor: 1000` makes the
//! max column read in milliseconds.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use hdrhistogram::serialization::Deserializer;
use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::serialization::interval_log::{
    IntervalLogHistogram, IntervalLogIterator, IntervalLogWriterBuilder, LogEntry, Tag,
};

use crate::report::Report;
use crate::stats::{IntervalAcc, decode, new_hist};

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
pub fn merge_logs(paths: &[std::path::PathBuf]) -> Result<Vec<(u64, IntervalAcc)>, String> {
    let mut all: std::collections::BTreeMap<u64, IntervalAcc> = Default::default();
    for p in paths {
        for (t, iv) in read(p)? {
            let e = all.entry(t).or_insert_with(|| IntervalAcc {
                count: 0,
                errors: 0,
                latency: new_hist(),
            });
            e.count += iv.count;
            e.latency.add(&iv.latency).map_err(|e| format!("{e:?}"))?;
        }
    }
    Ok(all.into_iter().collect())
}

/// Read an interval log written by [`write`] back into per-second
/// histograms keyed by Unix second.
pub fn read(path: &Path) -> Result<Vec<(u64, IntervalAcc)>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut base = 0f64;
    let mut out = Vec::new();
    for entry in IntervalLogIterator::new(&bytes) {
        match entry.map_err(|e| format!("{}: not an HDR interval log: {e:?}", path.display()))? {
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
) -> Result<(u64, IntervalAcc), String> {
    use base64::Engine;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(ilh.encoded_histogram())
        .map_err(|e| format!("{}: bad histogram: {e}", path.display()))?;
    let h: hdrhistogram::Histogram<u64> = Deserializer::new()
        .deserialize(&mut raw.as_slice())
        .map_err(|e| format!("{}: bad histogram: {e:?}", path.display()))?;
    let mut latency = new_hist();
    latency.add(&h).map_err(|e| format!("{e:?}"))?;
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
