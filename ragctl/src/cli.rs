//! The command line: every option with its default and what it is for.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// ragctl: the operator's console for ragd deployments on Docker.
///
/// Watches containers (figures as `docker stats` computes them), ragd
/// replicas (/status, /ready and /metrics) and the host; scales compose
/// services through the Docker API; turns load-test results into a capacity
/// plan.
///
/// Docker is found through DOCKER_HOST (default unix:///var/run/docker.sock).
/// Against a ragd with API keys, set RAGKIT_API_KEY to an admin key: every
/// request to ragd sends it as "Authorization: Bearer <key>".
/// ragd replicas are the running containers of the compose service named by
/// --service, plus every --target URL. `ingest` sends a folder's files to
/// the first --target (default http://127.0.0.1:8080).
#[derive(Debug, Parser)]
#[command(
    name = "ragctl",
    version,
    about,
    long_about,
    after_help = "Examples:\n  ragctl status                       one snapshot, human readable\n  ragctl status --json | jq .alerts   the same for scripts\n  ragctl top --refresh 2              live console (press ? for keys)\n  ragctl scale ragd=4 --dry-run       show what would change\n  ragctl scale ragd=4                 scale up, wait for /ready\n  ragctl plan sweep --collection docs --out points.json\n  ragctl plan fit points.json --users 2000 --think-time 5 --p95 300\n  ragctl plan sweep --replicas 1,2,3 --collection docs --unique --out r.json\n  ragctl plan fit r.json --users 1000 --think-time 5 --chart plan.svg\n  ragctl ingest ./docs --collection docs --create"
)]
pub struct Cli {
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// Colour in `top`: auto (when stdout is a terminal and NO_COLOR is
    /// unset or empty), always or never. Flagged values are also marked
    /// with `!`, so nothing is lost without colour.
    #[arg(long, global = true, value_name = "WHEN", default_value = "auto")]
    pub color: clap::ColorChoice,
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Whether the command asked for JSON (errors are then also printed as
    /// JSON on stdout, besides the line on stderr).
    pub fn wants_json(&self) -> bool {
        match &self.command {
            Command::Status { json, .. } | Command::Scale { json, .. } => *json,
            Command::Ingest(a) => a.json,
            Command::Plan {
                command: PlanCommand::Fit(a),
            } => a.format == Format::Json,
            _ => false,
        }
    }
}

/// Which ragd replicas and containers to look at.
#[derive(Debug, Clone, Args)]
pub struct ScopeArgs {
    /// Base URL of a ragd replica to probe, besides those found in Docker.
    /// Repeat or separate with commas. When none is given and Docker shows
    /// no replica, http://127.0.0.1:8080 is probed. `ingest` and `plan
    /// sweep` use the first one (default http://127.0.0.1:8080).
    #[arg(long, global = true, env = "RAGCTL_TARGET", value_delimiter = ',')]
    pub target: Vec<String>,
    /// Compose service whose containers are ragd replicas.
    #[arg(long, global = true, default_value = "ragd", env = "RAGCTL_SERVICE")]
    pub service: String,
    /// Only this compose project (com.docker.compose.project label).
    #[arg(long, short = 'p', global = true, env = "RAGCTL_PROJECT")]
    pub project: Option<String>,
    /// ragd's port inside its containers: replicas are reached on the host
    /// port published for it, else on the container's address.
    #[arg(long, global = true, default_value_t = 8080)]
    pub port: u16,
}

/// Thresholds that highlight (top) or raise alerts (status).
#[derive(Debug, Clone, Args)]
pub struct ThresholdArgs {
    /// Container or host CPU above this percentage is flagged.
    #[arg(long, default_value_t = 80.0, value_name = "PERCENT")]
    pub cpu_alert: f64,
    /// Container or host memory above this percentage of its limit is flagged.
    #[arg(long, default_value_t = 85.0, value_name = "PERCENT")]
    pub mem_alert: f64,
    /// A replica answering more than this percentage of requests with 5xx is flagged.
    #[arg(long, default_value_t = 5.0, value_name = "PERCENT")]
    pub error_alert: f64,
    /// P95 latency objective in milliseconds; replicas above it are flagged.
    #[arg(long, default_value_t = 300.0, value_name = "MS")]
    pub slo_p95: f64,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Live console: containers, ragd replicas, host, history; select a row
    /// to see its detail and logs, restart, stop or scale (press ? for keys).
    ///
    /// Containers come from the Docker engine with one stats stream each, as
    /// `docker stats` does, and follow start/stop events live. Replicas are
    /// probed once per refresh; req/s, error rate and P95 are computed from
    /// successive /metrics scrapes. Works without Docker (says why) and marks
    /// replicas that do not answer as DOWN. Values over a threshold are red
    /// and marked `!`.
    ///
    /// Keys: arrows or j/k (or a click) select a container or replica; Enter
    /// shows its /status (pools with waits, caches, queues, configuration),
    /// its history and its container's limits; l its container's logs
    /// (followed; / searches); R restarts it (SIGTERM first: ragd drains),
    /// X stops it, N scales its service, each after a y/N confirmation. The
    /// outcome shows in the status line, and one audit line per action is
    /// printed when top exits.
    Top {
        /// Seconds between replica and host readings (0.25 to 10; + and - change it live).
        #[arg(long, default_value_t = 1.0, value_name = "SECONDS")]
        refresh: f64,
        #[command(flatten)]
        thresholds: ThresholdArgs,
        /// Seconds a replica started by N (scale) may take to answer /ready with 200.
        #[arg(long, default_value_t = 60, value_name = "SECONDS")]
        ready_timeout: u64,
        /// Seconds between SIGTERM and SIGKILL for R (restart), X (stop)
        /// and replicas N (scale) removes.
        #[arg(long, default_value_t = 30, value_name = "SECONDS")]
        stop_timeout: u32,
    },
    /// One snapshot of containers, replicas and host, for scripts and incident notes.
    ///
    /// CPU and memory are `docker stats --no-stream` figures (memory without
    /// the page cache); NET and BLOCK I/O are totals since the container
    /// started. Replica rates are measured over --interval. Exit status is 0
    /// even when something is down (read `alerts`), unless --check.
    ///
    /// For scripts and cron: `ragctl status --check --json > snap.json ||
    /// page-someone` (exit status 1 when any alert fires).
    Status {
        /// Print JSON instead of tables.
        #[arg(long)]
        json: bool,
        /// Exit with status 1 when any alert fires (a replica down or not
        /// ready, a threshold crossed, an unhealthy container); the report
        /// is printed either way.
        #[arg(long)]
        check: bool,
        /// Seconds between the two /metrics scrapes that rates are computed from.
        #[arg(long, default_value_t = 1.0, value_name = "SECONDS")]
        interval: f64,
        #[command(flatten)]
        thresholds: ThresholdArgs,
    },
    /// Set the number of replicas of a compose (or Swarm) service: SERVICE=N.
    ///
    /// Compatible with `docker compose`: new replicas clone the highest-numbered
    /// running one (configuration, networks and aliases) and get the same
    /// labels with the next container numbers, named PROJECT-SERVICE-N. Each
    /// new replica counts once its /ready answers. Scaling down stops the
    /// highest numbers first, with SIGTERM (ragd drains) and SIGKILL after
    /// --stop-timeout, then removes them.
    Scale {
        /// SERVICE=N, e.g. ragd=4.
        spec: String,
        /// Print the plan and change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Seconds each new replica may take to answer /ready with 200.
        #[arg(long, default_value_t = 60, value_name = "SECONDS")]
        ready_timeout: u64,
        /// Seconds between SIGTERM and SIGKILL when stopping a replica.
        #[arg(long, default_value_t = 30, value_name = "SECONDS")]
        stop_timeout: u32,
    },
    /// Bulk-ingest a folder (or one file) into a collection of a running
    /// ragd; files ragd already holds unchanged are skipped.
    ///
    /// Walks DIR recursively as ripgrep does: .gitignore and .ignore files
    /// are honoured (also outside a git repository), hidden files and
    /// folders are skipped. Without --glob, files whose extension ragd reads
    /// are taken: .txt .text .md .markdown .html .htm .pdf .docx .csv
    /// .jsonl .ndjson. Each file's document id is its path relative to DIR
    /// with `/` separators (for a single file: its name).
    ///
    /// Before sending, the collection's documents are listed: a file whose
    /// SHA-256 equals the one ragd holds for its id is skipped, so a run
    /// stopped with Ctrl-C resumes where it stopped when run again (--force
    /// sends everything). Files go as multipart/form-data uploads of at most
    /// 16 files and 8 MiB (a larger file goes alone), --concurrency uploads
    /// at a time. When ragd refuses an upload (415 unsupported format, 422
    /// corrupt file, 413 too large...), its files are sent again one by one
    /// so each failure is reported with its file and ragd's reason; 429 and
    /// 503 are retried after Retry-After (5 times at most), an upload with
    /// no answer 3 times.
    ///
    /// Progress (files/s, chunks/s, ETA, failures) is drawn on stderr when
    /// it is a terminal. Ctrl-C stops starting uploads, lets those in flight
    /// finish and prints the summary (a second Ctrl-C abandons them). The
    /// summary on stdout counts files found, skipped, ingested (documents
    /// and chunks) and failed, with every failure as `path: reason`.
    ///
    /// Exit status: 0 all sent, 1 some file failed, 2 bad usage (DIR
    /// missing...), 3 ragd unreachable, 4 collection missing (without
    /// --create), 130 interrupted.
    ///
    /// With RAGKIT_API_KEY set, every request sends it as a bearer key (a
    /// key allowed to ingest into the collection, and to create it with
    /// --create).
    #[command(after_help = INGEST_EXAMPLES)]
    Ingest(IngestArgs),
    /// Capacity planning: measure throughput vs concurrency, fit the USL, size the deployment.
    Plan {
        #[command(subcommand)]
        command: PlanCommand,
    },
    /// Print a shell completion script, e.g. `ragctl completions bash >
    /// ~/.local/share/bash-completion/completions/ragctl`.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) on stdout, e.g. `ragctl man | man -l -`;
    /// with --out-dir, write one page per command there (ragctl.1,
    /// ragctl-top.1...).
    Man {
        /// Directory to write every page into (created if missing).
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
}

const INGEST_EXAMPLES: &str = "Examples:
  ragctl ingest ./docs --collection docs --create
      every readable file under ./docs into `docs`, creating it if missing
  ragctl ingest ./docs --collection docs --dry-run
      what would be sent and what skipped as unchanged; sends nothing
  ragctl ingest ./site --collection web --glob '*.html' --glob '!drafts/**'
      only HTML files, none under drafts/
  ragctl --target http://ragd:8080 ingest ./manuals --collection manuals --concurrency 8
      another ragd, 8 uploads at a time
  ragctl ingest ./docs --collection docs --json | jq '.failures[]'
      the summary as JSON, e.g. each failure's path, status, code, message
  ragctl ingest ./docs --collection docs --force
      send every file again, also those ragd holds unchanged";

/// `ingest`'s own options (the ragd is the first global --target).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Ingest options")]
pub struct IngestArgs {
    /// Folder to walk recursively, or a single file.
    #[arg(value_name = "DIR", help_heading = "Arguments")]
    pub dir: PathBuf,
    /// Collection to ingest into.
    #[arg(long, short = 'c')]
    pub collection: String,
    /// Take the files matching this glob (gitignore syntax, relative to DIR)
    /// instead of those with a known extension; `!GLOB` leaves out matching
    /// files. Repeat for several. Globs choose among the files the walk
    /// finds: hidden and ignored files stay out.
    #[arg(long = "glob", short = 'g', value_name = "GLOB")]
    pub globs: Vec<String>,
    /// Uploads in flight at a time (1 to 64).
    #[arg(long, default_value_t = crate::ingest::DEFAULT_CONCURRENCY, value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    /// Create the collection (default embedder) if it does not exist.
    #[arg(long)]
    pub create: bool,
    /// Send every file, also those ragd already holds unchanged.
    #[arg(long)]
    pub force: bool,
    /// Walk and compare hashes, print what would be sent or skipped, send
    /// nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the summary as one JSON object (no progress bar): found,
    /// skipped, ingested, documents, chunks, failed, elapsed_secs,
    /// files_per_sec, chunks_per_sec and failures [{path, status, code,
    /// message}].
    #[arg(long)]
    pub json: bool,
}

/// The capacity question a plan answers.
#[derive(Debug, Clone, Args)]
pub struct QuestionArgs {
    /// Concurrent users to size for.
    #[arg(long)]
    pub users: Option<f64>,
    /// Seconds a user waits between requests (think time Z).
    #[arg(long, default_value_t = 0.0, value_name = "SECONDS")]
    pub think_time: f64,
    /// P95 latency target in milliseconds.
    #[arg(long, default_value_t = 300.0, value_name = "MS")]
    pub p95: f64,
    /// Spare capacity to keep, in percent.
    #[arg(long, default_value_t = 20.0, value_name = "PERCENT")]
    pub headroom: f64,
    /// Milliseconds a request holds a DB connection (default: the whole request).
    #[arg(long, value_name = "MS")]
    pub db_hold_ms: Option<f64>,
    /// Milliseconds a request holds a Redis connection (default: the whole request).
    #[arg(long, value_name = "MS")]
    pub redis_hold_ms: Option<f64>,
}

/// `plan fit`.
#[derive(Debug, Clone, Args)]
pub struct FitArgs {
    /// Measurement files.
    #[arg(required = true, num_args = 1..)]
    pub points: Vec<PathBuf>,
    #[command(flatten)]
    pub question: QuestionArgs,
    /// Replica sweeps only: fit on these replica counts and predict the
    /// others (e.g. --fit-on 1,2,3 against a sweep of 1..6), to check the
    /// model against measurement.
    #[arg(long, value_delimiter = ',', value_name = "COUNTS")]
    pub fit_on: Vec<u32>,
    /// Replica sweeps only: write the chart here (.svg, or .html for a page
    /// with the summary).
    #[arg(long, value_name = "FILE")]
    pub chart: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// `plan sweep`.
#[derive(Debug, Clone, Args)]
pub struct SweepArgs {
    /// Collection to query (must exist and hold documents on every replica).
    #[arg(long)]
    pub collection: String,
    /// ragd base URL, or the load balancer in front of the replicas with
    /// --replicas (default: the first --target; with --replicas and no URL,
    /// the clients are spread over the replicas' published ports).
    #[arg(long = "url")]
    pub url: Option<String>,
    /// The question to ask.
    #[arg(
        long,
        default_value = "What does the service do?",
        conflicts_with = "questions"
    )]
    pub question: String,
    /// Ask the questions of FILE in turn instead (one per line; blank lines
    /// and lines starting with # skipped), e.g. the questions file of the
    /// loadgen profile the plan is for: a question's length sets its cost.
    #[arg(long, value_name = "FILE")]
    pub questions: Option<PathBuf>,
    /// Make every question distinct so answers are not served from the cache.
    #[arg(long)]
    pub unique: bool,
    /// Retrieval mode of the queries (default: the server's).
    #[arg(long, value_parser = ["dense", "sparse", "hybrid"])]
    pub mode: Option<String>,
    /// Concurrency levels, comma separated (at least 6 for a fit).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "1,2,4,8,12,16,24,32",
        conflicts_with = "replicas"
    )]
    pub levels: Vec<u32>,
    /// Sweep replica counts instead of concurrency: scale the --service
    /// (through the Docker API, as `ragctl scale`) to each count, wait for
    /// /ready, saturate, and record throughput, P95 and each container's
    /// CPU and memory. At least 3 counts for a fit.
    #[arg(long, value_delimiter = ',', value_name = "COUNTS")]
    pub replicas: Vec<u32>,
    /// With --replicas: closed-loop clients per replica (enough to saturate).
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub clients_per_replica: u32,
    /// With --replicas: seconds of unmeasured load before each step.
    #[arg(long, default_value_t = 3.0, value_name = "SECONDS")]
    pub warmup: f64,
    /// Seconds per level (or per replica count).
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    pub step: f64,
    /// With --replicas: seconds a new replica may take to answer /ready.
    #[arg(long, default_value_t = 120, value_name = "SECONDS")]
    pub ready_timeout: u64,
    /// With --replicas: seconds between SIGTERM and SIGKILL when scaling down.
    #[arg(long, default_value_t = 10, value_name = "SECONDS")]
    pub stop_timeout: u32,
    /// With --replicas: the capacity question; the plan is printed after the sweep.
    #[command(flatten)]
    pub plan: QuestionArgs,
    /// With --replicas: write the chart here (.svg or .html).
    #[arg(long, value_name = "FILE")]
    pub chart: Option<PathBuf>,
    /// Write the points here (JSON) for `ragctl plan fit`.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum PlanCommand {
    /// Fit the Universal Scalability Law to measurements and answer
    /// "how many replicas and connections for N users".
    ///
    /// POINTS are files of measurements, concatenated: JSON written by
    /// `ragctl plan sweep`, loadgen JSON reports (`loadgen run ... --report
    /// run.json`; every stage that holds its load steady is one point, its
    /// concurrency the mean requests in flight by Little's law), or CSV lines
    /// `concurrency,throughput[,p95_ms]`. At least 6 points. Without --users
    /// only the fit, peak and chart are printed.
    ///
    /// A file of `plan sweep --replicas` is fitted over replicas instead (at
    /// least 3 counts): the answer is the replica count whose fitted
    /// throughput covers the users' demand plus headroom; --fit-on checks
    /// the model on counts it was not fitted on; --chart draws it.
    Fit(FitArgs),
    /// Measure the points: closed-loop query clients at each concurrency
    /// level, or (--replicas) at each replica count.
    ///
    /// Sends POST /v1/collections/COLLECTION/query back to back from N
    /// clients for --step seconds per level, and records throughput and P95.
    /// The target must be loopback or a host you own.
    #[command(
        after_help = "Examples:\n  ragctl plan sweep --collection docs --out points.json\n  ragctl -p ragd plan sweep --replicas 1,2,3,4 --collection docs --unique \\\n      --users 1000 --think-time 5 --out replicas.json --chart plan.svg"
    )]
    Sweep(SweepArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
    Markdown,
}
