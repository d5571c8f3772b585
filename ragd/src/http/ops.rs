//! Operations routes: `/health`, `/ready`, `/metrics`, `/status`,
//! `/openapi.json`. Never shed by admission control, so an overloaded
//! server still tells operators what is going on.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use ragd_api::{BackendHealth, Health, Ready, Status};
use utoipa::OpenApi;

use crate::app::App;

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .route("/status", get(status))
        .route("/openapi.json", get(openapi))
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/health", tag = "operations", responses((status = 200, body = Health)))]
pub async fn health() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    })
}

async fn probe<F, E>(name: &str, kind: &str, required: bool, fut: F) -> BackendHealth
where
    F: std::future::Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    let t = Instant::now();
    let result = tokio::time::timeout(std::time::Duration::from_secs(2), fut).await;
    let error = match result {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(e.to_string()),
        Err(_) => Some("no answer within 2 s".to_string()),
    };
    BackendHealth {
        name: name.into(),
        kind: kind.into(),
        ok: error.is_none(),
        error,
        latency_ms: t.elapsed().as_secs_f64() * 1000.0,
        required,
    }
}

async fn backends(app: &App) -> Vec<BackendHealth> {
    let mut out = vec![
        probe("metadata", app.meta.kind(), true, app.meta.health()).await,
        probe("vectors", app.vectors.kind(), true, app.vectors.health()).await,
    ];
    for (name, e) in &app.embedders {
        out.push(probe(&format!("embedder:{name}"), e.kind(), true, e.health()).await);
    }
    out.push(
        probe(
            "generator",
            app.generator.kind(),
            true,
            app.generator.health(),
        )
        .await,
    );
    // Redis only speeds things up and shares counters: without it ragd
    // serves (degraded), so it never makes ragd unready.
    if let Some(redis) = &app.redis {
        out.push(probe("redis", "redis", false, redis.health()).await);
    }
    out
}

/// Readiness: 200 when every required backend answers, 503 with the reasons
/// otherwise.
#[utoipa::path(get, path = "/ready", tag = "operations",
    responses((status = 200, body = Ready), (status = 503, body = Ready)))]
pub async fn ready(State(app): State<Arc<App>>) -> Response {
    let backends = backends(&app).await;
    let ready = backends.iter().all(|b| b.ok || !b.required)
        && !app.shutting_down.load(std::sync::atomic::Ordering::Relaxed);
    let code = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(Ready { ready, backends })).into_response()
}

/// Prometheus metrics (OpenMetrics text).
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "OpenMetrics text", content_type = "application/openmetrics-text")))]
pub async fn metrics(State(app): State<Arc<App>>) -> Response {
    for pool in app.pools() {
        app.metrics.set_pool(&pool);
    }
    for q in app.queues() {
        app.metrics
            .queue_depth
            .get_or_create(&crate::metrics::NameLabel { name: q.name })
            .set(q.depth as i64);
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        app.metrics.encode(),
    )
        .into_response()
}

/// Everything at once: version, uptime, config summary, pools, caches, queues.
#[utoipa::path(get, path = "/status", tag = "operations", responses((status = 200, body = Status)))]
pub async fn status(State(app): State<Arc<App>>) -> Json<Status> {
    let backends = backends(&app).await;
    // Without its stores ragd can answer nothing; without an embedder, the
    // generator or Redis, some requests still succeed.
    let stores_down = backends
        .iter()
        .any(|b| !b.ok && (b.name == "metadata" || b.name == "vectors"));
    let state = if stores_down {
        "down"
    } else if backends.iter().all(|b| b.ok) {
        "ok"
    } else {
        "degraded"
    };
    let mut status = app.status(state);
    status.backends = backends;
    Json(status)
}

/// This API's OpenAPI 3 description.
pub async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(super::ApiDoc::openapi())
}
