//! From the file as written ([`RawProfile`]) to a typed [`Profile`]: one
//! small function per top-level key, each refusing a bad value with the
//! key it names and the form it expects. The two tables of tables have
//! files of their own (`stages.rs`, `scenarios.rs`).
//!
//! Keys are checked in the order of [`Profile::from_raw`], so a profile
//! with several mistakes is told about the same one first every time.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::threshold::Threshold;

use super::error::{Invalid, invalid};
use super::raw::{RawProfile, RawResources, RawThink};
use super::{Kind, Model, Profile, Scenario, fmt_duration, parse_duration, scenarios, stages};
use crate::resources::Watch;

impl Profile {
    /// Check every key of `raw` and build the profile; `path` names the
    /// default profile name and anchors relative paths.
    pub(super) fn from_raw(path: &Path, raw: RawProfile) -> Result<Profile, Invalid> {
        let dir = path.parent().unwrap_or(Path::new("."));
        let name = raw
            .name
            .or_else(|| path.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "profile".into());
        let model = model(raw.model.as_deref())?;
        let collection = collection(raw.collection)?;
        let timeout = timeout(raw.timeout)?;
        let (think_min, think_max) = think_time(raw.think_time)?;
        let max_requests = at_least_one("max_requests", raw.max_requests, 10_000_000)?;
        let max_in_flight = at_least_one("max_in_flight", raw.max_in_flight, 1000)? as usize;
        let ingest_ids = at_least_one("ingest_ids", raw.ingest_ids, 100)?;
        let stages = stages::stages(model, raw.stages.unwrap_or_default())?;
        let scenarios = scenarios::scenarios(raw.scenarios.unwrap_or_default())?;
        let (questions, questions_file) = questions(dir, raw.questions, &scenarios)?;
        let thresholds = thresholds(raw.thresholds.unwrap_or_default(), &scenarios, &stages)?;
        let stop_on_breach = stop_on_breach(raw.stop_on_breach, &thresholds)?;
        let setup_corpus = raw.setup.and_then(|s| s.corpus).map(|c| dir.join(c));
        let resources = resources(raw.resources)?;
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
            resources,
        })
    }
}

/// `model`: required, `closed` or `open`.
fn model(v: Option<&str>) -> Result<Model, Invalid> {
    match v {
        Some("closed") => Ok(Model::Closed),
        Some("open") => Ok(Model::Open),
        Some(other) => Err(invalid(
            "model",
            format!(
                "expected \"closed\" (concurrent users) or \"open\" (arrival rate), got {other:?}"
            ),
        )),
        None => Err(invalid(
            "model",
            "missing; expected model = \"closed\" (concurrent users) or \"open\" (arrival rate)",
        )),
    }
}

/// `collection`: 1-64 characters, `docs` by default.
fn collection(v: Option<String>) -> Result<String, Invalid> {
    let collection = v.unwrap_or_else(|| "docs".into());
    if collection.is_empty() || collection.len() > 64 {
        return Err(invalid(
            "collection",
            "expected a collection name of 1-64 characters",
        ));
    }
    Ok(collection)
}

/// An optional duration under `key`, `default` when absent.
fn duration(key: &str, v: Option<String>, default: Duration) -> Result<Duration, Invalid> {
    match v {
        None => Ok(default),
        Some(s) => parse_duration(&s).map_err(|e| invalid(key, e.to_string())),
    }
}

/// `timeout`: above zero, 30 s by default.
fn timeout(v: Option<String>) -> Result<Duration, Invalid> {
    let timeout = duration("timeout", v, Duration::from_secs(30))?;
    if timeout.is_zero() {
        return Err(invalid(
            "timeout",
            "expected a duration above zero, e.g. \"30s\"",
        ));
    }
    Ok(timeout)
}

/// `[think_time]`: `min` (0 by default) and `max` (`min` by default), with
/// `max` not below `min`; no pause without the table.
fn think_time(v: Option<RawThink>) -> Result<(Duration, Duration), Invalid> {
    let Some(t) = v else {
        return Ok((Duration::ZERO, Duration::ZERO));
    };
    let min = duration("think_time.min", t.min, Duration::ZERO)?;
    let max = duration("think_time.max", t.max, min)?;
    if max < min {
        return Err(invalid(
            "think_time.max",
            format!(
                "expected a duration at least think_time.min ({}), got {}",
                fmt_duration(min),
                fmt_duration(max)
            ),
        ));
    }
    Ok((min, max))
}

/// A whole number of at least 1 under `key`, `default` when absent.
fn at_least_one(key: &str, v: Option<i64>, default: i64) -> Result<u64, Invalid> {
    let v = v.unwrap_or(default);
    if v < 1 {
        return Err(invalid(
            key,
            format!("expected a whole number of at least 1, got {v}"),
        ));
    }
    Ok(v as u64)
}

