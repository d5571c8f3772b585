//! Thresholds judged on a report's figures: which rules a report judges
//! (the profile's, throughput scaled with the users), the value each rule
//! reads from some [`Stats`], and the verdicts for the whole run, per
//! transaction and per stage. CPU and memory rules are judged on the
//! watched containers' figures (`resources.rs`).

use crate::stats::Acc;
use crate::threshold::{Metric, Threshold, Verdict, fmt_num};

use super::Meta;
use super::build::{figures_of, stats_of};
use super::resources::{self, Resources};
use super::{StageStats, Stats};

/// The thresholds of `meta`, re-parsed from their text; throughput limits
/// (`rps`) are multiplied by `meta.user_scale`, since throughput follows
/// the number of users.
pub(super) fn thresholds_of(meta: &Meta) -> Vec<Threshold> {
    let parsed: Vec<Threshold> = meta
        .thresholds
        .iter()
        .filter_map(|t| t.parse::<Threshold>().ok())
        .collect();
    scaled_thresholds(&parsed, meta.user_scale)
}

/// `thresholds` as a run at `user_scale` judges them: throughput limits
/// multiplied by the scale, and the rule's text saying so.
pub fn scaled_thresholds(thresholds: &[Threshold], user_scale: f64) -> Vec<Threshold> {
    thresholds
        .iter()
        .cloned()
        .map(|mut t| {
            if t.metric == Metric::Rps && user_scale != 1.0 {
                t.limit *= user_scale;
                t.text = format!("{} (x{} users: {})", t.text, user_scale, fmt_num(t.limit));
            }
            t
        })
        .collect()
}

/// Judge thresholds on a run still going on: all requests so far (`all`)
/// and each transaction's (`txns`, named by `names`), over `secs` seconds.
/// The same verdicts the report will give if the run ended now.
pub fn judge_so_far(
    thresholds: &[Threshold],
    all: &Acc,
    names: &[String],
    txns: &[Acc],
    secs: f64,
) -> Vec<Verdict> {
    let total = figures_of("all", all, secs);
    let per_txn: Vec<Stats> = names
        .iter()
        .zip(txns)
        .map(|(n, a)| figures_of(n, a, secs))
        .collect();
    // Stage-scoped and resource rules are judged when the report is built.
    judge_all(thresholds, &total, &per_txn, &[], None)
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
        // The containers' figures, not the requests' (`resources::judge`).
        Metric::Cpu | Metric::CpuMax | Metric::Memory | Metric::MemoryMax => return None,
    })
}

/// Judge every threshold on the run's figures: all requests, or the
/// transaction a rule names, or the stage it names (that stage's figures
/// alone: `"sustained load: rps >= 500"` leaves the warm-up out). CPU
/// and memory rules read `resources`; `None` (a run still going on) leaves
/// them not judged until the report is built.
pub(super) fn judge_all(
    thresholds: &[Threshold],
    total: &Stats,
    txns: &[Stats],
    stages: &[StageStats],
    resources: Option<&Resources>,
) -> Vec<Verdict> {
    thresholds
        .iter()
        .map(|t| {
            if t.metric.is_resource() {
                return match resources {
                    Some(r) => resources::judge(t, r),
                    None => t.not_judged("judged on the watched containers when the run ends"),
                };
            }
            let s = match &t.scope {
                None => Some(total),
                Some(n) => txns
                    .iter()
                    .find(|x| &x.name == n)
                    .or_else(|| stages.iter().map(|s| &s.stats).find(|x| &x.name == n)),
            };
            t.judge(s.and_then(|s| observe(t, s)))
        })
        .collect()
}

/// Judge thresholds on one stage's figures (for `stop_on_breach` and
/// "where the SLO first broke"). Throughput rules are left out: a ramp
/// stage is below the run's target rate by design. So are CPU and memory
/// rules: their figures exist once the run has ended (the report adds
/// them to each stage's verdicts).
pub fn judge_stage(thresholds: &[Threshold], acc: &Acc, secs: f64) -> Vec<Verdict> {
    let s = stats_of("stage", acc, secs);
    thresholds
        .iter()
        .filter(|t| t.scope.is_none() && t.metric != Metric::Rps && !t.metric.is_resource())
        .map(|t| t.judge(observe(t, &s)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` successful requests of 2 ms each over `secs` seconds.
    fn stats(name: &str, n: u64, secs: f64) -> Stats {
        let mut a = Acc::default();
        for _ in 0..n {
            a.count += 1;
            a.ok += 1;
            a.latency.saturating_record(2_000);
            a.service.saturating_record(2_000);
        }
        stats_of(name, &a, secs)
    }

    fn stage(name: &str, n: u64, secs: f64) -> StageStats {
        StageStats {
            stats: stats(name, n, secs),
            start_s: 0.0,
            end_s: secs,
            load_from: 0.0,
            load_to: 0.0,
            achieved_arrival_rate: None,
            first_send_us: None,
            last_send_us: None,
            verdicts: vec![],
        }
    }

    #[test]
    fn a_stage_scoped_rule_is_judged_on_that_stage_alone() {
        // A 100 s warm-up at 100 req/s, then 100 s at 600 req/s: the run
        // averages 350 req/s, the sustained stage 600.
        let warm = stage("warm up", 10_000, 100.0);
        let held = stage("sustained load", 60_000, 100.0);
        let total = stats("all", 70_000, 200.0);
        let rules: Vec<Threshold> = [
            "rps >= 500",
            "sustained load: rps >= 500",
            "warm up: rps >= 500",
        ]
        .iter()
        .map(|r| r.parse().unwrap())
        .collect();
        let v = judge_all(&rules, &total, &[], &[warm, held], None);
        let passes: Vec<bool> = v.iter().map(|v| v.pass).collect();
        assert_eq!(passes, [false, true, false], "{v:?}");
        assert_eq!(v[1].observed, Some(600.0));
        // A name that is neither a transaction nor a stage of this run: no data.
        let odd: Threshold = "cool down: rps >= 1".parse().unwrap();
        let v = judge_all(&[odd], &total, &[], &[], None);
        assert!(!v[0].pass && v[0].observed.is_none(), "{v:?}");
    }
}
