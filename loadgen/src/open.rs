//! The open (arrival-rate) model, which goose lacks: requests arrive on a
//! schedule whatever the server's speed, constant or ramping per stage.
//!
//! One scheduler task sleeps until the next arrival is due (arrivals
//! already due go at once) and spawns the request, which borrows an idle
//! keep-alive connection or opens one. At most `max_in_flight` requests run at once; an arrival
//! beyond that waits for a slot, and that wait counts in its latency,
//! because latency is measured from the intended start: a stalled server
//! cannot hide its queue (coordinated omission). Each request yields one
//! [`Record`] on the channel; the engine never aggregates.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use crate::http::Conn;
use crate::profile::Stage;
use crate::record::{Gauges, Record, RecordTx};
use crate::schedule::Arrivals;
use crate::work::Workload;

/// Why a run stopped early, as the stop channel carries it.
pub type StopRx = watch::Receiver<Option<String>>;

pub struct OpenConfig {
    pub stages: Vec<Stage>,
    pub max_requests: u64,
    pub max_in_flight: usize,
    /// Time allowed for in-flight requests after the schedule ends or a stop.
    pub drain: Duration,
}

/// What the engine did.
pub struct EngineEnd {
    pub sent: u64,
    /// Requests still in flight when draining gave up (not in any record).
    pub abandoned: u64,
    /// Set when the schedule was not played to its end.
    pub stopped_by: Option<String>,
}

/// Run the open model from `t0`, sending records on `tx`.
pub async fn run(
    cfg: OpenConfig,
    work: Arc<Workload>,
    tx: RecordTx,
    mut stop: StopRx,
    t0: Instant,
    gauges: Arc<Gauges>,
) -> EngineEnd {
    let sem = Arc::new(Semaphore::new(cfg.max_in_flight.max(1)));
    // Idle keep-alive connections; never more than `max_in_flight`, since
    // each request holds one while it holds a permit.
    let idle: Arc<Mutex<Vec<Conn>>> = Arc::default();
    let mut set = JoinSet::new();
    let mut sent = 0u64;
    let mut stopped_by = None;
    for (stage, offset) in Arrivals::new(&cfg.stages) {
        if let Some(r) = stop.borrow().clone() {
            stopped_by = Some(r);
            break;
        }
        if sent >= cfg.max_requests {
            stopped_by = Some("max_requests".into());
            break;
        }
        let intended = t0 + offset;
        // Arrivals already due go at once: no timer per arrival (timers
        // fire on whole milliseconds anyway; latency counts from `intended`).
        if intended > Instant::now() {
            tokio::select! {
                _ = tokio::time::sleep_until(intended.into()) => {}
                _ = stop.changed() => { stopped_by = stop.borrow().clone(); break; }
            }
        }
        let permit = tokio::select! {
            p = sem.clone().acquire_owned() => p.expect("semaphore open"),
            _ = stop.changed() => { stopped_by = stop.borrow().clone(); break; }
        };
        let seq = sent;
        sent += 1;
        gauges.sent.store(sent, Ordering::Relaxed);
        let work = work.clone();
        let idle = idle.clone();
        let tx = tx.clone();
        let gauges = gauges.clone();
        gauges.in_flight.fetch_add(1, Ordering::Relaxed);
        set.spawn(async move {
            let idx = work.pick(seq);
            let mut conn = idle
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .pop()
                .unwrap_or_else(|| work.conn());
            let start = Instant::now();
            let timed = work.execute(&mut conn, idx, seq).await;
            idle.lock().unwrap_or_else(|p| p.into_inner()).push(conn);
            let us = |i: Instant| i.saturating_duration_since(t0).as_micros() as u64;
            let _ = tx.send(Record {
                txn: idx as u16,
                stage: stage as u16,
                intended_us: us(intended),
                start_us: us(start),
                first_byte_us: timed.first_byte.map(us),
                end_us: us(timed.end),
                outcome: timed.outcome,
            });
            gauges.in_flight.fetch_sub(1, Ordering::Relaxed);
            drop(permit);
        });
        while set.try_join_next().is_some() {}
    }
    // Drain: wait for in-flight requests, bounded.
    let deadline = tokio::time::sleep(cfg.drain);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            r = set.join_next() => if r.is_none() { break },
            _ = &mut deadline => break,
        }
    }
    let abandoned = set.len() as u64;
    set.abort_all();
    EngineEnd {
        sent,
        abandoned,
        stopped_by,
    }
}
