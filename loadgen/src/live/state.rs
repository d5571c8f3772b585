//! The live view's state, and the one event enum that changes it.
//!
//! The view's loop turns records, clock ticks and keys into [`Event`]s;
//! [`Live::apply`] is the only place state changes, and drawing reads it.
//! Everything here is plain data with no clock of its own, so tests feed
//! records and ticks and snapshot the screen.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use hdrhistogram::Histogram;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::profile::{Model, Profile, Stage};
use crate::record::{GaugeReading, Outcome, Record};
use crate::report::{Pcts, judge_so_far, scaled_thresholds};
use crate::run::RunView;
use crate::schedule::{load_at, stage_at, stage_bounds};
use crate::stats::{Acc, new_hist};
use crate::threshold::{Threshold, Verdict};

/// Seconds of history the sparklines keep.
pub const HISTORY: usize = 120;

/// Seconds the "last seconds" percentiles cover.
pub const RECENT_SECS: u64 = 5;

/// Everything that changes the view.
#[derive(Debug)]
pub enum Event {
    Record(Record),
    /// The clock: time since the run's start and the engine's gauges.
    Tick {
        elapsed: Duration,
        gauges: GaugeReading,
    },
    Key(KeyEvent),
    /// The run's record channel closed: the run is over.
    Ended,
}

/// What a key asked the loop to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask {
    Nothing,
    /// Stop the run (the partial report follows).
    Stop,
    /// Stop at once, as a second Ctrl-C does.
    Quit,
}

/// One second of completed requests (by completion time).
#[derive(Debug, Clone)]
pub struct Second {
    pub count: u64,
    pub errors: u64,
    pub latency: Histogram<u64>,
}

/// The live view of one run.
#[derive(Clone)]
pub struct Live {
    pub profile: Profile,
    pub target: String,
    pub names: Vec<String>,
    /// Thresholds as the run judges them (throughput scaled by users).
    pub thresholds: Vec<Threshold>,
    bounds: Vec<(Duration, Duration)>,
    pub planned: Duration,
    /// Draw colours (off for NO_COLOR / --color never); marks stay.
    pub color: bool,
    pub elapsed: Duration,
    pub gauges: GaugeReading,
    /// Open model: arrivals per second sent over the last second or so.
    pub achieved_rate: Option<f64>,
    /// Recent gauge readings, for the achieved rate.
    samples: VecDeque<(Duration, u64)>,
    pub all: Acc,
    pub txns: Vec<Acc>,
    /// Completed requests per second since the start, the last [`HISTORY`].
    pub seconds: BTreeMap<u64, Second>,
    /// Percentiles over the last [`RECENT_SECS`] completed seconds.
    pub recent: Pcts,
    pub recent_count: u64,
    /// Every threshold judged on the run so far.
    pub verdicts: Vec<Verdict>,
    /// The user asked to stop; in-flight requests are finishing.
    pub stopping: bool,
    pub ended: bool,
}

impl Live {
    pub fn new(view: &RunView, target: &str, color: bool) -> Live {
        let p = &view.profile;
        let thresholds = scaled_thresholds(&p.thresholds, view.user_scale);
        Live {
            bounds: stage_bounds(&p.stages),
            planned: p.planned(),
            target: target.to_string(),
            names: view.names.clone(),
            txns: view.names.iter().map(|_| Acc::default()).collect(),
            verdicts: thresholds
                .iter()
                .map(|t| {
                    if t.metric.is_resource() {
                        t.not_judged("judged on the watched containers when the run ends")
                    } else {
                        t.judge(None)
                    }
                })
                .collect(),
            thresholds,
            profile: p.clone(),
            color,
            elapsed: Duration::ZERO,
            gauges: GaugeReading::default(),
            achieved_rate: None,
            samples: VecDeque::new(),
            all: Acc::default(),
            seconds: BTreeMap::new(),
            recent: Pcts::default(),
            recent_count: 0,
            stopping: false,
            ended: false,
        }
    }

