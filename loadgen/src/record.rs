//! The raw record every request yields, the channel that carries them, and
//! the few live gauges an engine keeps besides.
//!
//! Engines (open and closed) only produce [`Record`]s; the collector, the
//! progress line, the live view, the exporters and the reports consume
//! them. All times are microseconds since the run's start instant, so a
//! record is small, `Copy`-cheap and independent of wall clocks.

use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::mpsc;

/// How a request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx with a complete, well-formed body (a `done` event for streams).
    Ok,
    /// Anything else, by kind: `http_503_overloaded`, `timeout`, `connect`,
    /// `sse_error_backend_unavailable`, `incomplete_stream`, `invalid_body`...
    Error(String),
}

/// One request, measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Index into the run's transaction names.
    pub txn: u16,
    /// Stage the request was scheduled in.
    pub stage: u16,
    /// When the request should have started (open model: its arrival time;
    /// closed model: the moment its user was ready, equal to `start_us`).
    /// Latency counts from here (coordinated omission).
    pub intended_us: u64,
    /// When it was actually handed to the HTTP client.
    pub start_us: u64,
    /// First byte of the response body (streamed answers), if measured.
    pub first_byte_us: Option<u64>,
    /// Last byte of the response (or the error).
    pub end_us: u64,
    pub outcome: Outcome,
}

/// tokio's timers fire on whole milliseconds (rounded up) and wake a
/// moment later, so the open-model scheduler itself sends arrivals up to
/// ~2 ms after their intended instant (measured: docs/BENCHMARKS.md,
/// "Latency agreement"). That lateness is loadgen's, not the server's: only
/// lateness beyond it counts in the corrected latency, and only requests
/// later than it are reported as corrected.
pub const TIMER_SLACK_US: u64 = 2_000;

impl Record {
    /// Where latency counts from: the intended start, less the scheduler's
    /// own timer slack (the actual send when it was at most that late).
    pub fn effective_start_us(&self) -> u64 {
        self.start_us - self.lag_us().saturating_sub(TIMER_SLACK_US)
    }
    /// Latency from the (effective) intended start to the last byte.
    pub fn latency_us(&self) -> u64 {
        self.end_us.saturating_sub(self.effective_start_us())
    }
    /// Latency from the actual send to the last byte (what a naive tool shows).
    pub fn service_us(&self) -> u64 {
        self.end_us.saturating_sub(self.start_us)
    }
    /// How late the request was sent compared to its schedule.
    pub fn lag_us(&self) -> u64 {
        self.start_us.saturating_sub(self.intended_us)
    }
}

pub type RecordTx = mpsc::UnboundedSender<Record>;
pub type RecordRx = mpsc::UnboundedReceiver<Record>;

pub fn channel() -> (RecordTx, RecordRx) {
    mpsc::unbounded_channel()
}

/// What records cannot tell while a run goes on: requests sent but not
/// yet answered, and (closed model) users running. Engines update them;
/// live views read them once per tick.
#[derive(Debug, Default)]
pub struct Gauges {
    /// Requests sent and not yet answered.
    pub in_flight: AtomicU64,
    /// Requests started so far (open model: arrivals sent).
    pub sent: AtomicU64,
    /// Closed model: users started and not yet stopped by the test plan.
    pub users: AtomicU64,
}

/// One reading of [`Gauges`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GaugeReading {
    pub in_flight: u64,
    pub sent: u64,
    pub users: u64,
}

impl Gauges {
    pub fn read(&self) -> GaugeReading {
        GaugeReading {
            in_flight: self.in_flight.load(Ordering::Relaxed),
            sent: self.sent.load(Ordering::Relaxed),
            users: self.users.load(Ordering::Relaxed),
        }
    }
}
