//! ragctl: the operator's console for ragd on Docker.
//!
//! Layout:
//! - [`cli`]: the command line (clap), parsed by the thin `main`.
//! - [`stats`]: `docker stats` arithmetic on engine stats documents.
//! - [`metrics`]: ragd `/metrics` parsing; rates and P95 between scrapes.
//! - [`docker`]: the engine through bollard (list, stats, events).
//! - [`ragd`]: probing replicas (`/ready`, `/status`, `/metrics`).
//! - [`host`]: the host's CPU, memory and load (sysinfo).
//! - [`snapshot`]: one picture of all three, thresholds and alerts (`status`).
//! - [`report`]: plain-text tables.
//! - [`tui`]: `top` (state / events / render split).
//! - [`scale`]: compose-compatible scaling through the Docker API.
//! - [`usl`], [`plan`]: USL fit, Little's law sizing, the measuring sweep.
//!
//! [`run`] executes a parsed command line; `main` and the tests call it.

pub mod cli;
pub mod docker;
pub mod error;
pub mod host;
pub mod metrics;
pub mod plan;
pub mod ragd;
pub mod report;
pub mod scale;
pub mod snapshot;
pub mod stats;
pub mod tui;
pub mod usl;

use std::time::{Duration, Instant};

pub use error::Error;

use cli::{Cli, Command, Format, PlanCommand, ScopeArgs, ThresholdArgs};
use snapshot::{Scope, Thresholds};

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

/// Run one command; what it prints goes to stdout.
pub async fn run(cli: Cli) -> Result<(), Error> {
    let scope = Scope::from(&cli.scope);
    match cli.command {
        Command::Status {
            json: as_json,
            interval,
            thresholds,
        } => {
            let interval = secs(interval, "--interval")?;
            let snap = snapshot::collect(&scope, &Thresholds::from(&thresholds), interval).await;
            if as_json {
                println!("{}", json(&snap));
            } else {
                print!("{}", report::status_text(&snap));
            }
            Ok(())
        }
        Command::Top {
            refresh,
            thresholds,
        } => {
            let refresh = secs(refresh, "--refresh")?;
            tui::run(scope, Thresholds::from(&thresholds), refresh).await
        }
        Command::Scale {
            spec,
            dry_run,
            json: as_json,
            ready_timeout,
            stop_timeout,
        } => {
            let (service, replicas) = scale::parse_spec(&spec)?;
            let req = scale::ScaleRequest {
                service,
                replicas,
                project: scope.project.clone(),
                port: scope.port,
                ready_timeout: Duration::from_secs(ready_timeout.max(1)),
                stop_timeout,
            };
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
                    plan: plan.clone(),
                    dry_run,
                    steps: steps.clone(),
                    seconds: total,
                };
                println!("{}", json(&r));
            } else if !dry_run {
                print!("{}", scale::steps_text(&steps, total));
            }
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
        Command::Plan { command } => match command {
            PlanCommand::Fit {
                points,
                users,
                think_time,
                p95,
                headroom,
                db_hold_ms,
                redis_hold_ms,
                format,
            } => {
                if think_time < 0.0 || p95 <= 0.0 || headroom < 0.0 {
                    return Err(Error::Usage(
                        "--think-time and --headroom must be >= 0, --p95 > 0".into(),
                    ));
                }
                let pts = plan::read_all(&points)?;
                let q = users.map(|u| plan::Question {
                    users: u,
                    think_time_s: think_time,
                    p95_target_ms: p95,
                    headroom: headroom / 100.0,
                    db_hold_ms,
                    redis_hold_ms,
                });
                let r = plan::build(pts, q)?;
                match format {
                    Format::Text => print!("{}", plan::text(&r)),
                    Format::Json => println!("{}", json(&r)),
                    Format::Markdown => print!("{}", plan::markdown(&r)),
                }
                Ok(())
            }
            PlanCommand::Sweep {
                collection,
                url,
                question,
                unique,
                levels,
                step,
                out,
            } => {
                if levels.is_empty() || levels.contains(&0) {
                    return Err(Error::Usage("--levels must be positive numbers".into()));
                }
                let target = url
                    .or_else(|| scope.targets.first().cloned())
                    .unwrap_or_else(|| snapshot::DEFAULT_TARGET.into());
                let s = plan::Sweep {
                    target,
                    collection,
                    question,
                    unique,
                    levels,
                    step: secs(step, "--step")?,
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
                let text = json(&serde_json::json!({ "points": pts }));
                match out {
                    Some(path) => std::fs::write(&path, text + "\n").map_err(|e| Error::File {
                        path: path.display().to_string(),
                        reason: e.to_string(),
                    })?,
                    None => println!("{text}"),
                }
                Ok(())
            }
        },
    }
}
