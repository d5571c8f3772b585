//! The `ragd` binary: parses options, builds the runtime, calls the library.

use std::path::PathBuf;
use std::process::ExitCode;

use std::io::IsTerminal;

use clap::{ColorChoice, CommandFactory, Parser, Subcommand};
use ragd::{App, Config, demo};

/// mimalloc rather than glibc's malloc: an uncached query allocates and
/// frees many small buffers across threads (HTTP, the vector search, the
/// join, the answer), and glibc's allocator was about 13 % of ragd's own CPU
/// per query (perf, docs/BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// ragd: a retrieval-augmented generation service.
///
/// Ingest documents, ask questions, get answers that cite the passages they
/// come from. Runs with no servers at all (SQLite, in-process Qdrant, bundled
/// MiniLM embedder); PostgreSQL, Redis and a Qdrant server are configuration.
#[derive(Parser)]
#[command(version, about, long_about)]
struct Cli {
    /// Configuration file (TOML). Every key has a default, so none is needed.
    /// Environment variables override it: RAGD_SERVER__LISTEN=127.0.0.1:9000
    /// sets [server] listen.
    #[arg(short, long, env = "RAGD_CONFIG", global = true)]
    config: Option<PathBuf>,

    /// Listen address (overrides server.listen).
    #[arg(long, global = true)]
    listen: Option<std::net::SocketAddr>,

    /// Data directory (overrides storage.data_dir).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,

