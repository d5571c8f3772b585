//! The report: a stable JSON schema (`loadgen-report/1`) built from a
//! [`RunAcc`], and its renderings (terminal table, Markdown, self-contained
//! HTML with charts).
//!
//! The JSON carries the encoded histograms next to the figures computed
//! from them, so `merge` and `compare` work from JSON files alone.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::stats::{Acc, IntervalAcc, RunAcc, StageAcc, decode, encode};
use crate::threshold::{Metric, Threshold, Verdict, fmt_num, signed};

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

fn stats_of(name: &str, a: &Acc, secs: f64) -> Stats {
    let ttfb = if a.ttfb.is_empty() {
        None
    } else {
        Some(Pcts::of(&a.ttfb))
    };
    Stats {
        name: name.to_string(),
        count: a.count,
        ok: a.ok,
        failed: a.failed(),
        errors: a.errors.clone(),
        rps: if secs > 0.0 {
            a.count as f64 / secs
        } else {
            0.0
        },
        error_rate: if a.count > 0 {
            a.failed() as f64 * 100.0 / a.count as f64
        } else {
            0.0
        },
        latency_ms: Pcts::of(&a.latency),
        service_ms: Pcts::of(&a.service),
        ttfb_ms: ttfb,
        late: a.late,
        max_lag_ms: if a.lag.is_empty() {
            0.0
        } else {
            a.lag.max() as f64 / 1000.0
        },
        hist: Hists {
            latency: encode(&a.latency),
            service: encode(&a.service),
            ttfb: encode(&a.ttfb),
            lag: encode(&a.lag),
        },
    }
}

fn acc_of(s: &Stats) -> Result<Acc, String> {
    Ok(Acc {
        count: s.count,
        ok: s.ok,
        errors: s.errors.clone(),
        latency: decode(&s.hist.latency)?,
        service: decode(&s.hist.service)?,
        ttfb: decode(&s.hist.ttfb)?,
        lag: decode(&s.hist.lag)?,
        late: s.late,
    })
}

/// The observed value of a threshold's metric in some stats.
pub fn observe(t: &Threshold, s: &Stats) -> Option<f64> {
    if s.count == 0 {
        return None;
    }
    Some(match t.metric {
        Metric::Latency(pm) => s.latency_ms.by_permille(pm),
        Metric::Max => s.latency_ms.max,
        Metric::Mean => s.latency_ms.mean,
        Metric::Ttfb(pm) => s.ttfb_ms.as_ref()?.by_permille(pm),
        Metric::ErrorRate => s.error_rate,
        Metric::SuccessRate => 100.0 - s.error_rate,
        Metric::Rps => s.rps,
    })
}

fn judge_all(thresholds: &[Threshold], total: &Stats, txns: &[Stats]) -> Vec<Verdict> {
    thresholds
        .iter()
        .map(|t| {
            let s = match &t.scope {
                None => Some(total),
                Some(n) => txns.iter().find(|x| &x.name == n),
            };
            t.judge(s.and_then(|s| observe(t, s)))
        })
        .collect()
}

/// Judge thresholds on one stage's figures (for `stop_on_breach` and
/// "where the SLO first broke"). Throughput rules are left out: a ramp
/// stage is below the run's target rate by design.
pub fn judge_stage(thresholds: &[Threshold], acc: &Acc, secs: f64) -> Vec<Verdict> {
    let s = stats_of("stage", acc, secs);
    thresholds
        .iter()
        .filter(|t| t.scope.is_none() && t.metric != Metric::Rps)
        .map(|t| t.judge(observe(t, &s)))
        .collect()
}

