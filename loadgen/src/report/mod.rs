//! The report: a stable JSON schema (`loadgen-report/1`), built from a
//! [`RunAcc`](crate::stats::RunAcc), and its renderings.
//!
//! This file holds the schema types, as they serialize. The jobs around
//! them live one per file:
//!
//! - `build.rs`: a run's accumulation into a [`Report`] ([`Report::build`]);
//! - `judge.rs`: which thresholds a report judges, and judging them on its
//!   figures ([`judge_stage`], [`observe`]);
//! - `table.rs`: the tables the terminal and Markdown renderings share,
//!   built once from a report;
//! - `text.rs`, `markdown.rs`, `html.rs` (charts in `svg.rs`): the
//!   terminal report, Markdown and a self-contained HTML page;
//! - `csv.rs`: the timeline as CSV, one row per second ([`per_second`]);
//! - `compare.rs`: deltas between two reports ([`compare`]);
//! - `merge.rs`: one report from the reports of several processes
//!   ([`merge`]), through the accumulation each was built from;
//! - `resources.rs`: the watched containers' CPU and memory per stage
//!   ([`Resources`]), from the samples a run took, and the `cpu` and
//!   `memory` thresholds judged on them;
//! - `file.rs`: report files by extension ([`write_report_file`],
//!   [`read_report`]) and [`ReportError`].
//!
//! The JSON carries the encoded histograms next to the figures computed
//! from them, so `merge` and `compare` work from JSON files alone.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::threshold::Verdict;

mod build;
mod compare;
mod csv;
mod file;
mod html;
mod judge;
mod markdown;
mod merge;
mod resources;
mod svg;
mod table;
mod text;

pub use compare::compare;
pub use csv::{PER_SECOND_HEADER, per_second};
pub use file::{ReportError, read_report, write_report_file};
pub use judge::{judge_so_far, judge_stage, observe, scaled_thresholds};
pub use merge::merge;
pub use resources::{
    AllFigures, ContainerFigures, ContainerMeta, MeanMax, NOT_WATCHED, ResourceSample, Resources,
    StageResources,
};

pub const SCHEMA: &str = "loadgen-report/1";

/// What the run was, independent of what it measured.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Meta {
    pub profile: String,
    pub profile_path: String,
    /// `open` or `closed`.
    pub model: String,
    pub target: String,
    pub time_scale: f64,
    pub user_scale: f64,
    /// Instance names that contributed (one per loadgen process).
    pub instances: Vec<String>,
    /// RFC 3339.
    pub started: String,
    pub started_unix_ms: u64,
    pub ended_unix_ms: u64,
    /// Sum of the (scaled) stage durations.
    pub planned_s: f64,
    /// Why the run ended: `completed`, `interrupted`, `max_requests`,
    /// `max_duration`, `slo_breach`.
    pub stop_reason: String,
    /// True when the run did not play its whole plan.
    pub partial: bool,
    /// Thresholds as written in the profile.
    pub thresholds: Vec<String>,
    /// Closed model: goose's test plan as run (`users,secs;...`).
    #[serde(default)]
    pub test_plan: String,
    /// Planned stages: name, planned start/end (s), target users or rate.
    pub stages: Vec<StagePlan>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StagePlan {
    pub name: String,
    pub start_s: f64,
    pub end_s: f64,
    /// Closed: users at the end of the stage. Open: arrivals/s at its start.
    pub load_from: f64,
    pub load_to: f64,
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Pcts {
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    pub mean: f64,
}

impl Pcts {
    pub fn of(h: &Histogram<u64>) -> Pcts {
        if h.is_empty() {
            return Pcts::default();
        }
        let q = |p: f64| h.value_at_quantile(p) as f64 / 1000.0;
        Pcts {
            p50: q(0.5),
            p90: q(0.9),
            p95: q(0.95),
            p99: q(0.99),
            p999: q(0.999),
            max: h.max() as f64 / 1000.0,
            mean: h.mean() / 1000.0,
        }
    }
    pub fn by_permille(&self, pm: u32) -> f64 {
        match pm {
            500 => self.p50,
            900 => self.p90,
            950 => self.p95,
            990 => self.p99,
            999 => self.p999,
            _ => self.p95,
        }
    }
}

/// Encoded histograms (base64 of HdrHistogram V2 + deflate, microseconds).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Hists {
    pub latency: String,
    pub service: String,
    pub ttfb: String,
    pub lag: String,
}

/// Figures of one transaction, of all requests, or of one stage.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Stats {
    pub name: String,
    pub count: u64,
    pub ok: u64,
    pub failed: u64,
    /// Failed requests by kind (`http_503_overloaded`, `timeout`...).
    pub errors: BTreeMap<String, u64>,
    /// Completed requests per second over the run (or stage).
    pub rps: f64,
    /// Percent of requests that failed.
    pub error_rate: f64,
    /// From the intended start to the last byte (the figures judged).
    pub latency_ms: Pcts,
    /// From the actual send to the last byte (uncorrected).
    pub service_ms: Pcts,
    /// Intended start to first byte of streamed answers (absent if none).
    pub ttfb_ms: Option<Pcts>,
    /// Requests sent more than 2 ms behind schedule (tokio timers tick in
    /// whole milliseconds, so up to 1 ms is the norm).
    pub late: u64,
    pub max_lag_ms: f64,
    pub hist: Hists,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StageStats {
    #[serde(flatten)]
    pub stats: Stats,
    pub start_s: f64,
    pub end_s: f64,
    pub load_from: f64,
    pub load_to: f64,
    /// Open model: requests actually sent per second between the stage's
    /// first and last send (`null` with fewer than two requests).
    pub achieved_arrival_rate: Option<f64>,
    pub first_send_us: Option<u64>,
    pub last_send_us: Option<u64>,
    /// The profile's run-wide thresholds judged on this stage alone.
    pub verdicts: Vec<Verdict>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Interval {
    /// Unix second (completion time).
    pub t: u64,
    pub count: u64,
    pub errors: u64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub hist: String,
}

/// How much coordinated-omission correction changed the figures.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CoSummary {
    /// True when some request was sent late, so corrected latencies exceed
    /// what the server alone would show.
    pub applied: bool,
    pub late_requests: u64,
    pub late_percent: f64,
    pub max_lag_ms: f64,
    pub p99_corrected_ms: f64,
    pub p99_uncorrected_ms: f64,
    pub note: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Report {
    pub schema: String,
    pub meta: Meta,
    pub elapsed_s: f64,
    pub total: Stats,
    pub transactions: Vec<Stats>,
    pub stages: Vec<StageStats>,
    pub timeline: Vec<Interval>,
    pub coordinated_omission: CoSummary,
    pub thresholds: Vec<Verdict>,
    /// First stage whose own figures broke a threshold, with the load there.
    pub slo_break: Option<SloBreak>,
    /// True when every threshold passed.
    pub passed: bool,
    /// The watched containers' CPU and memory per stage (`[resources]`,
    /// `--watch`); absent when nothing was watched and no threshold reads
    /// them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Resources>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SloBreak {
    pub stage: usize,
    pub stage_name: String,
    pub load: f64,
    /// `users` or `arrivals/s`.
    pub unit: String,
    pub failed: Vec<String>,
}

impl Report {
    /// Exit status: 0 when every threshold passed, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        if self.passed { 0 } else { 1 }
    }
}
