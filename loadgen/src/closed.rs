//! The closed model (a population of concurrent users) driven by goose's
//! test plan.
//!
//! Goose starts and stops the users stage by stage (`users,seconds;...`,
//! set with `GooseDefault::TestPlan`) and applies the think time. Goose's own
//! request timer stops at the first byte, so each transaction issues its
//! request on the user's own connection ([`crate::http::Conn`], kept in
//! goose's session data) and times it itself, to the last byte, and sends a
//! [`Record`] on the channel; goose's metrics are switched off. Stops (Ctrl-C, time or request bounds, an SLO breach) go through
//! goose's killswitch, so users finish cleanly.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use goose::config::GooseConfiguration;
use goose::prelude::*;

use crate::http::Conn;
use crate::open::{EngineEnd, StopRx};
use crate::profile::Stage;
use crate::record::{Gauges, Record, RecordTx};
use crate::schedule::{goose_test_plan, stage_at};
use crate::work::Workload;

pub struct ClosedConfig {
    /// Stages with durations already rounded to whole seconds.
    pub stages: Vec<Stage>,
    pub think_min: Duration,
    pub think_max: Duration,
    pub max_requests: u64,
    pub timeout: Duration,
}

struct Ctx {
    work: Arc<Workload>,
    tx: RecordTx,
    t0: Instant,
    stages: Vec<Stage>,
    seq: AtomicU64,
    max_requests: u64,
    gauges: Arc<Gauges>,
}

