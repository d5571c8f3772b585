//! The Redis connection shared by the query cache, the embedding cache and
//! the rate limiter (see `[redis]` in the configuration).
//!
//! Redis is optional at run time. [`Shared::open`] never fails because Redis
//! is down: it starts in the *down* state and a background task connects,
//! retrying with backoff. Every command goes through one helper
//! ([`Shared::query`], [`Shared::query_pipe`]) that:
//! - refuses at once while Redis is down (callers go on without it: a cache
//!   miss, a local rate-limit count), so an outage costs no latency;
//! - bounds the call by `redis.timeout_ms`;
//! - records the round-trip time (`ragd_redis_command_duration_seconds`),
//!   errors (`ragd_redis_command_errors_total`) and the last round-trip time for `/status`;
//! - flips the connection *down* on a timeout or a lost connection, which
//!   wakes the background task: it opens a fresh connection with backoff
//!   (100 ms doubling to 2 s) and flips *up* when a PING answers.
//!
//! State changes are logged once each (down with the reason, up with the
//! time it was down). While up, the task PINGs every few seconds so an idle
//! replica notices an outage (and its end) too.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

use ragd_api::PoolStatus;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{FromRedisValue, RedisError};
use tokio::sync::{Notify, watch};

use crate::config::{RedisConfig, redact_url};
use crate::metrics::{OpErrorLabels, OpLabel, RedisMetrics};

/// First wait between reconnection attempts; doubles up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// While up, a PING this often notices an outage without traffic.
const KEEPALIVE: Duration = Duration::from_secs(5);

/// Why a Redis call did not succeed. Callers treat every variant the same
/// way (go on without Redis); the variants are for logs and tests.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Not attempted: Redis is known to be down (reconnecting in the background).
    #[error("redis is down: {0}")]
    Down(String),
    #[error("redis gave no answer within {0} ms")]
    Timeout(u64),
    #[error("redis: {0}")]
    Redis(#[from] RedisError),
    /// `redis.url` cannot be used (a start-up error).
    #[error("redis.url {url:?}: {source}")]
    Url {
        url: String,
        #[source]
        source: RedisError,
    },
}

/// The shared connection: one multiplexed connection (commands from every
/// request are pipelined on it), replaced by a fresh one after an outage.
pub struct Shared {
    client: redis::Client,
    manager_config: ConnectionManagerConfig,
    conn: RwLock<Option<ConnectionManager>>,
    prefix: String,
    timeout: Duration,
    url: String,
    up: AtomicBool,
    up_tx: watch::Sender<bool>,
    /// The current outage has been logged (also set for the outage that
    /// lasts from start-up until the first connection).
    down_logged: AtomicBool,
    down_since: Mutex<Option<Instant>>,
    last_error: Mutex<String>,
    in_flight: AtomicU64,
    /// Microseconds of the last successful call; `u64::MAX` = none yet.
    last_rtt_us: AtomicU64,
    /// Wakes the background task when a call saw Redis fail.
    wake: Notify,
    metrics: RedisMetrics,
}

impl Shared {
    /// Open the connection described by `cfg`, waiting at most
    /// `cfg.timeout_ms` for it. Redis being down is not an error (ragd runs
    /// without it and connects when it can); only an unusable URL is.
    /// Must be called inside a Tokio runtime (it spawns the reconnect task).
    pub async fn open(cfg: &RedisConfig, metrics: RedisMetrics) -> Result<Arc<Shared>, Error> {
        let shared = Shared::start(cfg, metrics)?;
        shared
            .wait_up(Duration::from_millis(cfg.timeout_ms.max(1)))
            .await;
        Ok(shared)
    }

    /// Like [`Shared::open`] without waiting for the first connection.
    pub fn start(cfg: &RedisConfig, metrics: RedisMetrics) -> Result<Arc<Shared>, Error> {
        let url = redact_url(&cfg.url);
        let client = redis::Client::open(cfg.url.as_str()).map_err(|source| Error::Url {
            url: url.clone(),
            source,
        })?;
        let timeout = Duration::from_millis(cfg.timeout_ms.max(1));
        // The manager's own reconnect (after a dropped connection) makes one
        // attempt; retrying with backoff is the background task's job, so a
        // caller never waits on a retry loop.
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(0);
        let (up_tx, _) = watch::channel(false);
        metrics.up.set(0);
        let shared = Arc::new(Shared {
            client,
            manager_config,
            conn: RwLock::new(None),
            prefix: cfg.prefix.clone(),
            timeout,
            url,
            up: AtomicBool::new(false),
            up_tx,
            down_logged: AtomicBool::new(false),
            down_since: Mutex::new(Some(Instant::now())),
            last_error: Mutex::new("not connected yet".into()),
            in_flight: AtomicU64::new(0),
            last_rtt_us: AtomicU64::new(u64::MAX),
            wake: Notify::new(),
            metrics,
        });
        tokio::spawn(supervise(Arc::downgrade(&shared)));
        Ok(shared)
    }

