//! ragd: a retrieval-augmented generation service.
//!
//! Layout (each module documents what it owns; docs/ARCHITECTURE.md has the
//! same map with the data flow of an ingest and a query):
//!
//! Serving
//! - [`http`]: routes, extractors, middleware, OpenAPI; handlers only
//!   extract, call [`service`] and render.
//! - [`service`]: what each operation does, HTTP-free: collections,
//!   documents (ingest), and the query pipeline.
//! - [`app`]: the running service: [`app::Backends`] (what requests use)
//!   and [`app::Runtime`] (admission, rate limits, counters, shutdown),
//!   opened once from the configuration; `/status` is built there.
//! - [`error`]: the API error and its one mapping to HTTP.
//! - [`config`]: the typed TOML configuration with `RAGD_*` overrides.
//! - [`auth`]: API keys: who is calling, with which scope.
//!
//! Backends
//! - [`meta`]: metadata stores (SQLite, PostgreSQL): the source of truth.
//! - [`vectors`]: vector stores (qdrant-edge in-process, an index following
//!   a log in PostgreSQL, a Qdrant server).
//! - [`key`]: the collection key both stores address collections by.
//! - [`pg`]: PostgreSQL plumbing (pool, sessions, retries, migrations)
//!   shared by the metadata store and the vector log.
//! - [`embed`]: embedders (bundled MiniLM, OpenAI-compatible endpoint, BM25).
//! - [`answer`]: answer generators (extractive, OpenAI-compatible chat).
//! - [`cache`]: the query-result cache (memory or Redis) and the
//!   question-embedding cache (Redis).
//! - [`redis`]: the Redis connection replicas share, optional at run time.
//! - [`upstream`]: the HTTP client for OpenAI-compatible endpoints.
//!
//! Machinery
//! - [`chunk`]: cutting documents into passages.
//! - [`cpu`]: the bounded pool for CPU-heavy work.
//! - [`cpus`]: the CPUs the pools are sized for (the cgroup quota, kept
//!   fractional, else the cores).
//! - [`ratelimit`]: per-client request rate limits.
//! - [`metrics`]: Prometheus metrics (with the standard `process_*` series).
//! - [`telemetry`]: logs (text or JSON) and optional OpenTelemetry traces.
//! - [`probe`]: `ragd probe`, the health check for container runtimes.
//! - [`demo`]: the newcomer's demo (ingest docs/, print a curl line).
//! - [`bench`]: the embedder measured alone, for benchmarks.
//! - [`testing`]: helpers for tests that need live PostgreSQL or Redis.
//!
//! [`serve`] is the whole server; `main` only parses options and calls it,
//! and tests call it too.

pub mod answer;
pub mod app;
pub mod auth;
pub mod bench;
pub mod cache;
pub mod chunk;
pub mod config;
pub mod cpu;
pub mod cpus;
pub mod demo;
pub mod embed;
pub mod error;
pub mod http;
pub mod key;
pub mod meta;
pub mod metrics;
pub mod pg;
pub mod probe;
pub mod ratelimit;
pub mod redis;
pub mod service;
pub mod telemetry;
pub mod testing;
pub mod upstream;
pub mod vectors;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

pub use app::App;
pub use config::Config;

/// Serve `app` on `listener` until `shutdown` completes, then stop taking
/// requests, let in-flight ones finish (up to `server.shutdown_grace_secs`),
/// and flush every backend.
pub async fn serve(
    app: Arc<App>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listeners = Listeners {
        api: listener,
        admin: None,
    };
    serve_with(app, listeners, shutdown).await
}

/// The sockets ragd serves on.
pub struct Listeners {
    /// `server.listen`: the API and operations routes (HTTPS when
    /// `server.tls_cert` is set).
    pub api: TcpListener,
    /// `server.admin_listen`: operations routes only, without keys.
    pub admin: Option<TcpListener>,
}

type ServerFuture = std::pin::Pin<Box<dyn Future<Output = std::io::Result<()>> + Send>>;

/// [`serve`] with every listener: the API one (over TLS when configured)
/// and the optional admin one.
pub async fn serve_with(
    app: Arc<App>,
    listeners: Listeners,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let grace = Duration::from_secs(app.config.server.shutdown_grace_secs);
    let tls = match (&app.config.server.tls_cert, &app.config.server.tls_key) {
        (Some(cert), Some(key)) => Some(
            http::tls::acceptor(cert, key)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?,
        ),
        _ => None,
    };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let flag = app.clone();
    tokio::spawn(async move {
        shutdown.await;
        tracing::info!("shutting down: draining in-flight requests");
        flag.runtime.shut_down();
        let _ = stop_tx.send(true);
    });
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    // The peer address identifies clients for rate limits.
    let router = http::router(app.clone());
    let make = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
    let api: ServerFuture = match tls {
        None => Box::pin(
            axum::serve(listeners.api, make)
                .with_graceful_shutdown(stopped(stop_rx.clone()))
                .into_future(),
        ),
        Some(acceptor) => {
            use axum::serve::ListenerExt;
            // `tap_io` gives the TLS listener the `ConnectInfo<SocketAddr>`
            // of a plain one.
            let tls = http::tls::TlsListener::new(listeners.api, acceptor)?.tap_io(|_| {});
            Box::pin(
                axum::serve(tls, make)
                    .with_graceful_shutdown(stopped(stop_rx.clone()))
                    .into_future(),
            )
        }
    };
    let admin: ServerFuture = match listeners.admin {
        None => Box::pin(async { Ok(()) }),
        Some(l) => {
            let make = http::admin_router(app.clone())
                .into_make_service_with_connect_info::<std::net::SocketAddr>();
            Box::pin(
                axum::serve(l, make)
                    .with_graceful_shutdown(stopped(stop_rx.clone()))
                    .into_future(),
            )
        }
    };
    let mut stop = stop_rx.clone();
    let result = tokio::select! {
        r = async { tokio::try_join!(api, admin).map(|_| ()) } => r,
        _ = async move {
            let _ = stop.wait_for(|s| *s).await;
            tokio::time::sleep(grace).await;
        } => {
            tracing::warn!("grace period over; abandoning remaining requests");
            Ok(())
        }
    };
    app.close().await;
    result
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
