//! SLO thresholds: `"p95 < 300ms"`, `"error_rate < 0.1%"`, `"rps >= 500"`,
//! optionally scoped to one transaction (`"query: p95 < 2s"`) or one stage
//! of the profile (`"sustained load: rps >= 500"`, judged on that stage's
//! figures alone, as k6 scopes thresholds to tagged requests), and their
//! verdicts (PASS/FAIL with the margin to the limit).
//!
//! k6 users' spellings (`p(95)<300`, `avg<200`, `http_req_failed<0.01`,
//! `http_req_duration: p(99)<500`...) are accepted too: [`k6::translate`]
//! rewrites them into ours before they are parsed, so the grammar below is
//! the only one that is judged, and a rule keeps its text as written.
//!
//! A threshold is judged on the figures of the whole run (or of one stage,
//! for `stop_on_breach`); it never looks at raw records.
//!
//! Resource rules (`"cpu < 80%"`, `"memory < 80%"`, `"cpu.max < 95%"`,
//! `"memory.max < 90%"`) read the Docker figures of the containers loadgen
//! watched during the run (`[resources]` or `--watch`, `crate::resources`),
//! as percentages of each container's limit: the plain spelling judges the
//! worst container's mean over a stage, `.max` its worst sample. They are
//! judged per stage (every stage, or the one a rule names) when the run
//! ends; without watched containers they are reported as not judged.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What a threshold measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Latency percentile (from the intended start to the last byte), in ms.
    /// The value is the percentile times 10 (`p999` is 999, `p95` 950).
    Latency(u32),
    /// Largest latency, ms.
    Max,
    /// Mean latency, ms.
    Mean,
    /// Time-to-first-byte percentile of streamed answers, ms (per mille as above).
    Ttfb(u32),
    /// Failed requests over all requests, percent.
    ErrorRate,
    /// Successful requests over all requests, percent.
    SuccessRate,
    /// Completed requests per second over the run.
    Rps,
    /// CPU of the watched containers, % of each one's CPU limit: the worst
    /// container's mean over a stage.
    Cpu,
    /// CPU, % of the limit: the worst single sample of any container.
    CpuMax,
    /// Memory of the watched containers, % of each one's memory limit (as
    /// `docker stats`): the worst container's mean over a stage.
    Memory,
    /// Memory, % of the limit: the worst single sample.
    MemoryMax,
}

impl Metric {
    /// Whether the metric reads the watched containers' figures rather
    /// than the requests'.
    pub fn is_resource(self) -> bool {
        matches!(
            self,
            Metric::Cpu | Metric::CpuMax | Metric::Memory | Metric::MemoryMax
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = ">=")]
    Ge,
}

/// One pass/fail rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    /// Transaction or stage it applies to (a transaction first, when a
    /// name is both); `None` for all requests of the run.
    pub scope: Option<String>,
    pub metric: Metric,
    pub op: Op,
    /// Limit in the metric's unit (ms, percent, req/s).
    pub limit: f64,
    /// The rule as written.
    pub text: String,
}

const FORM: &str = "expected \"[TRANSACTION or STAGE:] METRIC OP VALUE\", where METRIC is p50|p90|p95|p99|p999|max|mean|ttfb_p50|ttfb_p95|ttfb_p99|error_rate|success_rate|rps|cpu|cpu.max|memory|memory.max, OP is <, <=, > or >=, and VALUE a latency (\"300ms\", \"2s\"), a percentage (\"0.1%\"; cpu and memory: of the container's limit, \"80%\") or a rate (\"500\", \"500/s\"); e.g. \"p95 < 300ms\", \"query: error_rate < 0.1%\", \"sustained load: rps >= 500\", \"cpu < 80%\"";

/// The resource figures, for errors about a misspelt one.
const RESOURCE_FORM: &str = "CPU and memory rules read \"cpu < 80%\" or \"memory < 80%\" (the worst container's mean over a stage, in % of its limit) and \"cpu.max < 95%\" or \"memory.max < 95%\" (its worst sample), optionally after a stage name (\"peak load: cpu < 80%\")";