    /// Colour in the log output: auto (when stderr is a terminal and
    /// NO_COLOR is unset or empty), always or never.
    #[arg(long, global = true, value_name = "WHEN", default_value = "auto")]
    color: ColorChoice,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service until SIGINT/SIGTERM, then drain and stop.
    Serve,
    /// Load and validate the configuration, print the effective settings, exit.
    CheckConfig {
        /// Print JSON instead of TOML.
        #[arg(long)]
        json: bool,
    },
    /// Newcomer's demo: serve on embedded defaults with the Markdown files of
    /// DOCS ingested into the `docs` collection, and print a curl line to try.
    Demo {
        /// Folder of .md/.txt files to ingest.
        #[arg(long, default_value = "docs")]
        docs: PathBuf,
    },
    /// Measure the bundled embedder alone: one question per call on THREADS
    /// threads (the ceiling for uncached queries). Prints JSON.
    BenchEmbed {
        /// Threads embedding at once (default: one per core).
        #[arg(long)]
        threads: Option<usize>,
        /// Seconds to run.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Submit through ragd's CPU pool from this many async tasks instead
        /// of calling the model from dedicated threads.
        #[arg(long, conflicts_with = "batch")]
        via_pool: Option<usize>,
        /// Questions per model call (measures what micro-batching could gain).
        #[arg(long, default_value_t = 1)]
        batch: usize,
        /// Embed the lines of this file (one text per line, in rotation)
        /// instead of short made-up questions. With an ingest's chunks and
        /// `--batch 32` (ragd's texts per model call) this gives the chunk
        /// rate the embedder alone allows an ingest.
        #[arg(long, value_name = "FILE", conflicts_with = "via_pool")]
        texts: Option<std::path::PathBuf>,
    },
    /// Check a running ragd: GET URL/health (or /ready) over plain HTTP with
    /// a short timeout, print one line, exit 0 when it answers 2xx and 1
    /// otherwise. For container health checks (Docker HEALTHCHECK).
    Probe {
        /// Ask /ready (can serve requests: backends reachable) instead of
        /// /health (the process answers).
        #[arg(long)]
        ready: bool,
        /// Seconds allowed for connecting and for the answer.
        #[arg(long, default_value_t = 3, value_name = "SECS")]
        timeout: u64,
        /// Base URL of the ragd to check (http only).
        #[arg(default_value = ragd::probe::DEFAULT_URL)]
        url: String,
    },
    /// Manage API keys in the configured metadata store (works offline, with
    /// the same --config and --data-dir as serve; replicas sharing the store
    /// see the change within auth.cache_secs).
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
    /// Print a shell completion script, e.g. `ragd completions bash >
    /// ~/.local/share/bash-completion/completions/ragd`.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) on stdout, e.g. `ragd man | man -l -`;
    /// with --out-dir, write one page per command there (ragd.1,
    /// ragd-serve.1...).
    Man {
        /// Directory to write every page into (created if missing).
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum KeysAction {
    /// Create a key; its secret is printed once, as the last line of stdout.
    Create {
        /// Unique name (1-64 letters, digits, '.', '_', '-').
        #[arg(long)]
        name: String,
        /// query (ask and read), ingest (also write and delete documents)
        /// or admin (also collections, keys, /metrics, full /status).
        #[arg(long)]
        scope: ragd_api::KeyScope,
        /// Limit the key to this collection (repeat for several).
        #[arg(long = "collection", value_name = "C")]
        collections: Vec<String>,
        /// Lifetime, e.g. 90s, 15m, 12h, 30d, 2w (default: never expires).
        #[arg(long, value_name = "LIFETIME", value_parser = ragd::service::keys::parse_lifetime)]
        expires: Option<u64>,
        /// Print JSON (the secret is still on the last line).
        #[arg(long)]
        json: bool,
    },
    /// List keys (never their secrets).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key by name.
    Revoke {
        name: String,
        #[arg(long)]
        json: bool,
    },
}

/// `completions` and `man`: they need neither configuration nor logs.
/// Both are rendered in memory first, so a closed pipe (`ragd man | head`)
/// ends quietly instead of failing half-way.
fn conventions(command: &Command) -> Option<ExitCode> {
    let mut page = Vec::new();
    let out = match command {
        Command::Completions { shell } => {
            clap_complete::generate(*shell, &mut Cli::command(), "ragd", &mut page);
            Ok(())
        }
        Command::Man { out_dir: None } => clap_mangen::Man::new(Cli::command()).render(&mut page),
        Command::Man { out_dir: Some(dir) } => std::fs::create_dir_all(dir)
            .and_then(|()| clap_mangen::generate_to(Cli::command(), dir))
            .map(|()| eprintln!("wrote the man pages to {}", dir.display()))
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", dir.display()))),
        _ => return None,
    };
    let out = out.and_then(|()| std::io::Write::write_all(&mut std::io::stdout(), &page));
    Some(match out {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    })
}

/// Whether the log output gets ANSI colours: `auto` means stderr is a
/// terminal and NO_COLOR (https://no-color.org) is unset or empty.
fn log_colors(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stderr().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

/// Why the binary stops with an error. Each message already holds its
/// cause's, so printing it once says everything.
#[derive(Debug, thiserror::Error)]
enum RunError {
    #[error("configuration: {0}")]
    Config(#[from] ragd::config::ConfigError),
    #[error("cannot start ({dir}): {source}")]
    Start {
        dir: String,
        #[source]
        source: Box<ragd::app::StartError>,
    },
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("demo: {0}")]
    Demo(#[from] demo::DemoError),
    #[error("server: {0}")]
    Serve(#[source] std::io::Error),
    #[error("keys: {0}")]
    Keys(#[from] ragd::error::ApiError),
}

fn load_config(cli: &Cli) -> Result<Config, RunError> {
    let mut cfg = Config::load(cli.config.as_deref())?;
    if let Some(l) = cli.listen {
        cfg.server.listen = l;
    }
    if let Some(d) = &cli.data_dir {
        cfg.storage.data_dir = d.clone();
    }
    // Again: --listen may have moved it off loopback.
    cfg.validate_access()?;
    Ok(cfg)
}

/// `probe`: one request, one line, exit 0 (healthy) or 1.
fn probe(ready: bool, timeout: u64, url: &str) -> ExitCode {
    let timeout = std::time::Duration::from_secs(timeout.max(1));
    match ragd::probe::probe(url, ready, timeout) {
        Ok(h) => {
            println!("healthy: {h}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("unhealthy: {e}");
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    // ragd runs CPU work in parallel across requests (its CPU pool); the
    // embedder's own intra-call threads would only contend with that
    // (measured: 2 threads embed 300/s with them, 340/s without; see
    // docs/BENCHMARKS.md). Set before any thread exists; an explicit
    // RAYON_NUM_THREADS from the operator wins.
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        // SAFETY: no other thread has been started yet.
        unsafe { std::env::set_var("RAYON_NUM_THREADS", "1") };
        // The few element-wise kernels that still use rayon's global pool
        // must not all queue behind one thread.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(ragd::cpus::budget().async_threads())
            .build_global();
    }
    ragd::http::tls::install_crypto_provider();
    let cli = Cli::parse();
    if let Some(code) = conventions(&cli.command) {
        return code;
    }
    if let Command::Probe {
        ready,
        timeout,
        url,
    } = &cli.command
    {
        return probe(*ready, *timeout, url);
    }
    let cfg = match load_config(&cli) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    // Flushes the trace exporter when main returns.
    let _telemetry = match ragd::telemetry::init(&cfg.log, &cfg.trace, log_colors(cli.color)) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if let Command::CheckConfig { json } = &cli.command {
        if *json {
            println!("{}", serde_json::to_string_pretty(&cfg).unwrap_or_default());
        } else {
            print!("{}", cfg.to_toml());
        }
        eprintln!("configuration is valid");
        return ExitCode::SUCCESS;
    }
    if let Command::BenchEmbed {
        threads,
        seconds,
        via_pool,
        batch,
        texts,
    } = &cli.command
    {
        let threads = threads.unwrap_or_else(|| cfg.cpu_threads());
        let d = std::time::Duration::from_secs(*seconds);
        let texts = match texts {
            None => None,
            Some(path) => match std::fs::read_to_string(path) {
                Ok(s) => {
                    let lines: Vec<String> = s
                        .lines()
                        .filter(|l| !l.trim().is_empty())
                        .map(str::to_string)
                        .collect();
                    if lines.is_empty() {
                        eprintln!(
                            "error: {} holds no text (one text per line)",
                            path.display()
                        );
                        return ExitCode::FAILURE;
                    }
                    Some(std::sync::Arc::new(lines))
                }
                Err(e) => {
                    eprintln!("error: cannot read {}: {e}", path.display());
                    return ExitCode::FAILURE;
                }
            },
        };
        let report = match via_pool {
            Some(tasks) => ragd::bench::embed_throughput_pool(*tasks, threads, d),
            None => ragd::bench::embed_throughput(threads, *batch, d, texts),
        };
        return match report {
            Ok(r) => {
                println!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        };
    }
    // One async worker per CPU of the budget: a quarter-core container gets
    // one, not one per host core (see ragd::cpus).
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(ragd::cpus::budget().async_threads())
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, cfg)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `ragd keys ...` on the configured metadata store alone.
async fn keys(action: KeysAction, cfg: Config) -> Result<(), RunError> {
    use ragd::service::keys;
    let (store, _pg) = ragd::app::open_meta(&cfg)
        .await
        .map_err(|source| RunError::Start {
            dir: cfg.storage.data_dir.display().to_string(),
            source: Box::new(source),
        })?;
    let store = store.as_ref();
    let line = |k: &ragd_api::KeyInfo| {
        let limit = match k.collections.is_empty() {
            true => "all collections".to_string(),
            false => k.collections.join(","),
        };
        let state = match (&k.revoked_at, &k.expires_at) {
            (Some(at), _) => format!("revoked {at}"),
            (None, Some(at)) => format!("expires {at}"),
            (None, None) => "no expiry".into(),
        };
        format!(
            "{}\t{}\trgk_{}_…\t{limit}\tcreated {}\t{state}",
            k.name, k.scope, k.id, k.created_at
        )
    };
    match action {
        KeysAction::Create {
            name,
            scope,
            collections,
            expires,
            json: as_json,
        } => {
            let req = ragd_api::CreateKey {
                name,
                scope,
                collections,
                expires_in_secs: expires,
            };
            let made = keys::create(store, req).await?;
            if as_json {
                json(&made.key);
            } else {
                println!("{}", line(&made.key));
                eprintln!("the secret below is shown this once; ragd keeps only its hash");
            }
            println!("{}", made.secret);
        }
        KeysAction::List { json: as_json } => {
            let all = keys::list(store).await?;
            if as_json {
                json(&ragd_api::KeyList { keys: all });
            } else {
                for k in &all {
                    println!("{}", line(k));
                }
            }
        }
        KeysAction::Revoke {
            name,
            json: as_json,
        } => {
            let k = keys::revoke(store, &name).await?;
            if as_json {
                json(&k);
            } else {
                println!("{}", line(&k));
                eprintln!(
                    "revoked; replicas that looked it up stop taking it within auth.cache_secs ({} s)",
                    cfg.auth.cache_secs
                );
            }
        }
    }
    store.close().await;
    Ok(())
}

/// `--json` output: one API type, pretty-printed.
fn json(v: &impl serde::Serialize) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

async fn run(command: Command, cfg: Config) -> Result<(), RunError> {
    if let Command::Keys { action } = command {
        return keys(action, cfg).await;
    }
    let listen = cfg.server.listen;
    let data_dir = cfg.storage.data_dir.clone();
    let app = App::open(cfg).await.map_err(|source| RunError::Start {
        dir: data_dir.display().to_string(),
        source: Box::new(source),
    })?;
    let listen_error = |source| RunError::Listen {
        addr: listen,
        source,
    };
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(listen_error)?;
    let addr = listener.local_addr().map_err(listen_error)?;
    if let Command::Demo { docs } = &command {
        eprintln!(
            "demo: ingesting {} into collection '{}'...",
            docs.display(),
            demo::COLLECTION
        );
        let (n, chunks) = demo::load(&app, docs).await?;
        eprintln!("demo: {n} documents, {chunks} chunks ready. Ask a question:\n");
        println!("{}\n", demo::curl_line(&addr));
    }
    let admin = match app.config.server.admin_listen {
        None => None,
        Some(at) => {
            let l = tokio::net::TcpListener::bind(at)
                .await
                .map_err(|source| RunError::Listen { addr: at, source })?;
            tracing::info!(addr = %at, "operations routes without keys (server.admin_listen)");
            Some(l)
        }
    };
    let scheme = match app.config.server.tls_cert {
        Some(_) => "https",
        None => "http",
    };
    tracing::info!(%addr, scheme, auth = app.auth.enabled(), data_dir = %data_dir.display(), "ragd listening");
    let listeners = ragd::Listeners {
        api: listener,
        admin,
    };
    ragd::serve_with(app, listeners, ragd::shutdown_signal())
        .await
        .map_err(RunError::Serve)
}