impl Report {
    /// Build the report of a run. `thresholds` are re-parsed from
    /// `meta.thresholds`; throughput limits (`rps`) are multiplied by
    /// `meta.user_scale`, since throughput follows the number of users.
    pub fn build(meta: Meta, acc: &RunAcc) -> Report {
        let thresholds: Vec<Threshold> = meta
            .thresholds
            .iter()
            .filter_map(|t| t.parse::<Threshold>().ok())
            .map(|mut t| {
                if t.metric == Metric::Rps && meta.user_scale != 1.0 {
                    t.limit *= meta.user_scale;
                    t.text = format!(
                        "{} (x{} users: {})",
                        t.text,
                        meta.user_scale,
                        fmt_num(t.limit)
                    );
                }
                t
            })
            .collect();
        let elapsed_s = (meta.ended_unix_ms.saturating_sub(meta.started_unix_ms)) as f64 / 1000.0;
        let total = stats_of("all", &acc.all, elapsed_s);
        let transactions: Vec<Stats> = acc
            .names
            .iter()
            .zip(&acc.txns)
            .map(|(n, a)| stats_of(n, a, elapsed_s))
            .collect();
        let mut stages = Vec::new();
        let mut slo_break = None;
        for (i, sa) in acc.stages.iter().enumerate() {
            let plan = meta.stages.get(i).cloned().unwrap_or(StagePlan {
                name: format!("stage {}", i + 1),
                start_s: 0.0,
                end_s: 0.0,
                load_from: 0.0,
                load_to: 0.0,
            });
            // A stage cut short by the end of the run counts its real length.
            let run_end = elapsed_s.max(plan.start_s);
            // The last stage also owns the requests that finish after the
            // plan's end (draining), so it counts until the run's end.
            let end = if i + 1 == acc.stages.len() {
                run_end
            } else {
                plan.end_s.min(run_end)
            };
            let secs = (end - plan.start_s).max(0.0);
            let stats = stats_of(&plan.name, &sa.acc, secs);
            let achieved = match (sa.first_send_us, sa.last_send_us) {
                (Some(f), Some(l)) if l > f && sa.acc.count >= 2 => {
                    Some((sa.acc.count - 1) as f64 / ((l - f) as f64 / 1e6))
                }
                _ => None,
            };
            let verdicts = if sa.acc.count > 0 {
                judge_stage(&thresholds, &sa.acc, secs)
            } else {
                vec![]
            };
            if slo_break.is_none() && verdicts.iter().any(|v| !v.pass) {
                slo_break = Some(SloBreak {
                    stage: i,
                    stage_name: plan.name.clone(),
                    load: plan.load_to,
                    unit: if meta.model == "open" {
                        "arrivals/s".into()
                    } else {
                        "users".into()
                    },
                    failed: verdicts
                        .iter()
                        .filter(|v| !v.pass)
                        .map(|v| v.to_string())
                        .collect(),
                });
            }
            stages.push(StageStats {
                stats,
                start_s: plan.start_s,
                end_s: plan.end_s,
                load_from: plan.load_from,
                load_to: plan.load_to,
                achieved_arrival_rate: achieved,
                first_send_us: sa.first_send_us,
                last_send_us: sa.last_send_us,
                verdicts,
            });
        }
        let timeline = acc
            .intervals
            .iter()
            .map(|(t, iv)| {
                let p = Pcts::of(&iv.latency);
                Interval {
                    t: *t,
                    count: iv.count,
                    errors: iv.errors,
                    p50_ms: p.p50,
                    p95_ms: p.p95,
                    p99_ms: p.p99,
                    max_ms: p.max,
                    hist: encode(&iv.latency),
                }
            })
            .collect();
        let co = if meta.model == "closed" {
            CoSummary {
                applied: false,
                late_requests: 0,
                late_percent: 0.0,
                max_lag_ms: 0.0,
                p99_corrected_ms: total.latency_ms.p99,
                p99_uncorrected_ms: total.service_ms.p99,
                note: "not applicable: in the closed model each user waits for its answer, so there is no schedule to fall behind; run an open profile to see queueing the server hides".into(),
            }
        } else {
            let late_percent = if total.count > 0 {
                total.late as f64 * 100.0 / total.count as f64
            } else {
                0.0
            };
            CoSummary {
                applied: total.late > 0,
                late_requests: total.late,
                late_percent,
                max_lag_ms: total.max_lag_ms,
                p99_corrected_ms: total.latency_ms.p99,
                p99_uncorrected_ms: total.service_ms.p99,
                note: if total.late > 0 {
                    format!(
                        "{} of {} requests ({:.1}%) were sent up to {} ms behind schedule (max_in_flight reached, or loadgen short of CPU); their latency counts from the intended start",
                        total.late,
                        total.count,
                        late_percent,
                        fmt_num(total.max_lag_ms)
                    )
                } else {
                    "every request left on schedule (within 2 ms); corrected and uncorrected figures agree".into()
                },
            }
        };
        let verdicts = judge_all(&thresholds, &total, &transactions);
        let passed = verdicts.iter().all(|v| v.pass);
        Report {
            schema: SCHEMA.into(),
            meta,
            elapsed_s,
            total,
            transactions,
            stages,
            timeline,
            coordinated_omission: co,
            thresholds: verdicts,
            slo_break,
            passed,
        }
    }

