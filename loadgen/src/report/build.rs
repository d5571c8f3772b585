//! Building a [`Report`] from a run's accumulation: figures per
//! transaction and per stage, the per-second timeline, the
//! coordinated-omission summary, the watched containers' figures per stage
//! and the verdicts.
//!
//! A report is a pure function of its [`Meta`] and the records behind the
//! [`RunAcc`] (tests/engine.rs rebuilds one to check), which is what lets
//! `merge` rebuild a report from several.

use crate::stats::{Acc, RunAcc, StageAcc, encode};
use crate::threshold::{Threshold, fmt_num};

use super::judge::{judge_all, judge_stage, thresholds_of};
use super::resources::{self, Resources, StageResources};
use super::{
    CoSummary, Hists, Interval, Meta, Pcts, Report, SCHEMA, SloBreak, StagePlan, StageStats, Stats,
};

impl Report {
    /// Build the report of a run. `thresholds` are re-parsed from
    /// `meta.thresholds`; throughput limits (`rps`) are multiplied by
    /// `meta.user_scale`, since throughput follows the number of users.
    pub fn build(meta: Meta, acc: &RunAcc) -> Report {
        Report::build_with(meta, acc, None)
    }

    /// [`Report::build`] with the samples of the watched containers
    /// (`None`: nothing was watched), aggregated per stage of `meta`. A
    /// profile with CPU or memory thresholds gets a `resources` section
    /// either way, saying why they are not judged when nothing was watched.
    pub fn build_with(meta: Meta, acc: &RunAcc, resources: Option<Resources>) -> Report {
        let thresholds = thresholds_of(&meta);
        let resources = resources
            .or_else(|| {
                thresholds
                    .iter()
                    .any(|t| t.metric.is_resource())
                    .then(Resources::not_watched)
            })
            .map(|r| r.aggregate(&meta));
        let elapsed_s = (meta.ended_unix_ms.saturating_sub(meta.started_unix_ms)) as f64 / 1000.0;
        let total = stats_of("all", &acc.all, elapsed_s);
        let transactions: Vec<Stats> = acc
            .names
            .iter()
            .zip(&acc.txns)
            .map(|(n, a)| stats_of(n, a, elapsed_s))
            .collect();
        let stages: Vec<StageStats> = acc
            .stages
            .iter()
            .enumerate()
            .map(|(i, sa)| {
                let last = i + 1 == acc.stages.len();
                let res = resources.as_ref().and_then(|r| r.stages.get(i));
                stage_stats(&meta, i, sa, last, elapsed_s, &thresholds, res)
            })
            .collect();
        let slo_break = slo_break(&meta, &stages);
        let timeline = timeline(acc);
        let coordinated_omission = co_summary(&meta, &total);
        let verdicts = judge_all(
            &thresholds,
            &total,
            &transactions,
            &stages,
            resources.as_ref(),
        );
        let passed = verdicts.iter().all(|v| v.pass);
        Report {
            schema: SCHEMA.into(),
            meta,
            elapsed_s,
            total,
            transactions,
            stages,
            timeline,
            coordinated_omission,
            thresholds: verdicts,
            slo_break,
            passed,
            resources,
        }
    }
}

/// The figures of one accumulation over `secs` seconds, with its
/// histograms encoded.
pub(super) fn stats_of(name: &str, a: &Acc, secs: f64) -> Stats {
    Stats {
        hist: Hists {
            latency: encode(&a.latency),
            service: encode(&a.service),
            ttfb: encode(&a.ttfb),
            lag: encode(&a.lag),
        },
        ..figures_of(name, a, secs)
    }
}

/// The figures alone (histograms left empty): what judging reads, cheap
/// enough to compute every second of a live run.
pub(super) fn figures_of(name: &str, a: &Acc, secs: f64) -> Stats {
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
            latency: String::new(),
            service: String::new(),
            ttfb: String::new(),
            lag: String::new(),
        },
    }
}

/// Stage `i` of the run: its figures over the time it really lasted, its
/// achieved arrival rate and the run-wide thresholds judged on it alone
/// (CPU and memory rules on the containers' figures `res` of the stage).
fn stage_stats(
    meta: &Meta,
    i: usize,
    sa: &StageAcc,
    last: bool,
    elapsed_s: f64,
    thresholds: &[Threshold],
    res: Option<&StageResources>,
) -> StageStats {
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
    let end = if last {
        run_end
    } else {
        plan.end_s.min(run_end)
    };
    let secs = (end - plan.start_s).max(0.0);
    let achieved = match (sa.first_send_us, sa.last_send_us) {
        (Some(f), Some(l)) if l > f && sa.acc.count >= 2 => {
            Some((sa.acc.count - 1) as f64 / ((l - f) as f64 / 1e6))
        }
        _ => None,
    };
    let mut verdicts = if sa.acc.count > 0 {
        judge_stage(thresholds, &sa.acc, secs)
    } else {
        vec![]
    };
    if let Some(res) = res {
        verdicts.extend(resources::judge_one_stage(thresholds, res));
    }
    StageStats {
        stats: stats_of(&plan.name, &sa.acc, secs),
        start_s: plan.start_s,
        end_s: plan.end_s,
        load_from: plan.load_from,
        load_to: plan.load_to,
        achieved_arrival_rate: achieved,
        first_send_us: sa.first_send_us,
        last_send_us: sa.last_send_us,
        verdicts,
    }
}

/// The first stage whose own figures failed a threshold, with its load.
fn slo_break(meta: &Meta, stages: &[StageStats]) -> Option<SloBreak> {
    let (i, s) = stages
        .iter()
        .enumerate()
        .find(|(_, s)| s.verdicts.iter().any(|v| !v.pass))?;
    Some(SloBreak {
        stage: i,
        stage_name: s.stats.name.clone(),
        load: s.load_to,
        unit: if meta.model == "open" {
            "arrivals/s".into()
        } else {
            "users".into()
        },
        failed: s
            .verdicts
            .iter()
            .filter(|v| !v.pass)
            .map(|v| v.to_string())
            .collect(),
    })
}

/// One entry per second, by completion time.
fn timeline(acc: &RunAcc) -> Vec<Interval> {
    acc.intervals
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
        .collect()
}

/// How far corrected and uncorrected figures part, and why.
fn co_summary(meta: &Meta, total: &Stats) -> CoSummary {
    if meta.model == "closed" {
        return CoSummary {
            applied: false,
            late_requests: 0,
            late_percent: 0.0,
            max_lag_ms: 0.0,
            p99_corrected_ms: total.latency_ms.p99,
            p99_uncorrected_ms: total.service_ms.p99,
            note: "not applicable: in the closed model each user waits for its answer, so there is no schedule to fall behind; run an open profile to see queueing the server hides".into(),
        };
    }
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
            "every request left on schedule (within 2 ms); corrected and uncorrected figures agree"
                .into()
        },
    }
}
