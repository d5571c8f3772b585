//! loadgen: replays the scaling guides' load profiles against ragd and
//! judges the results against SLOs.
//!
//! Layout (records flow top to bottom):
//! - [`profile`]: the TOML profile format, validation and clear errors;
//!   `--time-scale`/`--user-scale`.
//! - [`schedule`]: pure time plans: stage lookup, open-model arrival times,
//!   goose's test plan for the closed model.
//! - [`work`]: the scenario mix and one request, built from `ragd-api`
//!   types and timed to the last byte (first byte for streams).
//! - [`http`]: the keep-alive connection each user or in-flight slot owns
//!   (hyper, rustls for https).
//! - [`open`]: the open (arrival-rate) engine on tokio, latency from each
//!   request's intended start (coordinated omission).
//! - [`closed`]: the closed (concurrent users) engine on goose's test plan.
//! - [`record`]: the raw record each request yields, and its channel.
//! - [`stats`]: HDR histograms per transaction, stage and second.
//! - [`threshold`]: SLO rules and PASS/FAIL verdicts with margins.
//! - [`report`]: the JSON schema, terminal/Markdown/HTML renderings, merge
//!   and compare.
//! - [`hdrlog`]: HdrHistogram interval logs.
//! - [`eval`]: `loadgen eval`, retrieval quality per mode (hit@1, hit@k, MRR).
//! - [`run`]: one run end to end ([`run::run`]), used by the binary and tests.

pub mod closed;
pub mod eval;
pub mod hdrlog;
pub mod http;
pub mod open;
pub mod profile;
pub mod record;
pub mod report;
pub mod run;
pub mod schedule;
pub mod stats;
pub mod threshold;
pub mod work;

use std::path::Path;

pub use profile::{Profile, ProfileError};
pub use report::Report;
pub use run::{RunOptions, run};

/// Write a report in the format its file name asks for: `.json`, `.md`,
/// `.html`, or `.hlog` (HDR interval log).
pub fn write_report_file(report: &Report, path: &Path) -> Result<(), String> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let res = match ext {
        "json" => std::fs::write(
            path,
            serde_json::to_string_pretty(report).expect("report serializes"),
        ),
        "md" => std::fs::write(path, report.to_markdown()),
        "html" | "htm" => std::fs::write(path, report.to_html()),
        "hlog" => hdrlog::write(report, path),
        _ => {
            return Err(format!(
                "{}: unknown report format; expected a file name ending in .json, .md, .html or .hlog",
                path.display()
            ));
        }
    };
    res.map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Read a JSON report written by `--report out.json`.
pub fn read_report(path: &Path) -> Result<Report, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let r: Report = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{}: not a loadgen JSON report ({}): {e}",
            path.display(),
            report::SCHEMA
        )
    })?;
    if r.schema != report::SCHEMA {
        return Err(format!(
            "{}: schema {:?}, expected {:?}",
            path.display(),
            r.schema,
            report::SCHEMA
        ));
    }
    Ok(r)
}