    /// Rebuild the accumulation this report was made from (for merging).
    pub fn to_acc(&self) -> Result<RunAcc, String> {
        let mut acc = RunAcc::new(
            self.meta.started_unix_ms,
            self.transactions.iter().map(|t| t.name.clone()).collect(),
            self.stages.len(),
        );
        for (i, t) in self.transactions.iter().enumerate() {
            acc.txns[i] = acc_of(t)?;
        }
        acc.all = acc_of(&self.total)?;
        for (i, s) in self.stages.iter().enumerate() {
            acc.stages[i] = StageAcc {
                acc: acc_of(&s.stats)?,
                first_send_us: s.first_send_us,
                last_send_us: s.last_send_us,
            };
        }
        for iv in &self.timeline {
            acc.intervals.insert(
                iv.t,
                IntervalAcc {
                    count: iv.count,
                    errors: iv.errors,
                    latency: decode(&iv.hist)?,
                },
            );
        }
        Ok(acc)
    }

    /// Exit status: 0 when every threshold passed, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        if self.passed { 0 } else { 1 }
    }

    /// The terminal report.
    pub fn to_text(&self) -> String {
        let mut o = String::new();
        let m = &self.meta;
        let _ = writeln!(
            o,
            "\nloadgen: {} ({} model) against {}  —  {:.1}s of {:.1}s planned, {}{}",
            m.profile,
            m.model,
            m.target,
            self.elapsed_s,
            m.planned_s,
            m.stop_reason,
            if m.partial { " (PARTIAL)" } else { "" }
        );
        if m.time_scale != 1.0 || m.user_scale != 1.0 {
            let _ = writeln!(o, "scaled: time x{} users x{}", m.time_scale, m.user_scale);
        }
        if m.instances.len() > 1 {
            let _ = writeln!(
                o,
                "merged from {} instances: {}",
                m.instances.len(),
                m.instances.join(", ")
            );
        }
        let _ = writeln!(
            o,
            "\n{:<14} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>8}",
            "transaction",
            "count",
            "req/s",
            "p50 ms",
            "p90 ms",
            "p95 ms",
            "p99 ms",
            "max ms",
            "errors"
        );
        for s in self.transactions.iter().chain(std::iter::once(&self.total)) {
            let _ = writeln!(
                o,
                "{:<14} {:>8} {:>9.1} {:>9} {:>9} {:>9} {:>9} {:>9} {:>8}",
                s.name,
                s.count,
                s.rps,
                fmt_num(s.latency_ms.p50),
                fmt_num(s.latency_ms.p90),
                fmt_num(s.latency_ms.p95),
                fmt_num(s.latency_ms.p99),
                fmt_num(s.latency_ms.max),
                s.failed
            );
        }
        for s in &self.transactions {
            if let Some(t) = &s.ttfb_ms {
                let _ = writeln!(
                    o,
                    "{:<14} time to first byte (streamed): p50 {} p95 {} p99 {} ms",
                    s.name,
                    fmt_num(t.p50),
                    fmt_num(t.p95),
                    fmt_num(t.p99)
                );
            }
        }
        if !self.total.errors.is_empty() {
            let _ = writeln!(o, "\nerrors by kind:");
            for s in &self.transactions {
                for (k, n) in &s.errors {
                    let _ = writeln!(o, "  {:<14} {:<34} {n}", s.name, k);
                }
            }
        }
        if self.stages.len() > 1 || m.model == "open" {
            let unit = if m.model == "open" { "rate/s" } else { "users" };
            let _ = writeln!(
                o,
                "\n{:<22} {:>13} {:>8} {:>9} {:>9} {:>9} {:>7}",
                "stage", unit, "count", "req/s", "p95 ms", "err %", "SLO"
            );
            for s in &self.stages {
                let load = if s.load_from == s.load_to {
                    fmt_num(s.load_to)
                } else {
                    format!("{}→{}", fmt_num(s.load_from), fmt_num(s.load_to))
                };
                let rate = match s.achieved_arrival_rate {
                    Some(a) if m.model == "open" => format!("{a:.1}"),
                    _ => format!("{:.1}", s.stats.rps),
                };
                let slo = if s.verdicts.is_empty() {
                    "-"
                } else if s.verdicts.iter().all(|v| v.pass) {
                    "ok"
                } else {
                    "BROKEN"
                };
                let _ = writeln!(
                    o,
                    "{:<22} {:>13} {:>8} {:>9} {:>9} {:>9.2} {:>7}",
                    s.stats.name,
                    load,
                    s.stats.count,
                    rate,
                    fmt_num(s.stats.latency_ms.p95),
                    s.stats.error_rate,
                    slo
                );
            }
            if m.model == "open" {
                let _ = writeln!(
                    o,
                    "(open model: req/s is the achieved arrival rate of the stage)"
                );
            }
        }
        let co = &self.coordinated_omission;
        let _ = writeln!(
            o,
            "\ncoordinated omission: {}; p99 {} ms corrected vs {} ms uncorrected. {}",
            if co.applied {
                "CORRECTED"
            } else if m.model == "closed" {
                "n/a"
            } else {
                "no correction needed"
            },
            fmt_num(co.p99_corrected_ms),
            fmt_num(co.p99_uncorrected_ms),
            co.note
        );
        if let Some(b) = &self.slo_break {
            let _ = writeln!(
                o,
                "SLO first broke in stage {} ({:?}) at {} {}: {}",
                b.stage + 1,
                b.stage_name,
                fmt_num(b.load),
                b.unit,
                b.failed.join("; ")
            );
        }
        if !self.thresholds.is_empty() {
            let _ = writeln!(o, "\nthresholds:");
            for v in &self.thresholds {
                let _ = writeln!(o, "  {v}");
            }
            let _ = writeln!(
                o,
                "\n{}",
                if self.passed {
                    "RESULT: PASS"
                } else {
                    "RESULT: FAIL (exit status 1)"
                }
            );
        }
        o
    }

    /// The report as Markdown.
    pub fn to_markdown(&self) -> String {
        let m = &self.meta;
        let mut o = String::new();
        let _ = writeln!(o, "# loadgen report: {}\n", m.profile);
        let _ = writeln!(
            o,
            "- model: **{}**, target `{}`\n- started {} ({:.1}s of {:.1}s planned, {}{})\n- scale: time x{}, users x{}\n- instances: {}\n",
            m.model,
            m.target,
            m.started,
            self.elapsed_s,
            m.planned_s,
            m.stop_reason,
            if m.partial { ", partial" } else { "" },
            m.time_scale,
            m.user_scale,
            m.instances.join(", ")
        );
        let _ = writeln!(
            o,
            "| transaction | count | req/s | p50 ms | p90 ms | p95 ms | p99 ms | max ms | errors |"
        );
        let _ = writeln!(o, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        for s in self.transactions.iter().chain(std::iter::once(&self.total)) {
            let _ = writeln!(
                o,
                "| {} | {} | {:.1} | {} | {} | {} | {} | {} | {} |",
                s.name,
                s.count,
                s.rps,
                fmt_num(s.latency_ms.p50),
                fmt_num(s.latency_ms.p90),
                fmt_num(s.latency_ms.p95),
                fmt_num(s.latency_ms.p99),
                fmt_num(s.latency_ms.max),
                s.failed
            );
        }
        if !self.total.errors.is_empty() {
            let _ = writeln!(o, "\n| transaction | error kind | count |\n|---|---|---:|");
            for s in &self.transactions {
                for (k, n) in &s.errors {
                    let _ = writeln!(o, "| {} | `{k}` | {n} |", s.name);
                }
            }
        }
        let _ = writeln!(
            o,
            "\n| stage | load | count | req/s | p95 ms | err % |\n|---|---:|---:|---:|---:|---:|"
        );
        for s in &self.stages {
            let _ = writeln!(
                o,
                "| {} | {}→{} | {} | {:.1} | {} | {:.2} |",
                s.stats.name,
                fmt_num(s.load_from),
                fmt_num(s.load_to),
                s.stats.count,
                s.achieved_arrival_rate.unwrap_or(s.stats.rps),
                fmt_num(s.stats.latency_ms.p95),
                s.stats.error_rate
            );
        }
        let co = &self.coordinated_omission;
        let _ = writeln!(
            o,
            "\n**Coordinated omission:** {} (p99 {} ms corrected, {} ms uncorrected)\n",
            co.note,
            fmt_num(co.p99_corrected_ms),
            fmt_num(co.p99_uncorrected_ms)
        );
        if let Some(b) = &self.slo_break {
            let _ = writeln!(
                o,
                "**SLO first broke** in stage {} ({}) at {} {}.\n",
                b.stage + 1,
                b.stage_name,
                fmt_num(b.load),
                b.unit
            );
        }
        if !self.thresholds.is_empty() {
            let _ = writeln!(
                o,
                "| threshold | observed | margin | verdict |\n|---|---:|---:|---|"
            );
            for v in &self.thresholds {
                let _ = writeln!(
                    o,
                    "| `{}` | {} | {} | {} |",
                    v.rule,
                    v.observed
                        .map(|x| format!("{} {}", fmt_num(x), v.unit))
                        .unwrap_or_else(|| "no data".into()),
                    v.margin
                        .map(|x| format!("{} {}", signed(x), v.unit))
                        .unwrap_or_default(),
                    if v.pass { "PASS" } else { "**FAIL**" }
                );
            }
            let _ = writeln!(
                o,
                "\n**Result: {}**",
                if self.passed { "PASS" } else { "FAIL" }
            );
        }
        o
    }

    /// A self-contained HTML page: tables plus inline SVG charts of latency
    /// percentiles and throughput over time (no scripts, no external files).
    pub fn to_html(&self) -> String {
        let esc = |s: &str| {
            s.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
        };
        let t0 = self.timeline.first().map(|i| i.t).unwrap_or(0);
        let xs: Vec<f64> = self.timeline.iter().map(|i| (i.t - t0) as f64).collect();
        let lat = svg_chart(
            "Latency percentiles over time (ms, from intended start)",
            &xs,
            &[
                (
                    "p50",
                    "#2b8a3e",
                    self.timeline.iter().map(|i| i.p50_ms).collect(),
                ),
                (
                    "p95",
                    "#e67700",
                    self.timeline.iter().map(|i| i.p95_ms).collect(),
                ),
                (
                    "p99",
                    "#c92a2a",
                    self.timeline.iter().map(|i| i.p99_ms).collect(),
                ),
            ],
        );
        let thr = svg_chart(
            "Throughput over time (completed req/s; errors/s)",
            &xs,
            &[
                (
                    "req/s",
                    "#1864ab",
                    self.timeline.iter().map(|i| i.count as f64).collect(),
                ),
                (
                    "errors/s",
                    "#c92a2a",
                    self.timeline.iter().map(|i| i.errors as f64).collect(),
                ),
            ],
        );
        format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>loadgen: {title}</title><style>\
             body{{font-family:system-ui,sans-serif;margin:2em;max-width:1100px}}table{{border-collapse:collapse;margin:1em 0}}\
             td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}td:first-child,th:first-child{{text-align:left}}\
             .pass{{color:#2b8a3e;font-weight:bold}}.fail{{color:#c92a2a;font-weight:bold}}pre{{background:#f8f9fa;padding:1em}}</style></head><body>\
             <h1>loadgen: {title}</h1>{lat}{thr}<pre>{text}</pre></body></html>",
            title = esc(&self.meta.profile),
            text = esc(&self.to_text()),
        )
    }
}