/// Why goose could not run the closed model.
#[derive(Debug, thiserror::Error)]
pub enum ClosedError {
    /// Goose refused the think time (`think_time.min`, `max`).
    #[error("think time: {0}")]
    ThinkTime(#[source] GooseError),
    #[error("goose configuration: {0}")]
    Config(#[source] GooseError),
    /// Goose refused a setting before the run.
    #[error("goose: {0}")]
    Setup(#[source] GooseError),
    /// The run itself failed (with a hint when goose could not build its
    /// HTTP client).
    #[error("goose: {0}{hint}", hint = client_hint(.0))]
    Run(#[source] GooseError),
}

/// goose builds a reqwest client (shared by the users), and reqwest
/// refuses to build one without CA certificates (seen in a minimal
/// container image).
fn client_hint(e: &GooseError) -> &'static str {
    if e.to_string().contains("builder error") {
        " (goose could not build its HTTP client: is the system's CA \
         certificate bundle missing? install ca-certificates, or copy \
         /etc/ssl/certs/ca-certificates.crt into the image)"
    } else {
        ""
    }
}

/// Run the closed model; returns when goose has stopped every user.
pub async fn run(
    cfg: ClosedConfig,
    work: Arc<Workload>,
    tx: RecordTx,
    stop: StopRx,
    t0: Instant,
    gauges: Arc<Gauges>,
) -> Result<EngineEnd, ClosedError> {
    let ctx = Arc::new(Ctx {
        work: work.clone(),
        tx,
        t0,
        stages: cfg.stages.clone(),
        seq: AtomicU64::new(0),
        max_requests: cfg.max_requests,
        gauges,
    });
    let scenario = Scenario::new("users")
        .set_wait_time(cfg.think_min, cfg.think_max)
        .map_err(ClosedError::ThinkTime)?
        .register_transaction(Transaction::new(transaction(ctx.clone())).set_name("request"))
        .register_transaction(Transaction::new(user_count(ctx.clone(), 1)).set_on_start())
        .register_transaction(Transaction::new(user_count(ctx.clone(), -1)).set_on_stop());
    let attack = attack(&cfg, &work.base)?.register_scenario(scenario);
    let forward = tokio::spawn(forward_stop(stop));
    let result = attack.execute().await;
    forward.abort();
    result.map_err(ClosedError::Run)?;
    let sent = ctx.seq.load(Ordering::Relaxed).min(cfg.max_requests);
    Ok(EngineEnd {
        sent,
        abandoned: 0,
        stopped_by: None,
    })
}

/// A user's one transaction: the next request of the mix on the user's own
/// connection, timed to the last byte and sent as a [`Record`].
fn transaction(c: Arc<Ctx>) -> TransactionFunction {
    Arc::new(move |user| {
        let c = c.clone();
        Box::pin(async move {
            let seq = c.seq.fetch_add(1, Ordering::Relaxed);
            c.gauges
                .sent
                .store((seq + 1).min(c.max_requests), Ordering::Relaxed);
            if seq >= c.max_requests {
                goose::trigger_killswitch("max_requests");
                return Ok(());
            }
            let idx = c.work.pick(seq);
            let start = Instant::now();
            let stage = stage_at(&c.stages, start.saturating_duration_since(c.t0));
            c.gauges.in_flight.fetch_add(1, Ordering::Relaxed);
            // Each user keeps its own connection (goose's per-user reqwest
            // client is left unused: crate::http says why).
            if user.get_session_data::<Conn>().is_none() {
                user.set_session_data(c.work.conn());
            }
            let conn = user
                .get_session_data_mut::<Conn>()
                .expect("session connection set above");
            let timed = c.work.execute(conn, idx, seq).await;
            c.gauges.in_flight.fetch_sub(1, Ordering::Relaxed);
            let us = |i: Instant| i.saturating_duration_since(c.t0).as_micros() as u64;
            let _ = c.tx.send(Record {
                txn: idx as u16,
                stage: stage as u16,
                intended_us: us(start),
                start_us: us(start),
                first_byte_us: timed.first_byte.map(us),
                end_us: us(timed.end),
                outcome: timed.outcome,
            });
            Ok(())
        })
    })
}

/// Counts users up as goose starts them (`on_start`) and down as the test
/// plan stops them (`on_stop`), for the live view's users achieved.
fn user_count(c: Arc<Ctx>, delta: i64) -> TransactionFunction {
    Arc::new(move |_user| {
        let c = c.clone();
        Box::pin(async move {
            if delta > 0 {
                c.gauges.users.fetch_add(1, Ordering::Relaxed);
            } else {
                let _ = c
                    .gauges
                    .users
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |u| {
                        Some(u.saturating_sub(1))
                    });
            }
            Ok(())
        })
    })
}

/// Goose set up for the plan: the test plan, no telnet, metrics or
/// printing of its own, the profile's timeout, one shared client.
fn attack(cfg: &ClosedConfig, host: &str) -> Result<GooseAttack, ClosedError> {
    let plan = goose_test_plan(&cfg.stages);
    let config =
        GooseConfiguration::parse_args_default::<&str>(&[]).map_err(ClosedError::Config)?;
    let g = ClosedError::Setup;
    let attack = GooseAttack::initialize_with_config(config).map_err(g)?;
    let attack = *attack.set_default(GooseDefault::Host, host).map_err(g)?;
    let attack = *attack
        .set_default(GooseDefault::TestPlan, plan.as_str())
        .map_err(g)?;
    let attack = *attack
        .set_default(GooseDefault::NoTelnet, true)
        .map_err(g)?;
    let attack = *attack
        .set_default(GooseDefault::NoMetrics, true)
        .map_err(g)?;
    let attack = *attack
        .set_default(GooseDefault::NoPrintMetrics, true)
        .map_err(g)?;
    let attack = *attack.set_default(GooseDefault::Quiet, 1usize).map_err(g)?;
    let attack = *attack
        .set_default(
            GooseDefault::Timeout,
            cfg.timeout.as_secs().max(1).to_string().as_str(),
        )
        .map_err(g)?;
    // Users send on their own connections (crate::http), so goose's client
    // is only a formality: one shared client, built once, instead of one per
    // user. Per-user clients took ~2 ms each to build (each loads the
    // system's CA certificates) before goose started its clock, so with
    // thousands of users the first stage began seconds late.
    attack
        .set_client_builder_without_cookies(
            goose::client::GooseClientBuilder::new().without_cookies(),
        )
        .map_err(g)
}

/// Forward our stop signal to goose's killswitch. Goose clears the
/// killswitch when the run starts, so keep re-asserting it.
async fn forward_stop(mut stop: StopRx) {
    loop {
        if stop.borrow().is_some() {
            let reason = stop.borrow().clone().unwrap_or_default();
            loop {
                if !goose::is_killswitch_triggered() {
                    goose::trigger_killswitch(&reason);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        if stop.changed().await.is_err() {
            return;
        }
    }
}
