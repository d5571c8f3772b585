//! One function per command: turn its flags into typed values, call the
//! library, print the result. [`crate::run`] dispatches here.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::cli::{
    Cli, FitArgs, Format, IngestArgs, QuestionArgs, ScopeArgs, SweepArgs, ThresholdArgs,
};
use crate::error::Error;
use crate::snapshot::{self, Scope, Thresholds};
use crate::{docker, ingest, plan, report, scale, tui};

impl From<&ScopeArgs> for Scope {
    fn from(a: &ScopeArgs) -> Scope {
        Scope {
            targets: a
                .target
                .iter()
                .filter(|t| !t.trim().is_empty())
                .cloned()
                .collect(),
            service: a.service.clone(),
            project: a.project.clone(),
            port: a.port,
        }
    }
}

impl From<&ThresholdArgs> for Thresholds {
    fn from(a: &ThresholdArgs) -> Thresholds {
        Thresholds {
            cpu_percent: a.cpu_alert,
            mem_percent: a.mem_alert,
            error_rate: a.error_alert / 100.0,
            p95_slo_ms: a.slo_p95,
        }
    }
}

fn secs(v: f64, what: &str) -> Result<Duration, Error> {
    if v.is_finite() && v > 0.0 && v <= 3600.0 {
        Ok(Duration::from_secs_f64(v))
    } else {
        Err(Error::Usage(format!(
            "{what} must be a number of seconds above 0 (got {v})"
        )))
    }
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

/// `status`: one snapshot, as tables or JSON.
pub(crate) async fn status(
    scope: &Scope,
    as_json: bool,
    check: bool,
    interval: f64,
    thresholds: &ThresholdArgs,
) -> Result<(), Error> {
    let interval = secs(interval, "--interval")?;
    let snap = snapshot::collect(scope, &Thresholds::from(thresholds), interval).await;
    if as_json {
        println!("{}", json(&snap));
    } else {
        print!("{}", report::status_text(&snap));
    }
    if check && !snap.alerts.is_empty() {
        return Err(Error::AlertsFiring {
            alerts: snap.alerts.len(),
        });
    }
    Ok(())
}

/// `top`: the live console until the user quits.
pub(crate) async fn top(
    scope: Scope,
    refresh: f64,
    thresholds: &ThresholdArgs,
    color: clap::ColorChoice,
    ready_timeout: u64,
    stop_timeout: u32,
) -> Result<(), Error> {
    use std::io::IsTerminal;
    let opts = tui::TopOptions {
        thresholds: Thresholds::from(thresholds),
        refresh: secs(refresh, "--refresh")?,
        color: use_color(color, std::io::stdout().is_terminal()),
        stop_timeout,
        ready_timeout: Duration::from_secs(ready_timeout.max(1)),
    };
    tui::run(scope, opts).await
}

/// Colour for a terminal: `auto` means it is one and NO_COLOR
/// (https://no-color.org) is unset or empty.
pub(crate) fn use_color(choice: clap::ColorChoice, terminal: bool) -> bool {
    match choice {
        clap::ColorChoice::Always => true,
        clap::ColorChoice::Never => false,
        clap::ColorChoice::Auto => {
            terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

/// `scale SERVICE=N` as a request: the spec parsed, timeouts as durations.
pub(crate) fn scale_request(
    scope: &Scope,
    spec: &str,
    ready_timeout: u64,
    stop_timeout: u32,
) -> Result<scale::ScaleRequest, Error> {
    let (service, replicas) = scale::parse_spec(spec)?;
    Ok(scale::ScaleRequest {
        service,
        replicas,
        project: scope.project.clone(),
        port: scope.port,
        ready_timeout: Duration::from_secs(ready_timeout.max(1)),
        stop_timeout,
    })
}

/// `scale`: print the plan, carry it out unless `dry_run`, report the steps.
/// Failed steps make the command fail; their containers are left as they are.
pub(crate) async fn scale(
    req: scale::ScaleRequest,
    dry_run: bool,
    as_json: bool,
) -> Result<(), Error> {
    let started = Instant::now();
    let d = docker::connect().await?;
    let plan = scale::plan(&d, &req).await?;
    if !as_json {
        print!("{}", scale::plan_text(&plan, dry_run));
    }
    let steps = if dry_run {
        Vec::new()
    } else {
        scale::execute(&d, &plan, &req).await?
    };
    let total = started.elapsed().as_secs_f64();
    if as_json {
        let r = scale::ScaleReport {
            plan,
            dry_run,
            steps: steps.clone(),
            seconds: total,
        };
        println!("{}", json(&r));
    } else if !dry_run {
        print!("{}", scale::steps_text(&steps, total));
    }
    failed_steps(&steps)
}

/// [`Error::NotReady`] naming each failed step, if any failed.
fn failed_steps(steps: &[scale::Step]) -> Result<(), Error> {
    let failed: Vec<String> = steps
        .iter()
        .filter(|s| !s.ok)
        .map(|s| format!("{}: {}", s.name, s.error.as_deref().unwrap_or("?")))
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Error::NotReady(format!(
            "{} of {} steps failed (containers are left as they are for inspection): {}",
            failed.len(),
            steps.len(),
            failed.join("; ")
        )))
    }
}

/// `plan fit`'s sizing question, checked; `None` without `--users`.
pub(crate) fn fit_question(q: &QuestionArgs) -> Result<Option<plan::Question>, Error> {
    if q.think_time < 0.0 || q.p95 <= 0.0 || q.headroom < 0.0 {
        return Err(Error::Usage(
            "--think-time and --headroom must be >= 0, --p95 > 0".into(),
        ));
    }
    if q.users.is_some_and(|u| !(u.is_finite() && u > 0.0)) {
        return Err(Error::Usage("--users must be a number above 0".into()));
    }
    Ok(q.users.map(|u| plan::Question {
        users: u,
        think_time_s: q.think_time,
        p95_target_ms: q.p95,
        headroom: q.headroom / 100.0,
        db_hold_ms: q.db_hold_ms,
        redis_hold_ms: q.redis_hold_ms,
    }))
}

/// `plan fit`: read the points, fit, answer the question if there is one.
/// A replica sweep file is fitted over replicas (one file only).
pub(crate) fn plan_fit(a: &FitArgs) -> Result<(), Error> {
    let question = fit_question(&a.question)?;
    let replica_file = match a.points.as_slice() {
        [one] => {
            let text = std::fs::read_to_string(one).map_err(|e| Error::File {
                path: one.display().to_string(),
                reason: e.to_string(),
            })?;
            plan::replicas::parse_file(&text).map(|r| {
                r.map_err(|reason| Error::File {
                    path: one.display().to_string(),
                    reason,
                })
            })
        }
        _ => None,
    };
    if let Some(file) = replica_file {
        let fit_on = (!a.fit_on.is_empty()).then_some(a.fit_on.as_slice());
        let p = plan::replicas::build(&file?, fit_on, question)?;
        if let Some(path) = &a.chart {
            write_chart(path, &p)?;
        }
        match a.format {
            Format::Text => print!("{}", plan::replicas::text(&p)),
            Format::Json => println!("{}", json(&p)),
            Format::Markdown => print!("{}", plan::replicas::markdown(&p)),
        }
        return Ok(());
    }
    if !a.fit_on.is_empty() || a.chart.is_some() {
        return Err(Error::Usage(
            "--fit-on and --chart need one file written by `ragctl plan sweep --replicas`".into(),
        ));
    }
    let pts = plan::read_all(&a.points)?;
    let r = plan::build(pts, question)?;
    match a.format {
        Format::Text => print!("{}", plan::text(&r)),
        Format::Json => println!("{}", json(&r)),
        Format::Markdown => print!("{}", plan::markdown(&r)),
    }
    Ok(())
}

/// The replica plan's chart: HTML for `.html`/`.htm`, else SVG.
fn write_chart(path: &Path, p: &plan::replicas::ReplicaPlan) -> Result<(), Error> {
    let html = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("html") || e.eq_ignore_ascii_case("htm"));
    let body = if html {
        plan::svg::html(p)
    } else {
        plan::svg::svg(p)
    };
    std::fs::write(path, body).map_err(|e| Error::File {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    eprintln!("chart written to {}", path.display());
    Ok(())
}

fn write_json<T: serde::Serialize>(out: Option<&Path>, v: &T) -> Result<(), Error> {
    let text = json(v);
    match out {
        Some(path) => std::fs::write(path, text + "\n").map_err(|e| Error::File {
            path: path.display().to_string(),
            reason: e.to_string(),
        }),
        None => {
            println!("{text}");
            Ok(())
        }
    }
}

/// `plan sweep`: over concurrency levels, or over replica counts.
pub(crate) async fn plan_sweep(scope: &Scope, a: &SweepArgs) -> Result<(), Error> {
    let mode = a
        .mode
        .as_deref()
        .map(|m| {
            serde_json::from_value::<ragd_api::RetrievalMode>(serde_json::Value::String(m.into()))
                .map_err(|e| Error::Usage(format!("--mode {m}: {e}")))
        })
        .transpose()?;
    let questions = match &a.questions {
        None => vec![a.question.clone()],
        Some(path) => {
            let file_err = |reason: String| Error::File {
                path: path.display().to_string(),
                reason,
            };
            let text = std::fs::read_to_string(path).map_err(|e| file_err(e.to_string()))?;
            let qs: Vec<String> = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_string)
                .collect();
            if qs.is_empty() {
                return Err(file_err("no questions in it (one per line)".into()));
            }
            qs
        }
    };
    let load = plan::Load {
        collection: a.collection.clone(),
        questions,
        unique: a.unique,
        mode,
    };
    let step = secs(a.step, "--step")?;
    if !a.replicas.is_empty() {
        return plan_sweep_replicas(scope, a, load, step).await;
    }
    if a.levels.is_empty() || a.levels.contains(&0) {
        return Err(Error::Usage("--levels must be positive numbers".into()));
    }
    let target = a
        .url
        .clone()
        .or_else(|| scope.targets.first().cloned())
        .unwrap_or_else(|| snapshot::DEFAULT_TARGET.into());
    let s = plan::Sweep {
        target,
        load,
        levels: a.levels.clone(),
        step,
    };
    eprintln!(
        "{:>6}  {:>10}  {:>8}  {:>6}",
        "N", "req/s", "P95 ms", "errors"
    );
    let pts = plan::sweep(&s, |p| {
        eprintln!(
            "{:>6}  {:>10.1}  {:>8.1}  {:>6}",
            p.concurrency,
            p.throughput,
            p.p95_ms.unwrap_or(f64::NAN),
            p.errors.unwrap_or(0)
        )
    })
    .await?;
    write_json(a.out.as_deref(), &serde_json::json!({ "points": pts }))
}

/// `plan sweep --replicas`: scale, saturate, measure each count; then the
/// plan (printed on stderr when the points go to stdout).
async fn plan_sweep_replicas(
    scope: &Scope,
    a: &SweepArgs,
    load: plan::Load,
    step: Duration,
) -> Result<(), Error> {
    if a.replicas.contains(&0) {
        return Err(Error::Usage(
            "--replicas counts must be 1 or more (nothing answers at 0)".into(),
        ));
    }
    if a.clients_per_replica == 0 {
        return Err(Error::Usage(
            "--clients-per-replica must be 1 or more".into(),
        ));
    }
    let question = fit_question(&a.plan)?;
    let s = plan::replicas::ReplicaSweep {
        scale: scale::ScaleRequest {
            service: scope.service.clone(),
            replicas: 0,
            project: scope.project.clone(),
            port: scope.port,
            ready_timeout: Duration::from_secs(a.ready_timeout.max(1)),
            stop_timeout: a.stop_timeout,
        },
        counts: a.replicas.clone(),
        target: a.url.clone(),
        load,
        clients_per_replica: a.clients_per_replica,
        warmup: if a.warmup > 0.0 {
            secs(a.warmup, "--warmup")?
        } else {
            Duration::ZERO
        },
        step,
    };
    eprintln!(
        "{:>8}  {:>7}  {:>10}  {:>8}  {:>6}  {:>9}  {:>7}",
        "replicas", "clients", "req/s", "P95 ms", "errors", "CPU/limit", "mem max"
    );
    let file = plan::replicas::sweep(
        &s,
        |phase| eprintln!("  .. {phase}"),
        |p| {
            let pct = |v: Option<f64>| v.map_or_else(|| "-".into(), |v| format!("{v:.0}%"));
            eprintln!(
                "{:>8}  {:>7}  {:>10.1}  {:>8.1}  {:>6}  {:>9}  {:>7}",
                p.replicas,
                p.clients,
                p.throughput,
                p.p95_ms.unwrap_or(f64::NAN),
                p.errors,
                pct(p.cpu_percent_of_limit()),
                pct(p.mem_percent_max())
            )
        },
    )
    .await?;
    write_json(a.out.as_deref(), &file)?;
    match plan::replicas::build(&file, None, question) {
        Ok(p) => {
            if let Some(path) = &a.chart {
                write_chart(path, &p)?;
            }
            let text = plan::replicas::text(&p);
            if a.out.is_some() {
                print!("{text}");
            } else {
                eprint!("{text}");
            }
            Ok(())
        }
        // Too few counts to fit: the points are still written.
        Err(e) if file.points.len() < plan::replicas::MIN_COUNTS => {
            eprintln!("no fit: {e}");
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// `ingest`'s flags as [`ingest::Options`]: the ragd is the first
/// `--target` (else ragd's default address), and must be an http(s) URL.
pub(crate) fn ingest_options(scope: &Scope, a: &IngestArgs) -> Result<ingest::Options, Error> {
    let target = scope
        .targets
        .first()
        .map_or(snapshot::DEFAULT_TARGET, String::as_str);
    let url = reqwest::Url::parse(target)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
        .ok_or_else(|| {
            Error::Usage(format!(
                "--target {target}: expected a ragd base URL such as http://127.0.0.1:8080"
            ))
        })?;
    let collection = a.collection.trim();
    if collection.is_empty() {
        return Err(Error::Usage("--collection must not be empty".into()));
    }
    Ok(ingest::Options {
        dir: a.dir.clone(),
        collection: collection.to_string(),
        target: url,
        globs: a.globs.clone(),
        concurrency: usize::from(a.concurrency.max(1)),
        create: a.create,
        force: a.force,
        dry_run: a.dry_run,
    })
}

/// `ingest`: run it with Ctrl-C wired in, print the summary (text or JSON),
/// fail when a file failed or the run was interrupted.
pub(crate) async fn ingest(opts: ingest::Options, as_json: bool) -> Result<(), Error> {
    use std::io::IsTerminal;
    let (tx, mut interrupts) = tokio::sync::mpsc::unbounded_channel();
    let signals = tokio::spawn(async move {
        while tokio::signal::ctrl_c().await.is_ok() {
            if tx.send(()).is_err() {
                break;
            }
        }
    });
    let progress = ingest::Progress::new(!as_json && std::io::stderr().is_terminal());
    let result = ingest::run(&opts, &progress, &mut interrupts).await;
    progress.finish();
    signals.abort();
    let summary = result?;
    if as_json {
        println!("{}", json(&summary));
    } else {
        print!("{}", ingest::summary::text(&summary));
    }
    if summary.interrupted {
        Err(Error::Interrupted {
            not_sent: summary.not_sent,
        })
    } else if summary.failed > 0 {
        Err(Error::IngestFailed {
            failed: summary.failed,
            attempted: summary.found,
        })
    } else {
        Ok(())
    }
}

/// Write `bytes` on stdout; a closed pipe (`ragctl man | head`) is not an
/// error.
fn print_bytes(bytes: &[u8]) -> Result<(), Error> {
    use std::io::Write;
    match std::io::stdout().write_all(bytes) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Error::File {
            path: "stdout".into(),
            reason: e.to_string(),
        }),
        _ => Ok(()),
    }
}

/// `completions SHELL`: the script, rendered in memory first.
pub(crate) fn completions(shell: clap_complete::Shell) -> Result<(), Error> {
    use clap::CommandFactory;
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "ragctl", &mut script);
    print_bytes(&script)
}

/// `man`: the page on stdout, or every page into `out_dir`.
pub(crate) fn man(out_dir: Option<&Path>) -> Result<(), Error> {
    use clap::CommandFactory;
    let file_error = |path: &Path, e: std::io::Error| Error::File {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    match out_dir {
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(Cli::command())
                .render(&mut page)
                .map_err(|e| file_error(Path::new("stdout"), e))?;
            print_bytes(&page)
        }
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .and_then(|()| clap_mangen::generate_to(Cli::command(), dir))
                .map_err(|e| file_error(dir, e))?;
            eprintln!("wrote the man pages to {}", dir.display());
            Ok(())
        }
    }
}