/// A line chart as inline SVG.
fn svg_chart(title: &str, xs: &[f64], series: &[(&str, &str, Vec<f64>)]) -> String {
    let (w, h, pad) = (1000.0, 260.0, 45.0);
    let xmax = xs.iter().cloned().fold(1.0, f64::max);
    let ymax = series
        .iter()
        .flat_map(|s| s.2.iter().cloned())
        .fold(1e-9, f64::max)
        * 1.1;
    let mut out = format!(
        "<h3>{title}</h3><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">\
         <rect x=\"{pad}\" y=\"10\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#999\"/>",
        w - pad - 10.0,
        h - pad - 10.0
    );
    let px = |x: f64| pad + x / xmax * (w - pad - 10.0);
    let py = |y: f64| 10.0 + (1.0 - y / ymax) * (h - pad - 10.0);
    for i in 0..=4 {
        let y = ymax * i as f64 / 4.0;
        let _ = write!(
            out,
            "<text x=\"2\" y=\"{:.0}\" font-size=\"11\">{}</text>",
            py(y) + 4.0,
            fmt_num(y)
        );
    }
    let _ = write!(
        out,
        "<text x=\"{:.0}\" y=\"{:.0}\" font-size=\"11\">{} s</text>",
        w - 60.0,
        h - 15.0,
        fmt_num(xmax)
    );
    for (k, (name, color, ys)) in series.iter().enumerate() {
        let pts: Vec<String> = xs
            .iter()
            .zip(ys)
            .map(|(x, y)| format!("{:.1},{:.1}", px(*x), py(*y)))
            .collect();
        let _ = write!(
            out,
            "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"1.5\" points=\"{}\"/>\
             <text x=\"{:.0}\" y=\"{:.0}\" font-size=\"12\" fill=\"{color}\">{name}</text>",
            pts.join(" "),
            pad + 10.0 + k as f64 * 80.0,
            h - 15.0
        );
    }
    out.push_str("</svg>");
    out
}

