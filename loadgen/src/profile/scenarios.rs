//! `[[scenarios]]`: the transaction mix. Each scenario has a kind, a
//! weight and a unique name for reports; `query` scenarios also take
//! `stream`, `top_k` and `unique`.

use super::error::{Invalid, invalid};
use super::raw::RawScenario;
use super::{Kind, Scenario};

/// Every scenario, checked; at least one, and some weight among them.
pub(super) fn scenarios(raw: Vec<RawScenario>) -> Result<Vec<Scenario>, Invalid> {
    if raw.is_empty() {
        return Err(invalid(
            "scenarios",
            "missing; expected at least one [[scenarios]] table, e.g. kind = \"query\", weight = 50",
        ));
    }
    let mut scenarios: Vec<Scenario> = Vec::new();
    for (i, s) in raw.into_iter().enumerate() {
        let sc = scenario(i, s, &scenarios)?;
        scenarios.push(sc);
    }
    if scenarios.iter().all(|s| s.weight == 0) {
        return Err(invalid(
            "scenarios",
            "every weight is 0; expected at least one scenario with weight above 0",
        ));
    }
    Ok(scenarios)
}

/// `scenarios[i]`, whose name must differ from the `earlier` ones'.
fn scenario(i: usize, s: RawScenario, earlier: &[Scenario]) -> Result<Scenario, Invalid> {
    let key = |f: &str| format!("scenarios[{i}].{f}");
    let kind = kind(key("kind"), s.kind.as_deref())?;
    let weight = weight(key("weight"), s.weight)?;
    let top_k = top_k(key("top_k"), s.top_k)?;
    if kind != Kind::Query && (s.stream.is_some() || s.top_k.is_some() || s.unique.is_some()) {
        return Err(invalid(
            key(if s.stream.is_some() {
                "stream"
            } else if s.top_k.is_some() {
                "top_k"
            } else {
                "unique"
            }),
            "only `query` scenarios take `stream`, `top_k` and `unique`",
        ));
    }
    let name = name(key("name"), s.name, kind, earlier)?;
    Ok(Scenario {
        name,
        kind,
        weight,
        stream: s.stream.unwrap_or(false),
        top_k,
        unique: s.unique.unwrap_or(false),
    })
}

fn kind(key: String, v: Option<&str>) -> Result<Kind, Invalid> {
    match v {
        Some("query") => Ok(Kind::Query),
        Some("ingest") => Ok(Kind::Ingest),
        Some("health") => Ok(Kind::Health),
        Some("status") => Ok(Kind::Status),
        Some(other) => Err(invalid(
            key,
            format!("expected one of \"query\", \"ingest\", \"health\", \"status\", got {other:?}"),
        )),
        None => Err(invalid(
            key,
            "missing; expected one of \"query\", \"ingest\", \"health\", \"status\"",
        )),
    }
}

/// A relative share, 0 to 1000000; 1 by default.
fn weight(key: String, v: Option<i64>) -> Result<u32, Invalid> {
    match v {
        None => Ok(1),
        Some(w) if (0..=1_000_000).contains(&w) => Ok(w as u32),
        Some(w) => Err(invalid(
            key,
            format!("expected a whole number from 0 to 1000000, got {w}"),
        )),
    }
}

/// Passages to retrieve, within ragd's bounds; ragd's default when absent.
fn top_k(key: String, v: Option<i64>) -> Result<u32, Invalid> {
    match v {
        None => Ok(ragd_api::DEFAULT_TOP_K),
        Some(t) if t >= 1 && t <= ragd_api::MAX_TOP_K as i64 => Ok(t as u32),
        Some(t) => Err(invalid(
            key,
            format!("expected 1 to {}, got {t}", ragd_api::MAX_TOP_K),
        )),
    }
}

/// The transaction name in reports (the kind by default): short, no
/// spaces or `:` (thresholds use it as a prefix), not `all`, unique.
fn name(
    key: String,
    v: Option<String>,
    kind: Kind,
    earlier: &[Scenario],
) -> Result<String, Invalid> {
    let name = v.unwrap_or_else(|| match kind {
        Kind::Query => "query".into(),
        Kind::Ingest => "ingest".into(),
        Kind::Health => "health".into(),
        Kind::Status => "status".into(),
    });
    if name.is_empty() || name == "all" || name.contains(char::is_whitespace) || name.contains(':')
    {
        return Err(invalid(
            key,
            format!("expected a short name without spaces or ':' (and not \"all\"), got {name:?}"),
        ));
    }
    if earlier.iter().any(|o| o.name == name) {
        return Err(invalid(
            key,
            format!("{name:?} is used by an earlier scenario; names must be unique"),
        ));
    }
    Ok(name)
}
