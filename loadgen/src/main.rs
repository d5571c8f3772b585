//! loadgen's command line: parse options, build the runtime, call the
//! library. Everything else lives in `loadgen::*`.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{ColorChoice, CommandFactory, Parser, Subcommand};
use loadgen::profile::{Model, Profile, fmt_duration, parse_duration};
use loadgen::quick::QuickSpec;
use loadgen::run::{Consumer, ProgressMode, RunOptions, default_instance};
use loadgen::{Report, read_report, write_report_file};

/// loadgen: load-test ragd with staged user profiles and pass/fail SLOs.
///
/// A profile (profiles/*.toml) describes stages of load, a scenario mix
/// (query, ingest, health, status), think time, a question set and
/// thresholds such as "p95 < 300ms" (or k6's "p(95)<300"). `loadgen run`
/// plays it against a ragd, shows it live on a terminal (a progress line
/// elsewhere), prints a table per transaction and a PASS/FAIL per
/// threshold, and exits non-zero when a threshold fails. `loadgen quick`
/// does the same for one URL without a profile file.
///
/// Two models: "closed" (N concurrent users, each waiting for its answer,
/// driven by goose) and "open" (new arrivals per second whatever the
/// server's speed; latency counts from each request's intended start, so
/// queueing cannot hide: coordinated omission).
///
/// Examples:
///   loadgen run profiles/smoke.toml --target http://127.0.0.1:8080
///   loadgen quick http://127.0.0.1:8080/health --rate 200 --duration 30s
///   loadgen run profiles/1000-users.toml --time-scale 0.0167 --user-scale 0.05
///   loadgen run profiles/5000-users-per-minute.toml --report out.json --report out.html
///   loadgen merge pod-*.json --report total.json
///   loadgen compare before.json after.json
///
/// Against a ragd with API keys, set RAGKIT_API_KEY: every request sends it
/// as "Authorization: Bearer <key>".
///
/// Exit status: 0 all thresholds passed; 1 a threshold failed; 2 bad
/// command line or profile; 3 the run could not start (target unreachable)
/// or an output file could not be written; 130 interrupted with Ctrl-C or
/// q (a partial report is still printed).
#[derive(Parser)]
#[command(version, about, long_about, verbatim_doc_comment)]
struct Cli {
    /// Colour in the live view: auto (when its terminal is one and NO_COLOR
    /// is unset or empty), always or never. Verdicts are words (PASS/FAIL)
    /// and flags are marked with `!`, so nothing is lost without colour.
    #[arg(long, global = true, value_name = "WHEN", default_value = "auto")]
    color: ColorChoice,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Play a profile against ragd and judge it against its thresholds.
    ///
    /// On a terminal the run is shown live (stage and time left, target
    /// against achieved load, req/s and errors, P50/P95/P99, errors by
    /// kind, each threshold's PASS/FAIL so far); elsewhere, and with --json,
    /// --quiet or --no-tui, a progress line on stderr. q or Ctrl-C stops the
    /// run with a partial report.
    Run(RunArgs),
    /// A run with no profile file, like oha or hey: URL, load, duration.
    ///
    /// The URL's path says what to load: /health, /status,
    /// /v1/collections/NAME/query (asks --question) or
    /// /v1/collections/NAME/documents (ingests small documents). --rate R
    /// sends R arrivals per second whatever the server's speed (open
    /// model, latency from each arrival's intended start); --users N keeps N
    /// users each waiting for its answer (closed model, the default with 10
    /// users). Reports, thresholds, live view and exit status as `run`.
    ///
    /// Examples:
    ///   loadgen quick http://127.0.0.1:8080/health --rate 200 --duration 30s
    ///   loadgen quick http://127.0.0.1:8080/v1/collections/docs/query --users 20 \
    ///       --question "How do I scale ragd?" --threshold "p(95)<300" --report q.json
    #[command(verbatim_doc_comment)]
    Quick(QuickArgs),
    /// Validate profiles and print their plans, without sending anything.
    Check {
        /// Profile files.
        #[arg(required = true)]
        profiles: Vec<PathBuf>,
        /// Show the plan as scaled by these factors.
        #[arg(long, default_value_t = 1.0)]
        time_scale: f64,
        #[arg(long, default_value_t = 1.0)]
        user_scale: f64,
    },
    /// Combine the JSON reports of several loadgen processes that ran one
    /// profile together (one run split over many machines) into one exact
    /// report: histograms and counters are added, never averaged.
    Merge {
        /// JSON reports written with `--report FILE.json`, or HDR interval
        /// logs (`.hlog`; merged per second into one log, percentiles printed).
        #[arg(required = true)]
        reports: Vec<PathBuf>,
        /// Write the merged report (.json, .md, .html, .hlog, .csv); repeatable.
        #[arg(long = "report", value_name = "FILE")]
        outputs: Vec<PathBuf>,
        /// Print the merged report as JSON instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Measure retrieval quality: ask every question of QUESTIONS_FILE
    /// (JSON Lines: question, expected document ids, optional phrases and
    /// answer facts) in each retrieval mode and report hit@1, hit@k, MRR,
    /// phrase@k, fact@answer and latency. Example: loadgen eval
    /// docs/eval/questions.jsonl --collection docs
    Eval(EvalArgs),
    /// Show the deltas between two JSON reports (base, then new).
    Compare {
        base: PathBuf,
        new: PathBuf,
        /// Exit 1 when the new report's thresholds fail.
        #[arg(long)]
        fail_on_threshold: bool,
    },
    /// Print a shell completion script, e.g. `loadgen completions bash >
    /// ~/.local/share/bash-completion/completions/loadgen`.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) on stdout, e.g. `loadgen man | man -l -`;
    /// with --out-dir, write one page per command there (loadgen.1,
    /// loadgen-run.1...).
    Man {
        /// Directory to write every page into (created if missing).
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
}

#[derive(clap::Args)]
struct EvalArgs {
    /// Questions file (format: loadgen/src/eval.rs, example: docs/eval/questions.jsonl).
    questions: PathBuf,
    /// Base URL of ragd (loopback).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    target: String,
    /// Collection to ask.
    #[arg(long, default_value = "docs")]
    collection: String,
    /// Passages retrieved per question (the k of hit@k).
    #[arg(long, default_value_t = 5)]
    top_k: usize,
    /// Retrieval mode to evaluate (dense, sparse, hybrid); repeatable; all three by default.
    #[arg(long = "mode", value_name = "MODE")]
    modes: Vec<ragd_api::RetrievalMode>,
    /// Exit 1 when any evaluated mode's hit@1 is below this (0..1).
    #[arg(long)]
    min_hit1: Option<f64>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
struct RunArgs {
    /// Profile file, e.g. profiles/smoke.toml (format: profiles/README.md).
    profile: PathBuf,
    /// Base URL of ragd.
    #[arg(long, env = "LOADGEN_TARGET", default_value = "http://127.0.0.1:8080")]
    target: String,
    /// Multiply every stage duration by F: 0.0167 plays a 30-minute profile
    /// in 30 s. Closed-model stages round to whole seconds (goose's unit).
    #[arg(long, value_name = "F", default_value_t = 1.0)]
    time_scale: f64,
    /// Multiply user counts (closed) and arrival rates (open) by F: 0.1
    /// runs the 1000-users profile with 100 users.
    #[arg(long, value_name = "F", default_value_t = 1.0)]
    user_scale: f64,
    /// Do not create the collection or ingest the profile's corpus.
    #[arg(long)]
    no_setup: bool,
    #[command(flatten)]
    out: OutputArgs,
}

#[derive(clap::Args)]
struct QuickArgs {
    /// What to load, e.g. http://127.0.0.1:8080/health or
    /// http://127.0.0.1:8080/v1/collections/docs/query.
    url: String,
    /// Arrivals per second (open model), whatever the server's speed.
    #[arg(long, value_name = "R", conflicts_with = "users")]
    rate: Option<f64>,
    /// Concurrent users, each waiting for its answer (closed model; 10 when
    /// neither --rate nor --users is given).
    #[arg(long, short = 'u', value_name = "N")]
    users: Option<u64>,
    /// How long to send ("30s", "2m").
    #[arg(long, short = 'd', value_name = "DURATION", default_value = "10s", value_parser = duration_arg)]
    duration: Duration,
    /// Question asked by a query URL; repeat to ask several in turn
    /// (default: "What does the service do?").
    #[arg(long = "question", value_name = "TEXT")]
    questions: Vec<String>,
    /// Query URL: ask for Server-Sent Events and report time to first byte.
    #[arg(long)]
    stream: bool,
    /// Query URL: make every question distinct so the cache never answers.
    #[arg(long)]
    unique: bool,
    /// Query URL: passages to retrieve.
    #[arg(long, default_value_t = 5, value_name = "K")]
    top_k: u32,
    /// Per-request timeout.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = duration_arg)]
    timeout: Duration,
    /// Open model: requests in flight at once; later arrivals wait (and the
    /// wait counts in their latency).
    #[arg(long, value_name = "N", default_value_t = 1000)]
    max_in_flight: usize,
    /// A pass/fail rule, ours or k6's: "p95 < 300ms", "p(95)<300",
    /// "http_req_failed<0.01"; repeatable. Exit status 1 when one fails.
    #[arg(long = "threshold", value_name = "RULE")]
    thresholds: Vec<String>,
    #[command(flatten)]
    out: OutputArgs,
}

/// What `run` and `quick` share: bounds, outputs, live view, exports.
#[derive(clap::Args)]
struct OutputArgs {
    /// Stop after this long whatever the plan ("90s", "5m"); default: the
    /// planned length plus time to drain in-flight requests.
    #[arg(long, value_name = "DURATION", value_parser = duration_arg)]
    max_duration: Option<Duration>,
    /// Stop after starting this many requests.
    #[arg(long, value_name = "N")]
    max_requests: Option<u64>,
    /// Write the report to FILE; the extension picks the format: .json
    /// (stable schema, mergeable), .md, .html (charts), .hlog (HDR
    /// interval log), .csv (one row per second). Repeatable. `{instance}`
    /// in FILE becomes the instance name, so N instances sharing a volume
    /// write N files.
    #[arg(long = "report", value_name = "FILE")]
    outputs: Vec<PathBuf>,
    /// Write one CSV row per request to FILE while the run goes on (time,
    /// transaction, stage, latency, service time, time to first byte, lag,
    /// outcome).
    #[arg(long, value_name = "FILE")]
    requests_csv: Option<PathBuf>,
    /// Print the report as JSON on stdout instead of the table (and no
    /// live view unless --tui).
    #[arg(long)]
    json: bool,
    /// No live view and no progress line.
    #[arg(long, short, conflicts_with = "tui")]
    quiet: bool,
    /// Show the live view even when stdout is not a terminal (it draws on
    /// stderr, which must be one). By default it is shown when stdout and
    /// stderr are terminals and --json is not given.
    #[arg(long, conflicts_with = "no_tui")]
    tui: bool,
    /// The progress line instead of the live view.
    #[arg(long)]
    no_tui: bool,
    /// Serve Prometheus metrics of the run on ADDR (e.g. 127.0.0.1:9464;
    /// keep it on loopback unless the network is yours): request counts,
    /// latency histograms, the current stage, stage start times.
    #[arg(long, value_name = "ADDR")]
    metrics_listen: Option<SocketAddr>,
    /// This process's name in merged reports (default: $HOSTNAME).
    #[arg(long, env = "LOADGEN_INSTANCE")]
    instance: Option<String>,
    /// Threads that send requests. One thread, the default, drives about
    /// 100k trivial requests/s (docs/BENCHMARKS.md) at the least CPU per
    /// request, and leaves the other cores to a server on the same machine.
    /// Add threads only when loadgen itself is short of CPU: the open model
    /// then reports arrivals sent behind schedule.
    #[arg(long, short = 't', value_name = "N", env = "LOADGEN_THREADS", default_value_t = 1,
          value_parser = clap::value_parser!(u16).range(1..=1024))]
    threads: u16,
    /// Sample the CPU and memory of the target's containers during the
    /// run: every running container of compose project PROJECT (only
    /// service SERVICE's, when given), about once a second, through the
    /// Docker engine (DOCKER_HOST or /var/run/docker.sock). Figures per
    /// stage go into the report and the "cpu < 80%" / "memory < 80%"
    /// thresholds are judged on them. Overrides the profile's [resources].
    #[arg(long, value_name = "PROJECT[/SERVICE]")]
    watch: Option<loadgen::resources::Watch>,
}

fn duration_arg(s: &str) -> Result<Duration, String> {
    parse_duration(s).map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let color = cli.color;
    match cli.command {
        Command::Check {
            profiles,
            time_scale,
            user_scale,
        } => check(&profiles, time_scale, user_scale),
        Command::Merge {
            reports,
            outputs,
            json,
        } => merge(&reports, &outputs, json),
        Command::Compare {
            base,
            new,
            fail_on_threshold,
        } => match (read_report(&base), read_report(&new)) {
            (Ok(b), Ok(n)) => {
                print!("{}", loadgen::report::compare(&b, &n));
                if fail_on_threshold && !n.passed {
                    ExitCode::from(1)
                } else {
                    ExitCode::SUCCESS
                }
            }
            (Err(e), _) | (_, Err(e)) => {
                eprintln!("loadgen: {e}");
                ExitCode::from(2)
            }
        },
        Command::Run(args) => run(args, color),
        Command::Quick(args) => quick(args, color),
        Command::Eval(args) => eval(args),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "loadgen", &mut script);
            print_bytes(&script)
        }
        Command::Man { out_dir: None } => {
            let mut page = Vec::new();
            match clap_mangen::Man::new(Cli::command()).render(&mut page) {
                Ok(()) => print_bytes(&page),
                Err(e) => {
                    eprintln!("loadgen: man: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Man { out_dir: Some(dir) } => {
            match std::fs::create_dir_all(&dir)
                .and_then(|()| clap_mangen::generate_to(Cli::command(), &dir))
            {
                Ok(()) => {
                    eprintln!("loadgen: wrote the man pages to {}", dir.display());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("loadgen: {}: {e}", dir.display());
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// Write on stdout; a closed pipe (`loadgen man | head`) is not an error.
fn print_bytes(bytes: &[u8]) -> ExitCode {
    use std::io::Write;
    match std::io::stdout().write_all(bytes) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            eprintln!("loadgen: {e}");
            ExitCode::FAILURE
        }
        _ => ExitCode::SUCCESS,
    }
}

fn eval(a: EvalArgs) -> ExitCode {
    let questions = match loadgen::eval::load(&a.questions) {
        Ok(q) => q,
        Err(e) => {
            eprintln!("loadgen: {e}");
            return ExitCode::from(2);
        }
    };
    if a.top_k == 0 || a.top_k > ragd_api::MAX_TOP_K as usize {
        eprintln!("loadgen: --top-k must be 1 to {}", ragd_api::MAX_TOP_K);
        return ExitCode::from(2);
    }
    let opts = loadgen::eval::EvalOptions {
        target: a.target,
        collection: a.collection,
        top_k: a.top_k,
        modes: if a.modes.is_empty() {
            ragd_api::RetrievalMode::ALL.to_vec()
        } else {
            a.modes
        },
        timeout: Duration::from_secs(60),
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("loadgen: {e}");
            return ExitCode::FAILURE;
        }
    };
    let report = match rt.block_on(loadgen::eval::run(&questions, &opts)) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("loadgen: {e}");
            return ExitCode::from(2);
        }
    };
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        print!("{}", report.to_table());
    }
    if let Some(min) = a.min_hit1 {
        let low: Vec<String> = report
            .modes
            .iter()
            .filter(|m| m.hit_at_1 < min)
            .map(|m| format!("{} {:.3}", m.mode, m.hit_at_1))
            .collect();
        if !low.is_empty() {
            eprintln!("loadgen: hit@1 below {min}: {}", low.join(", "));
            return ExitCode::from(1);
        }
    }
    ExitCode::SUCCESS
}

fn run(a: RunArgs, color: ColorChoice) -> ExitCode {
    let profile = match Profile::load(&a.profile) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("loadgen: {e}");
            return ExitCode::from(2);
        }
    };
    let mut opts = RunOptions::new(profile, &a.target);
    opts.time_scale = a.time_scale;
    opts.user_scale = a.user_scale;
    opts.setup = !a.no_setup;
    play(opts, a.out, color)
}

