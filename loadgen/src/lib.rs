//! loadgen: replays the scaling guides' load profiles against ragd and
//! judges the results against SLOs.
//!
//! Layout (records flow top to bottom):
//! - [`profile`]: the TOML profile format, validation per section and clear
//!   errors; `--time-scale`/`--user-scale`.
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
//! - [`resources`]: `[resources]` / `--watch PROJECT[/SERVICE]`, and the
//!   sampler that reads the target's containers' Docker stats during a run
//!   (through `ragkit-docker`, shared with ragctl).
//! - [`requests_csv`]: `--requests-csv`, one row per request, written
//!   while the run goes on.
//! - [`report`]: the JSON schema, built once from the histograms; the
//!   terminal/Markdown/HTML renderings of it; report files, merge and
//!   compare.
//! - [`live`]: `loadgen run --tui`, the run live in the terminal (a
//!   consumer of the records: state, events and drawing apart).
//! - [`export`]: `--metrics-listen`, a Prometheus endpoint while the run
//!   goes on (another consumer of the records).
//! - [`hdrlog`]: HdrHistogram interval logs.
//! - [`eval`]: `loadgen eval`, retrieval quality per mode (hit@1, hit@k, MRR).
//! - [`quick`]: `loadgen quick URL`, a profile built from the command line.
//! - [`run`]: one run end to end ([`run::run`]), used by the binary and tests.
//!
//! Errors are typed per module (`ProfileError`, `ThresholdError`,
//! `RunError`, `ReportError`...), with messages that name the file, key or
//! target at fault; only the binary turns them into exit statuses.

pub mod closed;
pub mod eval;
pub mod export;
pub mod hdrlog;
pub mod http;
pub mod live;
pub mod open;
pub mod profile;
pub mod quick;
pub mod record;
pub mod report;
pub mod requests_csv;
pub mod resources;
pub mod run;
pub mod schedule;
pub mod stats;
pub mod threshold;
pub mod work;

pub use profile::{Profile, ProfileError};
pub use report::{Report, ReportError, read_report, write_report_file};
pub use run::{RunError, RunOptions, run};
