//! `loadgen quick URL`: a run with no profile file, like `oha` or `hey`.
//!
//! The URL says what to load: `/health`, `/status`,
//! `/v1/collections/NAME/query` (a question from `--question`) or
//! `/v1/collections/NAME/documents` (small documents, ingested). The
//! load is `--rate R` arrivals per second (open model) or `--users N`
//! concurrent users (closed model, all started within the first second),
//! for `--duration`. [`profile`] turns that into the same [`Profile`] a
//! file would give, so a quick run is judged, reported and exported
//! exactly like `loadgen run`.

use std::path::PathBuf;
use std::time::Duration;

use crate::profile::{Kind, Model, Profile, Scenario, Stage};
use crate::threshold::{Threshold, ThresholdError};

/// A quick run as the command line gives it.
#[derive(Debug, Clone)]
pub struct QuickSpec {
    pub url: String,
    /// Arrivals per second (open model); exclusive with `users`.
    pub rate: Option<f64>,
    /// Concurrent users (closed model).
    pub users: Option<u64>,
    pub duration: Duration,
    /// Questions asked in turn by a query URL.
    pub questions: Vec<String>,
    /// Query: ask for Server-Sent Events (time to first byte is reported).
    pub stream: bool,
    /// Query: make every question distinct so the cache never answers.
    pub unique: bool,
    pub top_k: u32,
    pub timeout: Duration,
    pub max_in_flight: usize,
    pub thresholds: Vec<String>,
}

/// The question asked when none is given.
pub const DEFAULT_QUESTION: &str = "What does the service do?";

/// Users (closed model) when neither `--rate` nor `--users` is given.
pub const DEFAULT_USERS: u64 = 10;

const PATHS: &str =
    "/health, /status, /v1/collections/NAME/query or /v1/collections/NAME/documents";

/// Why a quick run's options do not make a run.
#[derive(Debug, thiserror::Error)]
pub enum QuickError {
    #[error("{url:?}: not an http:// or https:// URL such as http://127.0.0.1:8080/health")]
    Url { url: String },
    #[error("{url:?}: say what to load with the path: {PATHS}")]
    NoPath { url: String },
    #[error("{url:?}: loadgen does not know the path {path:?}; expected {PATHS}")]
    UnknownPath { url: String, path: String },
    #[error("give either --rate (arrivals per second) or --users (concurrent users), not both")]
    RateAndUsers,
    #[error("--rate must be a number of arrivals per second above 0, got {0}")]
    Rate(f64),
    #[error("--users must be at least 1")]
    Users,
    #[error("--duration must be above zero")]
    Duration,
    #[error("--top-k must be 1 to {max}, got {0}", max = ragd_api::MAX_TOP_K)]
    TopK(u32),
    #[error("--question must not be empty")]
    EmptyQuestion,
    #[error("--stream, --unique and --top-k apply to a query URL (/v1/collections/NAME/query)")]
    QueryOnly,
    #[error("--threshold {0}")]
    Threshold(#[from] ThresholdError),
    #[error("--threshold {rule:?} names transaction {scope:?}; a quick run has one, {name:?}")]
    Scope {
        rule: String,
        scope: String,
        name: String,
    },
}

/// The base URL (scheme, host, port) and what the path asks for.
fn target(url: &str) -> Result<(String, Kind, String), QuickError> {
    let u = reqwest::Url::parse(url).map_err(|_| QuickError::Url { url: url.into() })?;
    if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
        return Err(QuickError::Url { url: url.into() });
    }
    let base = u.origin().ascii_serialization();
    let path = u.path().trim_end_matches('/');
    let parts: Vec<&str> = path.split('/').skip(1).collect();
    let (kind, collection) = match parts.as_slice() {
        [] | [""] => return Err(QuickError::NoPath { url: url.into() }),
        ["health"] => (Kind::Health, "docs"),
        ["status"] => (Kind::Status, "docs"),
        ["v1", "collections", c, "query"] if !c.is_empty() => (Kind::Query, *c),
        ["v1", "collections", c, "documents"] if !c.is_empty() => (Kind::Ingest, *c),
        _ => {
            return Err(QuickError::UnknownPath {
                url: url.into(),
                path: path.into(),
            });
        }
    };
    Ok((base, kind, collection.to_string()))
}

/// The stages: one at `--rate`, or `--users` started within the first
/// second and then held.
fn stages(spec: &QuickSpec) -> Result<(Model, Vec<Stage>), QuickError> {
    if spec.duration.is_zero() {
        return Err(QuickError::Duration);
    }
    let stage = |name: &str, duration, users, rate| Stage {
        name: name.into(),
        duration,
        users,
        rate,
        ramp_to: rate,
    };
    match (spec.rate, spec.users) {
        (Some(_), Some(_)) => Err(QuickError::RateAndUsers),
        (Some(r), None) if !(r > 0.0 && r.is_finite()) => Err(QuickError::Rate(r)),
        (Some(r), None) => Ok((Model::Open, vec![stage("quick", spec.duration, 0, r)])),
        (None, Some(0)) => Err(QuickError::Users),
        (None, users) => {
            let n = users.unwrap_or(DEFAULT_USERS);
            let one = Duration::from_secs(1);
            Ok((
                Model::Closed,
                if spec.duration >= 2 * one {
                    vec![
                        stage("start", one, n, 0.0),
                        stage("hold", spec.duration - one, n, 0.0),
                    ]
                } else {
                    vec![stage("quick", spec.duration, n, 0.0)]
                },
            ))
        }
    }
}

