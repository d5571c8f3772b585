//! Per-client rate limits (`[rate_limit]`): GCRA, with a burst, and two
//! budgets per client: one for questions and reads, one for writes.
//!
//! GCRA (the generic cell rate algorithm) keeps one instant per client, the
//! *theoretical arrival time* (TAT). A budget of `per_minute` with a burst of
//! `burst` lets `burst` requests through at once and then one every
//! `60 s / per_minute`; unlike fixed one-minute windows, it never lets twice
//! the budget through across a window boundary.
//!
//! Where requests are counted:
//! - With `[redis]`, in Redis, atomically, by one Lua script
//!   ([`redis::GCRA_SCRIPT`]) run on Redis's own clock: every replica draws
//!   from one budget per client.
//! - Without it, or while Redis is down, in this process (the `governor`
//!   crate). With Redis down each replica then allows the full budget:
//!   degraded, never stricter. Redis trouble never refuses a request.
//!
//! Which budget a request draws from is [`Budget::of`]; who the client is
//! is the caller's business ([`crate::http::middleware`]: the API key's name
//! when the request carries one, else the peer IP address).

mod redis;
#[cfg(test)]
mod tests;

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::http::{HeaderValue, Method};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter as Gcra};
use prometheus_client::metrics::counter::Counter;

use crate::config::{Rate, RateLimitConfig};
use crate::metrics::Metrics;
use crate::redis::Shared;

/// The two budgets every client has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Budget {
    /// Questions and reads: `GET`s, `POST .../query`, `.../search` and
    /// `/v1/chat/completions`.
    Query,
    /// Writes: every other `POST`, `PUT`, `PATCH` and `DELETE`.
    Ingest,
}

impl Budget {
    /// The budget a request to an API route draws from.
    pub fn of(method: &Method, path: &str) -> Budget {
        let asks = method == Method::POST
            && (path.ends_with("/query")
                || path.ends_with("/search")
                || path == "/v1/chat/completions");
        if asks || method == Method::GET || method == Method::HEAD {
            Budget::Query
        } else {
            Budget::Ingest
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Budget::Query => "query",
            Budget::Ingest => "ingest",
        }
    }
}

/// Who a request counts against. Cheap to build per request: a key's name
/// is shared with its cached [`crate::auth::Caller`], an address is a copy.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Client {
    /// The API key of that name.
    Key(Arc<str>),
    /// No key: the peer's IP address.
    Ip(std::net::IpAddr),
    /// Neither (a request with no peer address, e.g. in-process tests).
    Anonymous,
}

impl std::fmt::Display for Client {
    /// The name Redis keys and logs use: `key:NAME`, `ip:ADDR`, `anonymous`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Client::Key(name) => write!(f, "key:{name}"),
            Client::Ip(ip) => write!(f, "ip:{ip}"),
            Client::Anonymous => f.write_str("anonymous"),
        }
    }
}

/// The outcome of one check, with what the `RateLimit-*` headers say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request may go on.
    pub allowed: bool,
    /// The burst: requests a client with a full budget may send at once.
    pub limit: u32,
    /// Requests that may still be sent at once after this one.
    pub remaining: u32,
    /// Seconds until the budget is full again (rounded up).
    pub reset_secs: u64,
    /// Refused: seconds until one request will be allowed (rounded up, ≥ 1).
    pub retry_after_secs: u64,
    /// Counted in this process (no Redis, or Redis down).
    pub local: bool,
}

/// In-process GCRA state per client. The map hashes with foldhash, seeded
/// per process: clients (peer addresses) are chosen by whoever connects,
/// so the hash must not be predictable, and SipHash cost more than the
/// GCRA check itself.
type Local = Gcra<
    Client,
    DashMapStateStore<Client, foldhash::fast::RandomState>,
    DefaultClock,
    StateInformationMiddleware,
>;

/// One budget (per minute + burst), counted in Redis or in this process.
struct Limit {
    budget: Budget,
    rate: Rate,
    /// Time between two requests at the sustained rate.
    interval: Duration,
    local: Local,
    clock: DefaultClock,
    /// `RateLimit-Limit` (the burst), built once: every limited answer
    /// carries it.
    limit_header: HeaderValue,
    /// Checks since the local state was last trimmed of idle clients.
    checks: AtomicU64,
}

