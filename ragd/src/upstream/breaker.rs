//! A circuit breaker per upstream endpoint.
//!
//! *Closed*: calls go through; consecutive failed calls (after their
//! retries) are counted. At `breaker_failures` it *opens*: calls fail at
//! once, for `breaker_cooldown_secs`. Then the next call is let through as a
//! probe (*half-open*; other calls keep failing fast while it runs): its
//! success closes the breaker, its failure opens it for another cooldown.

use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen,
}

/// What the breaker says about a call about to be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permit {
    /// Go ahead.
    Call,
    /// Go ahead: this call is the probe of a half-open breaker.
    Probe,
    /// Fail fast: the breaker is open for about this long still.
    Refuse(Duration),
}

pub struct Breaker {
    state: Mutex<State>,
    threshold: u32,
    cooldown: Duration,
}

impl Breaker {
    /// `threshold` 0 turns the breaker off (it never opens).
    pub fn new(threshold: u32, cooldown: Duration) -> Breaker {
        Breaker {
            state: Mutex::new(State::Closed { failures: 0 }),
            threshold,
            cooldown,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn permit(&self) -> Permit {
        self.permit_at(Instant::now())
    }

    pub fn permit_at(&self, now: Instant) -> Permit {
        let mut s = self.lock();
        match *s {
            State::Closed { .. } => Permit::Call,
            State::Open { until } if now >= until => {
                *s = State::HalfOpen;
                Permit::Probe
            }
            State::Open { until } => Permit::Refuse(until - now),
            // A probe is out: wait for its verdict.
            State::HalfOpen => Permit::Refuse(Duration::from_secs(1)),
        }
    }

    /// The call (with its retries) succeeded.
    pub fn success(&self) {
        let mut s = self.lock();
        if *s != (State::Closed { failures: 0 }) {
            if !matches!(*s, State::Closed { .. }) {
                tracing::info!("upstream answers again: circuit closed");
            }
            *s = State::Closed { failures: 0 };
        }
    }

    /// The call failed in a way that says the upstream is unwell (refused,
    /// timed out, 429, 5xx), after its retries.
    pub fn failure(&self) {
        self.failure_at(Instant::now())
    }

    pub fn failure_at(&self, now: Instant) {
        if self.threshold == 0 {
            return;
        }
        let mut s = self.lock();
        let open = match *s {
            State::Closed { failures } if failures + 1 >= self.threshold => true,
            State::Closed { failures } => {
                *s = State::Closed {
                    failures: failures + 1,
                };
                false
            }
            State::HalfOpen | State::Open { .. } => true,
        };
        if open {
            *s = State::Open {
                until: now + self.cooldown,
            };
            tracing::warn!(
                cooldown_secs = self.cooldown.as_secs(),
                "upstream failing: circuit open, failing fast"
            );
        }
    }

    /// `closed`, `open` or `half-open`.
    #[cfg(test)]
    pub fn state_name(&self) -> &'static str {
        match *self.lock() {
            State::Closed { .. } => "closed",
            State::Open { .. } => "open",
            State::HalfOpen => "half-open",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_the_threshold_then_probes_once() {
        let b = Breaker::new(3, Duration::from_secs(10));
        let t = Instant::now();
        for _ in 0..2 {
            assert_eq!(b.permit_at(t), Permit::Call);
            b.failure_at(t);
        }
        // A success resets the count.
        b.success();
        for _ in 0..3 {
            assert_eq!(b.permit_at(t), Permit::Call);
            b.failure_at(t);
        }
        assert_eq!(b.state_name(), "open");
        assert_eq!(
            b.permit_at(t + Duration::from_secs(4)),
            Permit::Refuse(Duration::from_secs(6))
        );
        // After the cooldown one probe goes, the others wait for it.
        let later = t + Duration::from_secs(10);
        assert_eq!(b.permit_at(later), Permit::Probe);
        assert!(matches!(b.permit_at(later), Permit::Refuse(_)));
        // A failed probe opens it again for a whole cooldown.
        b.failure_at(later);
        assert!(matches!(
            b.permit_at(later + Duration::from_secs(9)),
            Permit::Refuse(_)
        ));
        assert_eq!(b.permit_at(later + Duration::from_secs(10)), Permit::Probe);
        b.success();
        assert_eq!(b.state_name(), "closed");
        assert_eq!(b.permit_at(later), Permit::Call);
    }

    #[test]
    fn threshold_zero_never_opens() {
        let b = Breaker::new(0, Duration::from_secs(10));
        for _ in 0..100 {
            b.failure();
        }
        assert_eq!(b.permit(), Permit::Call);
    }
}
