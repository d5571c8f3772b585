//! Per-request middleware: admission control (shed with 503 + Retry-After
//! instead of queueing without bound) and request metrics per route.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::app::App;
use crate::error::ApiError;
use crate::metrics::{RouteLabels, StatusLabels};

/// Admit an API request if a slot is free; otherwise refuse it at once.
pub async fn admit(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    if app.shutting_down.load(Ordering::Relaxed) {
        return ApiError::ShuttingDown.into_response();
    }
    let Ok(_permit) = app.limiter.clone().try_acquire_owned() else {
        app.metrics.shed.inc();
        return ApiError::Overloaded(app.config.server.max_in_flight).into_response();
    };
    app.metrics.in_flight.inc();
    let resp = next.run(req).await;
    app.metrics.in_flight.dec();
    resp
}

/// Count and time every request by its route template.
pub async fn record(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let method = req.method().as_str().to_string();
    let resp = next.run(req).await;
    let status = resp.status().as_u16();
    app.requests_total.fetch_add(1, Ordering::Relaxed);
    if status >= 500 {
        app.requests_5xx.fetch_add(1, Ordering::Relaxed);
    }
    app.metrics
        .request_duration
        .get_or_create(&RouteLabels {
            method: method.clone(),
            route: route.clone(),
        })
        .observe(started.elapsed().as_secs_f64());
    app.metrics
        .requests
        .get_or_create(&StatusLabels {
            method,
            route,
            status,
        })
        .inc();
    resp
}
