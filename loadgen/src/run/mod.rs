//! One load run, end to end: check the target, prepare its collection,
//! start an engine, consume its records (collector + progress line), stop on
//! the plan's end or a bound, and build the report.
//!
//! [`run`] is what the tests call, [`run_full`] what `loadgen run` and
//! `loadgen quick` call. This file holds the options and the steps;
//! `setup.rs` checks the target and prepares the collection, `collect.rs`
//! consumes the records into the report's accumulation, `consumer.rs`
//! defines the other consumers (live view, exporter, per-request CSV).
//! The watched containers (`--watch`, `[resources]`) are sampled by
//! `crate::resources::Sampler` from the first request to the end.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use crate::closed::ClosedError;
use crate::open::EngineEnd;
use crate::profile::{Model, Profile};
use crate::record::{Gauges, RecordTx};
use crate::report::{Meta, Report, StagePlan};
use crate::resources::{Sampler, Watch};
use crate::schedule::{goose_rounded, goose_test_plan, stage_bounds};
use crate::stats::RunAcc;
use crate::work::{ClientError, Workload, WorkloadError, client};

mod collect;
mod consumer;
mod setup;

pub use consumer::{Consumer, ConsumerError, RunView};
pub use setup::{CorpusError, SetupError, read_corpus};

/// How the live progress line is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// Nothing (tests, `--quiet`).
    Off,
    /// One line rewritten in place every second (a terminal on stderr).
    Inline,
    /// A new line every 10 s (logs, CI).
    Lines,
}

impl ProgressMode {
    /// Inline on a terminal, lines otherwise.
    pub fn auto() -> ProgressMode {
        if std::io::stderr().is_terminal() {
            ProgressMode::Inline
        } else {
            ProgressMode::Lines
        }
    }
}

/// Everything a run needs besides the profile's content.
pub struct RunOptions {
    pub profile: Profile,
    /// ragd base URL, e.g. `http://127.0.0.1:8080`.
    pub target: String,
    /// Multiplies stage durations (0.01 plays a 30-minute plan in 18 s).
    pub time_scale: f64,
    /// Multiplies user counts and arrival rates.
    pub user_scale: f64,
    /// Hard stop; default: the planned length plus the drain time.
    pub max_duration: Option<Duration>,
    /// Overrides the profile's `max_requests`.
    pub max_requests: Option<u64>,
    /// This process's name in merged reports (and ingested document ids).
    pub instance: String,
    pub progress: ProgressMode,
    /// Create the collection and ingest `setup.corpus` when missing.
    pub setup: bool,
    /// Stop the run cleanly on Ctrl-C (open model; goose handles it for
    /// the closed model).
    pub handle_ctrl_c: bool,
    /// A copy of every raw record (tests).
    pub tap: Option<RecordTx>,
    /// Live view, exporters, per-request CSV: each gets every record.
    pub consumers: Vec<Box<dyn Consumer>>,
    /// Stop from outside (tests): send a reason.
    pub stop: Option<watch::Receiver<Option<String>>>,
    /// Containers to sample during the run (`--watch`); overrides the
    /// profile's `[resources]`.
    pub watch: Option<Watch>,
}

impl RunOptions {
    pub fn new(profile: Profile, target: &str) -> RunOptions {
        RunOptions {
            profile,
            target: target.to_string(),
            time_scale: 1.0,
            user_scale: 1.0,
            max_duration: None,
            max_requests: None,
            instance: default_instance(),
            progress: ProgressMode::Off,
            setup: true,
            handle_ctrl_c: false,
            tap: None,
            consumers: Vec::new(),
            stop: None,
            watch: None,
        }
    }
}

/// `HOSTNAME` (a pod or container name) or `loadgen-PID`.
pub fn default_instance() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| format!("loadgen-{}", std::process::id()))
}

/// A `--report` path with `{instance}` replaced by the instance name.
/// Docker Swarm expands templates in `--env` and `--hostname` but not in a
/// service's arguments, so `--report /out/{instance}.json` with
/// `LOADGEN_INSTANCE=loadgen-{{.Task.Slot}}` gives each task its own file
/// on a shared volume (without it, every task overwrote the same file).
pub fn report_path(path: &std::path::Path, instance: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(path.to_string_lossy().replace("{instance}", instance))
}

