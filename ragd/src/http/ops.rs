//! Operations routes: `/health`, `/ready`, `/metrics`, `/status`,
//! `/openapi.json`. Never shed by admission control, so an overloaded
//! server still tells operators what is going on.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use ragd_api::{Health, Ready, Status};
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

/// Readiness: 200 when every required backend answers, 503 with the reasons
/// otherwise.
#[utoipa::path(get, path = "/ready", tag = "operations",
    responses((status = 200, body = Ready), (status = 503, body = Ready)))]
pub async fn ready(State(app): State<Arc<App>>) -> Response {
    let ready = app.ready().await;
    let code = if ready.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(ready)).into_response()
}

/// Prometheus metrics (OpenMetrics text).
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "OpenMetrics text", content_type = "application/openmetrics-text")))]
pub async fn metrics(State(app): State<Arc<App>>) -> Response {
    app.refresh_gauges();
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        app.metrics.encode(),
    )
        .into_response()
}

/// Everything at once: version, uptime, config summary, pools, caches,
/// queues, backends.
#[utoipa::path(get, path = "/status", tag = "operations", responses((status = 200, body = Status)))]
pub async fn status(State(app): State<Arc<App>>) -> Json<Status> {
    Json(app.status().await)
}

/// This API's OpenAPI 3 description.
pub async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(super::ApiDoc::openapi())
}
