//! Load profiles: the TOML files in `profiles/`, read into a typed [`Profile`].
//!
//! This module owns the file format (documented in `profiles/README.md` and
//! `docs/LOADGEN.md`), its validation and its error messages. Every error
//! names the file, the key (`stages[2].users`) and the expected form, so a
//! typo in a hand-edited profile is fixed in one look.
//!
//! Reading is two steps: serde reads the file loosely into the `Raw*`
//! structs of `raw.rs`, which reject unknown keys; then `validate.rs`
//! turns each key into a typed value in a small function of its own
//! (`stages.rs` and `scenarios.rs` check the two tables of tables), so
//! strings such as `"2m"` (`duration.rs`) or `"p95 < 300ms"` become
//! durations and thresholds. `error.rs` holds [`ProfileError`]. Scaling
//! (`--time-scale`, `--user-scale`) is applied afterwards by
//! [`Profile::scaled`], so the file on disk is always the one described.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::resources::Watch;
use crate::threshold::Threshold;

mod duration;
mod error;
mod raw;
mod scenarios;
mod stages;
mod validate;

pub use duration::{DurationError, fmt_duration, parse_duration};
pub use error::ProfileError;

/// Closed model: a fixed population of users, each waiting for its answer
/// (and a think time) before the next request. Open model: new arrivals at a
/// set rate whatever the server's speed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Model {
    Closed,
    Open,
}

impl fmt::Display for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Model::Closed => "closed",
            Model::Open => "open",
        })
    }
}

/// What one transaction does against ragd.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// `POST /v1/collections/{collection}/query` with a question from the set.
    Query,
    /// `POST /v1/collections/{collection}/documents` with one small document.
    Ingest,
    /// `GET /health`.
    Health,
    /// `GET /status`.
    Status,
}

/// One stage of a profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    pub name: String,
    pub duration: Duration,
    /// Closed model: users at the end of the stage (linear ramp from the
    /// previous stage's value). Open model: unused (0).
    pub users: u64,
    /// Open model: arrivals per second at the start of the stage.
    pub rate: f64,
    /// Open model: arrivals per second at the end of the stage (linear ramp
    /// from `rate`); equal to `rate` for a constant stage.
    pub ramp_to: f64,
}

/// One entry of the scenario mix.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Transaction name in reports (`query`, `general`...).
    pub name: String,
    pub kind: Kind,
    /// Relative share of requests (weights need not sum to 100).
    pub weight: u32,
    /// Query only: ask for Server-Sent Events and measure time to first byte.
    pub stream: bool,
    /// Query only: passages to retrieve.
    pub top_k: u32,
    /// Query only: make every question distinct (a numbered suffix), so
    /// ragd's query cache never answers; measures uncached capacity.
    pub unique: bool,
}

/// A validated profile.
#[derive(Debug, Clone)]
pub struct Profile {
    pub path: PathBuf,
    pub name: String,
    pub description: String,
    /// Where the numbers come from (which scaling guide and section).
    pub source: String,
    pub model: Model,
    pub collection: String,
    /// Questions asked by `query` transactions, one per line.
    pub questions: Vec<String>,
    /// File they were read from (for the report).
    pub questions_file: Option<PathBuf>,
    pub stages: Vec<Stage>,
    pub scenarios: Vec<Scenario>,
    /// Closed model: pause between a user's requests, uniform in [min, max].
    pub think_min: Duration,
    pub think_max: Duration,
    pub timeout: Duration,
    /// Hard bound on requests started in one run.
    pub max_requests: u64,
    /// Open model: requests allowed in flight at once; arrivals beyond wait
    /// (and that wait counts in their latency).
    pub max_in_flight: usize,
    pub thresholds: Vec<Threshold>,
    /// Stop after the first stage whose own figures fail a threshold (the
    /// `stress` profile's "until the SLO breaks").
    pub stop_on_breach: bool,
    /// Directory of `.md`/`.txt` files ingested into `collection` before
    /// the run when the collection is missing or empty.
    pub setup_corpus: Option<PathBuf>,
    /// Documents the `ingest` transaction cycles through (ids
    /// `loadgen-0`...), so repeated runs replace rather than grow the store.
    pub ingest_ids: u64,
    /// `[resources]`: the compose project (and service) whose containers
    /// are sampled during the run, for the `cpu` and `memory` thresholds;
    /// `--watch` overrides it.
    pub resources: Option<Watch>,
}

