//! SLO thresholds: `"p95 < 300ms"`, `"error_rate < 0.1%"`, `"rps >= 500"`,
//! optionally scoped to one transaction (`"query: p95 < 2s"`), and their
//! verdicts (PASS/FAIL with the margin to the limit).
//!
//! A threshold is judged on the figures of the whole run (or of one stage,
//! for `stop_on_breach`); it never looks at raw records.

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
    /// Transaction it applies to; `None` for all requests.
    pub scope: Option<String>,
    pub metric: Metric,
    pub op: Op,
    /// Limit in the metric's unit (ms, percent, req/s).
    pub limit: f64,
    /// The rule as written.
    pub text: String,
}

const FORM: &str = "expected \"[TRANSACTION:] METRIC OP VALUE\", where METRIC is p50|p90|p95|p99|p999|max|mean|ttfb_p50|ttfb_p95|ttfb_p99|error_rate|success_rate|rps, OP is <, <=, > or >=, and VALUE a latency (\"300ms\", \"2s\"), a percentage (\"0.1%\") or a rate (\"500\", \"500/s\"); e.g. \"p95 < 300ms\", \"query: error_rate < 0.1%\"";

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
    #[error("{rule:?}: {value:?} is not a latency such as \"300ms\" or \"2s\"; {FORM}")]
    NotALatency { rule: String, value: String },
    #[error("{rule:?}: {value:?} is not a percentage such as \"0.1%\"; {FORM}")]
    NotAPercentage { rule: String, value: String },
    #[error("{rule:?}: a percentage lies between 0% and 100%; {FORM}")]
    PercentageOutOfRange { rule: String },
    #[error("{rule:?}: {value:?} is not a request rate such as \"500\" or \"500/s\"; {FORM}")]
    NotARate { rule: String, value: String },
    /// The transaction before `:` is empty or has spaces.
    #[error("{rule:?}: the transaction before ':' is empty or has spaces; {FORM}")]
    BadScope { rule: String },
}

impl FromStr for Threshold {
    type Err = ThresholdError;

    fn from_str(s: &str) -> Result<Self, ThresholdError> {
        let text = s.trim().to_string();
        let (scope, rule) = match text.split_once(':') {
            Some((scope, rule)) => (Some(scope.trim().to_string()), rule.trim()),
            None => (None, text.as_str()),
        };
        let ops = ["<=", ">=", "<", ">"];
        let (pos, op_str) = ops
            .iter()
            .filter_map(|o| rule.find(o).map(|p| (p, *o)))
            .min_by_key(|(p, o)| (*p, std::cmp::Reverse(o.len())))
            .ok_or_else(|| ThresholdError::NoComparison { rule: s.into() })?;
        let op = match op_str {
            "<" => Op::Lt,
            "<=" => Op::Le,
            ">" => Op::Gt,
            _ => Op::Ge,
        };
        let metric_s = rule[..pos].trim();
        let value_s = rule[pos + op_str.len()..].trim();
        let metric = parse_metric(metric_s).ok_or_else(|| ThresholdError::UnknownMetric {
            rule: s.into(),
            metric: metric_s.into(),
        })?;
        let limit = parse_limit(s, metric, value_s)?;
        if let Some(sc) = &scope
            && (sc.is_empty() || sc.contains(char::is_whitespace))
        {
            return Err(ThresholdError::BadScope { rule: s.into() });
        }
        Ok(Threshold {
            scope,
            metric,
            op,
            limit,
            text,
        })
    }
}

/// The limit `value` of rule `rule` in `metric`'s unit: ms, percent or
/// req/s.
fn parse_limit(rule: &str, metric: Metric, value: &str) -> Result<f64, ThresholdError> {
    match metric {
        Metric::Latency(_) | Metric::Max | Metric::Mean | Metric::Ttfb(_) => {
            let d =
                crate::profile::parse_duration(value).map_err(|_| ThresholdError::NotALatency {
                    rule: rule.into(),
                    value: value.into(),
                })?;
            Ok(d.as_secs_f64() * 1000.0)
        }
        Metric::ErrorRate | Metric::SuccessRate => {
            let v = value
                .strip_suffix('%')
                .and_then(|v| v.trim().parse::<f64>().ok())
                .ok_or_else(|| ThresholdError::NotAPercentage {
                    rule: rule.into(),
                    value: value.into(),
                })?;
            if !(0.0..=100.0).contains(&v) {
                return Err(ThresholdError::PercentageOutOfRange { rule: rule.into() });
            }
            Ok(v)
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
    pub note: String,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tag = if self.pass { "PASS" } else { "FAIL" };
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
                )
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
                e.contains("expected \"[TRANSACTION:] METRIC OP VALUE\""),
                "{bad}: {e}"
            );
        }
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
