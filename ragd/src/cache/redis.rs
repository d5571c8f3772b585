//! The query cache in Redis, shared by every replica.
//!
//! Keys (under `redis.prefix`):
//! - `{prefix}:gen:{collection}`: the collection's generation. An
//!   invalidation is `SET NX <now in µs>` + `INCR` in one MULTI, so a
//!   generation lost with Redis's data (restart, eviction) restarts above
//!   every value it had before, never at a value old entries carry.
//! - `{prefix}:q:{collection}:{sha256(request)}`: JSON `{gen, req,
//!   response}`, `SET EX cache.ttl_secs`.
//!
//! A lookup is one round trip (`MGET gen entry`); the entry is served only
//! if its `gen` is the current generation and its `req` is the request. A
//! store writes the generation read at lookup time, so a result computed
//! before an invalidation is never served after it, by any replica.
//!
//! Redis trouble makes a lookup a miss and a store a no-op. An invalidation
//! that cannot reach Redis is kept in a pending set and retried in the
//! background until it succeeds; while any is pending this replica neither
//! reads nor writes the Redis cache (it may have changed a collection that
//! the other replicas still see under the old generation). Limits: another
//! replica may serve the old entries of that collection until the retry
//! lands (or its TTL ends); a replica that stops with invalidations still
//! pending loses them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prometheus_client::metrics::gauge::Gauge;
use ragd_api::QueryResponse;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use crate::redis::{Error, Shared};

const MIN_RETRY: Duration = Duration::from_millis(100);
const MAX_RETRY: Duration = Duration::from_secs(2);

#[derive(Serialize)]
struct EntryRef<'a> {
    #[serde(rename = "gen")]
    generation: u64,
    req: &'a str,
    response: &'a QueryResponse,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(rename = "gen")]
    generation: u64,
    req: String,
    response: QueryResponse,
}

struct State {
    shared: Arc<Shared>,
    ttl_secs: u64,
    /// Collections whose invalidation has not reached Redis yet, each with
    /// the sequence number of its latest failed attempt.
    pending: Mutex<HashMap<String, u64>>,
    seq: AtomicU64,
    wake: Notify,
    gauge: Gauge,
}

pub struct RedisQueryCache {
    state: Arc<State>,
}

impl RedisQueryCache {
    /// Spawns the retry task for failed invalidations (needs a Tokio runtime).
    pub fn new(shared: Arc<Shared>, ttl_secs: u64, gauge: Gauge) -> RedisQueryCache {
        let state = Arc::new(State {
            shared,
            ttl_secs: ttl_secs.max(1),
            pending: Mutex::new(HashMap::new()),
            seq: AtomicU64::new(0),
            wake: Notify::new(),
            gauge,
        });
        tokio::spawn(retry_invalidations(Arc::downgrade(&state)));
        RedisQueryCache { state }
    }

    fn gen_key(&self, collection: &str) -> String {
        self.state.shared.key(&format!("gen:{collection}"))
    }

    fn entry_key(&self, collection: &str, request: &str) -> String {
        let h = super::digest(&[request.as_bytes()]);
        self.state.shared.key(&format!("q:{collection}:{h}"))
    }

    /// Invalidations waiting to reach Redis.
    pub fn pending(&self) -> usize {
        self.state.pending_len()
    }

    /// The entry for `request` if it belongs to the current generation, and
    /// that generation (`None`: do not store, Redis could not be read or an
    /// invalidation of this replica is pending).
    pub async fn get(
        &self,
        collection: &str,
        request: &str,
    ) -> (Option<Arc<QueryResponse>>, Option<u64>) {
        if self.state.pending_len() > 0 {
            return (None, None);
        }
        let gen_key = self.gen_key(collection);
        let entry_key = self.entry_key(collection, request);
        let values: Vec<Option<Vec<u8>>> = match self
            .state
            .shared
            .query(
                "query_cache_get",
                ::redis::cmd("MGET").arg(&gen_key).arg(&entry_key),
            )
            .await
        {
            Ok(v) => v,
            Err(_) => return (None, None),
        };
        let mut values = values.into_iter();
        let generation = values
            .next()
            .flatten()
            .and_then(|b| std::str::from_utf8(&b).ok()?.parse::<u64>().ok());
        let Some(generation) = generation else {
            // No generation (never invalidated since Redis lost its data):
            // start one above anything entries may carry; store nothing now.
            self.init_generation(&gen_key).await;
            return (None, None);
        };
        let found = values
            .next()
            .flatten()
            .and_then(|b| serde_json::from_slice::<Entry>(&b).ok())
            .filter(|e| e.generation == generation && e.req == request)
            .map(|e| Arc::new(e.response));
        (found, Some(generation))
    }