fn quick(a: QuickArgs, color: ColorChoice) -> ExitCode {
    let spec = QuickSpec {
        url: a.url,
        rate: a.rate,
        users: a.users,
        duration: a.duration,
        questions: a.questions,
        stream: a.stream,
        unique: a.unique,
        top_k: a.top_k,
        timeout: a.timeout,
        max_in_flight: a.max_in_flight,
        thresholds: a.thresholds,
    };
    let (profile, target) = match loadgen::quick::profile(&spec) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("loadgen: {e}");
            return ExitCode::from(2);
        }
    };
    let mut opts = RunOptions::new(profile, &target);
    // A quick run sends what the URL says and nothing else.
    opts.setup = false;
    play(opts, a.out, color)
}

/// Colour for a terminal: `auto` means it is one and NO_COLOR
/// (https://no-color.org) is unset or empty.
fn use_color(choice: ColorChoice, terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    }
}

/// What `run` and `quick` share once the profile is known: the outputs
/// checked, the consumers opened, the run played, the report written.
fn play(mut opts: RunOptions, out: OutputArgs, color: ColorChoice) -> ExitCode {
    opts.max_duration = out.max_duration;
    opts.max_requests = out.max_requests;
    opts.instance = out.instance.clone().unwrap_or_else(default_instance);
    if out.watch.is_some() {
        opts.watch = out.watch.clone();
    }
    opts.handle_ctrl_c = true;
    let outputs: Vec<PathBuf> = out
        .outputs
        .iter()
        .map(|o| loadgen::run::report_path(o, &opts.instance))
        .collect();
    for o in &outputs {
        if !matches!(
            o.extension().and_then(|e| e.to_str()),
            Some("json" | "md" | "html" | "htm" | "hlog" | "csv")
        ) {
            eprintln!(
                "loadgen: --report {}: expected a file name ending in .json, .md, .html, .hlog or .csv",
                o.display()
            );
            return ExitCode::from(2);
        }
    }
    let stderr_tty = std::io::stderr().is_terminal();
    let tui = out.tui
        || (!out.no_tui
            && !out.json
            && !out.quiet
            && stderr_tty
            && std::io::stdout().is_terminal());
    if out.tui && !stderr_tty {
        eprintln!(
            "loadgen: --tui draws on stderr, which is not a terminal here; leave --tui out to get the progress line"
        );
        return ExitCode::from(2);
    }
    opts.progress = if out.quiet || tui {
        ProgressMode::Off
    } else {
        ProgressMode::auto()
    };
    match consumers(&out, &opts, tui, use_color(color, stderr_tty)) {
        Ok(c) => opts.consumers = c,
        Err(e) => {
            eprintln!("loadgen: {e}");
            return ExitCode::from(2);
        }
    }
    let threads = usize::from(out.threads);
    let rt = if threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    };
    let rt = match rt {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("loadgen: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // goose prints notes on stdout; keep stdout for the report.
    let guard = SilenceStdout::new();
    let result = rt.block_on(loadgen::run::run_full(opts));
    drop(guard);
    let finished = match result {
        Ok(f) => f,
        Err(e) => {
            eprintln!("loadgen: {e}");
            return ExitCode::from(3);
        }
    };
    for e in &finished.consumer_errors {
        eprintln!("loadgen: {e}");
    }
    let code = finish(&finished.report, &outputs, out.json);
    if code == ExitCode::SUCCESS && !finished.consumer_errors.is_empty() {
        ExitCode::from(3)
    } else {
        code
    }
}

/// The consumers the options ask for, opened now so that a bad file or a
/// taken port fails before any request is sent.
fn consumers(
    out: &OutputArgs,
    opts: &RunOptions,
    tui: bool,
    color: bool,
) -> Result<Vec<Box<dyn Consumer>>, String> {
    let mut consumers: Vec<Box<dyn Consumer>> = Vec::new();
    if tui {
        consumers.push(Box::new(loadgen::live::LiveView {
            target: opts.target.clone(),
            color,
        }));
    }
    if let Some(path) = &out.requests_csv {
        let path = loadgen::run::report_path(path, &opts.instance);
        let csv = loadgen::requests_csv::RequestsCsv::create(&path)
            .map_err(|e| format!("--requests-csv: {e}"))?;
        consumers.push(Box::new(csv));
    }
    if let Some(addr) = out.metrics_listen {
        let exporter = loadgen::export::Exporter::bind(addr, &opts.target, &opts.instance)
            .map_err(|e| e.to_string())?;
        consumers.push(Box::new(exporter));
    }
    Ok(consumers)
}

fn finish(report: &Report, outputs: &[PathBuf], json: bool) -> ExitCode {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(report).expect("report serializes")
        );
    } else {
        print!("{}", report.to_text());
    }
    let mut failed_write = false;
    for o in outputs {
        match write_report_file(report, o) {
            Ok(()) => eprintln!("loadgen: wrote {}", o.display()),
            Err(e) => {
                eprintln!("loadgen: {e}");
                failed_write = true;
            }
        }
    }
    if report.meta.stop_reason == "interrupted" {
        ExitCode::from(130)
    } else if !report.passed {
        ExitCode::from(1)
    } else if failed_write {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    }
}

