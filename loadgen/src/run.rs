//! One load run, end to end: check the target, prepare its collection,
//! start an engine, consume its records (collector + progress line), stop on
//! the plan's end or a bound, and build the report.
//!
//! [`run`] is what `loadgen run` calls and what the tests call.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::{oneshot, watch};

use crate::profile::{Kind, Model, Profile, fmt_duration};
use crate::record::{Record, RecordRx, RecordTx};
use crate::report::{Meta, Report, StagePlan, judge_stage};
use crate::schedule::{goose_rounded, goose_test_plan, load_at, stage_at, stage_bounds};
use crate::stats::{RunAcc, new_hist};
use crate::threshold::fmt_num;
use crate::work::{Workload, client};

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
    /// A copy of every raw record (tests; external consumers).
    pub tap: Option<RecordTx>,
    /// Stop from outside (tests): send a reason.
    pub stop: Option<watch::Receiver<Option<String>>>,
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
            stop: None,
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
#[derive(Debug)]
pub struct RunError(pub String);

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for RunError {}

pub fn now_unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Play a profile against a target and return its report.
pub async fn run(opts: RunOptions) -> Result<Report, RunError> {
    if !(opts.time_scale > 0.0 && opts.time_scale.is_finite()) {
        return Err(RunError(format!(
            "--time-scale must be above 0, got {}",
            opts.time_scale
        )));
    }
    if !(opts.user_scale > 0.0 && opts.user_scale.is_finite()) {
        return Err(RunError(format!(
            "--user-scale must be above 0, got {}",
            opts.user_scale
        )));
    }
    let mut profile = opts.profile.scaled(opts.time_scale, opts.user_scale);
    if profile.model == Model::Closed {
        // Goose's test plan counts whole seconds; plan and report what runs.
        profile.stages = goose_rounded(&profile.stages);
    }
    let max_requests = opts.max_requests.unwrap_or(profile.max_requests);
    let planned = profile.planned();
    let drain = profile.timeout.min(Duration::from_secs(10));
    let max_duration = opts.max_duration.unwrap_or(planned + drain);
    let target = opts.target.trim_end_matches('/').to_string();
    if !(target.starts_with("http://") || target.starts_with("https://")) {
        return Err(RunError(format!(
            "--target {target:?}: expected an http:// or https:// URL, e.g. http://127.0.0.1:8080"
        )));
    }

    let http = client(profile.timeout, profile.max_in_flight.min(1024)).map_err(RunError)?;
    check_target(&http, &target).await?;
    if opts.setup {
        setup(&http, &target, &profile).await?;
    }

    let work = Arc::new(Workload::new(&profile, &target, &opts.instance).map_err(RunError)?);
    let names = work.names();
    let (tx, rx) = crate::record::channel();
    let (stop_tx, stop_rx) = watch::channel::<Option<String>>(None);
    let stop_tx = Arc::new(stop_tx);
    let in_flight = Arc::new(AtomicU64::new(0));
    let t0 = Instant::now();
    let t0_unix_ms = now_unix_ms();

    // Outside stop requests, Ctrl-C and the duration bound all feed the stop channel.
    let mut helpers = Vec::new();
    if let Some(mut ext) = opts.stop.clone() {
        let s = stop_tx.clone();
        helpers.push(tokio::spawn(async move {
            loop {
                if let Some(r) = ext.borrow().clone() {
                    let _ = s.send(Some(r));
                    return;
                }
                if ext.changed().await.is_err() {
                    return;
                }
            }
        }));
    }
    if opts.handle_ctrl_c && profile.model == Model::Open {
        let s = stop_tx.clone();
        helpers.push(tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                let _ = s.send(Some("interrupted".into()));
                eprintln!("\nloadgen: interrupted; finishing in-flight requests (Ctrl-C again to quit at once)");
                if tokio::signal::ctrl_c().await.is_ok() {
                    std::process::exit(130);
                }
            }
        }));
    }
    {
        let s = stop_tx.clone();
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
    }

    let (done_tx, done_rx) = oneshot::channel();
    let collector = tokio::spawn(collect(Collect {
        rx,
        acc: RunAcc::new(t0_unix_ms, names, profile.stages.len()),
        profile: profile.clone(),
        progress: opts.progress,
        in_flight: in_flight.clone(),
        stop: stop_tx.clone(),
        t0,
        tap: opts.tap,
        done: done_rx,
    }));

    let end = match profile.model {
        Model::Open => {
            crate::open::run(
                crate::open::OpenConfig {
                    stages: profile.stages.clone(),
                    max_requests,
                    max_in_flight: profile.max_in_flight,
                    drain,
                },
                work,
                tx,
                stop_rx.clone(),
                t0,
                in_flight,
            )
            .await
        }
        Model::Closed => crate::closed::run(
            crate::closed::ClosedConfig {
                stages: profile.stages.clone(),
                think_min: profile.think_min,
                think_max: profile.think_max,
                max_requests,
                timeout: profile.timeout,
            },
            work,
            tx,
            stop_rx.clone(),
            t0,
            in_flight,
        )
        .await
        .map_err(RunError)?,
    };
    let _ = done_tx.send(());
    let acc = collector
        .await
        .map_err(|e| RunError(format!("collector failed: {e}")))?;
    for h in helpers {
        h.abort();
    }
    let ended_unix_ms = now_unix_ms();

    let stop_reason = end
        .stopped_by
        .clone()
        .or_else(|| stop_rx.borrow().clone())
        .or_else(|| {
            (profile.model == Model::Closed && goose::is_killswitch_triggered()).then(|| {
                if end.sent >= max_requests {
                    "max_requests".to_string()
                } else {
                    "interrupted".to_string()
                }
            })
        })
        .unwrap_or_else(|| "completed".into());
    if profile.model == Model::Closed {
        goose::reset_killswitch();
    }
    let bounds = stage_bounds(&profile.stages);
    let mut prev_users = 0.0;
    let stages = profile
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
        .collect();
    let meta = Meta {
        profile: profile.name.clone(),
        profile_path: profile.path.display().to_string(),
        model: profile.model.to_string(),
        target: target.clone(),
        time_scale: opts.time_scale,
        user_scale: opts.user_scale,
        instances: vec![opts.instance.clone()],
        started: chrono::DateTime::<chrono::Utc>::from(
            UNIX_EPOCH + Duration::from_millis(t0_unix_ms),
        )
        .to_rfc3339(),
        started_unix_ms: t0_unix_ms,
        ended_unix_ms,
        planned_s: planned.as_secs_f64(),
        partial: stop_reason != "completed",
        stop_reason,
        thresholds: profile.thresholds.iter().map(|t| t.text.clone()).collect(),
        test_plan: if profile.model == Model::Closed {
            goose_test_plan(&profile.stages)
        } else {
            String::new()
        },
        stages,
    };
    Ok(Report::build(meta, &acc))
}