    async fn init_generation(&self, gen_key: &str) {
        let _ = self
            .state
            .shared
            .query::<Option<String>>(
                "query_cache_init",
                ::redis::cmd("SET").arg(gen_key).arg(now_micros()).arg("NX"),
            )
            .await;
    }

    /// Store `value` computed under `generation` (read by [`Self::get`]).
    pub async fn put(
        &self,
        collection: &str,
        generation: u64,
        request: &str,
        value: &QueryResponse,
    ) {
        if self.state.pending_len() > 0 {
            return;
        }
        let Ok(json) = serde_json::to_vec(&EntryRef {
            generation,
            req: request,
            response: value,
        }) else {
            return;
        };
        let key = self.entry_key(collection, request);
        let _ = self
            .state
            .shared
            .query::<()>(
                "query_cache_put",
                ::redis::cmd("SET")
                    .arg(&key)
                    .arg(json)
                    .arg("EX")
                    .arg(self.state.ttl_secs),
            )
            .await;
    }

    /// Bump the collection's generation; queued for retry if Redis cannot
    /// take it now.
    pub async fn invalidate(&self, collection: &str) {
        if let Err(e) = self.state.bump(collection).await {
            let seq = self.state.seq.fetch_add(1, Ordering::Relaxed) + 1;
            let (was_empty, n) = {
                let mut p = self.state.pending.lock().unwrap_or_else(|p| p.into_inner());
                let was_empty = p.is_empty();
                p.insert(collection.to_string(), seq);
                (was_empty, p.len())
            };
            self.state.gauge.set(n as i64);
            // Logged when the cache stops being used, not for every change.
            if was_empty {
                tracing::warn!(%collection, error = %e,
                    "query cache invalidation could not reach redis: not using the redis cache until it does (retrying in the background)");
            } else {
                tracing::debug!(%collection, error = %e, "query cache invalidation queued");
            }
            self.state.wake.notify_one();
        }
    }
}

impl State {
    fn pending_len(&self) -> usize {
        self.pending.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    async fn bump(&self, collection: &str) -> Result<(), Error> {
        let key = self.shared.key(&format!("gen:{collection}"));
        let mut pipe = ::redis::pipe();
        pipe.atomic()
            .cmd("SET")
            .arg(&key)
            .arg(now_micros())
            .arg("NX")
            .ignore()
            .cmd("INCR")
            .arg(&key);
        self.shared
            .query_pipe::<(u64,)>("query_cache_invalidate", &pipe)
            .await
            .map(|_| ())
    }
}

/// Retries pending invalidations until each has gone through; ends when the
/// cache is dropped.
async fn retry_invalidations(weak: Weak<State>) {
    let mut backoff = MIN_RETRY;
    loop {
        let Some(state) = weak.upgrade() else { return };
        let snapshot: Vec<(String, u64)> = state
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(c, s)| (c.clone(), *s))
            .collect();
        if snapshot.is_empty() {
            backoff = MIN_RETRY;
            let _ = tokio::time::timeout(Duration::from_secs(1), state.wake.notified()).await;
            continue;
        }
        if !state.shared.is_up() {
            // Retry as soon as the connection is back.
            let mut up = state.shared.subscribe();
            drop(state);
            let _ = tokio::time::timeout(Duration::from_millis(500), up.wait_for(|u| *u)).await;
            continue;
        }
        let mut failed = false;
        for (collection, seq) in snapshot {
            match state.bump(&collection).await {
                Ok(()) => {
                    let mut p = state.pending.lock().unwrap_or_else(|p| p.into_inner());
                    // A later failure of the same collection stays pending:
                    // this bump may have run before that change.
                    if p.get(&collection) == Some(&seq) {
                        p.remove(&collection);
                        if p.is_empty() {
                            tracing::info!(
                                "queued query cache invalidations reached redis: using the redis cache again"
                            );
                        }
                    }
                }
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        state.gauge.set(state.pending_len() as i64);
        drop(state);
        if failed {
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_RETRY);
        } else {
            backoff = MIN_RETRY;
        }
    }
}

fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::cache::QueryCache;
    use crate::config::{CacheConfig, RedisConfig};
    use crate::metrics::Metrics;
    use crate::redis::tests::{cleanup, test_config, test_url};

