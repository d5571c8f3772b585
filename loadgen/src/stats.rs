//! Accumulating records into HDR histograms: per transaction, per stage and
//! per one-second interval.
//!
//! Every latency is a [`hdrhistogram::Histogram`] in microseconds (1 µs to
//! 1 h, 3 significant digits). A [`RunAcc`] turns into a [`crate::report::Report`]
//! and back without loss (histograms travel base64-encoded in the JSON), which
//! is what makes `loadgen merge` exact: merging adds histograms and counters,
//! it never averages percentiles.

use std::collections::BTreeMap;

use base64::Engine;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};

use crate::record::{Outcome, Record};

/// A request sent more than this late (µs) counts as corrected for
/// coordinated omission.
pub const LATE_US: u64 = crate::record::TIMER_SLACK_US;

pub fn new_hist() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

pub fn encode(h: &Histogram<u64>) -> String {
    let mut buf = Vec::new();
    V2DeflateSerializer::new()
        .serialize(h, &mut buf)
        .expect("histogram serializes");
    base64::engine::general_purpose::STANDARD.encode(buf)
}

/// Why an encoded histogram (from a JSON report) could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("histogram is not base64: {0}")]
    Base64(#[from] base64::DecodeError),
    #[error("histogram does not decode: {0:?}")]
    Format(hdrhistogram::serialization::DeserializeError),
    /// Values beyond loadgen's bounds (1 µs to 1 h).
    #[error("histogram out of range: {0:?}")]
    Range(hdrhistogram::errors::AdditionError),
}

pub fn decode(s: &str) -> Result<Histogram<u64>, DecodeError> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(s)?;
    let h: Histogram<u64> = Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(DecodeError::Format)?;
    let mut out = new_hist();
    out.add(&h).map_err(DecodeError::Range)?;
    Ok(out)
}

/// Histograms of one transaction (or of all, or of one stage).
#[derive(Clone)]
pub struct Acc {
    pub count: u64,
    pub ok: u64,
    pub errors: BTreeMap<String, u64>,
    /// Intended start to last byte (coordinated-omission corrected).
    pub latency: Histogram<u64>,
    /// Actual send to last byte (uncorrected; what a naive tool reports).
    pub service: Histogram<u64>,
    /// Intended start to first byte, streamed answers only.
    pub ttfb: Histogram<u64>,
    /// Send lag behind schedule.
    pub lag: Histogram<u64>,
    /// Requests sent more than [`LATE_US`] behind schedule.
    pub late: u64,
}

impl Default for Acc {
    fn default() -> Self {
        Acc {
            count: 0,
            ok: 0,
            errors: BTreeMap::new(),
            latency: new_hist(),
            service: new_hist(),
            ttfb: new_hist(),
            lag: new_hist(),
            late: 0,
        }
    }
}

impl Acc {
    pub fn add_record(&mut self, r: &Record) {
        self.count += 1;
        match &r.outcome {
            Outcome::Ok => self.ok += 1,
            Outcome::Error(kind) => *self.errors.entry(kind.clone()).or_default() += 1,
        }
        self.latency.saturating_record(r.latency_us().max(1));
        self.service.saturating_record(r.service_us().max(1));
        if let Some(fb) = r.first_byte_us {
            self.ttfb
                .saturating_record(fb.saturating_sub(r.effective_start_us()).max(1));
        }
        let lag = r.lag_us();
        self.lag.saturating_record(lag.max(1));
        if lag > LATE_US {
            self.late += 1;
        }
    }

    pub fn merge(&mut self, o: &Acc) {
        self.count += o.count;
        self.ok += o.ok;
        for (k, v) in &o.errors {
            *self.errors.entry(k.clone()).or_default() += v;
        }
        self.latency.add(&o.latency).expect("same bounds");
        self.service.add(&o.service).expect("same bounds");
        self.ttfb.add(&o.ttfb).expect("same bounds");
        self.lag.add(&o.lag).expect("same bounds");
        self.late += o.late;
    }

    pub fn failed(&self) -> u64 {
        self.count - self.ok
    }
}