/// Why a run could not produce a report.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("--time-scale must be above 0, got {0}")]
    TimeScale(f64),
    #[error("--user-scale must be above 0, got {0}")]
    UserScale(f64),
    #[error("--target {0:?}: expected an http:// or https:// URL, e.g. http://127.0.0.1:8080")]
    Target(String),
    #[error(transparent)]
    Client(#[from] ClientError),
    /// `GET /health` did not succeed within 5 s; `cause` is the last failure.
    #[error(
        "cannot reach ragd at {target}: {cause}. Is it running (`ragd serve --listen 127.0.0.1:8080`) and is --target right?"
    )]
    Unreachable { target: String, cause: String },
    #[error("setup of collection {collection:?}: {source}")]
    Setup {
        collection: String,
        source: SetupError,
    },
    #[error(transparent)]
    Workload(#[from] WorkloadError),
    #[error(transparent)]
    Closed(#[from] ClosedError),
    #[error("collector failed: {0}")]
    Collector(#[source] tokio::task::JoinError),
}

pub fn now_unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// What a run plays: the profile as scaled, and the bounds around it.
struct Plan {
    profile: Profile,
    /// Base URL without a trailing slash.
    target: String,
    max_requests: u64,
    planned: Duration,
    /// Time allowed for in-flight requests after the plan.
    drain: Duration,
    max_duration: Duration,
}

impl Plan {
    /// Check the options' scales and target, and scale the profile.
    fn of(opts: &RunOptions) -> Result<Plan, RunError> {
        if !(opts.time_scale > 0.0 && opts.time_scale.is_finite()) {
            return Err(RunError::TimeScale(opts.time_scale));
        }
        if !(opts.user_scale > 0.0 && opts.user_scale.is_finite()) {
            return Err(RunError::UserScale(opts.user_scale));
        }
        let mut profile = opts.profile.scaled(opts.time_scale, opts.user_scale);
        if profile.model == Model::Closed {
            // Goose's test plan counts whole seconds; plan and report what runs.
            profile.stages = goose_rounded(&profile.stages);
        }
        let planned = profile.planned();
        let drain = profile.timeout.min(Duration::from_secs(10));
        let target = opts.target.trim_end_matches('/').to_string();
        if !(target.starts_with("http://") || target.starts_with("https://")) {
            return Err(RunError::Target(target));
        }
        Ok(Plan {
            max_requests: opts.max_requests.unwrap_or(profile.max_requests),
            max_duration: opts.max_duration.unwrap_or(planned + drain),
            profile,
            target,
            planned,
            drain,
        })
    }
}

/// A run's report, and what went wrong with its consumers (a CSV file that
/// could not be written...), which does not void the report.
pub struct Finished {
    pub report: Report,
    pub consumer_errors: Vec<ConsumerError>,
}

/// Play a profile against a target and return its report.
pub async fn run(opts: RunOptions) -> Result<Report, RunError> {
    run_full(opts).await.map(|f| f.report)
}

/// [`run`], also saying how its consumers fared.
pub async fn run_full(mut opts: RunOptions) -> Result<Finished, RunError> {
    let plan = Plan::of(&opts)?;
    let profile = &plan.profile;
    let http = client(profile.timeout, profile.max_in_flight.min(1024))?;
    setup::check_target(&http, &plan.target).await?;
    if opts.setup {
        setup::setup(&http, &plan.target, profile).await?;
    }

    let work = Arc::new(Workload::new(profile, &plan.target, &opts.instance)?);
    let names = work.names();
    let (tx, rx) = crate::record::channel();
    let (stop_tx, stop_rx) = watch::channel::<Option<String>>(None);
    let stop_tx = Arc::new(stop_tx);
    let gauges = Arc::new(Gauges::default());
    let t0 = Instant::now();
    let t0_unix_ms = now_unix_ms();
    let helpers = stop_sources(&opts, &plan, &stop_tx);
    let view = RunView {
        profile: profile.clone(),
        names: names.clone(),
        t0,
        t0_unix_ms,
        user_scale: opts.user_scale,
        gauges: gauges.clone(),
        stop: stop_tx.clone(),
    };
    let mut taps: Vec<RecordTx> = opts.tap.take().into_iter().collect();
    let consumers: Vec<_> = std::mem::take(&mut opts.consumers)
        .into_iter()
        .map(|c| {
            let (ctx, crx) = crate::record::channel();
            taps.push(ctx);
            (c.name(), c.start(view.clone(), crx))
        })
        .collect();
    let sampler = opts
        .watch
        .clone()
        .or_else(|| profile.resources.clone())
        .map(Sampler::start);
    let (done_tx, done_rx) = oneshot::channel();
    let collector = tokio::spawn(collect::collect(collect::Collect {
        rx,
        acc: RunAcc::new(t0_unix_ms, names, profile.stages.len()),
        profile: profile.clone(),
        progress: opts.progress,
        gauges: gauges.clone(),
        stop: stop_tx.clone(),
        t0,
        taps,
        done: done_rx,
    }));
    let end = engine(&plan, work, tx, stop_rx.clone(), t0, gauges).await;
    let resources = match sampler {
        Some(s) => Some(s.finish().await),
        None => None,
    };
    let end = end?;
    let _ = done_tx.send(());
    let acc = collector.await.map_err(RunError::Collector)?;
    for h in helpers {
        h.abort();
    }
    // The collector has ended, so every consumer's channel is closed.
    let mut consumer_errors = Vec::new();
    for (name, handle) in consumers {
        match handle.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => consumer_errors.push(e),
            Err(source) => consumer_errors.push(ConsumerError::Task { name, source }),
        }
    }
    let ended_unix_ms = now_unix_ms();
    let stop_reason = stop_reason(&plan, &end, &stop_rx);
    if profile.model == Model::Closed {
        goose::reset_killswitch();
    }
    let meta = meta(&opts, &plan, t0_unix_ms, ended_unix_ms, stop_reason);
    let report = Report::build_with(meta, &acc, resources);
    warn_unjudged(&report);
    Ok(Finished {
        report,
        consumer_errors,
    })
}

/// One warning on stderr when CPU or memory thresholds could not be
/// judged because no container was watched (an unreachable engine or a
/// project without containers was already reported by the sampler).
fn warn_unjudged(report: &Report) {
    let watched = report.resources.as_ref().is_some_and(|r| r.watch.is_some());
    let skipped: Vec<&str> = report
        .thresholds
        .iter()
        .filter(|v| v.skipped)
        .map(|v| v.rule.as_str())
        .collect();
    if !watched && !skipped.is_empty() {
        eprintln!(
            "loadgen: warning: {} not judged: {}",
            skipped.join(", "),
            crate::report::NOT_WATCHED
        );
    }
}

/// Outside stop requests, Ctrl-C (open model) and the duration bound, all
/// feeding the stop channel; abort them when the run is over.
fn stop_sources(
    opts: &RunOptions,
    plan: &Plan,
    stop: &Arc<watch::Sender<Option<String>>>,
) -> Vec<JoinHandle<()>> {
    let mut helpers = Vec::new();
    if let Some(ext) = opts.stop.clone() {
        helpers.push(tokio::spawn(forward_stop(ext, stop.clone())));
    }
    if opts.handle_ctrl_c && plan.profile.model == Model::Open {
        helpers.push(tokio::spawn(stop_on_ctrl_c(stop.clone())));
    }
    let (s, max_duration) = (stop.clone(), plan.max_duration);
    helpers.push(tokio::spawn(async move {
        tokio::time::sleep(max_duration).await;
        s.send_if_modified(|v| {
            if v.is_none() {
                *v = Some("max_duration".into());
                true
            } else {
                false
            }
        });
    }));
    helpers
}

/// Pass on the first reason sent from outside.
async fn forward_stop(
    mut ext: watch::Receiver<Option<String>>,
    stop: Arc<watch::Sender<Option<String>>>,
) {
    loop {
        if let Some(r) = ext.borrow().clone() {
            let _ = stop.send(Some(r));
            return;
        }
        if ext.changed().await.is_err() {
            return;
        }
    }
}

/// The first Ctrl-C stops the run cleanly; a second quits at once.
async fn stop_on_ctrl_c(stop: Arc<watch::Sender<Option<String>>>) {
    if tokio::signal::ctrl_c().await.is_ok() {
        let _ = stop.send(Some("interrupted".into()));
        eprintln!(
            "\nloadgen: interrupted; finishing in-flight requests (Ctrl-C again to quit at once)"
        );
        if tokio::signal::ctrl_c().await.is_ok() {
            std::process::exit(130);
        }
    }
}

/// Run the profile's engine until the plan ends or a stop arrives.
async fn engine(
    plan: &Plan,
    work: Arc<Workload>,
    tx: RecordTx,
    stop: watch::Receiver<Option<String>>,
    t0: Instant,
    gauges: Arc<Gauges>,
) -> Result<EngineEnd, RunError> {
    let p = &plan.profile;
    Ok(match p.model {
        Model::Open => {
            let cfg = crate::open::OpenConfig {
                stages: p.stages.clone(),
                max_requests: plan.max_requests,
                max_in_flight: p.max_in_flight,
                drain: plan.drain,
            };
            crate::open::run(cfg, work, tx, stop, t0, gauges).await
        }
        Model::Closed => {
            let cfg = crate::closed::ClosedConfig {
                stages: p.stages.clone(),
                think_min: p.think_min,
                think_max: p.think_max,
                max_requests: plan.max_requests,
                timeout: p.timeout,
            };
            crate::closed::run(cfg, work, tx, stop, t0, gauges).await?
        }
    })
}

/// Why the run ended: the engine's reason, the stop channel's, goose's
/// killswitch (closed model), or `completed`.
fn stop_reason(plan: &Plan, end: &EngineEnd, stop: &watch::Receiver<Option<String>>) -> String {
    end.stopped_by
        .clone()
        .or_else(|| stop.borrow().clone())
        .or_else(|| {
            (plan.profile.model == Model::Closed && goose::is_killswitch_triggered()).then(|| {
                if end.sent >= plan.max_requests {
                    "max_requests".to_string()
                } else {
                    "interrupted".to_string()
                }
            })
        })
        .unwrap_or_else(|| "completed".into())
}

/// The stages as planned: bounds in seconds and the load from and to.
fn stage_plans(profile: &Profile) -> Vec<StagePlan> {
    let bounds = stage_bounds(&profile.stages);
    let mut prev_users = 0.0;
    profile
        .stages
        .iter()
        .zip(bounds)
        .map(|(s, (a, b))| {
            let (from, to) = match profile.model {
                Model::Closed => (prev_users, s.users as f64),
                Model::Open => (s.rate, s.ramp_to),
            };
            prev_users = s.users as f64;
            StagePlan {
                name: s.name.clone(),
                start_s: a.as_secs_f64(),
                end_s: b.as_secs_f64(),
                load_from: from,
                load_to: to,
            }
        })
        .collect()
}

fn meta(
    opts: &RunOptions,
    plan: &Plan,
    t0_unix_ms: u64,
    ended_unix_ms: u64,
    stop_reason: String,
) -> Meta {
    let profile = &plan.profile;
    Meta {
        profile: profile.name.clone(),
        profile_path: profile.path.display().to_string(),
        model: profile.model.to_string(),
        target: plan.target.clone(),
        time_scale: opts.time_scale,
        user_scale: opts.user_scale,
        instances: vec![opts.instance.clone()],
        started: chrono::DateTime::<chrono::Utc>::from(
            UNIX_EPOCH + Duration::from_millis(t0_unix_ms),
        )
        .to_rfc3339(),
        started_unix_ms: t0_unix_ms,
        ended_unix_ms,
        planned_s: plan.planned.as_secs_f64(),
        partial: stop_reason != "completed",
        stop_reason,
        thresholds: profile.thresholds.iter().map(|t| t.text.clone()).collect(),
        test_plan: if profile.model == Model::Closed {
            goose_test_plan(&profile.stages)
        } else {
            String::new()
        },
        stages: stage_plans(profile),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_paths_name_the_instance() {
        let p = report_path(std::path::Path::new("/out/{instance}.json"), "loadgen-3");
        assert_eq!(p, std::path::PathBuf::from("/out/loadgen-3.json"));
        let p = report_path(std::path::Path::new("plain.html"), "x");
        assert_eq!(p, std::path::PathBuf::from("plain.html"));
    }
}