/// A compared figure: its label and how to read it from stats.
type Row = (&'static str, fn(&Stats) -> f64);

/// `loadgen compare`: deltas of the key figures between two reports.
pub fn compare(base: &Report, new: &Report) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "compare: {} ({}) -> {} ({})\n",
        base.meta.profile, base.meta.started, new.meta.profile, new.meta.started
    );
    let _ = writeln!(
        o,
        "{:<14} {:<8} {:>12} {:>12} {:>12} {:>9}",
        "transaction", "metric", "base", "new", "delta", "change"
    );
    let mut names: Vec<String> = base.transactions.iter().map(|t| t.name.clone()).collect();
    for t in &new.transactions {
        if !names.contains(&t.name) {
            names.push(t.name.clone());
        }
    }
    names.push("all".into());
    let find = |r: &Report, n: &str| -> Option<Stats> {
        if n == "all" {
            Some(r.total.clone())
        } else {
            r.transactions.iter().find(|t| t.name == n).cloned()
        }
    };
    for n in names {
        let (b, nw) = (find(base, &n), find(new, &n));
        let rows: [Row; 6] = [
            ("req/s", |s| s.rps),
            ("p50 ms", |s| s.latency_ms.p50),
            ("p95 ms", |s| s.latency_ms.p95),
            ("p99 ms", |s| s.latency_ms.p99),
            ("max ms", |s| s.latency_ms.max),
            ("err %", |s| s.error_rate),
        ];
        for (label, f) in rows {
            let bv = b.as_ref().map(f);
            let nv = nw.as_ref().map(f);
            let cell = |v: Option<f64>| v.map(fmt_num).unwrap_or_else(|| "-".into());
            let (delta, change) = match (bv, nv) {
                (Some(x), Some(y)) => (
                    signed(y - x),
                    if x != 0.0 {
                        format!("{:+.1}%", (y - x) / x * 100.0)
                    } else {
                        "-".into()
                    },
                ),
                _ => ("-".into(), "-".into()),
            };
            let _ = writeln!(
                o,
                "{:<14} {:<8} {:>12} {:>12} {:>12} {:>9}",
                n,
                label,
                cell(bv),
                cell(nv),
                delta,
                change
            );
        }
    }
    let _ = writeln!(
        o,
        "\nthresholds: base {}, new {}",
        if base.passed { "PASS" } else { "FAIL" },
        if new.passed { "PASS" } else { "FAIL" }
    );
    o
}