fn merge(inputs: &[PathBuf], outputs: &[PathBuf], json: bool) -> ExitCode {
    let is_hlog = |p: &PathBuf| p.extension().and_then(|e| e.to_str()) == Some("hlog");
    if inputs.iter().all(is_hlog) {
        return merge_hlogs(inputs, outputs);
    }
    if inputs.iter().any(is_hlog) {
        eprintln!(
            "loadgen: merge: give either JSON reports or HDR interval logs (.hlog), not both"
        );
        return ExitCode::from(2);
    }
    let mut reports = Vec::new();
    for p in inputs {
        match read_report(p) {
            Ok(r) => reports.push(r),
            Err(e) => {
                eprintln!("loadgen: {e}");
                return ExitCode::from(2);
            }
        }
    }
    match loadgen::report::merge(&reports) {
        Ok(r) => finish(&r, outputs, json),
        Err(e) => {
            eprintln!("loadgen: merge: {e}");
            ExitCode::from(2)
        }
    }
}

fn check(paths: &[PathBuf], time_scale: f64, user_scale: f64) -> ExitCode {
    let mut code = ExitCode::SUCCESS;
    for path in paths {
        let p = match Profile::load(path) {
            Ok(p) => p.scaled(time_scale, user_scale),
            Err(e) => {
                eprintln!("loadgen: {e}");
                code = ExitCode::from(2);
                continue;
            }
        };
        println!(
            "{}: {} ({} model), {} planned",
            path.display(),
            p.name,
            p.model,
            fmt_duration(p.planned())
        );
        if !p.description.is_empty() {
            println!("  {}", p.description);
        }
        for s in &p.stages {
            match p.model {
                Model::Closed => println!(
                    "  stage {:<24} {:>8}  -> {} users",
                    s.name,
                    fmt_duration(s.duration),
                    s.users
                ),
                Model::Open if s.rate == s.ramp_to => {
                    println!(
                        "  stage {:<24} {:>8}  {} arrivals/s",
                        s.name,
                        fmt_duration(s.duration),
                        s.rate
                    )
                }
                Model::Open => println!(
                    "  stage {:<24} {:>8}  {} -> {} arrivals/s",
                    s.name,
                    fmt_duration(s.duration),
                    s.rate,
                    s.ramp_to
                ),
            }
        }
        let mix: Vec<String> = p
            .scenarios
            .iter()
            .map(|s| format!("{} {}", s.name, s.weight))
            .collect();
        println!(
            "  mix: {}; thresholds: {}",
            mix.join(" / "),
            p.thresholds
                .iter()
                .map(|t| t.text.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        if p.model == Model::Open {
            println!("  about {:.0} requests", p.planned_arrivals());
        }
    }
    code
}

/// Merge HDR interval logs: per-second histograms added; prints the
/// overall percentiles and writes the merged log to every `.hlog` output.
fn merge_hlogs(inputs: &[PathBuf], outputs: &[PathBuf]) -> ExitCode {
    let merged = match loadgen::hdrlog::merge_logs(inputs) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("loadgen: merge: {e}");
            return ExitCode::from(2);
        }
    };
    let mut all = loadgen::stats::new_hist();
    for (_, iv) in &merged {
        all.add(&iv.latency).expect("same bounds");
    }
    let p = loadgen::report::Pcts::of(&all);
    println!(
        "{} intervals, {} requests: p50 {} p90 {} p95 {} p99 {} max {} ms",
        merged.len(),
        all.len(),
        p.p50,
        p.p90,
        p.p95,
        p.p99,
        p.max
    );
    let start_ms = merged.first().map(|(t, _)| t * 1000).unwrap_or(0);
    for o in outputs {
        if o.extension().and_then(|e| e.to_str()) != Some("hlog") {
            eprintln!(
                "loadgen: merging interval logs writes .hlog only; use JSON reports for {}",
                o.display()
            );
            return ExitCode::from(2);
        }
        let comment = format!(
            "loadgen merge of {} interval logs; latency in microseconds",
            inputs.len()
        );
        if let Err(e) = loadgen::hdrlog::write_intervals(&merged, start_ms, &comment, o) {
            eprintln!("loadgen: cannot write {}: {e}", o.display());
            return ExitCode::from(3);
        }
        eprintln!("loadgen: wrote {}", o.display());
    }
    ExitCode::SUCCESS
}

