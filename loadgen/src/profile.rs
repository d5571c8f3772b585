//! Load profiles: the TOML files in `profiles/`, read into a typed [`Profile`].
//!
//! This module owns the file format (documented in `profiles/README.md` and
//! `docs/LOADGEN.md`), its validation and its error messages. Every error
//! names the file, the key (`stages[2].users`) and the expected form, so a
//! typo in a hand-edited profile is fixed in one look.
//!
//! Reading is two steps: serde reads the file into `Raw*` structs that
//! reject unknown keys, then [`Profile::from_raw`] checks values and turns
//! strings such as `"2m"` or `"p95 < 300ms"` into typed values. Scaling
//! (`--time-scale`, `--user-scale`) is applied afterwards by
//! [`Profile::scaled`], so the file on disk is always the one described.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::threshold::Threshold;

/// Why a profile could not be used: the file, the key and what was expected.
#[derive(Debug)]
pub struct ProfileError {
    pub file: PathBuf,
    /// Dotted path of the offending key (`stages[1].duration`), or empty
    /// when the file as a whole is at fault (unreadable, not TOML).
    pub key: String,
    pub message: String,
}

impl fmt::Display for ProfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(
                f,
                "{}: `{}`: {}",
                self.file.display(),
                self.key,
                self.message
            )
        }
    }
}

impl std::error::Error for ProfileError {}

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
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    name: Option<String>,
    description: Option<String>,
    source: Option<String>,
    model: Option<String>,
    collection: Option<String>,
    questions: Option<String>,
    timeout: Option<String>,
    max_requests: Option<i64>,
    max_in_flight: Option<i64>,
    thresholds: Option<Vec<String>>,
    stop_on_breach: Option<bool>,
    ingest_ids: Option<i64>,
    think_time: Option<RawThink>,
    setup: Option<RawSetup>,
    stages: Option<Vec<RawStage>>,
    scenarios: Option<Vec<RawScenario>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawThink {
    min: Option<String>,
    max: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSetup {
    corpus: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStage {
    name: Option<String>,
    duration: Option<String>,
    users: Option<i64>,
    rate: Option<f64>,
    ramp_to: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    name: Option<String>,
    kind: Option<String>,
    weight: Option<i64>,
    stream: Option<bool>,
    top_k: Option<i64>,
    unique: Option<bool>,
}

/// Parse a duration: `500ms`, `30s`, `2m`, `1h30m`, `1m30s`, or a bare number
/// of seconds (`90`, `0.5`).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let bad = || {
        format!("expected a duration such as \"500ms\", \"30s\", \"2m\" or \"1h30m\", got {s:?}")
    };
    if t.is_empty() {
        return Err(bad());
    }
    if let Ok(secs) = t.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Ok(Duration::from_secs_f64(secs));
        }
        return Err(bad());
    }
    let mut total = 0f64;
    let mut rest = t;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        if num_len == 0 {
            return Err(bad());
        }
        let n: f64 = rest[..num_len].parse().map_err(|_| bad())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let mult = match unit {
            "ms" => 0.001,
            "s" => 1.0,
            "m" | "min" => 60.0,
            "h" => 3600.0,
            "us" | "µs" => 0.000_001,
            _ => return Err(bad()),
        };
        total += n * mult;
    }
    Ok(Duration::from_secs_f64(total))
}

/// Format a duration as the profiles write them (`2m`, `1m30s`, `1.5s`, `250ms`).
pub fn fmt_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        return "0s".into();
    }
    if ms < 1000 {
        return format!("{ms}ms");
    }
    if !ms.is_multiple_of(1000) {
        return format!("{:.1}s", d.as_secs_f64());
    }
    let s = d.as_secs();
    let (h, m, sec) = (s / 3600, (s % 3600) / 60, s % 60);
    let mut out = String::new();
    if h > 0 {
        out += &format!("{h}h");
    }
    if m > 0 {
        out += &format!("{m}m");
    }
    if sec > 0 {
        out += &format!("{sec}s");
    }
    out
}

