//! ragctl binary: parse options, build the runtime, call [`ragctl::run`].

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = ragctl::cli::Cli::parse();
    let json = cli.wants_json();
    // `top` waits on sockets and timers nearly all the time: one thread
    // does it without handing every reading from a worker to the drawing
    // thread (a wake-up and a context switch each). The other commands do
    // more at once (scale, sweeps, ingest).
    let rt = if matches!(cli.command, ragctl::cli::Command::Top { .. }) {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
    };
    let rt = match rt {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ragctl: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(ragctl::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if json && !e.reported() {
                println!(
                    "{}",
                    serde_json::json!({"error": {"code": e.code(), "message": e.to_string()}})
                );
            }
            eprintln!("ragctl: error [{}]: {e}", e.code());
            ExitCode::from(e.exit_code())
        }
    }
}