/// Trim idle clients from the in-process state every this many checks.
const RETAIN_EVERY: u64 = 4096;

impl Limit {
    fn new(budget: Budget, rate: Rate) -> Option<Limit> {
        let per_minute = NonZeroU32::new(rate.per_minute)?;
        let burst = NonZeroU32::new(rate.burst.max(1)).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::per_minute(per_minute).allow_burst(burst);
        let clock = DefaultClock::default();
        Some(Limit {
            budget,
            rate: Rate {
                per_minute: per_minute.get(),
                burst: burst.get(),
            },
            interval: quota.replenish_interval(),
            local: Gcra::dashmap_with_clock_and_hasher(quota, clock.clone(), Default::default())
                .with_middleware::<StateInformationMiddleware>(),
            clock,
            limit_header: HeaderValue::from(burst.get()),
            checks: AtomicU64::new(0),
        })
    }

    fn check_locally(&self, client: &Client) -> Decision {
        if self.checks.fetch_add(1, Ordering::Relaxed) % RETAIN_EVERY == RETAIN_EVERY - 1 {
            self.local.retain_recent();
        }
        let burst = self.rate.burst;
        match self.local.check_key(client) {
            Ok(state) => {
                let remaining = state.remaining_burst_capacity();
                Decision {
                    allowed: true,
                    limit: burst,
                    remaining,
                    reset_secs: ceil_secs(self.interval * (burst - remaining)),
                    retry_after_secs: 0,
                    local: true,
                }
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(self.clock.now());
                Decision {
                    allowed: false,
                    limit: burst,
                    remaining: 0,
                    reset_secs: ceil_secs(wait + self.interval * (burst - 1)),
                    retry_after_secs: ceil_secs(wait).max(1),
                    local: true,
                }
            }
        }
    }
}

fn ceil_secs(d: Duration) -> u64 {
    d.as_millis().div_ceil(1000) as u64
}

/// The rate limiter of one ragd process.
pub struct RateLimiter {
    query: Option<Limit>,
    ingest: Option<Limit>,
    redis: Option<Arc<Shared>>,
    /// Checks counted here because Redis was down.
    local_checks: Counter,
}

impl RateLimiter {
    pub fn new(
        cfg: &RateLimitConfig,
        redis: Option<Arc<Shared>>,
        metrics: &Metrics,
    ) -> RateLimiter {
        RateLimiter {
            query: Limit::new(Budget::Query, cfg.queries()),
            ingest: Limit::new(Budget::Ingest, cfg.ingests()),
            redis,
            local_checks: metrics.rate_limit_local.clone(),
        }
    }

    /// Whether any request is limited at all.
    pub fn enabled(&self) -> bool {
        self.query.is_some() || self.ingest.is_some()
    }

    /// The sustained rate of `budget` (0: unlimited).
    pub fn per_minute(&self, budget: Budget) -> u32 {
        self.limit(budget).map(|l| l.rate.per_minute).unwrap_or(0)
    }

    /// The `RateLimit-Limit` value of `budget` (its burst); `None` when
    /// that budget is unlimited.
    pub fn limit_header(&self, budget: Budget) -> Option<HeaderValue> {
        self.limit(budget).map(|l| l.limit_header.clone())
    }

    fn limit(&self, budget: Budget) -> Option<&Limit> {
        match budget {
            Budget::Query => self.query.as_ref(),
            Budget::Ingest => self.ingest.as_ref(),
        }
    }

    /// Count one request of `client` against `budget`; `None` when that
    /// budget is unlimited.
    pub async fn check(&self, budget: Budget, client: &Client) -> Option<Decision> {
        let limit = self.limit(budget)?;
        if let Some(shared) = &self.redis {
            match redis::check(shared, limit, client).await {
                Ok(d) => return Some(d),
                Err(_) => {
                    self.local_checks.inc();
                }
            }
        }
        Some(limit.check_locally(client))
    }
}