    /// `prefix:rest`: every key ragd writes is under the configured prefix.
    pub fn key(&self, rest: &str) -> String {
        format!("{}:{rest}", self.prefix)
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `redis`, for `/ready` and `/status`.
    pub fn kind(&self) -> &'static str {
        "redis"
    }

    /// The URL without its password.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The configured bound of one call.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Whether calls are attempted now.
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Acquire)
    }

    /// Changes of the up/down state.
    pub fn subscribe(&self) -> watch::Receiver<bool> {
        self.up_tx.subscribe()
    }

    /// Wait until the connection is up, at most `within`; whether it is.
    pub async fn wait_up(&self, within: Duration) -> bool {
        let mut rx = self.subscribe();
        tokio::time::timeout(within, rx.wait_for(|up| *up))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Round-trip time of the last successful call, in milliseconds.
    pub fn last_rtt_ms(&self) -> Option<f64> {
        match self.last_rtt_us.load(Ordering::Relaxed) {
            u64::MAX => None,
            us => Some(us as f64 / 1000.0),
        }
    }

    /// Commands sent and not yet answered.
    pub fn in_flight(&self) -> u64 {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Why Redis is down (the last error seen), with how long it has been.
    pub fn down_reason(&self) -> String {
        let since = self
            .down_since
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .map(|t| t.elapsed().as_secs_f64())
            .unwrap_or(0.0);
        let err = self
            .last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        format!("unreachable for {since:.1} s ({err}); running without it, reconnecting")
    }

    /// PING for `/ready` and `/status`. While down it answers at once with
    /// the reason instead of waiting on a connection attempt.
    pub async fn health(&self) -> Result<(), Error> {
        if !self.is_up() {
            return Err(Error::Down(self.down_reason()));
        }
        self.query::<String>("ping", &redis::cmd("PING"))
            .await
            .map(|_| ())
    }

    /// The connection as a pool for `/status` and `/metrics`: one
    /// multiplexed connection (size 1 while connected). Commands in flight
    /// share it, so it is never "full"; they are reported as the
    /// `redis-in-flight` queue instead of as members in use.
    pub fn pool_status(&self) -> PoolStatus {
        let up = self.is_up() as u32;
        PoolStatus {
            name: "redis".into(),
            kind: "redis-multiplexed".into(),
            size: up,
            idle: up,
            in_use: 0,
            max: 1,
            waiting: 0,
            acquire_wait: None,
        }
    }

    /// Run one command (see the module documentation).
    pub async fn query<T: FromRedisValue>(
        &self,
        op: &'static str,
        cmd: &redis::Cmd,
    ) -> Result<T, Error> {
        self.run(op, |mut c| async move { cmd.query_async(&mut c).await })
            .await
    }

    /// Run a pipeline in one round trip (see the module documentation).
    pub async fn query_pipe<T: FromRedisValue>(
        &self,
        op: &'static str,
        pipe: &redis::Pipeline,
    ) -> Result<T, Error> {
        self.run(op, |mut c| async move { pipe.query_async(&mut c).await })
            .await
    }

    /// Run a Lua script (EVALSHA, loading it on first use) in one round
    /// trip, with the same bounds and accounting as [`Shared::query`].
    pub async fn invoke_script<T: FromRedisValue>(
        &self,
        op: &'static str,
        invocation: &redis::ScriptInvocation<'_>,
    ) -> Result<T, Error> {
        self.run(
            op,
            |mut c| async move { invocation.invoke_async(&mut c).await },
        )
        .await
    }

    async fn run<T, F, Fut>(&self, op: &'static str, f: F) -> Result<T, Error>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let conn = if self.is_up() {
            self.connection()
        } else {
            None
        };
        let Some(conn) = conn else {
            self.metrics
                .skipped
                .get_or_create(&OpLabel { op: op.into() })
                .inc();
            return Err(Error::Down(self.down_reason()));
        };
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.metrics.in_flight.inc();
        let _done = InFlight(self);
        let t = Instant::now();
        let result = tokio::time::timeout(self.timeout, f(conn)).await;
        let elapsed = t.elapsed();
        self.metrics
            .duration
            .get_or_create(&OpLabel { op: op.into() })
            .observe(elapsed.as_secs_f64());
        let err = match result {
            Ok(Ok(v)) => {
                self.last_rtt_us
                    .store(elapsed.as_micros() as u64, Ordering::Relaxed);
                return Ok(v);
            }
            Ok(Err(e)) => Error::Redis(e),
            Err(_) => Error::Timeout(self.timeout.as_millis() as u64),
        };
        let (kind, lost) = classify(&err);
        self.metrics
            .errors
            .get_or_create(&OpErrorLabels {
                op: op.into(),
                kind: kind.into(),
            })
            .inc();
        if lost {
            self.mark_down(&err.to_string());
        } else {
            tracing::debug!(op, error = %err, "redis call failed");
        }
        Err(err)
    }

    fn connection(&self) -> Option<ConnectionManager> {
        self.conn.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn set_error(&self, reason: &str) {
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = reason.to_string();
    }

    /// Stop using Redis until the background task reconnects.
    fn mark_down(&self, reason: &str) {
        self.set_error(reason);
        if self.up.swap(false, Ordering::AcqRel) {
            *self.down_since.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
            self.metrics.up.set(0);
            self.up_tx.send_replace(false);
            self.down_logged.store(true, Ordering::Relaxed);
            tracing::warn!(url = %self.url, error = %reason,
                "redis is down: serving without the shared cache, counting rate limits locally; reconnecting");
            self.wake.notify_one();
        }
    }

    fn mark_up(&self, conn: ConnectionManager) {
        *self.conn.write().unwrap_or_else(|p| p.into_inner()) = Some(conn);
        if !self.up.swap(true, Ordering::AcqRel) {
            let since = self
                .down_since
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take();
            self.metrics.up.set(1);
            self.up_tx.send_replace(true);
            if self.down_logged.swap(false, Ordering::Relaxed) {
                let down_secs = since.map(|t| t.elapsed().as_secs_f64()).unwrap_or(0.0);
                tracing::info!(url = %self.url, down_secs, "redis is back");
            } else {
                tracing::info!(url = %self.url, "redis connected");
            }
        }
    }

    /// One attempt at a fresh connection, checked with a PING.
    async fn try_connect(&self) -> Result<ConnectionManager, Error> {
        let mut conn = ConnectionManager::new_lazy_with_config(
            self.client.clone(),
            self.manager_config.clone(),
        )?;
        let t = Instant::now();
        // The connection timeout and the PING's response timeout.
        let ping = redis::cmd("PING");
        match tokio::time::timeout(2 * self.timeout, ping.query_async::<String>(&mut conn)).await {
            Ok(Ok(_)) => {
                self.last_rtt_us
                    .store(t.elapsed().as_micros() as u64, Ordering::Relaxed);
                Ok(conn)
            }
            Ok(Err(e)) => Err(e.into()),
            Err(_) => Err(Error::Timeout((2 * self.timeout).as_millis() as u64)),
        }
    }
}

/// Decrements the in-flight count when a call ends (also when cancelled).
struct InFlight<'a>(&'a Shared);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.0.metrics.in_flight.dec();
    }
}

