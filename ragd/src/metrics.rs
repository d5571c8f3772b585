//! Prometheus metrics, served at `GET /metrics` (OpenMetrics text).
//!
//! Request metrics are recorded by the HTTP middleware per matched route;
//! pool and queue gauges are refreshed from live state at every scrape, so
//! they are never stale. Redis round trips, errors and skipped calls are
//! recorded by [`crate::redis::Shared`] through [`RedisMetrics`].
//!
//! Names follow Prometheus conventions (docs/OBSERVABILITY.md lists them):
//! counters end in `_total` (prometheus_client appends it), limits are their
//! own series (`ragd_pool_max_connections`) rather than a state beside real
//! states, and `ragd_build_info` says which build runs. The standard
//! `process_*` series (CPU, memory, file descriptors) come from
//! [`process`], in a registry without the `ragd_` prefix.

pub mod process;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

/// Latency buckets in seconds; 0.3 s is the scaling guides' P95 target.
pub const LATENCY_BUCKETS: [f64; 15] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 5.0, 10.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub method: String,
    pub route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabels {
    pub method: String,
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct NameLabel {
    pub name: String,
}

/// A Redis operation (`query_cache_get`, `rate_limit`, `ping`...).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OpLabel {
    pub op: String,
}

/// A failed Redis operation: `kind` is `timeout`, `connection` or `response`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OpErrorLabels {
    pub op: String,
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PoolLabels {
    pub pool: String,
    pub state: String,
}

/// A pool, for its limit (`ragd_pool_max_connections`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PoolLabel {
    pub pool: String,
}

/// Which build runs (`ragd_build_info`, always 1).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BuildLabels {
    /// The crate version (`CARGO_PKG_VERSION`).
    pub version: String,
    /// `release` or `debug`.
    pub profile: String,
    /// Optional cargo features compiled in (`otel`), comma-separated.
    pub features: String,
}