fn parse_metric(m: &str) -> Option<Metric> {
    let pct = |s: &str| -> Option<u32> {
        match s {
            "50" => Some(500),
            "75" => Some(750),
            "90" => Some(900),
            "95" => Some(950),
            "99" => Some(990),
            "999" | "99.9" => Some(999),
            _ => None,
        }
    };
    match m {
        "max" => Some(Metric::Max),
        "mean" | "avg" => Some(Metric::Mean),
        "error_rate" | "errors" => Some(Metric::ErrorRate),
        "success_rate" | "success" => Some(Metric::SuccessRate),
        "rps" | "throughput" => Some(Metric::Rps),
        "cpu" | "cpu.mean" => Some(Metric::Cpu),
        "cpu.max" => Some(Metric::CpuMax),
        "memory" | "memory.mean" | "mem" | "mem.mean" => Some(Metric::Memory),
        "memory.max" | "mem.max" => Some(Metric::MemoryMax),
        _ => {
            if let Some(p) = m.strip_prefix("ttfb_p") {
                pct(p).map(Metric::Ttfb)
            } else if let Some(p) = m.strip_prefix('p') {
                pct(p).map(Metric::Latency)
            } else {
                None
            }
        }
    }
}

/// Why a threshold rule could not be read; each message ends with the
/// form rules take.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ThresholdError {
    #[error("{rule:?}: no comparison; {FORM}")]
    NoComparison { rule: String },
    #[error("{rule:?}: unknown metric {metric:?}; {FORM}")]
    UnknownMetric { rule: String, metric: String },
    /// A metric that looks like a CPU or memory figure but is not one of
    /// ours (`cpu_max`, `cpu.p95`, `max_memory`...).
    #[error("{rule:?}: unknown resource figure {metric:?}; {RESOURCE_FORM}; {FORM}")]
    UnknownResourceMetric { rule: String, metric: String },
    /// A CPU or memory limit without `%` (`cpu < 80`, `memory < 0.8`).
    #[error(
        "{rule:?}: {value:?} is not a percentage of the container's limit such as \"80%\"; {RESOURCE_FORM}; {FORM}"
    )]
    ResourceNotAPercentage { rule: String, value: String },
    #[error("{rule:?}: {value:?} is not a latency such as \"300ms\" or \"2s\"; {FORM}")]
    NotALatency { rule: String, value: String },
    #[error("{rule:?}: {value:?} is not a percentage such as \"0.1%\"; {FORM}")]
    NotAPercentage { rule: String, value: String },
    #[error("{rule:?}: a percentage lies between 0% and 100%; {FORM}")]
    PercentageOutOfRange { rule: String },
    #[error("{rule:?}: {value:?} is not a request rate such as \"500\" or \"500/s\"; {FORM}")]
    NotARate { rule: String, value: String },
    /// The transaction or stage before `:` is empty.
    #[error("{rule:?}: the transaction or stage before ':' is empty; {FORM}")]
    BadScope { rule: String },
    /// A bare number where our spelling needs a latency with its unit
    /// (`p95 < 300` would be read as 300 seconds by some tools, 300 ms by k6).
    #[error(
        "{rule:?}: {value:?} has no unit; write \"{value}ms\" or \"{value}s\" (k6's spellings p(95)<300, avg<200 and max<500 read a bare number as milliseconds); {FORM}"
    )]
    LatencyWithoutUnit { rule: String, value: String },
    /// A k6 spelling with no counterpart here.
    #[error("{rule:?}: k6's {what} has no counterpart in loadgen; {K6_FORM}")]
    K6Unsupported { rule: String, what: String },
    /// A k6 rate (`http_req_failed`, `checks`) outside 0..1.
    #[error("{rule:?}: k6's {metric} is a rate between 0 and 1, got {value:?}; {K6_FORM}")]
    K6Rate {
        rule: String,
        metric: String,
        value: String,
    },
}

const K6_FORM: &str = "k6 spellings accepted: [METRIC:] AGG OP NUMBER with AGG p(50)|p(90)|p(95)|p(99)|p(99.9)|avg|med|max (milliseconds), http_req_failed<0.01 or http_req_failed: rate<0.01, checks: rate>0.99, http_reqs: rate>100, http_req_waiting: p(95)<200, where METRIC is http_req_duration, http_req_waiting, http_req_failed, http_reqs or checks (or a transaction name)";

impl FromStr for Threshold {
    type Err = ThresholdError;

