//! loadgen: replays the scaling guides' user profiles against ragd.
//!
//! Placeholder: the engine (goose closed model, open arrival-rate model, HDR
//! histograms, SLO verdicts) arrives with its own issue. The command line is
//! already the real one's shape so scripts can be written against it.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// loadgen: load-test ragd with staged user profiles and pass/fail SLOs.
///
/// Not implemented yet: every command explains that and exits with status 2.
#[derive(Parser)]
#[command(version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a load profile (profiles/*.toml) against a ragd URL.
    Run {
        /// Profile file, e.g. profiles/smoke.toml.
        profile: PathBuf,
        /// Base URL of ragd (loopback only).
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        target: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run { profile, target } => {
            eprintln!(
                "loadgen: the load engine is not implemented yet (would run {} against {target})",
                profile.display()
            );
            let _ = ragd_api::API_PREFIX;
            ExitCode::from(2)
        }
    }
}