    fn response(answer: &str) -> Arc<QueryResponse> {
        Arc::new(QueryResponse {
            answer: answer.into(),
            mode: ragd_api::RetrievalMode::Hybrid,
            citations: vec![],
            timings: Default::default(),
            cached: false,
        })
    }

    async fn replica(cfg: &RedisConfig) -> (QueryCache, Arc<Shared>) {
        let metrics = Metrics::new();
        let shared = Shared::open(cfg, metrics.redis.clone()).await.unwrap();
        assert!(shared.wait_up(Duration::from_secs(5)).await, "redis is up");
        let cache = QueryCache::new(
            &CacheConfig::Redis { ttl_secs: 60 },
            Some(shared.clone()),
            &metrics,
        )
        .unwrap();
        (cache, shared)
    }

    #[tokio::test]
    async fn two_replicas_share_entries_and_invalidations() {
        let Some(url) = test_url() else { return };
        let cfg = test_config(&url);
        let (a, shared) = replica(&cfg).await;
        let (b, _) = replica(&cfg).await;
        assert_eq!(a.kind(), "redis");

        // First lookup of a collection never seen: a miss that stores nothing.
        let (found, t) = a.get("docs", "q").await;
        assert!(found.is_none());
        assert!(!t.storable());
        // Creating the collection invalidates it (as the service does).
        b.invalidate("docs").await;

        let (found, t) = a.get("docs", "q").await;
        assert!(found.is_none() && t.storable());
        a.put(t, response("one")).await;
        // Hit through the other replica.
        assert_eq!(b.get("docs", "q").await.0.unwrap().answer, "one");
        // Another request, another collection: misses.
        assert!(b.get("docs", "q2").await.0.is_none());
        assert!(b.get("other", "q").await.0.is_none());

        // A lookup through A before a change through B...
        let (_, late) = a.get("docs", "q3").await;
        b.invalidate("docs").await;
        // ...hides A's entries from A too.
        assert!(a.get("docs", "q").await.0.is_none());
        // A result computed before the change is never served after it.
        a.put(late, response("stale")).await;
        assert!(a.get("docs", "q3").await.0.is_none());
        assert!(b.get("docs", "q3").await.0.is_none());

        // Entries expire.
        let (_, t) = a.get("docs", "q").await;
        a.put(t, response("two")).await;
        let key = a_entry_key(&shared, "docs", "q");
        let ttl: i64 = shared
            .query("test", ::redis::cmd("TTL").arg(&key))
            .await
            .unwrap();
        assert!(ttl > 0 && ttl <= 60, "{ttl}");
        assert_eq!(b.get("docs", "q").await.0.unwrap().answer, "two");

        // Delete and re-create with the same name: two invalidations.
        b.invalidate("docs").await;
        assert!(a.get("docs", "q").await.0.is_none());
        assert_eq!(a.pending_invalidations(), 0);
        cleanup(&shared).await;
    }

    fn a_entry_key(shared: &Shared, collection: &str, request: &str) -> String {
        let h = crate::cache::digest(&[request.as_bytes()]);
        shared.key(&format!("q:{collection}:{h}"))
    }