impl Profile {
    /// Read and validate a profile file. A path without an extension that
    /// names no file is tried with `.toml` (`loadgen run
    /// profiles/1000-users`, as people type it).
    pub fn load(path: &Path) -> Result<Profile, ProfileError> {
        let with_toml = path.with_extension("toml");
        let path = if !path.exists() && path.extension().is_none() && with_toml.exists() {
            with_toml.as_path()
        } else {
            path
        };
        let text = std::fs::read_to_string(path).map_err(|e| ProfileError {
            file: path.to_path_buf(),
            key: String::new(),
            message: format!("cannot read the profile: {e}"),
        })?;
        Profile::parse(path, &text)
    }

    /// Validate profile text; `path` names it in errors and anchors the
    /// relative paths (`questions`, `setup.corpus`) it contains.
    pub fn parse(path: &Path, text: &str) -> Result<Profile, ProfileError> {
        let raw = raw::RawProfile::parse(text).map_err(|e| e.in_file(path))?;
        Profile::from_raw(path, raw).map_err(|e| e.in_file(path))
    }

    /// The profile with stage durations multiplied by `time` and user
    /// counts and arrival rates by `users`. Durations keep at least 1 ms
    /// (a non-zero stage stays non-zero); user counts round to the nearest
    /// whole user but keep at least 1 when the original had any.
    pub fn scaled(&self, time: f64, users: f64) -> Profile {
        let mut p = self.clone();
        for s in &mut p.stages {
            if !s.duration.is_zero() {
                s.duration = Duration::from_secs_f64((s.duration.as_secs_f64() * time).max(0.001));
            }
            if s.users > 0 {
                s.users = ((s.users as f64 * users).round() as u64).max(1);
            }
            s.rate *= users;
            s.ramp_to *= users;
        }
        p
    }

    /// Planned length of the run (sum of stage durations).
    pub fn planned(&self) -> Duration {
        self.stages.iter().map(|s| s.duration).sum()
    }

    /// Highest user count (closed) or arrival rate (open) of any stage.
    pub fn peak(&self) -> f64 {
        self.stages
            .iter()
            .map(|s| match self.model {
                Model::Closed => s.users as f64,
                Model::Open => s.rate.max(s.ramp_to),
            })
            .fold(0.0, f64::max)
    }

    /// Requests the plan is expected to issue (open model only: the integral
    /// of the arrival rate), used to sanity-check `max_requests`.
    pub fn planned_arrivals(&self) -> f64 {
        self.stages
            .iter()
            .map(|s| (s.rate + s.ramp_to) / 2.0 * s.duration.as_secs_f64())
            .sum()
    }
}

#[cfg(test)]
mod properties {
    //! Any profile text is accepted or refused with an error naming the
    //! file: never a panic.
    use proptest::prelude::*;

    use super::*;

    fn line() -> impl Strategy<Value = String> {
        let key = prop_oneof![
            Just("target"),
            Just("name"),
            Just("duration"),
            Just("users"),
            Just("rate"),
            Just("think_time"),
            Just("thresholds"),
            Just("weight"),
            Just("max_in_flight"),
            Just("p95"),
            Just("collection"),
            Just("questions"),
            Just("model"),
            Just("bogus"),
        ];
        let value = prop_oneof![
            any::<i64>().prop_map(|n| n.to_string()),
            any::<f64>().prop_map(|f| format!("{f:?}")),
            "\\PC{0,16}".prop_map(|s| format!("{s:?}")),
            "[0-9]{1,6}(ms|s|m|h|d|)".prop_map(|s| format!("{s:?}")),
            "(p\\(9[59]\\)|avg|max|http_req_failed)[<>=]{1,2}[0-9.]{0,5}"
                .prop_map(|s| format!("[{s:?}]")),
            Just("[]".to_string()),
        ];
        let header = prop_oneof![
            Just("[[stages]]"),
            Just("[[transactions]]"),
            Just("[setup]"),
            Just("[slo]"),
            Just("[thresholds]"),
            Just("[nonsense]"),
        ];
        prop_oneof![
            (key, value).prop_map(|(k, v)| format!("{k} = {v}")),
            header.prop_map(String::from),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn any_profile_parses_or_names_the_file(
            text in prop_oneof![
                prop::collection::vec(line(), 0..20).prop_map(|l| l.join("\n")),
                "\\PC{0,300}",
            ],
        ) {
            let path = Path::new("fuzz.toml");
            if let Err(e) = Profile::parse(path, &text) {
                prop_assert!(e.to_string().contains("fuzz.toml"), "{e}");
            }
        }
    }
}