    /// Our spelling, or k6's translated into it first; either way `text`
    /// keeps the rule as written and errors quote it.
    fn from_str(s: &str) -> Result<Self, ThresholdError> {
        let text = s.trim().to_string();
        let mut t = match k6::translate(&text) {
            Some(ours) => parse_ours(s, &ours?)?,
            None => parse_ours(s, &text)?,
        };
        t.text = text;
        Ok(t)
    }
}

/// Parse `rule` in our spelling; `written` is what errors quote.
fn parse_ours(written: &str, rule: &str) -> Result<Threshold, ThresholdError> {
    let (scope, rule) = match rule.split_once(':') {
        Some((scope, rule)) => (Some(scope.trim().to_string()), rule.trim()),
        None => (None, rule.trim()),
    };
    let (metric_s, op, value_s) =
        split_comparison(rule).ok_or_else(|| ThresholdError::NoComparison {
            rule: written.into(),
        })?;
    let metric = parse_metric(metric_s).ok_or_else(|| {
        let m = metric_s.to_ascii_lowercase();
        if ["cpu", "mem", "ram"].iter().any(|r| m.contains(r)) {
            ThresholdError::UnknownResourceMetric {
                rule: written.into(),
                metric: metric_s.into(),
            }
        } else {
            ThresholdError::UnknownMetric {
                rule: written.into(),
                metric: metric_s.into(),
            }
        }
    })?;
    let limit = parse_limit(written, metric, value_s)?;
    if let Some(sc) = &scope
        && sc.is_empty()
    {
        return Err(ThresholdError::BadScope {
            rule: written.into(),
        });
    }
    Ok(Threshold {
        scope,
        metric,
        op,
        limit,
        text: rule.to_string(),
    })
}

/// `METRIC OP VALUE` split at its first comparison (the longer of `<=`
/// and `<` when both start there), trimmed.
fn split_comparison(rule: &str) -> Option<(&str, Op, &str)> {
    let ops = ["<=", ">=", "<", ">"];
    let (pos, op_str) = ops
        .iter()
        .filter_map(|o| rule.find(o).map(|p| (p, *o)))
        .min_by_key(|(p, o)| (*p, std::cmp::Reverse(o.len())))?;
    let op = match op_str {
        "<" => Op::Lt,
        "<=" => Op::Le,
        ">" => Op::Gt,
        _ => Op::Ge,
    };
    Some((rule[..pos].trim(), op, rule[pos + op_str.len()..].trim()))
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        }
    }
}

/// k6's threshold spellings, rewritten into ours.
///
/// k6 writes `{ http_req_duration: ['p(95)<300'], http_req_failed:
/// ['rate<0.01'] }`: a metric, then an aggregation, with latencies in bare
/// milliseconds and failure rates as fractions. In a profile each rule is
/// one string, so the metric comes first with a colon, or is left out for
/// latencies: `p(95)<300`, `http_req_duration: avg<200`,
/// `http_req_failed<0.01`, `checks: rate>0.99`. A prefix that is not a k6
/// metric is one of our transaction names (`query: p(95)<300`).
///
/// [`translate`] answers `None` for a rule in our spelling, so our parser
/// reads it unchanged. To accept another k6 spelling, add a row to
/// [`translate_agg`]; the grammar it translates into stays the only one.
pub mod k6 {
    use super::{ThresholdError, split_comparison};

    /// k6's built-in metrics that have a counterpart here.
    const METRICS: [&str; 5] = [
        "http_req_duration",
        "http_req_waiting",
        "http_req_failed",
        "http_reqs",
        "checks",
    ];