    #[tokio::test]
    async fn lost_generation_restarts_above_old_entries() {
        let Some(url) = test_url() else { return };
        let cfg = test_config(&url);
        let (a, shared) = replica(&cfg).await;
        a.invalidate("docs").await;
        let (_, t) = a.get("docs", "q").await;
        a.put(t, response("old")).await;
        // Redis loses the generation key (eviction, restart without data...).
        let gen_key = shared.key("gen:docs");
        let _: i64 = shared
            .query("test", ::redis::cmd("DEL").arg(&gen_key))
            .await
            .unwrap();
        a.invalidate("docs").await;
        assert!(a.get("docs", "q").await.0.is_none());
        cleanup(&shared).await;
    }

    #[tokio::test]
    async fn unreachable_redis_is_a_fast_miss_and_queues_invalidations() {
        let cfg = crate::redis::tests::unreachable_config();
        let metrics = Metrics::new();
        let shared = Shared::open(&cfg, metrics.redis.clone()).await.unwrap();
        let cache =
            QueryCache::new(&CacheConfig::Redis { ttl_secs: 60 }, Some(shared), &metrics).unwrap();
        let t = Instant::now();
        let (found, ticket) = cache.get("docs", "q").await;
        assert!(found.is_none() && !ticket.storable());
        cache.put(ticket, response("x")).await;
        cache.invalidate("docs").await;
        cache.invalidate("other").await;
        assert!(
            t.elapsed() < Duration::from_millis(200 + 100),
            "{:?}",
            t.elapsed()
        );
        assert_eq!(cache.pending_invalidations(), 2);
        assert_eq!(metrics.cache_pending_invalidations.get(), 2);
        assert_eq!(cache.misses(), 1);
    }

    /// A redis-server of our own, to kill and restart.
    struct Server {
        port: u16,
        child: std::process::Child,
    }

    impl Server {
        fn start(port: u16) -> Option<Server> {
            let child = std::process::Command::new("redis-server")
                .args([
                    "--port",
                    &port.to_string(),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ])
                .args(["--bind", "127.0.0.1"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .ok()?;
            // Wait until it accepts connections.
            for _ in 0..100 {
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Some(Server { port, child });
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            None
        }

        fn stop(mut self) -> u16 {
            let _ = self.child.kill();
            let _ = self.child.wait();
            self.port
        }
    }

    impl Drop for Server {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn redis_restart_degrades_then_reconnects_by_itself() {
        // Needs the redis-server binary; tied to the Redis tests' switch.
        if test_url().is_none() {
            return;
        }
        let port = free_port();
        let Some(server) = Server::start(port) else {
            crate::testing::skip("cannot start redis-server");
            return;
        };
        let cfg = RedisConfig {
            url: format!("redis://127.0.0.1:{port}/"),
            prefix: "ragd-test-restart".into(),
            timeout_ms: 200,
            embedding_ttl_secs: 0,
        };
        let (a, shared) = replica(&cfg).await;
        a.invalidate("docs").await;
        let (_, t) = a.get("docs", "q").await;
        a.put(t, response("before")).await;
        assert!(a.get("docs", "q").await.0.is_some());

        let port = server.stop();
        // Every lookup during the outage is a quick miss, never an error.
        let t = Instant::now();
        for _ in 0..20 {
            let started = Instant::now();
            let (found, _) = a.get("docs", "q").await;
            assert!(found.is_none());
            assert!(started.elapsed() < Duration::from_millis(200 + 150));
        }
        assert!(t.elapsed() < Duration::from_secs(2));
        assert!(!shared.is_up());
        assert!(shared.health().await.is_err());
        // A change during the outage is queued.
        a.invalidate("docs").await;
        assert_eq!(a.pending_invalidations(), 1);

        let _server = Server::start(port).expect("restart redis-server");
        assert!(
            shared.wait_up(Duration::from_secs(10)).await,
            "reconnected by itself"
        );
        shared.health().await.unwrap();
        // The queued invalidation goes through, then the cache works again.
        let deadline = Instant::now() + Duration::from_secs(10);
        while a.pending_invalidations() > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(a.pending_invalidations(), 0);
        let (found, t) = a.get("docs", "q").await;
        assert!(found.is_none());
        a.put(t, response("after")).await;
        assert_eq!(a.get("docs", "q").await.0.unwrap().answer, "after");
    }
}