/// `loadgen merge`: one report from the reports of several processes that
/// ran the same profile at the same time. Histograms and counters are added
/// (exact); the run spans from the earliest start to the latest end.
pub fn merge(reports: &[Report]) -> Result<Report, String> {
    let first = reports.first().ok_or("nothing to merge")?;
    for r in reports {
        if r.schema != SCHEMA {
            return Err(format!(
                "{}: schema {:?}, expected {SCHEMA:?}",
                r.meta.profile, r.schema
            ));
        }
        if r.meta.profile != first.meta.profile || r.meta.model != first.meta.model {
            return Err(format!(
                "reports of different profiles: {:?} ({}) and {:?} ({})",
                first.meta.profile, first.meta.model, r.meta.profile, r.meta.model
            ));
        }
    }
    let start = reports
        .iter()
        .map(|r| r.meta.started_unix_ms)
        .min()
        .unwrap_or(0);
    let earliest = reports
        .iter()
        .find(|r| r.meta.started_unix_ms == start)
        .unwrap_or(first);
    let mut acc = earliest.to_acc()?;
    for r in reports {
        if std::ptr::eq(r, earliest) {
            continue;
        }
        acc.merge(&r.to_acc()?);
    }
    let mut meta = earliest.meta.clone();
    meta.instances = reports
        .iter()
        .flat_map(|r| r.meta.instances.clone())
        .collect();
    meta.ended_unix_ms = reports
        .iter()
        .map(|r| r.meta.ended_unix_ms)
        .max()
        .unwrap_or(0);
    meta.partial = reports.iter().any(|r| r.meta.partial);
    // N instances at --user-scale 1/N make one run at scale 1.
    meta.user_scale = reports.iter().map(|r| r.meta.user_scale).sum();
    // The plan's loads (users, arrivals/s) are the whole run's too.
    let factor = meta.user_scale / earliest.meta.user_scale;
    for st in &mut meta.stages {
        st.load_from *= factor;
        st.load_to *= factor;
    }
    let reasons: Vec<String> = {
        let mut v: Vec<String> = reports.iter().map(|r| r.meta.stop_reason.clone()).collect();
        v.sort();
        v.dedup();
        v
    };
    meta.stop_reason = reasons.join("+");
    Ok(Report::build(meta, &acc))
}