    /// Our spelling of `rule` when it is written in k6's, `None` when it
    /// is not k6's (then it is read as ours).
    pub fn translate(rule: &str) -> Option<Result<String, ThresholdError>> {
        let unsupported = |what: String| {
            Some(Err(ThresholdError::K6Unsupported {
                rule: rule.into(),
                what,
            }))
        };
        if let Some(open) = rule.find('{')
            && METRICS.contains(&rule[..open].trim())
        {
            let tagged = rule[..rule.find('}').map_or(rule.len(), |c| c + 1)].trim();
            return unsupported(format!(
                "tag filter {tagged} (to judge one transaction, write \"NAME: p(95)<300\")"
            ));
        }
        let (prefix, expr) = match rule.split_once(':') {
            Some((p, e)) => (Some(p.trim()), e.trim()),
            None => (None, rule.trim()),
        };
        let (lhs, op, value) = split_comparison(expr)?;
        // `http_req_failed<0.01`: the metric stands for its rate.
        let (metric, scope, agg) = match prefix {
            Some(p) if METRICS.contains(&p) => (Some(p), None, lhs),
            _ if METRICS.contains(&lhs) => (Some(lhs), prefix, "rate"),
            _ => (None, prefix, lhs),
        };
        let k6_agg = agg.starts_with("p(") || matches!(agg, "avg" | "med" | "min" | "max" | "rate");
        if metric.is_none() && !k6_agg {
            return None;
        }
        let ours = match translate_agg(rule, metric.unwrap_or("http_req_duration"), agg, value) {
            Ok(Some((metric, value))) => format!("{metric} {} {value}", op.as_str()),
            Ok(None) => {
                return unsupported(format!(
                    "{agg} of {}",
                    metric.unwrap_or("http_req_duration")
                ));
            }
            Err(e) => return Some(Err(e)),
        };
        Some(Ok(match scope {
            Some(s) => format!("{s}: {ours}"),
            None => ours,
        }))
    }

    /// Our metric and value for k6's `metric` aggregated by `agg` against
    /// `value`; `Ok(None)` when we have no such figure.
    fn translate_agg(
        rule: &str,
        metric: &str,
        agg: &str,
        value: &str,
    ) -> Result<Option<(String, String)>, ThresholdError> {
        let ms = || latency_ms(value);
        let rate_pct = |metric: &str| -> Result<String, ThresholdError> {
            match value.parse::<f64>() {
                Ok(v) if (0.0..=1.0).contains(&v) => {
                    Ok(format!("{}%", (v * 100.0 * 1e9).round() / 1e9))
                }
                _ => Err(ThresholdError::K6Rate {
                    rule: rule.into(),
                    metric: metric.into(),
                    value: value.into(),
                }),
            }
        };
        Ok(match (metric, agg) {
            ("http_req_duration", "avg") => Some(("mean".into(), ms())),
            ("http_req_duration", "med") => Some(("p50".into(), ms())),
            ("http_req_duration", "max") => Some(("max".into(), ms())),
            ("http_req_duration", p) => percentile(p).map(|p| (format!("p{p}"), ms())),
            ("http_req_waiting", p) => percentile(p)
                .filter(|p| ["50", "95", "99"].contains(p))
                .map(|p| (format!("ttfb_p{p}"), ms())),
            ("http_req_failed", "rate") => Some(("error_rate".into(), rate_pct(metric)?)),
            ("checks", "rate") => Some(("success_rate".into(), rate_pct(metric)?)),
            ("http_reqs", "rate") => Some(("rps".into(), value.to_string())),
            _ => None,
        })
    }

    /// `p(95)` → `95`, `p(99.9)` → `999`; `None` for percentiles we do not keep.
    fn percentile(agg: &str) -> Option<&'static str> {
        let n = agg.strip_prefix("p(")?.strip_suffix(')')?.trim();
        Some(match n {
            "50" => "50",
            "75" => "75",
            "90" => "90",
            "95" => "95",
            "99" => "99",
            "99.9" => "999",
            _ => return None,
        })
    }

    /// k6 latencies are bare milliseconds; a value with a unit is kept.
    fn latency_ms(value: &str) -> String {
        if value.parse::<f64>().is_ok() {
            format!("{value}ms")
        } else {
            value.to_string()
        }
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn translations() {
            for (k6, ours) in [
                ("p(95)<300", "p95 < 300ms"),
                ("p(99.9) <= 1500", "p999 <= 1500ms"),
                ("avg<200", "mean < 200ms"),
                ("med<150", "p50 < 150ms"),
                ("max<2s", "max < 2s"),
                ("http_req_duration: p(90)<400", "p90 < 400ms"),
                ("http_req_failed<0.01", "error_rate < 1%"),
                ("http_req_failed: rate<0.001", "error_rate < 0.1%"),
                ("checks: rate>0.99", "success_rate > 99%"),
                ("http_reqs: rate>=500", "rps >= 500"),
                ("http_req_waiting: p(95)<200", "ttfb_p95 < 200ms"),
                ("query: p(95)<300", "query: p95 < 300ms"),
                ("query: http_req_failed<0.05", "query: error_rate < 5%"),
            ] {
                assert_eq!(super::translate(k6).unwrap().unwrap(), ours, "{k6}");
            }
            for ours in [
                "p95 < 300ms",
                "query: error_rate < 0.1%",
                "rps >= 5",
                "mean < 5ms",
            ] {
                assert!(super::translate(ours).is_none(), "{ours}");
            }
            for bad in [
                "min<10",
                "p(42)<10",
                "http_req_failed<5",
                "http_reqs: count>100",
                "http_req_duration{name:query}: p(95)<300",
                "http_req_waiting: avg<10",
            ] {
                assert!(super::translate(bad).unwrap().is_err(), "{bad}");
            }
        }
    }
}