impl Profile {
    /// Read and validate a profile file.
    pub fn load(path: &Path) -> Result<Profile, ProfileError> {
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
        let raw: RawProfile = toml::from_str(text).map_err(|e| {
            let key = e
                .message()
                .split('`')
                .nth(1)
                .filter(|_| e.message().starts_with("unknown field"))
                .unwrap_or("")
                .to_string();
            ProfileError {
                file: path.to_path_buf(),
                key,
                message: format!("not a valid profile: {}", e.to_string().trim_end()),
            }
        })?;
        Profile::from_raw(path, raw)
    }

    fn from_raw(path: &Path, raw: RawProfile) -> Result<Profile, ProfileError> {
        let err = |key: &str, message: String| ProfileError {
            file: path.to_path_buf(),
            key: key.to_string(),
            message,
        };
        let dir = path.parent().unwrap_or(Path::new("."));
        let name = raw
            .name
            .or_else(|| path.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "profile".into());
        let model = match raw.model.as_deref() {
            Some("closed") => Model::Closed,
            Some("open") => Model::Open,
            Some(other) => {
                return Err(err(
                    "model",
                    format!(
                        "expected \"closed\" (concurrent users) or \"open\" (arrival rate), got {other:?}"
                    ),
                ));
            }
            None => {
                return Err(err(
                    "model",
                    "missing; expected model = \"closed\" (concurrent users) or \"open\" (arrival rate)".into(),
                ));
            }
        };
        let collection = raw.collection.unwrap_or_else(|| "docs".into());
        if collection.is_empty() || collection.len() > 64 {
            return Err(err(
                "collection",
                "expected a collection name of 1-64 characters".into(),
            ));
        }
        let dur =
            |key: &str, v: Option<String>, default: Duration| -> Result<Duration, ProfileError> {
                match v {
                    None => Ok(default),
                    Some(s) => parse_duration(&s).map_err(|m| err(key, m)),
                }
            };
        let timeout = dur("timeout", raw.timeout, Duration::from_secs(30))?;
        if timeout.is_zero() {
            return Err(err(
                "timeout",
                "expected a duration above zero, e.g. \"30s\"".into(),
            ));
        }
        let (think_min, think_max) = match raw.think_time {
            None => (Duration::ZERO, Duration::ZERO),
            Some(t) => {
                let min = dur("think_time.min", t.min, Duration::ZERO)?;
                let max = dur("think_time.max", t.max, min)?;
                if max < min {
                    return Err(err(
                        "think_time.max",
                        format!(
                            "expected a duration at least think_time.min ({}), got {}",
                            fmt_duration(min),
                            fmt_duration(max)
                        ),
                    ));
                }
                (min, max)
            }
        };
        let positive = |key: &str, v: Option<i64>, default: i64| -> Result<u64, ProfileError> {
            let v = v.unwrap_or(default);
            if v < 1 {
                return Err(err(
                    key,
                    format!("expected a whole number of at least 1, got {v}"),
                ));
            }
            Ok(v as u64)
        };
        let max_requests = positive("max_requests", raw.max_requests, 10_000_000)?;
        let max_in_flight = positive("max_in_flight", raw.max_in_flight, 1000)? as usize;
        let ingest_ids = positive("ingest_ids", raw.ingest_ids, 100)?;

        // Stages.
        let raw_stages = raw.stages.unwrap_or_default();
        if raw_stages.is_empty() {
            return Err(err(
                "stages",
                match model {
                    Model::Closed => "missing; expected at least one [[stages]] table with `duration` and `users`, e.g. duration = \"2m\", users = 100".into(),
                    Model::Open => "missing; expected at least one [[stages]] table with `duration` and `rate`, e.g. duration = \"60s\", rate = 100".into(),
                },
            ));
        }
        let mut stages = Vec::new();
        for (i, s) in raw_stages.into_iter().enumerate() {
            let k = |f: &str| format!("stages[{i}].{f}");
            let duration = match s.duration {
                None => {
                    return Err(err(
                        &k("duration"),
                        "missing; expected a duration such as \"2m\"".into(),
                    ));
                }
                Some(d) => parse_duration(&d).map_err(|m| err(&k("duration"), m))?,
            };
            let name = s.name.unwrap_or_else(|| format!("stage {}", i + 1));
            let stage = match model {
                Model::Closed => {
                    if s.rate.is_some() || s.ramp_to.is_some() {
                        return Err(err(
                            &k("rate"),
                            "arrival rates belong to open-model profiles; a closed profile's stage sets `users`".into(),
                        ));
                    }
                    let users = match s.users {
                        Some(u) if u >= 0 => u as u64,
                        Some(u) => {
                            return Err(err(
                                &k("users"),
                                format!("expected a whole number of users, 0 or more, got {u}"),
                            ));
                        }
                        None => {
                            return Err(err(&k("users"), "missing; expected the number of users at the end of the stage, e.g. users = 100".into()));
                        }
                    };
                    Stage {
                        name,
                        duration,
                        users,
                        rate: 0.0,
                        ramp_to: 0.0,
                    }
                }
                Model::Open => {
                    if s.users.is_some() {
                        return Err(err(
                            &k("users"),
                            "user counts belong to closed-model profiles; an open profile's stage sets `rate` (arrivals per second)".into(),
                        ));
                    }
                    let rate = match s.rate {
                        Some(r) if r.is_finite() && r >= 0.0 => r,
                        Some(r) => {
                            return Err(err(
                                &k("rate"),
                                format!("expected arrivals per second, 0 or more, got {r}"),
                            ));
                        }
                        None => {
                            return Err(err(
                                &k("rate"),
                                "missing; expected arrivals per second, e.g. rate = 100".into(),
                            ));
                        }
                    };
                    let ramp_to = match s.ramp_to {
                        Some(r) if r.is_finite() && r >= 0.0 => r,
                        Some(r) => {
                            return Err(err(
                                &k("ramp_to"),
                                format!("expected arrivals per second, 0 or more, got {r}"),
                            ));
                        }
                        None => rate,
                    };
                    Stage {
                        name,
                        duration,
                        users: 0,
                        rate,
                        ramp_to,
                    }
                }
            };
            stages.push(stage);
        }
        if model == Model::Closed && stages.iter().all(|s| s.users == 0) {
            return Err(err(
                "stages",
                "no stage has users; expected at least one stage with users above 0".into(),
            ));
        }
        if stages.iter().all(|s| s.duration.is_zero()) {
            return Err(err(
                "stages",
                "every stage lasts 0s; expected at least one stage with a duration".into(),
            ));
        }

        // Scenarios.
        let raw_scenarios = raw.scenarios.unwrap_or_default();
        if raw_scenarios.is_empty() {
            return Err(err(
                "scenarios",
                "missing; expected at least one [[scenarios]] table, e.g. kind = \"query\", weight = 50".into(),
            ));
        }
        let mut scenarios: Vec<Scenario> = Vec::new();
        for (i, s) in raw_scenarios.into_iter().enumerate() {
            let k = |f: &str| format!("scenarios[{i}].{f}");
            let kind = match s.kind.as_deref() {
                Some("query") => Kind::Query,
                Some("ingest") => Kind::Ingest,
                Some("health") => Kind::Health,
                Some("status") => Kind::Status,
                Some(other) => {
                    return Err(err(
                        &k("kind"),
                        format!(
                            "expected one of \"query\", \"ingest\", \"health\", \"status\", got {other:?}"
                        ),
                    ));
                }
                None => {
                    return Err(err(
                        &k("kind"),
                        "missing; expected one of \"query\", \"ingest\", \"health\", \"status\""
                            .into(),
                    ));
                }
            };
            let weight = match s.weight {
                None => 1,
                Some(w) if (0..=1_000_000).contains(&w) => w as u32,
                Some(w) => {
                    return Err(err(
                        &k("weight"),
                        format!("expected a whole number from 0 to 1000000, got {w}"),
                    ));
                }
            };
            let top_k = match s.top_k {
                None => ragd_api::DEFAULT_TOP_K,
                Some(t) if t >= 1 && t <= ragd_api::MAX_TOP_K as i64 => t as u32,
                Some(t) => {
                    return Err(err(
                        &k("top_k"),
                        format!("expected 1 to {}, got {t}", ragd_api::MAX_TOP_K),
                    ));
                }
            };
            if kind != Kind::Query
                && (s.stream.is_some() || s.top_k.is_some() || s.unique.is_some())
            {
                return Err(err(
                    &k(if s.stream.is_some() {
                        "stream"
                    } else if s.top_k.is_some() {
                        "top_k"
                    } else {
                        "unique"
                    }),
                    "only `query` scenarios take `stream`, `top_k` and `unique`".into(),
                ));
            }
            let name = s.name.unwrap_or_else(|| match kind {
                Kind::Query => "query".into(),
                Kind::Ingest => "ingest".into(),
                Kind::Health => "health".into(),
                Kind::Status => "status".into(),
            });
            if name.is_empty()
                || name == "all"
                || name.contains(char::is_whitespace)
                || name.contains(':')
            {
                return Err(err(
                    &k("name"),
                    format!(
                        "expected a short name without spaces or ':' (and not \"all\"), got {name:?}"
                    ),
                ));
            }
            if scenarios.iter().any(|o| o.name == name) {
                return Err(err(
                    &k("name"),
                    format!("{name:?} is used by an earlier scenario; names must be unique"),
                ));
            }
            scenarios.push(Scenario {
                name,
                kind,
                weight,
                stream: s.stream.unwrap_or(false),
                top_k,
                unique: s.unique.unwrap_or(false),
            });
        }
        if scenarios.iter().all(|s| s.weight == 0) {
            return Err(err(
                "scenarios",
                "every weight is 0; expected at least one scenario with weight above 0".into(),
            ));
        }

        // Questions.
        let has_query = scenarios
            .iter()
            .any(|s| s.kind == Kind::Query && s.weight > 0);
        let (questions, questions_file) = match raw.questions {
            Some(q) => {
                let p = dir.join(&q);
                let text = std::fs::read_to_string(&p).map_err(|e| {
                    err("questions", format!("cannot read the question set {}: {e}; expected a path relative to the profile, one question per line", p.display()))
                })?;
                let qs: Vec<String> = text
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .map(String::from)
                    .collect();
                if let Some(long) = qs.iter().find(|q| q.len() > 4096) {
                    return Err(err(
                        "questions",
                        format!(
                            "{}: a question is longer than ragd's 4096-byte limit: {:.60}...",
                            p.display(),
                            long
                        ),
                    ));
                }
                if qs.is_empty() && has_query {
                    return Err(err(
                        "questions",
                        format!(
                            "{} holds no questions; expected one question per line (# starts a comment)",
                            p.display()
                        ),
                    ));
                }
                (qs, Some(p))
            }
            None if has_query => {
                return Err(err("questions", "missing; a profile with a `query` scenario names its question set, e.g. questions = \"questions/ragd-docs.txt\"".into()));
            }
            None => (Vec::new(), None),
        };

        // Thresholds.
        let mut thresholds = Vec::new();
        for (i, t) in raw.thresholds.unwrap_or_default().iter().enumerate() {
            let th: Threshold = t
                .parse()
                .map_err(|m: String| err(&format!("thresholds[{i}]"), m))?;
            if let Some(scope) = &th.scope
                && !scenarios.iter().any(|s| &s.name == scope)
            {
                return Err(err(
                    &format!("thresholds[{i}]"),
                    format!(
                        "names transaction {scope:?}, which is not one of the scenarios ({})",
                        scenarios
                            .iter()
                            .map(|s| s.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
            thresholds.push(th);
        }
        let stop_on_breach = raw.stop_on_breach.unwrap_or(false);
        if stop_on_breach && thresholds.is_empty() {
            return Err(err(
                "stop_on_breach",
                "is true but the profile has no thresholds to breach".into(),
            ));
        }
        let setup_corpus = raw.setup.and_then(|s| s.corpus).map(|c| dir.join(c));

        Ok(Profile {
            path: path.to_path_buf(),
            name,
            description: raw.description.unwrap_or_default(),
            source: raw.source.unwrap_or_default(),
            model,
            collection,
            questions,
            questions_file,
            stages,
            scenarios,
            think_min,
            think_max,
            timeout,
            max_requests,
            max_in_flight,
            thresholds,
            stop_on_breach,
            setup_corpus,
            ingest_ids,
        })
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
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("0.5s").unwrap(), Duration::from_millis(500));
        for bad in ["", "2 minutes", "m", "-1", "5x", "1.2.3s"] {
            let e = parse_duration(bad).unwrap_err();
            assert!(e.contains("expected a duration"), "{bad}: {e}");
        }
        assert_eq!(fmt_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(fmt_duration(Duration::from_millis(250)), "250ms");
    }
}
