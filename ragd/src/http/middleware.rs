//! Per-request middleware: per-client rate limits (429 + Retry-After),
//! admission control (shed with 503 + Retry-After instead of queueing
//! without bound) and request metrics per route.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue};
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
    let limit = limiter
        .limit_header(budget)
        .unwrap_or_else(|| number(decision.limit.into()));
    let h = resp.headers_mut();
    h.reserve(3);
    h.insert(RATELIMIT_LIMIT, limit);
    h.insert(RATELIMIT_REMAINING, number(decision.remaining.into()));
    h.insert(RATELIMIT_RESET, number(decision.reset_secs));
    resp
}

/// The header value of a number: one allocation of exactly its digits.
/// (`HeaderValue::from(u64)` makes two: a 20-byte buffer, then, to freeze
/// it shorter than its capacity, a shared header; one buffer split three
/// ways also shares it. callgrind: 1,050 instructions for the three
/// values that way, docs/RELIABILITY.md.)
fn number(v: u64) -> HeaderValue {
    // Decimal digits are valid header value bytes.
    HeaderValue::from_bytes(itoa::Buffer::new().format(v).as_bytes())
        .unwrap_or_else(|_| HeaderValue::from_static("0"))
}

// Built once: a name given as a string is parsed and checked on every
// insert.
const RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
const RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
const RATELIMIT_RESET: HeaderName = HeaderName::from_static("ratelimit-reset");

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_become_their_own_header_values() {
        assert_eq!(number(7), "7");
        assert_eq!(number(0), "0");
        assert_eq!(number(u64::MAX), u64::MAX.to_string().as_str());
    }
}
