//! The HTTP runtime around requests: admission control (a bounded number of
//! API requests in flight, the rest shed at once), per-client rate limits,
//! request counters and the shutdown flag. The middleware in
//! [`crate::http::middleware`] is its only user on the request path.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use ragd_api::{PoolStatus, RequestStats};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::Config;
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::ratelimit::RateLimiter;

pub struct Runtime {
    /// One permit per API request in flight.
    admission: Arc<Semaphore>,
    max_in_flight: u32,
    /// Per-client request rate limit.
    pub rate_limiter: RateLimiter,
    requests_total: AtomicU64,
    requests_5xx: AtomicU64,
    shutting_down: AtomicBool,
    metrics: Arc<Metrics>,
}

/// An admitted request: holds its admission slot until dropped.
pub struct Admitted {
    _permit: OwnedSemaphorePermit,
    metrics: Arc<Metrics>,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.metrics.in_flight.dec();
    }
}

impl Runtime {
    pub fn new(
        config: &Config,
        redis: Option<Arc<crate::redis::Shared>>,
        metrics: Arc<Metrics>,
    ) -> Runtime {
        let max_in_flight = config.server.max_in_flight;
        Runtime {
            admission: Arc::new(Semaphore::new(max_in_flight as usize)),
            max_in_flight,
            rate_limiter: RateLimiter::new(&config.rate_limit, redis, &metrics),
            requests_total: AtomicU64::new(0),
            requests_5xx: AtomicU64::new(0),
            shutting_down: AtomicBool::new(false),
            metrics,
        }
    }

    /// Admit an API request if a slot is free; otherwise refuse it at once
    /// (503, `overloaded`), or with `shutting_down` once shutdown began.
    pub fn admit(&self) -> Result<Admitted, ApiError> {
        if self.is_shutting_down() {
            return Err(ApiError::ShuttingDown);
        }
        let Ok(permit) = self.admission.clone().try_acquire_owned() else {
            self.metrics.shed.inc();
            return Err(ApiError::Overloaded(self.max_in_flight));
        };
        self.metrics.in_flight.inc();
        Ok(Admitted {
            _permit: permit,
            metrics: self.metrics.clone(),
        })
    }

    /// Count a finished request by its status.
    pub fn count(&self, status: u16) {
        self.requests_total.fetch_add(1, Ordering::Relaxed);
        if status >= 500 {
            self.requests_5xx.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Stop admitting requests (in-flight ones finish).
    pub fn shut_down(&self) {
        self.shutting_down.store(true, Ordering::Relaxed);
    }

    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Relaxed)
    }

    /// API requests being handled now.
    pub fn in_flight(&self) -> u32 {
        self.max_in_flight
            .saturating_sub(self.admission.available_permits() as u32)
    }

    /// The admission slots, as a pool.
    pub fn pool_status(&self) -> PoolStatus {
        let in_flight = self.in_flight();
        PoolStatus {
            name: "http-in-flight".into(),
            kind: "admission".into(),
            size: in_flight,
            idle: 0,
            in_use: in_flight,
            max: self.max_in_flight,
            waiting: 0,
            acquire_wait: None,
        }
    }

    /// Request counters since start.
    pub fn request_stats(&self) -> RequestStats {
        RequestStats {
            total: self.requests_total.load(Ordering::Relaxed),
            in_flight: self.in_flight() as u64,
            shed: self.metrics.shed.get(),
            errors_5xx: self.requests_5xx.load(Ordering::Relaxed),
        }
    }
}