    /// Apply one event; a key may ask the loop to stop the run.
    pub fn apply(&mut self, ev: Event) -> Ask {
        match ev {
            Event::Record(r) => self.record(&r),
            Event::Tick { elapsed, gauges } => self.tick(elapsed, gauges),
            Event::Key(k) => return self.key(k),
            Event::Ended => self.ended = true,
        }
        Ask::Nothing
    }

    fn record(&mut self, r: &Record) {
        self.all.add_record(r);
        if let Some(t) = self.txns.get_mut(r.txn as usize) {
            t.add_record(r);
        }
        let s = self
            .seconds
            .entry(r.end_us / 1_000_000)
            .or_insert_with(|| Second {
                count: 0,
                errors: 0,
                latency: new_hist(),
            });
        s.count += 1;
        if r.outcome != Outcome::Ok {
            s.errors += 1;
        }
        s.latency.saturating_record(r.latency_us().max(1));
        while self.seconds.len() > HISTORY + 1 {
            self.seconds.pop_first();
        }
    }

    /// Once per frame: the clock, the achieved rate, the recent
    /// percentiles and the verdicts so far.
    fn tick(&mut self, elapsed: Duration, gauges: GaugeReading) {
        self.elapsed = elapsed;
        self.gauges = gauges;
        self.samples.push_back((elapsed, gauges.sent));
        while self
            .samples
            .front()
            .is_some_and(|(t, _)| elapsed.saturating_sub(*t) > Duration::from_secs(2))
        {
            self.samples.pop_front();
        }
        if let (Some((t0, s0)), Some((t1, s1))) = (self.samples.front(), self.samples.back()) {
            let dt = t1.saturating_sub(*t0).as_secs_f64();
            if dt >= 0.5 {
                self.achieved_rate = Some(s1.saturating_sub(*s0) as f64 / dt);
            }
        }
        let now = elapsed.as_secs();
        let mut h = new_hist();
        let mut n = 0;
        for (_, s) in self
            .seconds
            .range(now.saturating_sub(RECENT_SECS)..now.max(1))
        {
            let _ = h.add(&s.latency);
            n += s.count;
        }
        self.recent = Pcts::of(&h);
        self.recent_count = n;
        self.verdicts = judge_so_far(
            &self.thresholds,
            &self.all,
            &self.names,
            &self.txns,
            elapsed.as_secs_f64(),
        );
    }

    fn key(&mut self, k: KeyEvent) -> Ask {
        if k.kind == KeyEventKind::Release {
            return Ask::Nothing;
        }
        let ctrl_c = k.modifiers.contains(KeyModifiers::CONTROL) && k.code == KeyCode::Char('c');
        if ctrl_c || matches!(k.code, KeyCode::Char('q') | KeyCode::Esc) {
            if self.stopping {
                return Ask::Quit;
            }
            self.stopping = true;
            return Ask::Stop;
        }
        Ask::Nothing
    }

    /// Index of the stage at the current time.
    pub fn stage(&self) -> usize {
        stage_at(&self.profile.stages, self.elapsed)
    }

    pub fn stage_info(&self) -> (&Stage, Duration) {
        let i = self.stage();
        let end = self.bounds.get(i).map_or(Duration::ZERO, |b| b.1);
        (&self.profile.stages[i], end.saturating_sub(self.elapsed))
    }

    /// The planned load now: users (closed) or arrivals/s (open).
    pub fn target_load(&self) -> f64 {
        load_at(&self.profile, self.elapsed.min(self.planned))
    }

    pub fn model(&self) -> Model {
        self.profile.model
    }

    /// Completed requests and errors per second, oldest first, without the
    /// second still going on.
    pub fn per_second(&self) -> Vec<(u64, u64)> {
        let now = self.elapsed.as_secs();
        let first = now.saturating_sub(HISTORY as u64);
        (first..now)
            .map(|s| self.seconds.get(&s).map_or((0, 0), |x| (x.count, x.errors)))
            .collect()
    }
}
