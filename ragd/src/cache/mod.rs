//! Caches: query results (answers to repeated questions without embedding
//! or searching again) and question embeddings.
//!
//! The query-result cache ([`QueryCache`]) has three backends, chosen by
//! `[cache] kind`:
//! - `memory` ([`memory`]): in-process LRU with TTL. Each collection has a
//!   *generation*, bumped by every change (ingest, delete, re-create); an
//!   entry is found only under the generation it was computed in.
//! - `redis` ([`redis`]): shared by every replica, with the generation kept
//!   in Redis, so a change through any replica empties the collection for
//!   all of them.
//! - `off`.
//!
//! A lookup returns a [`Ticket`] that remembers the generation seen; the
//! result computed after a miss is stored with that ticket and refused (or
//! never served) if the collection changed in between, so a result computed
//! before a change is never served after it.
//!
//! Redis trouble never fails a query: a lookup that cannot reach Redis is a
//! miss, a store is skipped, and an invalidation is queued and retried (the
//! Redis cache is not read by this replica until it has gone through).
//!
//! [`EmbeddingCache`] keeps question embeddings in Redis (with
//! `redis.embedding_ttl_secs > 0`), keyed by model and question.

pub mod memory;
pub mod redis;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use prometheus_client::metrics::counter::Counter;
use ragd_api::{CacheStatus, QueryResponse};
use sha2::{Digest, Sha256};

use crate::config::{CacheConfig, ConfigError, RedisConfig};
use crate::metrics::Metrics;
use crate::redis::Shared;

