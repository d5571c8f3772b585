//! The report's timeline as CSV, one row per wall-clock second (like
//! Locust's `--csv` stats history), for spreadsheets and plotting tools.
//! Per-request rows are written while a run goes on
//! (`loadgen run --requests-csv`, `crate::run::requests_csv`).

use super::Report;

/// Columns of [`per_second`], in order.
pub const PER_SECOND_HEADER: [&str; 11] = [
    "time_unix_s",
    "elapsed_s",
    "stage",
    "target_load",
    "requests",
    "errors",
    "error_rate_percent",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "max_ms",
];

/// One row per second of the timeline (completion time), with the stage
/// and the planned load (users or arrivals/s) at that second.
pub fn per_second(r: &Report) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    // Writing into a Vec cannot fail; the unwraps below cannot fire.
    w.write_record(PER_SECOND_HEADER).expect("write to memory");
    let start_s = r.meta.started_unix_ms as f64 / 1000.0;
    for iv in &r.timeline {
        let elapsed = (iv.t as f64 - start_s).max(0.0);
        let stage = r
            .meta
            .stages
            .iter()
            .find(|s| elapsed < s.end_s)
            .or(r.meta.stages.last());
        let target = stage.map(|s| {
            let f = if s.end_s > s.start_s {
                ((elapsed - s.start_s) / (s.end_s - s.start_s)).clamp(0.0, 1.0)
            } else {
                1.0
            };
            s.load_from + (s.load_to - s.load_from) * f
        });
        let error_rate = if iv.count > 0 {
            iv.errors as f64 * 100.0 / iv.count as f64
        } else {
            0.0
        };
        w.write_record([
            iv.t.to_string(),
            format!("{elapsed:.3}"),
            stage.map(|s| s.name.clone()).unwrap_or_default(),
            target.map(|t| format!("{t:.2}")).unwrap_or_default(),
            iv.count.to_string(),
            iv.errors.to_string(),
            format!("{error_rate:.3}"),
            format!("{:.3}", iv.p50_ms),
            format!("{:.3}", iv.p95_ms),
            format!("{:.3}", iv.p99_ms),
            format!("{:.3}", iv.max_ms),
        ])
        .expect("write to memory");
    }
    String::from_utf8(w.into_inner().expect("flush to memory")).expect("CSV of UTF-8 fields")
}
