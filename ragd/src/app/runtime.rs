//! The HTTP runtime around requests: admission control (a bounded number of
//! API requests in flight, the rest shed at once), per-client rate limits,
//! request counters and the shutdown flag. The middleware in
//! [`crate::http::middleware`] is its only user on the request path.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

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
    /// One permit per write in flight (inside `admission`).
    writes: Arc<Semaphore>,
    max_writes: u32,
    write_wait: Duration,
    /// Writes waiting for a permit.
    writes_waiting: AtomicU64,
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
            writes: Arc::new(Semaphore::new(config.server.max_ingests_in_flight as usize)),
            max_writes: config.server.max_ingests_in_flight,
            write_wait: Duration::from_secs(config.server.ingest_wait_secs),
            writes_waiting: AtomicU64::new(0),
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

    /// Admit a write (ingest, delete) once one of the
    /// `server.max_ingests_in_flight` slots is free, waiting at most
    /// `server.ingest_wait_secs`; then 503 `overloaded`.
    pub async fn admit_write(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        if let Ok(p) = self.writes.clone().try_acquire_owned() {
            return Ok(p);
        }
        self.writes_waiting.fetch_add(1, Ordering::Relaxed);
        let got = tokio::time::timeout(self.write_wait, self.writes.clone().acquire_owned()).await;
        self.writes_waiting.fetch_sub(1, Ordering::Relaxed);
        match got {
            Ok(Ok(p)) => Ok(p),
            _ => {
                self.metrics.shed.inc();
                Err(ApiError::WritesBusy {
                    max: self.max_writes,
                    waited_secs: self.write_wait.as_secs(),
                })
            }
        }
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

    /// The admission slots and the write slots, as pools.
    pub fn pool_status(&self) -> [PoolStatus; 2] {
        let in_flight = self.in_flight();
        let writes = self
            .max_writes
            .saturating_sub(self.writes.available_permits() as u32);
        [
            PoolStatus {
                name: "http-in-flight".into(),
                kind: "admission".into(),
                size: in_flight,
                idle: 0,
                in_use: in_flight,
                max: self.max_in_flight,
                waiting: 0,
                acquire_wait: None,
            },
            PoolStatus {
                name: "http-writes-in-flight".into(),
                kind: "admission".into(),
                size: writes,
                idle: 0,
                in_use: writes,
                max: self.max_writes,
                waiting: self.writes_waiting.load(Ordering::Relaxed) as u32,
                acquire_wait: None,
            },
        ]
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