/// Hex SHA-256 of `parts` (each length-prefixed, so parts cannot run into
/// each other): key names for requests and questions of any length.
pub(crate) fn digest(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    let out = h.finalize();
    let mut s = String::with_capacity(64);
    for b in out {
        use std::fmt::Write;
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// What a lookup saw, to hand back with the computed result.
#[derive(Debug, Clone)]
pub struct Ticket {
    collection: String,
    /// Question, top_k, filter and mode, canonically serialised.
    request: String,
    generation: Generation,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Generation {
    /// Do not store (cache off, or the generation could not be read).
    NoStore,
    Memory(u64),
    Redis(u64),
}

impl Ticket {
    /// Whether a result stored with this ticket can be cached at all.
    pub fn storable(&self) -> bool {
        self.generation != Generation::NoStore
    }
}

enum Backend {
    Off,
    Memory(memory::MemoryCache),
    Redis(redis::RedisQueryCache),
}

/// The query-result cache (see the module documentation).
pub struct QueryCache {
    backend: Backend,
    max_entries: u64,
    ttl_secs: u64,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl QueryCache {
    /// The cache `cfg` describes. `kind = "redis"` needs the shared
    /// connection; it spawns the task that retries failed invalidations, so
    /// it must be called inside a Tokio runtime.
    pub fn new(
        cfg: &CacheConfig,
        redis: Option<Arc<Shared>>,
        metrics: &Metrics,
    ) -> Result<QueryCache, ConfigError> {
        let (backend, max_entries, ttl_secs) = match cfg {
            CacheConfig::Memory {
                max_entries,
                ttl_secs,
            } => (
                Backend::Memory(memory::MemoryCache::new(*max_entries, *ttl_secs)),
                *max_entries,
                *ttl_secs,
            ),
            CacheConfig::Redis { ttl_secs } => {
                let shared = redis.ok_or_else(|| {
                    ConfigError::Invalid(
                        "cache.kind = \"redis\" needs a [redis] section with its url".into(),
                    )
                })?;
                (
                    Backend::Redis(redis::RedisQueryCache::new(
                        shared,
                        *ttl_secs,
                        metrics.cache_pending_invalidations.clone(),
                    )),
                    0,
                    *ttl_secs,
                )
            }
            CacheConfig::Off => (Backend::Off, 0, 0),
        };
        Ok(QueryCache {
            backend,
            max_entries,
            ttl_secs,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        })
    }

    /// The cached result of `request` against `collection`'s current
    /// contents, if any, and the ticket to store a computed result with.
    pub async fn get(
        &self,
        collection: &str,
        request: impl Into<String>,
    ) -> (Option<Arc<QueryResponse>>, Ticket) {
        let request = request.into();
        let (found, generation) = match &self.backend {
            Backend::Off => {
                return (
                    None,
                    Ticket {
                        collection: collection.to_string(),
                        request,
                        generation: Generation::NoStore,
                    },
                );
            }
            Backend::Memory(m) => {
                let (found, g) = m.get(collection, &request);
                (found, Generation::Memory(g))
            }
            Backend::Redis(r) => {
                let (found, g) = r.get(collection, &request).await;
                (found, g.map_or(Generation::NoStore, Generation::Redis))
            }
        };
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        let ticket = Ticket {
            collection: collection.to_string(),
            request,
            generation,
        };
        (found, ticket)
    }

    /// Store a result computed after the lookup that gave `ticket`, unless
    /// the collection changed since (then it may already be stale).
    pub async fn put(&self, ticket: Ticket, value: Arc<QueryResponse>) {
        match (&self.backend, ticket.generation) {
            (Backend::Memory(m), Generation::Memory(g)) => {
                m.put(ticket.collection, g, ticket.request, value)
            }
            (Backend::Redis(r), Generation::Redis(g)) => {
                r.put(&ticket.collection, g, &ticket.request, &value).await
            }
            _ => {}
        }
    }

    /// Forget everything cached for `collection` (for every replica with
    /// the Redis backend). Never fails: an invalidation Redis cannot take
    /// now is retried in the background.
    pub async fn invalidate(&self, collection: &str) {
        match &self.backend {
            Backend::Off => {}
            Backend::Memory(m) => m.invalidate(collection),
            Backend::Redis(r) => r.invalidate(collection).await,
        }
    }

    /// Invalidations waiting to reach Redis (0 for other backends).
    pub fn pending_invalidations(&self) -> usize {
        match &self.backend {
            Backend::Redis(r) => r.pending(),
            _ => 0,
        }
    }

    /// `memory`, `redis` or `off`.
    pub fn kind(&self) -> &'static str {
        match &self.backend {
            Backend::Off => "off",
            Backend::Memory(_) => "memory",
            Backend::Redis(_) => "redis",
        }
    }

    /// Lookups answered from the cache by this process since start.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }
    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }

    /// For `/status`. With Redis, `entries` is 0 (they live in Redis, shared)
    /// and hits/misses are this replica's.
    pub fn status(&self) -> CacheStatus {
        CacheStatus {
            name: "query-results".into(),
            kind: self.kind().into(),
            entries: match &self.backend {
                Backend::Memory(m) => m.entries(),
                _ => 0,
            },
            max_entries: self.max_entries,
            hits: self.hits(),
            misses: self.misses(),
            ttl_secs: self.ttl_secs,
        }
    }
}

/// Question embeddings in Redis: `{prefix}:emb:{model}:{sha256}` holding
/// the vector as little-endian f32 bytes, kept `redis.embedding_ttl_secs`.
/// Any Redis trouble is a miss (the question is embedded as without cache).
pub struct EmbeddingCache {
    redis: Option<Arc<Shared>>,
    ttl_secs: u64,
    hits: AtomicU64,
    misses: AtomicU64,
    hit_counter: Counter,
    miss_counter: Counter,
}

impl EmbeddingCache {
    /// On when Redis is configured and `embedding_ttl_secs > 0`.
    pub fn new(
        cfg: Option<&RedisConfig>,
        redis: Option<Arc<Shared>>,
        metrics: &Metrics,
    ) -> EmbeddingCache {
        let ttl_secs = cfg.map_or(0, |c| c.embedding_ttl_secs);
        EmbeddingCache {
            redis: redis.filter(|_| ttl_secs > 0),
            ttl_secs,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            hit_counter: metrics.embedding_cache_hits.clone(),
            miss_counter: metrics.embedding_cache_misses.clone(),
        }
    }

    pub fn enabled(&self) -> bool {
        self.redis.is_some()
    }

    fn key(shared: &Shared, model: &str, dimensions: u32, text: &str) -> String {
        let h = digest(&[&dimensions.to_le_bytes(), text.as_bytes()]);
        shared.key(&format!("emb:{model}:{h}"))
    }

    /// The cached embedding of `text` by `model` (`dimensions` long), if any.
    /// Counts a hit or a miss (nothing when the cache is off).
    pub async fn get(&self, model: &str, dimensions: u32, text: &str) -> Option<Vec<f32>> {
        let shared = self.redis.as_ref()?;
        let key = Self::key(shared, model, dimensions, text);
        let found = shared
            .query::<Option<Vec<u8>>>("embedding_get", ::redis::cmd("GET").arg(&key))
            .await
            .ok()
            .flatten()
            .filter(|b| b.len() == dimensions as usize * 4)
            .map(|b| {
                b.chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect::<Vec<f32>>()
            });
        if found.is_some() {
            self.hits.fetch_add(1, Ordering::Relaxed);
            self.hit_counter.inc();
        } else {
            self.misses.fetch_add(1, Ordering::Relaxed);
            self.miss_counter.inc();
        }
        found
    }

    /// Keep `vector`, the embedding of `text` by `model`.
    pub async fn put(&self, model: &str, text: &str, vector: &[f32]) {
        let Some(shared) = &self.redis else { return };
        let key = Self::key(shared, model, vector.len() as u32, text);
        let bytes: Vec<u8> = vector.iter().flat_map(|f| f.to_le_bytes()).collect();
        let _ = shared
            .query::<()>(
                "embedding_put",
                ::redis::cmd("SET")
                    .arg(&key)
                    .arg(bytes)
                    .arg("EX")
                    .arg(self.ttl_secs),
            )
            .await;
    }

    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }
    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }

    /// For `/status`: kind `redis` or `off`; hits/misses of this replica.
    pub fn status(&self) -> CacheStatus {
        CacheStatus {
            name: "embeddings".into(),
            kind: if self.enabled() { "redis" } else { "off" }.into(),
            entries: 0,
            max_entries: 0,
            hits: self.hits(),
            misses: self.misses(),
            ttl_secs: if self.enabled() { self.ttl_secs } else { 0 },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn response(answer: &str) -> Arc<QueryResponse> {
        Arc::new(QueryResponse {
            answer: answer.into(),
            mode: ragd_api::RetrievalMode::Hybrid,
            citations: vec![],
            timings: Default::default(),
            cached: false,
        })
    }

    #[tokio::test]
    async fn invalidation_hides_old_entries_and_refuses_late_puts() {
        let cache = QueryCache::new(&CacheConfig::default(), None, &Metrics::new()).unwrap();
        assert_eq!(cache.kind(), "memory");
        let (found, t) = cache.get("docs", "q").await;
        assert!(found.is_none());
        cache.put(t, response("old")).await;
        assert_eq!(cache.get("docs", "q").await.0.unwrap().answer, "old");
        let (_, late) = cache.get("docs", "q2").await;
        cache.invalidate("docs").await;
        assert!(cache.get("docs", "q").await.0.is_none());
        // A result computed before the change must not be stored after it.
        cache.put(late, response("stale")).await;
        assert!(cache.get("docs", "q2").await.0.is_none());
        assert_eq!(cache.hits(), 1);
        assert_eq!(cache.misses(), 4);
        // Other collections are untouched.
        let (_, other) = cache.get("other", "q").await;
        cache.put(other, response("x")).await;
        cache.invalidate("docs").await;
        assert!(cache.get("other", "q").await.0.is_some());
        assert_eq!(cache.status().entries, 2);
    }

    #[tokio::test]
    async fn off_stores_nothing() {
        let cache = QueryCache::new(&CacheConfig::Off, None, &Metrics::new()).unwrap();
        let (_, t) = cache.get("docs", "q").await;
        assert!(!t.storable());
        cache.put(t, response("x")).await;
        assert!(cache.get("docs", "q").await.0.is_none());
        assert_eq!(cache.status().kind, "off");
    }

    #[test]
    fn redis_kind_needs_the_connection() {
        let cfg = CacheConfig::Redis { ttl_secs: 60 };
        assert!(QueryCache::new(&cfg, None, &Metrics::new()).is_err());
    }

    #[test]
    fn digest_separates_parts() {
        assert_ne!(digest(&[b"ab", b"c"]), digest(&[b"a", b"bc"]));
        assert_eq!(digest(&[b"x"]).len(), 64);
    }

    #[tokio::test]
    async fn embedding_cache_off_without_redis() {
        let c = EmbeddingCache::new(None, None, &Metrics::new());
        assert!(!c.enabled());
        assert!(c.get("m", 3, "q").await.is_none());
        c.put("m", "q", &[1.0, 2.0, 3.0]).await;
        assert_eq!((c.hits(), c.misses()), (0, 0));
        assert_eq!(c.status().kind, "off");
    }

    #[tokio::test]
    async fn embedding_cache_roundtrip() {
        let Some(url) = crate::redis::tests::test_url() else {
            return;
        };
        let cfg = crate::redis::tests::test_config(&url);
        let metrics = Metrics::new();
        let shared = Shared::open(&cfg, metrics.redis.clone()).await.unwrap();
        assert!(shared.wait_up(std::time::Duration::from_secs(5)).await);
        let a = EmbeddingCache::new(Some(&cfg), Some(shared.clone()), &metrics);
        // A second replica on the same Redis.
        let shared_b = Shared::open(&cfg, metrics.redis.clone()).await.unwrap();
        assert!(shared_b.wait_up(std::time::Duration::from_secs(5)).await);
        let b = EmbeddingCache::new(Some(&cfg), Some(shared_b), &metrics);
        let v = vec![0.25f32, -1.5, 3.0e-7, f32::MAX];
        assert!(a.get("pocket/minilm", 4, "what is ragd?").await.is_none());
        a.put("pocket/minilm", "what is ragd?", &v).await;
        assert_eq!(
            b.get("pocket/minilm", 4, "what is ragd?").await,
            Some(v.clone())
        );
        // Another model, another question, or other dimensions: no hit.
        assert!(b.get("other", 4, "what is ragd?").await.is_none());
        assert!(b.get("pocket/minilm", 4, "what is ragd").await.is_none());
        assert!(b.get("pocket/minilm", 3, "what is ragd?").await.is_none());
        assert_eq!((a.hits(), a.misses()), (0, 1));
        assert_eq!((b.hits(), b.misses()), (1, 3));
        assert_eq!(metrics.embedding_cache_hits.get(), 1);
        assert_eq!(b.status().kind, "redis");
        assert_eq!(b.status().ttl_secs, 60);
        // TTL is set.
        let key = EmbeddingCache::key(&shared, "pocket/minilm", 4, "what is ragd?");
        let ttl: i64 = shared
            .query("test", ::redis::cmd("TTL").arg(&key))
            .await
            .unwrap();
        assert!(ttl > 0 && ttl <= 60, "{ttl}");
        crate::redis::tests::cleanup(&shared).await;
    }
}
