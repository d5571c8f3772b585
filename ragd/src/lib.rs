//! ragd: a retrieval-augmented generation service.
//!
//! Layout (each module documents what it owns):
//! - [`config`]: the typed TOML configuration with `RAGD_*` overrides.
//! - [`app`]: shared state; opens every backend once at start-up.
//! - [`http`]: routes, extractors, middleware, OpenAPI.
//! - [`service`]: what each operation does (ingest, query...), HTTP-free.
//! - [`chunk`]: cutting documents into passages.
//! - [`embed`]: embedders (bundled MiniLM, OpenAI-compatible endpoint).
//! - [`vectors`]: vector stores (qdrant-edge in-process).
//! - [`meta`]: metadata stores (SQLite).
//! - [`answer`]: answer generators (extractive, OpenAI-compatible chat).
//! - [`cache`]: the query-result cache (memory or Redis) and the
//!   question-embedding cache (Redis).
//! - [`redis`]: the Redis connection replicas share (cache, rate limits),
//!   optional at run time.
//! - [`ratelimit`]: per-client request rate limits.
//! - [`upstream`]: the HTTP client for OpenAI-compatible endpoints.
//! - [`cpu`]: the bounded pool for CPU-heavy work.
//! - [`metrics`]: Prometheus metrics.
//! - [`demo`]: the newcomer's demo (ingest docs/, print a curl line).
//! - [`bench`]: the embedder measured alone, for benchmarks.
//!
//! [`serve`] is the whole server; `main` only parses options and calls it,
//! and tests call it too.

pub mod answer;
pub mod app;
pub mod bench;
pub mod cache;
pub mod chunk;
pub mod config;
pub mod cpu;
pub mod demo;
pub mod embed;
pub mod error;
pub mod http;
pub mod meta;
pub mod metrics;
pub mod ratelimit;
pub mod redis;
pub mod service;
pub mod upstream;
pub mod vectors;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;
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
    let grace = Duration::from_secs(app.config.server.shutdown_grace_secs);
    let router = http::router(app.clone());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let flag = app.clone();
    let signal = async move {
        shutdown.await;
        tracing::info!("shutting down: draining in-flight requests");
        flag.shutting_down.store(true, Ordering::Relaxed);
        let _ = stop_tx.send(true);
    };
    // The peer address identifies clients for rate limits.
    let server = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(signal);
    let mut stop = stop_rx.clone();
    let result = tokio::select! {
        r = server => r,
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