/// `GET /health` until it answers (up to 5 s), with an error that says
/// what to do when it does not.
async fn check_target(http: &reqwest::Client, target: &str) -> Result<(), RunError> {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut last;
    loop {
        match http
            .get(format!("{target}/health"))
            .timeout(Duration::from_secs(2))
            .send()
            .await
        {
            Ok(r) if r.status().is_success() => return Ok(()),
            Ok(r) => last = format!("GET /health answered {}", r.status()),
            Err(e) => {
                // reqwest's message hides the cause ("connection refused").
                let mut msg = e.to_string();
                let mut src = std::error::Error::source(&e);
                while let Some(c) = src {
                    msg = format!("{msg}: {c}");
                    src = c.source();
                }
                last = msg;
            }
        }
        if Instant::now() >= deadline {
            return Err(RunError(format!(
                "cannot reach ragd at {target}: {last}. Is it running (`ragd serve --listen 127.0.0.1:8080`) and is --target right?"
            )));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Make sure the collection the profile queries exists and holds
/// documents: create it and ingest `setup.corpus` when it does not.
async fn setup(http: &reqwest::Client, target: &str, p: &Profile) -> Result<(), RunError> {
    if !p
        .scenarios
        .iter()
        .any(|s| matches!(s.kind, Kind::Query | Kind::Ingest) && s.weight > 0)
    {
        return Ok(());
    }
    let url = format!("{target}/v1/collections/{}", p.collection);
    let e = |m: String| RunError(format!("setup of collection {:?}: {m}", p.collection));
    let resp = http.get(&url).send().await.map_err(|x| e(x.to_string()))?;
    let documents = if resp.status().is_success() {
        resp.json::<ragd_api::Collection>()
            .await
            .map_err(|x| e(x.to_string()))?
            .documents
    } else if resp.status().as_u16() == 404 {
        let body = ragd_api::CreateCollection {
            name: p.collection.clone(),
            embedder: None,
        };
        let r = http
            .post(format!("{target}/v1/collections"))
            .json(&body)
            .send()
            .await
            .map_err(|x| e(x.to_string()))?;
        if !r.status().is_success() && r.status().as_u16() != 409 {
            return Err(e(format!(
                "creating it answered {}: {}",
                r.status(),
                r.text().await.unwrap_or_default()
            )));
        }
        0
    } else {
        return Err(e(format!("GET {url} answered {}", resp.status())));
    };
    if documents > 0 {
        return Ok(());
    }
    let Some(dir) = &p.setup_corpus else {
        return Ok(());
    };
    let docs = read_corpus(dir).map_err(e)?;
    for batch in docs.chunks(8) {
        let body = ragd_api::IngestRequest {
            documents: batch.to_vec(),
        };
        let r = http
            .post(format!(
                "{target}/v1/collections/{}/documents",
                p.collection
            ))
            .timeout(Duration::from_secs(300))
            .json(&body)
            .send()
            .await
            .map_err(|x| e(x.to_string()))?;
        if !r.status().is_success() {
            return Err(e(format!(
                "ingesting the corpus answered {}: {}",
                r.status(),
                r.text().await.unwrap_or_default()
            )));
        }
    }
    Ok(())
}

/// The `.md` and `.txt` files of a directory, as documents named after them.
pub fn read_corpus(dir: &Path) -> Result<Vec<ragd_api::DocumentInput>, String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read the corpus directory {}: {e}", dir.display()))?
        .filter_map(|d| d.ok().map(|d| d.path()))
        .filter(|p| matches!(p.extension().and_then(|x| x.to_str()), Some("md" | "txt")))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).map_err(|e| format!("{}: {e}", f.display()))?;
        if text.trim().is_empty() {
            continue;
        }
        let md = f.extension().and_then(|x| x.to_str()) == Some("md");
        let mut meta = ragd_api::Metadata::new();
        meta.insert("source".into(), "loadgen-setup".into());
        out.push(ragd_api::DocumentInput {
            id: f.file_name().map(|n| n.to_string_lossy().into_owned()),
            text,
            metadata: Some(meta),
            format: if md {
                ragd_api::DocumentFormat::Markdown
            } else {
                ragd_api::DocumentFormat::Text
            },
        });
    }
    if out.is_empty() {
        return Err(format!(
            "the corpus directory {} holds no .md or .txt file",
            dir.display()
        ));
    }
    Ok(out)
}