/// The profile a quick run plays, and the target's base URL.
pub fn profile(spec: &QuickSpec) -> Result<(Profile, String), QuickError> {
    let (base, kind, collection) = target(&spec.url)?;
    let (model, stages) = stages(spec)?;
    let query = kind == Kind::Query;
    if !query && (spec.stream || spec.unique || spec.top_k != 5) {
        return Err(QuickError::QueryOnly);
    }
    if spec.top_k == 0 || spec.top_k > ragd_api::MAX_TOP_K {
        return Err(QuickError::TopK(spec.top_k));
    }
    let questions = if spec.questions.is_empty() {
        vec![DEFAULT_QUESTION.to_string()]
    } else if spec.questions.iter().any(|q| q.trim().is_empty()) {
        return Err(QuickError::EmptyQuestion);
    } else {
        spec.questions.clone()
    };
    let scenario = Scenario {
        name: kind_name(kind).into(),
        kind,
        weight: 1,
        stream: spec.stream,
        top_k: spec.top_k,
        unique: spec.unique,
    };
    let thresholds = spec
        .thresholds
        .iter()
        .map(|t| {
            let th: Threshold = t.parse().map_err(QuickError::Threshold)?;
            match &th.scope {
                Some(s) if *s != scenario.name => Err(QuickError::Scope {
                    rule: t.clone(),
                    scope: s.clone(),
                    name: scenario.name.clone(),
                }),
                _ => Ok(th),
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    let what = match model {
        Model::Open => format!("{} arrivals/s", crate::threshold::fmt_num(stages[0].rate)),
        Model::Closed => format!("{} users", stages[0].users),
    };
    Ok((
        Profile {
            path: PathBuf::from(&spec.url),
            name: "quick".into(),
            description: format!(
                "{} {} for {}",
                what,
                spec.url,
                crate::profile::fmt_duration(spec.duration)
            ),
            source: "loadgen quick".into(),
            model,
            collection,
            questions,
            questions_file: None,
            stages,
            scenarios: vec![scenario],
            think_min: Duration::ZERO,
            think_max: Duration::ZERO,
            timeout: spec.timeout,
            max_requests: 10_000_000,
            max_in_flight: spec.max_in_flight.max(1),
            thresholds,
            stop_on_breach: false,
            setup_corpus: None,
            ingest_ids: 100,
            resources: None,
        },
        base,
    ))
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Query => "query",
        Kind::Ingest => "ingest",
        Kind::Health => "health",
        Kind::Status => "status",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(url: &str) -> QuickSpec {
        QuickSpec {
            url: url.into(),
            rate: None,
            users: None,
            duration: Duration::from_secs(30),
            questions: Vec::new(),
            stream: false,
            unique: false,
            top_k: 5,
            timeout: Duration::from_secs(30),
            max_in_flight: 1000,
            thresholds: Vec::new(),
        }
    }

    #[test]
    fn the_url_says_what_to_load() {
        let mut s = spec("http://127.0.0.1:8080/v1/collections/kb/query");
        s.rate = Some(200.0);
        s.thresholds = vec!["p(95)<300".into(), "query: error_rate < 1%".into()];
        let (p, base) = profile(&s).unwrap();
        assert_eq!(base, "http://127.0.0.1:8080");
        assert_eq!(p.model, Model::Open);
        assert_eq!(p.collection, "kb");
        assert_eq!(p.scenarios[0].kind, Kind::Query);
        assert_eq!(p.stages.len(), 1);
        assert_eq!(
            (p.stages[0].rate, p.stages[0].duration.as_secs()),
            (200.0, 30)
        );
        assert_eq!(p.questions, [DEFAULT_QUESTION]);
        assert_eq!(p.thresholds.len(), 2);

        let (p, _) = profile(&spec("https://ragd.local/health/")).unwrap();
        assert_eq!(
            (p.model, p.scenarios[0].kind),
            (Model::Closed, Kind::Health)
        );
        let users: Vec<u64> = p.stages.iter().map(|s| s.users).collect();
        assert_eq!(users, [DEFAULT_USERS, DEFAULT_USERS]);
        assert_eq!(p.stages[0].duration, Duration::from_secs(1));
        let (p, _) = profile(&spec("http://h:1/v1/collections/c/documents")).unwrap();
        assert_eq!(
            (p.scenarios[0].kind, p.collection.as_str()),
            (Kind::Ingest, "c")
        );
    }

    #[test]
    fn bad_options_are_named() {
        let e = |s: QuickSpec| profile(&s).unwrap_err().to_string();
        assert!(e(spec("127.0.0.1:8080/health")).contains("not an http://"));
        assert!(e(spec("http://127.0.0.1:8080")).contains("say what to load"));
        assert!(e(spec("http://127.0.0.1:8080/v1/query")).contains("does not know the path"));
        let mut s = spec("http://h/health");
        s.rate = Some(5.0);
        s.users = Some(5);
        assert!(e(s.clone()).contains("not both"));
        s.users = None;
        s.rate = Some(0.0);
        assert!(e(s.clone()).contains("--rate"));
        s.rate = None;
        s.users = Some(0);
        assert!(e(s.clone()).contains("--users"));
        s.users = None;
        s.stream = true;
        assert!(e(s.clone()).contains("query URL"));
        s.stream = false;
        s.thresholds = vec!["query: p95 < 1s".into()];
        assert!(e(s.clone()).contains("names transaction \"query\""));
        s.thresholds = vec!["p95 < 1".into()];
        assert!(e(s).contains("has no unit"));
    }
}
