//! `loadgen merge`: one report from the reports of several processes that
//! ran the same profile at the same time. Each report is turned back into
//! the accumulation it was built from ([`Report::to_acc`]: the histograms
//! travel in the JSON), the accumulations are added (exact: histograms and
//! counters, never averaged percentiles), and the sum is built into a
//! report again, with the watched containers' samples of every report
//! (each container's reading of a second counted once) re-aggregated and
//! the CPU and memory rules judged again.

use crate::stats::{Acc, DecodeError, IntervalAcc, RunAcc, StageAcc, decode};

use super::{Meta, Report, ReportError, Resources, SCHEMA, Stats};

/// `loadgen merge`: one report from the reports of several processes that
/// ran the same profile at the same time. Histograms and counters are added
/// (exact); the run spans from the earliest start to the latest end.
pub fn merge(reports: &[Report]) -> Result<Report, ReportError> {
    let first = reports.first().ok_or(ReportError::NothingToMerge)?;
    for r in reports {
        check_mergeable(first, r)?;
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
    let resources: Vec<&Resources> = reports
        .iter()
        .filter_map(|r| r.resources.as_ref())
        .collect();
    Ok(Report::build_with(
        merged_meta(reports, earliest),
        &acc,
        Resources::merged(&resources),
    ))
}

/// Reports merge when they share the schema, the profile and the model.
fn check_mergeable(first: &Report, r: &Report) -> Result<(), ReportError> {
    if r.schema != SCHEMA {
        return Err(ReportError::MergeSchema {
            profile: r.meta.profile.clone(),
            found: r.schema.clone(),
        });
    }
    if r.meta.profile != first.meta.profile || r.meta.model != first.meta.model {
        return Err(ReportError::Incompatible {
            first_profile: first.meta.profile.clone(),
            first_model: first.meta.model.clone(),
            profile: r.meta.profile.clone(),
            model: r.meta.model.clone(),
        });
    }
    Ok(())
}

/// The earliest report's meta, widened to the whole run: every instance,
/// the latest end, the summed user scale and the loads it planned.
fn merged_meta(reports: &[Report], earliest: &Report) -> Meta {
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
    let mut reasons: Vec<String> = reports.iter().map(|r| r.meta.stop_reason.clone()).collect();
    reasons.sort();
    reasons.dedup();
    meta.stop_reason = reasons.join("+");
    meta
}

impl Report {
    /// Rebuild the accumulation this report was made from (for merging).
    pub fn to_acc(&self) -> Result<RunAcc, DecodeError> {
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
}

fn acc_of(s: &Stats) -> Result<Acc, DecodeError> {
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
