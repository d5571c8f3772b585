//! ragctl: the operator's console for ragd.
//!
//! Placeholder: `top`, `status`, `scale` and `plan` arrive with their own
//! issue. `status` already works against a running ragd so the shared API
//! types are exercised from this side too.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// ragctl: watch, scale and size ragd deployments.
#[derive(Parser)]
#[command(version, about, long_about)]
struct Cli {
    /// Base URL of a ragd replica.
    #[arg(
        long,
        global = true,
        default_value = "http://127.0.0.1:8080",
        env = "RAGCTL_TARGET"
    )]
    target: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Live console (containers, replicas, host). Not implemented yet.
    Top,
    /// Change the number of replicas of a service (SERVICE=N). Not implemented yet.
    Scale {
        /// e.g. ragd=4
        spec: String,
    },
    /// Capacity plan from loadgen results. Not implemented yet.
    Plan,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let what = match cli.command {
        Command::Top => "top",
        Command::Scale { .. } => "scale",
        Command::Plan => "plan",
    };
    eprintln!(
        "ragctl {what}: not implemented yet (target {}, API {})",
        cli.target,
        ragd_api::API_PREFIX
    );
    ExitCode::from(2)
}