/// One stage's accumulation, plus what its achieved arrival rate needs.
#[derive(Clone)]
pub struct StageAcc {
    pub acc: Acc,
    /// First and last actual send times (µs since start) of its requests.
    pub first_send_us: Option<u64>,
    pub last_send_us: Option<u64>,
}

/// One interval (a wall-clock second, by completion time).
#[derive(Clone)]
pub struct IntervalAcc {
    pub count: u64,
    pub errors: u64,
    pub latency: Histogram<u64>,
}

/// Everything a run measured.
#[derive(Clone)]
pub struct RunAcc {
    /// Wall-clock time (Unix ms) of the start instant all record times count from.
    pub t0_unix_ms: u64,
    pub names: Vec<String>,
    pub txns: Vec<Acc>,
    pub all: Acc,
    pub stages: Vec<StageAcc>,
    /// Keyed by Unix second of completion.
    pub intervals: BTreeMap<u64, IntervalAcc>,
}

impl RunAcc {
    pub fn new(t0_unix_ms: u64, names: Vec<String>, stages: usize) -> RunAcc {
        RunAcc {
            t0_unix_ms,
            txns: names.iter().map(|_| Acc::default()).collect(),
            names,
            all: Acc::default(),
            stages: (0..stages)
                .map(|_| StageAcc {
                    acc: Acc::default(),
                    first_send_us: None,
                    last_send_us: None,
                })
                .collect(),
            intervals: BTreeMap::new(),
        }
    }

    pub fn add(&mut self, r: &Record) {
        if let Some(t) = self.txns.get_mut(r.txn as usize) {
            t.add_record(r);
        }
        self.all.add_record(r);
        if let Some(s) = self.stages.get_mut(r.stage as usize) {
            s.acc.add_record(r);
            s.first_send_us = Some(s.first_send_us.map_or(r.start_us, |f| f.min(r.start_us)));
            s.last_send_us = Some(s.last_send_us.map_or(r.start_us, |l| l.max(r.start_us)));
        }
        let sec = (self.t0_unix_ms + r.end_us / 1000) / 1000;
        let iv = self.intervals.entry(sec).or_insert_with(|| IntervalAcc {
            count: 0,
            errors: 0,
            latency: new_hist(),
        });
        iv.count += 1;
        if r.outcome != Outcome::Ok {
            iv.errors += 1;
        }
        iv.latency.saturating_record(r.latency_us().max(1));
    }

    /// Add another process's accumulation of the same profile. Send times
    /// are re-based on this run's start so stage rates stay comparable.
    pub fn merge(&mut self, o: &RunAcc) {
        for (i, name) in o.names.iter().enumerate() {
            let j = match self.names.iter().position(|n| n == name) {
                Some(j) => j,
                None => {
                    self.names.push(name.clone());
                    self.txns.push(Acc::default());
                    self.names.len() - 1
                }
            };
            self.txns[j].merge(&o.txns[i]);
        }
        self.all.merge(&o.all);
        let shift = |us: u64| -> u64 {
            (us as i64 + (o.t0_unix_ms as i64 - self.t0_unix_ms as i64) * 1000).max(0) as u64
        };
        while self.stages.len() < o.stages.len() {
            self.stages.push(StageAcc {
                acc: Acc::default(),
                first_send_us: None,
                last_send_us: None,
            });
        }
        for (s, os) in self.stages.iter_mut().zip(&o.stages) {
            s.acc.merge(&os.acc);
            if let Some(f) = os.first_send_us.map(shift) {
                s.first_send_us = Some(s.first_send_us.map_or(f, |x| x.min(f)));
            }
            if let Some(l) = os.last_send_us.map(shift) {
                s.last_send_us = Some(s.last_send_us.map_or(l, |x| x.max(l)));
            }
        }
        for (sec, iv) in &o.intervals {
            let e = self.intervals.entry(*sec).or_insert_with(|| IntervalAcc {
                count: 0,
                errors: 0,
                latency: new_hist(),
            });
            e.count += iv.count;
            e.errors += iv.errors;
            e.latency.add(&iv.latency).expect("same bounds");
        }
    }
}