/// `questions`: the question set, a file relative to the profile with one
/// question per line (`#` starts a comment). Required when a `query`
/// scenario has weight; its file is returned for the report.
fn questions(
    dir: &Path,
    v: Option<String>,
    scenarios: &[Scenario],
) -> Result<(Vec<String>, Option<PathBuf>), Invalid> {
    let has_query = scenarios
        .iter()
        .any(|s| s.kind == Kind::Query && s.weight > 0);
    let Some(q) = v else {
        if has_query {
            return Err(invalid(
                "questions",
                "missing; a profile with a `query` scenario names its question set, e.g. questions = \"questions/ragd-docs.txt\"",
            ));
        }
        return Ok((Vec::new(), None));
    };
    let p = dir.join(&q);
    let text = std::fs::read_to_string(&p).map_err(|e| {
        invalid("questions", format!("cannot read the question set {}: {e}; expected a path relative to the profile, one question per line", p.display()))
    })?;
    let qs: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect();
    if let Some(long) = qs.iter().find(|q| q.len() > 4096) {
        return Err(invalid(
            "questions",
            format!(
                "{}: a question is longer than ragd's 4096-byte limit: {:.60}...",
                p.display(),
                long
            ),
        ));
    }
    if qs.is_empty() && has_query {
        return Err(invalid(
            "questions",
            format!(
                "{} holds no questions; expected one question per line (# starts a comment)",
                p.display()
            ),
        ));
    }
    Ok((qs, Some(p)))
}

/// `thresholds`: rules that parse, each naming (if any) one of the
/// scenarios or one of the stages.
fn thresholds(
    v: Vec<String>,
    scenarios: &[Scenario],
    stages: &[super::Stage],
) -> Result<Vec<Threshold>, Invalid> {
    let mut thresholds = Vec::new();
    for (i, t) in v.iter().enumerate() {
        let key = format!("thresholds[{i}]");
        let th: Threshold = t.parse().map_err(|e| invalid(&key, format!("{e}")))?;
        if let Some(scope) = &th.scope
            && th.metric.is_resource()
            && !stages.iter().any(|s| &s.name == scope)
        {
            return Err(invalid(
                key,
                format!(
                    "names {scope:?}, but CPU and memory rules are judged per stage, not per transaction; name a stage ({}) or none",
                    stages
                        .iter()
                        .map(|s| s.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        if let Some(scope) = &th.scope
            && !scenarios.iter().any(|s| &s.name == scope)
            && !stages.iter().any(|s| &s.name == scope)
        {
            let names = |it: &mut dyn Iterator<Item = &str>| it.collect::<Vec<_>>().join(", ");
            return Err(invalid(
                key,
                format!(
                    "names {scope:?}, which is neither a scenario ({}) nor a stage ({})",
                    names(&mut scenarios.iter().map(|s| s.name.as_str())),
                    names(&mut stages.iter().map(|s| s.name.as_str())),
                ),
            ));
        }
        thresholds.push(th);
    }
    Ok(thresholds)
}

/// `[resources]`: `project` (required in the table) and optionally
/// `service`, compose names as `--watch PROJECT/SERVICE` takes them.
fn resources(v: Option<RawResources>) -> Result<Option<Watch>, Invalid> {
    let Some(r) = v else {
        return Ok(None);
    };
    let Some(project) = r.project else {
        return Err(invalid(
            "resources.project",
            "missing; expected the compose project whose containers are sampled, e.g. project = \"ragd\" (docker compose -p ragd)",
        ));
    };
    let text = match &r.service {
        Some(s) => format!("{project}/{s}"),
        None => project.clone(),
    };
    text.parse::<Watch>().map(Some).map_err(|_| {
        let key = if r.service.as_deref().is_some_and(|s| s.is_empty() || s.contains(['/', ' ', '='])) {
            "resources.service"
        } else {
            "resources.project"
        };
        invalid(
            key,
            "expected a compose name (no spaces, '/' or '='), e.g. project = \"ragd\" and service = \"ragd\"",
        )
    })
}

/// `stop_on_breach`: only with thresholds to breach.
fn stop_on_breach(v: Option<bool>, thresholds: &[Threshold]) -> Result<bool, Invalid> {
    let stop_on_breach = v.unwrap_or(false);
    if stop_on_breach && thresholds.is_empty() {
        return Err(invalid(
            "stop_on_breach",
            "is true but the profile has no thresholds to breach",
        ));
    }
    Ok(stop_on_breach)
}