/// The error's kind for metrics, and whether it means the connection is
/// unusable (as opposed to one command's error reply).
fn classify(err: &Error) -> (&'static str, bool) {
    match err {
        Error::Down(_) => ("down", true),
        Error::Url { .. } => ("connection", true),
        Error::Timeout(_) => ("timeout", true),
        Error::Redis(e) if e.is_timeout() => ("timeout", true),
        Error::Redis(e)
            if e.is_io_error()
                || e.is_connection_dropped()
                || e.is_connection_refusal()
                || e.is_unrecoverable_error() =>
        {
            ("connection", true)
        }
        Error::Redis(_) => ("response", false),
    }
}

/// The background task: connects while down (with backoff), PINGs while up.
/// Ends when the [`Shared`] is dropped.
async fn supervise(weak: Weak<Shared>) {
    let mut backoff = MIN_BACKOFF;
    let mut last_ping = Instant::now();
    loop {
        let Some(shared) = weak.upgrade() else { return };
        if shared.is_up() {
            backoff = MIN_BACKOFF;
            // Hold the strong reference only briefly, so a dropped Shared
            // ends this task within a second.
            let woken = tokio::time::timeout(Duration::from_secs(1), shared.wake.notified())
                .await
                .is_ok();
            if !woken && shared.is_up() && last_ping.elapsed() >= KEEPALIVE {
                last_ping = Instant::now();
                let _ = shared.query::<String>("ping", &redis::cmd("PING")).await;
            }
            continue;
        }
        match shared.try_connect().await {
            Ok(conn) => {
                backoff = MIN_BACKOFF;
                last_ping = Instant::now();
                shared.mark_up(conn);
            }
            Err(e) => {
                if !shared.down_logged.swap(true, Ordering::Relaxed) {
                    tracing::warn!(url = %shared.url, error = %e,
                        "redis is unreachable: serving without the shared cache, counting rate limits locally; retrying");
                } else {
                    tracing::debug!(url = %shared.url, error = %e, "redis still unreachable");
                }
                shared.set_error(&e.to_string());
                drop(shared);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The test server's URL, or `None` (skipped; see [`crate::testing`]).
    pub fn test_url() -> Option<String> {
        crate::testing::redis_url()
    }

    /// A configuration with a prefix no other test uses.
    pub fn test_config(url: &str) -> RedisConfig {
        RedisConfig {
            url: url.to_string(),
            prefix: format!("ragd-test-{}", uuid::Uuid::new_v4().simple()),
            timeout_ms: 250,
            embedding_ttl_secs: 60,
        }
    }

    /// A Redis nobody listens on (port 1), with a short timeout.
    pub fn unreachable_config() -> RedisConfig {
        RedisConfig {
            url: "redis://127.0.0.1:1/".into(),
            prefix: "ragd-test-down".into(),
            timeout_ms: 200,
            embedding_ttl_secs: 0,
        }
    }

    /// Delete every key under the test's prefix.
    pub async fn cleanup(shared: &Shared) {
        let keys: Vec<String> = shared
            .query(
                "test",
                redis::cmd("KEYS").arg(format!("{}:*", shared.prefix())),
            )
            .await
            .unwrap_or_default();
        if !keys.is_empty() {
            let _: Result<i64, _> = shared.query("test", redis::cmd("DEL").arg(keys)).await;
        }
    }

    pub fn metrics() -> RedisMetrics {
        crate::metrics::Metrics::new().redis
    }

    #[tokio::test]
    async fn connects_and_reports_rtt() {
        let Some(url) = test_url() else { return };
        let shared = Shared::open(&test_config(&url), metrics()).await.unwrap();
        assert!(shared.wait_up(Duration::from_secs(5)).await);
        shared.health().await.unwrap();
        assert!(shared.last_rtt_ms().is_some());
        let pool = shared.pool_status();
        assert_eq!((pool.name.as_str(), pool.size), ("redis", 1));
        let k = shared.key("probe");
        assert!(k.starts_with("ragd-test-") && k.ends_with(":probe"));
        cleanup(&shared).await;
    }

    #[tokio::test]
    async fn unreachable_redis_does_not_fail_start_or_calls() {
        let cfg = unreachable_config();
        let t = Instant::now();
        let shared = Shared::open(&cfg, metrics()).await.unwrap();
        assert!(t.elapsed() < Duration::from_secs(1));
        assert!(!shared.is_up());
        let t = Instant::now();
        let r = shared.query::<String>("ping", &redis::cmd("PING")).await;
        assert!(matches!(r, Err(Error::Down(_))), "{r:?}");
        assert!(t.elapsed() < Duration::from_millis(50));
        let err = shared.health().await.unwrap_err().to_string();
        assert!(err.contains("unreachable"), "{err}");
        assert_eq!(shared.pool_status().size, 0);
    }

    #[test]
    fn bad_url_is_a_start_error() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let cfg = RedisConfig {
                url: "redis://[bad".into(),
                prefix: "x".into(),
                timeout_ms: 100,
                embedding_ttl_secs: 0,
            };
            assert!(Shared::start(&cfg, metrics()).is_err());
        });
    }
}
