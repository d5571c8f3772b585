//! ragctl: the operator's console for ragd on Docker.
//!
//! Layout:
//! - [`cli`]: the command line (clap), parsed by the thin `main`.
//! - [`stats`]: `docker stats` arithmetic on engine stats documents
//!   (re-exported from `ragkit-docker`, which loadgen uses too).
//! - [`metrics`]: ragd `/metrics` parsing; rates and P95 between scrapes.
//! - [`docker`]: the engine through bollard (list, stats, events, limits,
//!   logs), re-exported from `ragkit-docker`; its `DockerError` becomes
//!   [`Error::DockerUnreachable`] or [`Error::Docker`].
//! - [`ragd`]: probing replicas (`/ready`, `/status`, `/metrics`).
//! - [`host`]: the host's CPU, memory and load (sysinfo).
//! - [`snapshot`]: one picture of all three, thresholds and alerts (`status`).
//! - [`report`]: plain-text tables.
//! - [`tui`]: `top` (state / events / render split; effects carry out the
//!   actions: restart, stop, scale, logs).
//! - [`scale`]: compose-compatible scaling through the Docker API.
//! - [`usl`], [`plan`]: USL fit, Little's law sizing, the measuring sweep.
//! - [`ingest`]: bulk ingest of a folder into a running ragd (walk, compare
//!   hashes, upload in batches, report per file).
//! - [`error`]: the typed errors, each with a stable code.
//! - `commands`: one function per command (flags to typed values, print).
//!
//! [`run`] executes a parsed command line; `main` and the tests call it.

pub mod cli;
mod commands;
pub mod error;
pub mod host;
pub mod ingest;
pub mod metrics;
pub mod plan;
pub mod ragd;
pub mod report;
pub mod scale;
pub mod snapshot;
pub mod tui;
pub mod usl;

pub use error::Error;
pub use ragkit_docker::{docker, stats};

use cli::{Cli, Command, PlanCommand};
use snapshot::Scope;

/// Run one command; what it prints goes to stdout.
pub async fn run(cli: Cli) -> Result<(), Error> {
    let scope = Scope::from(&cli.scope);
    match cli.command {
        Command::Status {
            json,
            check,
            interval,
            thresholds,
        } => commands::status(&scope, json, check, interval, &thresholds).await,
        Command::Top {
            refresh,
            thresholds,
            ready_timeout,
            stop_timeout,
        } => {
            commands::top(
                scope,
                refresh,
                &thresholds,
                cli.color,
                ready_timeout,
                stop_timeout,
            )
            .await
        }
        Command::Scale {
            spec,
            dry_run,
            json,
            ready_timeout,
            stop_timeout,
        } => {
            let req = commands::scale_request(&scope, &spec, ready_timeout, stop_timeout)?;
            commands::scale(req, dry_run, json).await
        }
        Command::Plan {
            command: PlanCommand::Fit(a),
        } => commands::plan_fit(&a),
        Command::Plan {
            command: PlanCommand::Sweep(a),
        } => commands::plan_sweep(&scope, &a).await,
        Command::Ingest(args) => {
            let opts = commands::ingest_options(&scope, &args)?;
            commands::ingest(opts, args.json).await
        }
        Command::Completions { shell } => commands::completions(shell),
        Command::Man { out_dir } => commands::man(out_dir.as_deref()),
    }
}