/// `N%` with N in [0, 100]; `not` is the error when it is no percentage.
fn percentage(
    rule: &str,
    value: &str,
    not: impl FnOnce() -> ThresholdError,
) -> Result<f64, ThresholdError> {
    let v = value
        .strip_suffix('%')
        .and_then(|v| v.trim().parse::<f64>().ok())
        .ok_or_else(not)?;
    if !(0.0..=100.0).contains(&v) {
        return Err(ThresholdError::PercentageOutOfRange { rule: rule.into() });
    }
    Ok(v)
}

/// The limit `value` of rule `rule` in `metric`'s unit: ms, percent or
/// req/s.
fn parse_limit(rule: &str, metric: Metric, value: &str) -> Result<f64, ThresholdError> {
    match metric {
        Metric::Latency(_) | Metric::Max | Metric::Mean | Metric::Ttfb(_) => {
            if value.parse::<f64>().is_ok() {
                return Err(ThresholdError::LatencyWithoutUnit {
                    rule: rule.into(),
                    value: value.into(),
                });
            }
            let d =
                crate::profile::parse_duration(value).map_err(|_| ThresholdError::NotALatency {
                    rule: rule.into(),
                    value: value.into(),
                })?;
            Ok(d.as_secs_f64() * 1000.0)
        }
        Metric::ErrorRate | Metric::SuccessRate => {
            percentage(rule, value, || ThresholdError::NotAPercentage {
                rule: rule.into(),
                value: value.into(),
            })
        }
        Metric::Cpu | Metric::CpuMax | Metric::Memory | Metric::MemoryMax => {
            percentage(rule, value, || ThresholdError::ResourceNotAPercentage {
                rule: rule.into(),
                value: value.into(),
            })
        }
        Metric::Rps => value
            .trim_end_matches("/s")
            .trim_end_matches("rps")
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| ThresholdError::NotARate {
                rule: rule.into(),
                value: value.into(),
            }),
    }
}

impl Threshold {
    /// Unit the metric is shown in.
    pub fn unit(&self) -> &'static str {
        match self.metric {
            Metric::ErrorRate | Metric::SuccessRate => "%",
            Metric::Cpu | Metric::CpuMax | Metric::Memory | Metric::MemoryMax => "%",
            Metric::Rps => " req/s",
            _ => " ms",
        }
    }

    /// Judge an observed value (`None` when there is no data, which fails).
    pub fn judge(&self, observed: Option<f64>) -> Verdict {
        let Some(v) = observed else {
            return Verdict {
                rule: self.text.clone(),
                observed: None,
                limit: self.limit,
                unit: self.unit().trim().to_string(),
                pass: false,
                margin: None,
                note: "no data: no request of this kind completed".into(),
                skipped: false,
            };
        };
        let pass = match self.op {
            Op::Lt => v < self.limit,
            Op::Le => v <= self.limit,
            Op::Gt => v > self.limit,
            Op::Ge => v >= self.limit,
        };
        // Positive margin: room left before the limit; negative: how far over.
        let margin = match self.op {
            Op::Lt | Op::Le => self.limit - v,
            Op::Gt | Op::Ge => v - self.limit,
        };
        Verdict {
            rule: self.text.clone(),
            observed: Some(v),
            limit: self.limit,
            unit: self.unit().trim().to_string(),
            pass,
            margin: Some(margin),
            note: String::new(),
            skipped: false,
        }
    }

    /// The rule reported as not judged, for the reason `why`: it neither
    /// passes nor fails the run (`pass` stays true so `passed` ignores it).
    pub fn not_judged(&self, why: &str) -> Verdict {
        Verdict {
            rule: self.text.clone(),
            observed: None,
            limit: self.limit,
            unit: self.unit().trim().to_string(),
            pass: true,
            margin: None,
            note: format!("not judged: {why}"),
            skipped: true,
        }
    }
}

