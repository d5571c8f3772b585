//! Time plans: where a run is at a given moment (stage, users, arrival
//! rate), the arrival times of the open model, and goose's test plan for the
//! closed model.
//!
//! Pure functions of the profile: no clocks, no I/O, so they are tested
//! exactly.

use std::time::Duration;

use crate::profile::{Model, Profile, Stage};

/// Stage index at `t` since the start (the last stage after the end).
pub fn stage_at(stages: &[Stage], t: Duration) -> usize {
    let mut end = Duration::ZERO;
    for (i, s) in stages.iter().enumerate() {
        end += s.duration;
        if t < end {
            return i;
        }
    }
    stages.len().saturating_sub(1)
}

/// Planned start and end of each stage.
pub fn stage_bounds(stages: &[Stage]) -> Vec<(Duration, Duration)> {
    let mut start = Duration::ZERO;
    stages
        .iter()
        .map(|s| {
            let b = (start, start + s.duration);
            start += s.duration;
            b
        })
        .collect()
}

/// The planned load at `t`: users (closed, linear ramps from the previous
/// stage's count, starting from 0) or arrivals per second (open).
pub fn load_at(p: &Profile, t: Duration) -> f64 {
    let mut start = Duration::ZERO;
    let mut prev_users = 0.0;
    for s in &p.stages {
        let end = start + s.duration;
        if t < end {
            let f = if s.duration.is_zero() {
                1.0
            } else {
                (t - start).as_secs_f64() / s.duration.as_secs_f64()
            };
            return match p.model {
                Model::Closed => prev_users + (s.users as f64 - prev_users) * f,
                Model::Open => s.rate + (s.ramp_to - s.rate) * f,
            };
        }
        prev_users = s.users as f64;
        start = end;
    }
    match p.model {
        Model::Closed => prev_users,
        Model::Open => 0.0,
    }
}

/// Arrival offsets of the open model, stage by stage, in time order.
///
/// Within a stage whose rate goes linearly from `r0` to `r1` over `D`, the
/// expected arrivals by `t` are `N(t) = r0·t + (r1−r0)·t²/(2D)`; the k-th
/// arrival (k = 0, 1, …) is at the `t` where `N(t) = k`. Arrivals are evenly
/// spaced at a constant rate (like wrk2 and k6's constant-arrival-rate), so
/// the achieved rate can be compared with the target exactly.
pub struct Arrivals<'a> {
    stages: &'a [Stage],
    stage: usize,
    stage_start: f64,
    k: u64,
}

impl<'a> Arrivals<'a> {
    pub fn new(stages: &'a [Stage]) -> Self {
        Arrivals {
            stages,
            stage: 0,
            stage_start: 0.0,
            k: 0,
        }
    }
}

/// Time within a stage of its k-th arrival, if before the stage's end.
pub fn arrival_in_stage(s: &Stage, k: u64) -> Option<f64> {
    let d = s.duration.as_secs_f64();
    let (r0, r1) = (s.rate, s.ramp_to);
    let k = k as f64;
    let t = if (r1 - r0).abs() < 1e-12 {
        if r0 <= 0.0 {
            return None;
        }
        k / r0
    } else {
        let a = (r1 - r0) / (2.0 * d);
        let disc = r0 * r0 + 4.0 * a * k;
        if disc < 0.0 {
            return None;
        }
        (-r0 + disc.sqrt()) / (2.0 * a)
    };
    if t.is_finite() && t >= 0.0 && t < d {
        Some(t)
    } else {
        None
    }
}

impl Iterator for Arrivals<'_> {
    /// (stage index, offset since the run's start)
    type Item = (usize, Duration);

    fn next(&mut self) -> Option<Self::Item> {
        while self.stage < self.stages.len() {
            let s = &self.stages[self.stage];
            if let Some(t) = arrival_in_stage(s, self.k) {
                self.k += 1;
                return Some((self.stage, Duration::from_secs_f64(self.stage_start + t)));
            }
            self.stage_start += s.duration.as_secs_f64();
            self.stage += 1;
            self.k = 0;
        }
        None
    }
}

