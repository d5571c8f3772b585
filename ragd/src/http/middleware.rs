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
use crate::ratelimit::{Budget, Client};

/// Admit an API request if a slot is free; otherwise refuse it at once.
/// Writes also take one of the write slots, waiting a bounded time for it.
pub async fn admit(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let _admitted = match app.runtime.admit() {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    if Budget::of(req.method(), req.uri().path()) == Budget::Ingest {
        let _write = match app.runtime.admit_write().await {
            Ok(w) => w,
            Err(e) => return e.into_response(),
        };
        return next.run(req).await;
    }
    next.run(req).await
}

/// Refuse an API request with 429 when its client has used up the budget
/// the request draws from (see [`crate::ratelimit`]). Limited responses,
/// allowed or not, carry `RateLimit-Limit`, `RateLimit-Remaining` and
/// `RateLimit-Reset`; refusals also `Retry-After`.
pub async fn rate_limit(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let limiter = &app.runtime.rate_limiter;
    if !limiter.enabled() {
        return next.run(req).await;
    }
    let budget = Budget::of(req.method(), req.uri().path());
    let client = client_of(&req);
    let Some(decision) = limiter.check(budget, &client).await else {
        return next.run(req).await;
    };
    let mut resp = if decision.allowed {
        next.run(req).await
    } else {
        app.metrics.rate_limited.inc();
        ApiError::RateLimited {
            budget: budget.name(),
            per_minute: limiter.per_minute(budget),
            retry_after_secs: decision.retry_after_secs,
        }
        .into_response()
    };
    let h = resp.headers_mut();
    h.insert("ratelimit-limit", HeaderValue::from(decision.limit));
    h.insert("ratelimit-remaining", HeaderValue::from(decision.remaining));
    h.insert("ratelimit-reset", HeaderValue::from(decision.reset_secs));
    resp
}

/// Who a request counts against: its API key (put there by
/// [`crate::http::auth`]), else the peer IP address, else `anonymous`.
fn client_of(req: &Request) -> Client {
    if let Some(caller) = req.extensions().get::<Arc<crate::auth::Caller>>() {
        return Client::Key(caller.name.clone());
    }
    match req
        .extensions()
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip())
    {
        Some(ip) => Client::Ip(ip),
        None => Client::Anonymous,
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