/// A judged threshold, as it appears in reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub rule: String,
    pub observed: Option<f64>,
    pub limit: f64,
    /// `ms`, `%` or `req/s`.
    pub unit: String,
    pub pass: bool,
    /// Observed distance to the limit in the metric's unit: positive is
    /// headroom, negative is by how much the rule is broken.
    pub margin: Option<f64>,
    /// Why there is no figure, or (resource rules) which container and
    /// stage the figure comes from.
    pub note: String,
    /// Not judged (a resource rule with no container watched): reported
    /// with a warning, never fails the run. Absent from JSON when false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub skipped: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tag = if self.skipped {
            "SKIP"
        } else if self.pass {
            "PASS"
        } else {
            "FAIL"
        };
        match (self.observed, self.margin) {
            (Some(o), Some(m)) => {
                let rel = if self.limit != 0.0 {
                    format!(" ({:+.1}%)", m / self.limit * 100.0)
                } else {
                    String::new()
                };
                write!(
                    f,
                    "{tag}  {:<28} observed {} {}  margin {} {}{rel}",
                    self.rule,
                    fmt_num(o),
                    self.unit,
                    signed(m),
                    self.unit
                )?;
                if !self.note.is_empty() {
                    write!(f, "  ({})", self.note)?;
                }
                Ok(())
            }
            _ => write!(f, "{tag}  {:<28} {}", self.rule, self.note),
        }
    }
}

/// A number with its sign always shown (`+1.20`, `-3`).
pub fn signed(v: f64) -> String {
    if v > 0.0 {
        format!("+{}", fmt_num(v))
    } else {
        fmt_num(v)
    }
}