struct Collect {
    rx: RecordRx,
    acc: RunAcc,
    profile: Profile,
    progress: ProgressMode,
    in_flight: Arc<AtomicU64>,
    stop: Arc<watch::Sender<Option<String>>>,
    t0: Instant,
    tap: Option<RecordTx>,
    done: oneshot::Receiver<()>,
}

/// The consumer of raw records: accumulates them, draws the progress
/// line, and judges finished stages when the profile stops on a breach.
async fn collect(mut c: Collect) -> RunAcc {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut window = new_hist();
    let mut window_count = 0u64;
    let mut judged = 0usize;
    let mut last_line = Instant::now();
    let mut window_start = Instant::now();
    let mut shown_stage = usize::MAX;
    let bounds = stage_bounds(&c.profile.stages);
    let total_planned = c.profile.planned();
    let add = |c: &mut Collect, r: Record, window: &mut hdrhistogram::Histogram<u64>| {
        window.saturating_record(r.latency_us().max(1));
        c.acc.add(&r);
        if let Some(t) = &c.tap {
            let _ = t.send(r);
        }
    };
    loop {
        tokio::select! {
            r = c.rx.recv() => match r {
                Some(r) => { window_count += 1; add(&mut c, r, &mut window); }
                None => break,
            },
            _ = &mut c.done => {
                while let Ok(r) = c.rx.try_recv() {
                    add(&mut c, r, &mut window);
                }
                break;
            }
            _ = tick.tick() => {
                let now = c.t0.elapsed();
                if c.profile.stop_on_breach {
                    while judged < bounds.len() && bounds[judged].1 <= now {
                        let secs = c.profile.stages[judged].duration.as_secs_f64();
                        let v = judge_stage(&c.profile.thresholds, &c.acc.stages[judged].acc, secs);
                        judged += 1;
                        if v.iter().any(|v| !v.pass) {
                            c.stop.send_if_modified(|s| if s.is_none() { *s = Some("slo_breach".into()); true } else { false });
                        }
                    }
                }
                let si = stage_at(&c.profile.stages, now);
                let show = match c.progress {
                    ProgressMode::Off => false,
                    ProgressMode::Inline => true,
                    // Every 10 s, and whenever a stage begins.
                    ProgressMode::Lines => last_line.elapsed() >= Duration::from_secs(10) || si != shown_stage,
                };
                if show {
                    last_line = Instant::now();
                    shown_stage = si;
                    let load = load_at(&c.profile, now);
                    let unit = if c.profile.model == Model::Open { "arrivals/s" } else { "users" };
                    let p95 = if window.is_empty() { 0.0 } else { window.value_at_quantile(0.95) as f64 / 1000.0 };
                    let line = format!(
                        "[{:>6} / {}] stage {}/{} {:<14} {} {} | {} req/s | p95 {} ms | errors {} ({:.2}%) | in flight {}",
                        fmt_duration(Duration::from_secs(now.as_secs())),
                        fmt_duration(total_planned),
                        si + 1,
                        c.profile.stages.len(),
                        c.profile.stages[si].name,
                        fmt_num(load),
                        unit,
                        fmt_num(window_count as f64 / window_start.elapsed().as_secs_f64().max(0.001)),
                        fmt_num(p95),
                        c.acc.all.failed(),
                        if c.acc.all.count > 0 { c.acc.all.failed() as f64 * 100.0 / c.acc.all.count as f64 } else { 0.0 },
                        c.in_flight.load(Ordering::Relaxed),
                    );
                    if c.progress == ProgressMode::Inline {
                        eprint!("\r\x1b[2K{line}");
                    } else {
                        eprintln!("{line}");
                    }
                    window.reset();
                    window_count = 0;
                    window_start = Instant::now();
                }
            }
        }
    }
    if c.progress == ProgressMode::Inline {
        eprintln!();
    }
    c.acc
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