impl BuildLabels {
    fn this_build() -> BuildLabels {
        let features: &[&str] = if cfg!(feature = "otel") {
            &["otel"]
        } else {
            &[]
        };
        BuildLabels {
            version: env!("CARGO_PKG_VERSION").to_string(),
            profile: if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            }
            .to_string(),
            features: features.join(","),
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PoolWaitLabels {
    pub pool: String,
    /// `0.5`, `0.99`, `1` (the maximum).
    pub quantile: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PoolAcquireLabels {
    pub pool: String,
    /// `all` or `failed`.
    pub result: String,
}

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// Redis round trips are far below a request's latency: finer buckets.
pub const REDIS_BUCKETS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

fn redis_histogram() -> Histogram {
    Histogram::new(REDIS_BUCKETS)
}

/// Handles on the Redis metrics, cloned into [`crate::redis::Shared`]
/// (each is a shared handle on the registered metric).
#[derive(Clone)]
pub struct RedisMetrics {
    /// Round-trip time of every call that reached Redis, by operation.
    pub duration: Family<OpLabel, Histogram, fn() -> Histogram>,
    /// Calls that failed (timed out, connection lost, error reply).
    pub errors: Family<OpErrorLabels, Counter>,
    /// Calls not attempted because Redis was known to be down.
    pub skipped: Family<OpLabel, Counter>,
    /// 1 while the connection is up, 0 while ragd runs without Redis.
    pub up: Gauge,
    /// Commands sent and not yet answered.
    pub in_flight: Gauge,
}

impl RedisMetrics {
    fn new() -> RedisMetrics {
        RedisMetrics {
            duration: Family::new_with_constructor(redis_histogram as fn() -> Histogram),
            errors: Family::default(),
            skipped: Family::default(),
            up: Gauge::default(),
            in_flight: Gauge::default(),
        }
    }
}

pub struct Metrics {
    registry: Registry,
    /// `process_*` series: standard names, no `ragd_` prefix.
    process_registry: Registry,
    process: process::ProcessMetrics,
    pub requests: Family<StatusLabels, Counter>,
    pub request_duration: Family<RouteLabels, Histogram, fn() -> Histogram>,
    pub in_flight: Gauge,
    pub shed: Counter,
    pub cache_hits: Counter,
    pub cache_misses: Counter,
    pub embed_duration: Family<NameLabel, Histogram, fn() -> Histogram>,
    pub search_duration: Histogram,
    pub generate_duration: Histogram,
    pub ingested_chunks: Counter,
    /// Pool members by state (size, idle, in_use, waiting).
    pub pools: Family<PoolLabels, Gauge>,
    /// Each pool's limit.
    pub pool_max: Family<PoolLabel, Gauge>,
    /// Time to acquire a pool member (measured by ragd since start).
    pub pool_acquire_wait: Family<PoolWaitLabels, Gauge<f64, std::sync::atomic::AtomicU64>>,
    /// Acquisitions since start, all and failed: a counter advanced to the
    /// pool's own cumulative figure at each scrape.
    pub pool_acquires: Family<PoolAcquireLabels, Counter>,
    pub queue_depth: Family<NameLabel, Gauge>,
    pub redis: RedisMetrics,
    /// Question embeddings found in the Redis embedding cache.
    pub embedding_cache_hits: Counter,
    /// Question embeddings computed because the cache had none (or Redis
    /// could not be asked).
    pub embedding_cache_misses: Counter,
    /// Query-cache invalidations that could not reach Redis yet (retried in
    /// the background; the Redis cache is not read while any is pending).
    pub cache_pending_invalidations: Gauge,
    /// API requests refused with 429 by the rate limit.
    pub rate_limited: Counter,
    /// Rate-limit checks counted in this process because Redis was down.
    pub rate_limit_local: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut m = Metrics {
            requests: Family::default(),
            request_duration: Family::new_with_constructor(latency_histogram as fn() -> Histogram),
            in_flight: Gauge::default(),
            shed: Counter::default(),
            cache_hits: Counter::default(),
            cache_misses: Counter::default(),
            embed_duration: Family::new_with_constructor(latency_histogram as fn() -> Histogram),
            search_duration: latency_histogram(),
            generate_duration: latency_histogram(),
            ingested_chunks: Counter::default(),
            pools: Family::default(),
            pool_max: Family::default(),
            pool_acquire_wait: Family::default(),
            pool_acquires: Family::default(),
            queue_depth: Family::default(),
            redis: RedisMetrics::new(),
            embedding_cache_hits: Counter::default(),
            embedding_cache_misses: Counter::default(),
            cache_pending_invalidations: Gauge::default(),
            rate_limited: Counter::default(),
            rate_limit_local: Counter::default(),
            registry: Registry::with_prefix("ragd"),
            process_registry: Registry::default(),
            process: process::ProcessMetrics::default(),
        };
        let mut registry = std::mem::take(&mut m.registry);
        m.register_http(&mut registry);
        m.register_pipeline(&mut registry);
        m.register_pools(&mut registry);
        m.register_redis(&mut registry);
        registry.register(
            "build",
            "Which ragd build runs (always 1): version, profile, features",
            Info::new(BuildLabels::this_build()),
        );
        let mut process_registry = Registry::default();
        m.process.register(&mut process_registry);
        Metrics {
            registry,
            process_registry,
            ..m
        }
    }

    /// Requests as the HTTP layer sees them.
    fn register_http(&self, r: &mut Registry) {
        r.register(
            "http_requests",
            "HTTP requests by route and status",
            self.requests.clone(),
        );
        r.register(
            "http_request_duration_seconds",
            "HTTP request latency by route (to the end of the handler)",
            self.request_duration.clone(),
        );
        r.register(
            "http_requests_in_flight",
            "API requests being handled now",
            self.in_flight.clone(),
        );
        r.register(
            "http_requests_shed",
            "Requests refused with 503 because max_in_flight was reached",
            self.shed.clone(),
        );
        r.register(
            "http_requests_rate_limited",
            "API requests refused with 429 by the per-client rate limit",
            self.rate_limited.clone(),
        );
        r.register(
            "rate_limit_local_checks",
            "Rate-limit checks counted in this process because Redis was down",
            self.rate_limit_local.clone(),
        );
    }

    /// The query and ingest pipelines' steps and caches.
    fn register_pipeline(&self, r: &mut Registry) {
        r.register(
            "query_cache_hits",
            "Queries answered from the result cache",
            self.cache_hits.clone(),
        );
        r.register(
            "query_cache_misses",
            "Queries computed because the cache had no answer",
            self.cache_misses.clone(),
        );
        r.register(
            "embed_duration_seconds",
            "Time to embed one request's texts, by embedder",
            self.embed_duration.clone(),
        );
        r.register(
            "vector_search_duration_seconds",
            "Time of one vector search",
            self.search_duration.clone(),
        );
        r.register(
            "generate_duration_seconds",
            "Time to write one answer",
            self.generate_duration.clone(),
        );
        r.register(
            "ingested_chunks",
            "Chunks stored by ingests",
            self.ingested_chunks.clone(),
        );
        r.register(
            "embedding_cache_hits",
            "Question embeddings found in the Redis embedding cache",
            self.embedding_cache_hits.clone(),
        );
        r.register(
            "embedding_cache_misses",
            "Question embeddings computed because the embedding cache had none",
            self.embedding_cache_misses.clone(),
        );
        r.register(
            "query_cache_pending_invalidations",
            "Query-cache invalidations waiting to reach Redis",
            self.cache_pending_invalidations.clone(),
        );
    }

    /// Pools and queues (set from `/status`'s figures on every scrape).
    fn register_pools(&self, r: &mut Registry) {
        r.register(
            "pool_connections",
            "Pool members by pool and state (size, idle, in_use, waiting)",
            self.pools.clone(),
        );
        r.register(
            "pool_max_connections",
            "Most members each pool may hold (its limit)",
            self.pool_max.clone(),
        );
        r.register(
            "pool_acquire_wait_seconds",
            "Time callers waited to acquire a pool member since start, by quantile (1 = max)",
            self.pool_acquire_wait.clone(),
        );
        r.register(
            "pool_acquires",
            "Pool acquisitions since start (result: all, failed)",
            self.pool_acquires.clone(),
        );
        r.register(
            "queue_depth",
            "Work waiting, by queue",
            self.queue_depth.clone(),
        );
    }

    /// The shared Redis connection.
    fn register_redis(&self, r: &mut Registry) {
        r.register(
            "redis_command_duration_seconds",
            "Round-trip time of Redis calls, by operation",
            self.redis.duration.clone(),
        );
        r.register(
            "redis_command_errors",
            "Redis calls that failed, by operation and kind (timeout, connection, response)",
            self.redis.errors.clone(),
        );
        r.register(
            "redis_commands_skipped",
            "Redis calls not attempted because Redis was down, by operation",
            self.redis.skipped.clone(),
        );
        r.register(
            "redis_up",
            "1 while the Redis connection is up, 0 while ragd runs without Redis",
            self.redis.up.clone(),
        );
        r.register(
            "redis_commands_in_flight",
            "Redis commands sent and not yet answered",
            self.redis.in_flight.clone(),
        );
    }

    /// Set the depth gauge of one queue.
    pub fn set_queue(&self, q: &ragd_api::QueueStatus) {
        self.queue_depth
            .get_or_create(&NameLabel {
                name: q.name.clone(),
            })
            .set(q.depth as i64);
    }

    pub fn set_pool(&self, pool: &ragd_api::PoolStatus) {
        for (state, v) in [
            ("size", pool.size),
            ("idle", pool.idle),
            ("in_use", pool.in_use),
            ("waiting", pool.waiting),
        ] {
            self.pools
                .get_or_create(&PoolLabels {
                    pool: pool.name.clone(),
                    state: state.into(),
                })
                .set(v as i64);
        }
        self.pool_max
            .get_or_create(&PoolLabel {
                pool: pool.name.clone(),
            })
            .set(pool.max as i64);
        if let Some(w) = &pool.acquire_wait {
            for (q, ms) in [("0.5", w.p50_ms), ("0.99", w.p99_ms), ("1", w.max_ms)] {
                self.pool_acquire_wait
                    .get_or_create(&PoolWaitLabels {
                        pool: pool.name.clone(),
                        quantile: q.into(),
                    })
                    .set(ms / 1000.0);
            }
            for (result, n) in [("all", w.count), ("failed", w.failed)] {
                let counter = self.pool_acquires.get_or_create(&PoolAcquireLabels {
                    pool: pool.name.clone(),
                    result: result.into(),
                });
                advance_to(&counter, n);
            }
        }
    }

    /// OpenMetrics text of every metric: ragd's, then the process's
    /// (read from `/proc/self` now), then `# EOF`.
    pub fn encode(&self) -> String {
        use prometheus_client::encoding::text;
        self.process.refresh();
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = text::encode_registry(&mut out, &self.registry);
        let _ = text::encode_registry(&mut out, &self.process_registry);
        let _ = text::encode_eof(&mut out);
        out
    }
}

/// Advance a counter to a cumulative figure kept elsewhere (a pool's
/// acquisitions since start). It never goes down, and two scrapes racing
/// cannot add the same increase twice.
pub fn advance_to(counter: &Counter, total: u64) {
    counter
        .inner()
        .fetch_max(total, std::sync::atomic::Ordering::Relaxed);
}