/// Three significant-ish digits without noise: 1234, 123.4, 12.34, 0.123.
pub fn fmt_num(v: f64) -> String {
    let a = v.abs();
    if (v == v.trunc() && a < 1e15) || a >= 1000.0 {
        format!("{v:.0}")
    } else if a >= 100.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_guides_rules() {
        let t: Threshold = "p95 < 300ms".parse().unwrap();
        assert_eq!(t.metric, Metric::Latency(950));
        assert_eq!(t.op, Op::Lt);
        assert_eq!(t.limit, 300.0);
        let t: Threshold = "success_rate > 95%".parse().unwrap();
        assert_eq!(
            (t.metric, t.op, t.limit),
            (Metric::SuccessRate, Op::Gt, 95.0)
        );
        let t: Threshold = "rps >= 500".parse().unwrap();
        assert_eq!((t.metric, t.op, t.limit), (Metric::Rps, Op::Ge, 500.0));
        let t: Threshold = "query: p99 <= 2s".parse().unwrap();
        assert_eq!(t.scope.as_deref(), Some("query"));
        assert_eq!(
            (t.metric, t.op, t.limit),
            (Metric::Latency(990), Op::Le, 2000.0)
        );
        let t: Threshold = "error_rate < 0.1%".parse().unwrap();
        assert_eq!((t.metric, t.limit), (Metric::ErrorRate, 0.1));
    }

    #[test]
    fn refuses_bad_rules_with_the_form() {
        for bad in [
            "p95 300ms",
            "p42 < 1s",
            "p95 < fast",
            "error_rate < 0.1",
            "rps > lots",
            ": p95 < 1s",
        ] {
            let e = bad.parse::<Threshold>().unwrap_err().to_string();
            assert!(
                e.contains("expected \"[TRANSACTION or STAGE:] METRIC OP VALUE\""),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn k6_spellings_parse_into_our_rules_and_keep_their_text() {
        let t: Threshold = "p(95)<300".parse().unwrap();
        assert_eq!(
            (t.scope.as_deref(), t.metric, t.op, t.limit),
            (None, Metric::Latency(950), Op::Lt, 300.0)
        );
        assert_eq!(t.text, "p(95)<300");
        let t: Threshold = "http_req_failed<0.01".parse().unwrap();
        assert_eq!((t.metric, t.limit), (Metric::ErrorRate, 1.0));
        let t: Threshold = "avg<200".parse().unwrap();
        assert_eq!((t.metric, t.limit), (Metric::Mean, 200.0));
        let t: Threshold = "query: p(99)<1500".parse().unwrap();
        assert_eq!(t.scope.as_deref(), Some("query"));
        assert_eq!((t.metric, t.limit), (Metric::Latency(990), 1500.0));
        // The same rule in both spellings judges the same.
        let a: Threshold = "http_req_duration: p(95)<300".parse().unwrap();
        let b: Threshold = "p95 < 300ms".parse().unwrap();
        assert_eq!((a.metric, a.op, a.limit), (b.metric, b.op, b.limit));
    }

    #[test]
    fn resource_rules_parse_with_their_spellings() {
        for (rule, metric, limit) in [
            ("cpu < 80%", Metric::Cpu, 80.0),
            ("cpu.mean <= 75.5%", Metric::Cpu, 75.5),
            ("cpu.max < 95%", Metric::CpuMax, 95.0),
            ("memory < 80%", Metric::Memory, 80.0),
            ("mem < 80%", Metric::Memory, 80.0),
            ("memory.max < 90%", Metric::MemoryMax, 90.0),
        ] {
            let t: Threshold = rule.parse().unwrap();
            assert_eq!(
                (t.metric, t.limit, t.scope.as_deref()),
                (metric, limit, None)
            );
            assert!(t.metric.is_resource());
            assert_eq!(t.unit(), "%");
            assert_eq!(t.text, rule);
        }
        let t: Threshold = "peak load: cpu < 80%".parse().unwrap();
        assert_eq!(t.scope.as_deref(), Some("peak load"));
        assert!(!Metric::Rps.is_resource());
    }

    #[test]
    fn misspelt_resource_rules_say_how_to_write_them() {
        for (bad, kind) in [
            ("cpu < 80", "percentage"),
            ("memory < 0.8", "percentage"),
            ("cpu < 120%", "between 0% and 100%"),
            ("cpu_max < 90%", "resource figure"),
            ("cpu.p95 < 90%", "resource figure"),
            ("max_memory < 90%", "resource figure"),
            ("ram < 50%", "resource figure"),
        ] {
            let e = bad.parse::<Threshold>().unwrap_err().to_string();
            assert!(e.contains(kind), "{bad}: {e}");
            assert!(
                e.contains("expected \"[TRANSACTION or STAGE:] METRIC OP VALUE\""),
                "{bad}: {e}"
            );
            if kind != "between 0% and 100%" {
                assert!(e.contains("\"cpu.max < 95%\""), "{bad}: {e}");
            }
        }
    }

    #[test]
    fn a_rule_not_judged_passes_and_says_why() {
        let t: Threshold = "memory < 80%".parse().unwrap();
        let v = t.not_judged("no containers watched");
        assert!(v.pass && v.skipped && v.observed.is_none());
        assert_eq!(
            v.to_string(),
            format!(
                "SKIP  {:<28} not judged: no containers watched",
                "memory < 80%"
            )
        );
        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(json["skipped"], true);
        // Judged verdicts keep their JSON as before (no `skipped` key).
        let judged = serde_json::to_value(t.judge(Some(12.0))).unwrap();
        assert!(judged.get("skipped").is_none(), "{judged}");
        let back: Verdict = serde_json::from_value(judged).unwrap();
        assert!(!back.skipped);
    }

    #[test]
    fn a_bare_latency_in_our_spelling_needs_a_unit() {
        let e = "p95 < 300".parse::<Threshold>().unwrap_err();
        assert!(
            matches!(e, ThresholdError::LatencyWithoutUnit { .. }),
            "{e}"
        );
        assert!(e.to_string().contains("\"300ms\""), "{e}");
    }

    #[test]
    fn verdicts_on_both_sides_with_margins() {
        let t: Threshold = "p95 < 300ms".parse().unwrap();
        let v = t.judge(Some(250.0));
        assert!(v.pass);
        assert_eq!(v.margin, Some(50.0));
        let v = t.judge(Some(300.0));
        assert!(!v.pass, "strictly below");
        let v = t.judge(Some(450.0));
        assert!(!v.pass);
        assert_eq!(v.margin, Some(-150.0));
        let t: Threshold = "rps >= 500".parse().unwrap();
        assert!(t.judge(Some(500.0)).pass);
        let v = t.judge(Some(420.0));
        assert!(!v.pass);
        assert_eq!(v.margin, Some(-80.0));
        assert!(!t.judge(None).pass, "no data fails");
        assert!(v.to_string().starts_with("FAIL"));
    }
}
