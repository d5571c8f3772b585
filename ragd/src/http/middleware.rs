//! Per-request middleware: per-client rate limits (429 + Retry-After),
//! admission control (shed with 503 + Retry-After instead of queueing
//! without bound) and request metrics per route.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::app::App;
use crate::error::ApiError;
use crate::metrics::{RouteLabels, StatusLabels};

/// Admit an API request if a slot is free; otherwise refuse it at once.
pub async fn admit(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    match app.runtime.admit() {
        Ok(_admitted) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

/// Refuse an API request with 429 when its client is over
/// `rate_limit.requests_per_minute` (see [`crate::ratelimit`]). Responses
/// carry `x-ratelimit-limit` and `x-ratelimit-remaining`.
pub async fn rate_limit(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let limiter = &app.runtime.rate_limiter;
    if !limiter.enabled() {
        return next.run(req).await;
    }
    let peer = req
        .extensions()
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    let client = limiter.client_id(req.headers(), peer);
    match limiter.check(&client).await {
        Ok(allowed) => {
            let mut resp = next.run(req).await;
            let h = resp.headers_mut();
            h.insert("x-ratelimit-limit", HeaderValue::from(allowed.limit));
            h.insert(
                "x-ratelimit-remaining",
                HeaderValue::from(allowed.remaining),
            );
            resp
        }
        Err(limited) => {
            app.metrics.rate_limited.inc();
            let mut resp = ApiError::RateLimited {
                limit: limited.limit,
                retry_after_secs: limited.retry_after_secs,
            }
            .into_response();
            let h = resp.headers_mut();
            h.insert("x-ratelimit-limit", HeaderValue::from(limited.limit));
            h.insert("x-ratelimit-remaining", HeaderValue::from(0u32));
            resp
        }
    }
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
    app.runtime.count(status);
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