/// Goose's test plan for a closed profile: `users,seconds` steps joined by
/// `;`, ending with `0,0` (stop at once). Goose counts steps in whole
/// seconds, so each non-zero stage lasts at least 1 s; the plan actually
/// run is reported.
pub fn goose_test_plan(stages: &[Stage]) -> String {
    let mut steps: Vec<String> = stages
        .iter()
        .map(|s| {
            let secs = if s.duration.is_zero() {
                0
            } else {
                (s.duration.as_secs_f64().round() as u64).max(1)
            };
            format!("{},{}", s.users, secs)
        })
        .collect();
    steps.push("0,0".into());
    steps.join(";")
}

/// The stages as goose will run them (durations rounded to whole seconds).
pub fn goose_rounded(stages: &[Stage]) -> Vec<Stage> {
    stages
        .iter()
        .map(|s| {
            let mut s = s.clone();
            if !s.duration.is_zero() {
                s.duration = Duration::from_secs((s.duration.as_secs_f64().round() as u64).max(1));
            }
            s
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(d: u64, r0: f64, r1: f64) -> Stage {
        Stage {
            name: "s".into(),
            duration: Duration::from_secs(d),
            users: 0,
            rate: r0,
            ramp_to: r1,
        }
    }

    #[test]
    fn constant_and_ramping_arrivals_integrate_to_the_plan() {
        // The 5000-users-per-minute plan: 100/s·60 s, 150/s·300 s, 200/s·60 s.
        let st = vec![
            open(60, 100.0, 100.0),
            open(300, 150.0, 150.0),
            open(60, 200.0, 200.0),
        ];
        let a: Vec<_> = Arrivals::new(&st).collect();
        assert_eq!(a.len(), 6000 + 45000 + 12000);
        let per_stage = |i| a.iter().filter(|(s, _)| *s == i).count();
        assert_eq!(
            (per_stage(0), per_stage(1), per_stage(2)),
            (6000, 45000, 12000)
        );
        // Stage 2 starts at 60 s and ends before 360 s.
        let s1: Vec<_> = a.iter().filter(|(s, _)| *s == 1).map(|(_, t)| *t).collect();
        assert_eq!(s1[0], Duration::from_secs(60));
        assert!(*s1.last().unwrap() < Duration::from_secs(360));
        // Ordered.
        assert!(a.windows(2).all(|w| w[0].1 <= w[1].1));
        // Ramp 0 -> 100/s over 10 s: 500 arrivals, denser at the end.
        let r = vec![open(10, 0.0, 100.0)];
        let a: Vec<_> = Arrivals::new(&r).collect();
        assert!((499..=501).contains(&a.len()), "{}", a.len());
        let first_half = a
            .iter()
            .filter(|(_, t)| *t < Duration::from_secs(5))
            .count();
        assert!((124..=126).contains(&first_half), "{first_half}");
        // Ramp down 100 -> 0.
        let r = vec![open(10, 100.0, 0.0)];
        assert!((499..=501).contains(&Arrivals::new(&r).count()));
        // A zero-rate stage is a pause.
        let p = vec![open(5, 0.0, 0.0), open(1, 10.0, 10.0)];
        let a: Vec<_> = Arrivals::new(&p).collect();
        assert_eq!(a.len(), 10);
        assert_eq!(a[0], (1, Duration::from_secs(5)));
    }

    #[test]
    fn stage_lookup() {
        let st = vec![open(2, 1.0, 1.0), open(3, 1.0, 1.0)];
        assert_eq!(stage_at(&st, Duration::from_millis(1999)), 0);
        assert_eq!(stage_at(&st, Duration::from_secs(2)), 1);
        assert_eq!(stage_at(&st, Duration::from_secs(99)), 1);
        assert_eq!(
            stage_bounds(&st)[1],
            (Duration::from_secs(2), Duration::from_secs(5))
        );
    }
}
