//! The consumer of a run's raw records: it accumulates them into a
//! [`RunAcc`], draws the progress line, and, for profiles that stop on a
//! breach, judges each stage as it ends and asks the run to stop.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::sync::{oneshot, watch};

use crate::profile::{Model, Profile, fmt_duration};
use crate::record::{Gauges, Record, RecordRx, RecordTx};
use crate::report::judge_stage;
use crate::schedule::{load_at, stage_at, stage_bounds};
use crate::stats::{RunAcc, new_hist};
use crate::threshold::fmt_num;

use super::ProgressMode;

/// What the collector reads from and reports to.
pub(super) struct Collect {
    pub rx: RecordRx,
    pub acc: RunAcc,
    pub profile: Profile,
    pub progress: ProgressMode,
    pub gauges: Arc<Gauges>,
    pub stop: Arc<watch::Sender<Option<String>>>,
    pub t0: Instant,
    /// A copy of every record for each consumer (and the test tap); they
    /// close when the collector ends.
    pub taps: Vec<RecordTx>,
    /// Fires when the engine has ended: take what is queued and finish.
    pub done: oneshot::Receiver<()>,
}

/// The collector's own bookkeeping between ticks.
struct State {
    /// Latencies since the last progress line.
    window: Histogram<u64>,
    window_count: u64,
    window_start: Instant,
    last_line: Instant,
    /// Stage the last progress line showed.
    shown_stage: usize,
    /// Stages judged so far (`stop_on_breach`).
    judged: usize,
    bounds: Vec<(Duration, Duration)>,
    total_planned: Duration,
}

/// Consume records until the channel closes or the engine is done; return
/// their accumulation.
pub(super) async fn collect(mut c: Collect) -> RunAcc {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut s = State {
        window: new_hist(),
        window_count: 0,
        window_start: Instant::now(),
        last_line: Instant::now(),
        shown_stage: usize::MAX,
        judged: 0,
        bounds: stage_bounds(&c.profile.stages),
        total_planned: c.profile.planned(),
    };
    loop {
        tokio::select! {
            r = c.rx.recv() => match r {
                Some(r) => { s.window_count += 1; c.add(r, &mut s.window); }
                None => break,
            },
            _ = &mut c.done => {
                while let Ok(r) = c.rx.try_recv() {
                    c.add(r, &mut s.window);
                }
                break;
            }
            _ = tick.tick() => {
                let now = c.t0.elapsed();
                if c.profile.stop_on_breach {
                    c.judge_finished(&mut s, now);
                }
                c.progress(&mut s, now);
            }
        }
    }
    if c.progress == ProgressMode::Inline {
        eprintln!();
    }
    c.acc
}

impl Collect {
    fn add(&mut self, r: Record, window: &mut Histogram<u64>) {
        window.saturating_record(r.latency_us().max(1));
        self.acc.add(&r);
        if let Some((last, rest)) = self.taps.split_last() {
            for t in rest {
                let _ = t.send(r.clone());
            }
            let _ = last.send(r);
        }
    }

    /// Judge the stages that have ended since the last tick; the first
    /// breach stops the run (`slo_breach`).
    fn judge_finished(&self, s: &mut State, now: Duration) {
        while s.judged < s.bounds.len() && s.bounds[s.judged].1 <= now {
            let secs = self.profile.stages[s.judged].duration.as_secs_f64();
            let v = judge_stage(
                &self.profile.thresholds,
                &self.acc.stages[s.judged].acc,
                secs,
            );
            s.judged += 1;
            if v.iter().any(|v| !v.pass) {
                self.stop.send_if_modified(|reason| {
                    if reason.is_none() {
                        *reason = Some("slo_breach".into());
                        true
                    } else {
                        false
                    }
                });
            }
        }
    }

    /// Draw the progress line when its mode says so, and start a new window.
    fn progress(&self, s: &mut State, now: Duration) {
        let si = stage_at(&self.profile.stages, now);
        let show = match self.progress {
            ProgressMode::Off => false,
            ProgressMode::Inline => true,
            // Every 10 s, and whenever a stage begins.
            ProgressMode::Lines => {
                s.last_line.elapsed() >= Duration::from_secs(10) || si != s.shown_stage
            }
        };
        if !show {
            return;
        }
        s.last_line = Instant::now();
        s.shown_stage = si;
        let line = self.line(s, now, si);
        if self.progress == ProgressMode::Inline {
            eprint!("\r\x1b[2K{line}");
        } else {
            eprintln!("{line}");
        }
        s.window.reset();
        s.window_count = 0;
        s.window_start = Instant::now();
    }

    /// `[  12s / 30s] stage 2/3 hold  100 users | 95 req/s | p95 12 ms | ...`
    fn line(&self, s: &State, now: Duration, si: usize) -> String {
        let p = &self.profile;
        let all = &self.acc.all;
        let load = load_at(p, now);
        let unit = if p.model == Model::Open {
            "arrivals/s"
        } else {
            "users"
        };
        let p95 = if s.window.is_empty() {
            0.0
        } else {
            s.window.value_at_quantile(0.95) as f64 / 1000.0
        };
        let rate = s.window_count as f64 / s.window_start.elapsed().as_secs_f64().max(0.001);
        let error_pct = if all.count > 0 {
            all.failed() as f64 * 100.0 / all.count as f64
        } else {
            0.0
        };
        format!(
            "[{:>6} / {}] stage {}/{} {:<14} {} {} | {} req/s | p95 {} ms | errors {} ({:.2}%) | in flight {}",
            fmt_duration(Duration::from_secs(now.as_secs())),
            fmt_duration(s.total_planned),
            si + 1,
            p.stages.len(),
            p.stages[si].name,
            fmt_num(load),
            unit,
            fmt_num(rate),
            fmt_num(p95),
            all.failed(),
            error_pct,
            self.gauges.read().in_flight,
        )
    }
}