/// While alive, file descriptor 1 points at /dev/null: goose prints "N
/// users launched." on stdout whatever its settings, which would break
/// `--json` on stdout and, sent to stderr, ran into the progress line
/// ("in flight 010 users launched."). The progress line already shows the
/// users; nothing else of goose's goes to stdout, and panics go to stderr.
struct SilenceStdout {
    #[cfg(unix)]
    saved: libc::c_int,
}

impl SilenceStdout {
    fn new() -> SilenceStdout {
        use std::io::Write;
        let _ = std::io::stdout().flush();
        #[cfg(unix)]
        {
            // SAFETY: dup/dup2 on the process's own standard descriptors.
            let saved = unsafe { libc::dup(1) };
            if saved >= 0 {
                let null = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_WRONLY) };
                if null >= 0 {
                    unsafe {
                        libc::dup2(null, 1);
                        libc::close(null);
                    }
                }
            }
            SilenceStdout { saved }
        }
        #[cfg(not(unix))]
        SilenceStdout {}
    }
}

impl Drop for SilenceStdout {
    fn drop(&mut self) {
        use std::io::Write;
        let _ = std::io::stdout().flush();
        #[cfg(unix)]
        if self.saved >= 0 {
            // SAFETY: restores the descriptor saved in `new`.
            unsafe {
                libc::dup2(self.saved, 1);
                libc::close(self.saved);
            }
        }
    }
}
