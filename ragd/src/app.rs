//! The running service's shared state, opened once at start-up.
//!
//! [`App::open`] chooses every backend from the configuration (the only place
//! that does), reconciles the vector store with the metadata store after an
//! unclean stop, and hands out one `Arc<App>` to every request.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use ragd_api::{ConfigSummary, PoolStatus, QueueStatus, RequestStats, Status};
use tokio::sync::Semaphore;

use crate::answer::{self, Generator};
use crate::cache::{EmbeddingCache, QueryCache};
use crate::chunk::Chunker;
use crate::config::{Config, MetadataConfig, VectorsConfig};
use crate::cpu::CpuPool;
use crate::embed::bm25::Bm25;
use crate::embed::{self, Embedders};
use crate::meta::MetaStore;
use crate::meta::postgres::PgStore;
use crate::meta::sqlite::SqliteStore;
use crate::metrics::Metrics;
use crate::vectors::VectorStore;
use crate::vectors::edge::EdgeStore;
use crate::vectors::follower::Follower;
use crate::vectors::qdrant::QdrantStore;

/// Stripes of the per-document ingest lock.
const DOC_LOCK_STRIPES: usize = 64;

pub struct App {
    pub config: Config,
    pub meta: Arc<dyn MetaStore>,
    pub vectors: Arc<dyn VectorStore>,
    pub embedders: Embedders,
    pub generator: Arc<dyn Generator>,
    /// Query-result cache (memory, Redis or off).
    pub cache: QueryCache,
    /// Question-embedding cache (Redis; off without it).
    pub embedding_cache: EmbeddingCache,
    /// The Redis connection replicas share, when `[redis]` is configured
    /// (up or down: ragd runs without it while it is down).
    pub redis: Option<Arc<crate::redis::Shared>>,
    /// Per-client request rate limit.
    pub rate_limiter: crate::ratelimit::RateLimiter,
    pub chunker: Arc<Chunker>,
    /// BM25 model for sparse (keyword) vectors.
    pub bm25: Arc<Bm25>,
    pub cpu: Arc<CpuPool>,
    pub metrics: Metrics,
    pub started: Instant,
    /// Admission control: one permit per API request in flight.
    pub limiter: Arc<Semaphore>,
    /// Serialises concurrent ingests of the same document id (striped).
    doc_locks: Vec<tokio::sync::Mutex<()>>,
    /// Ingest requests being processed.
    pub ingests_running: AtomicU64,
    pub shutting_down: AtomicBool,
    pub requests_total: AtomicU64,
    pub requests_5xx: AtomicU64,
}

/// Why ragd could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    // The backends' own messages already say which store failed.
    #[error("{0}")]
    Meta(#[from] crate::meta::MetaError),
    #[error("{0}")]
    Vectors(#[from] crate::vectors::VectorError),
    #[error("embedder: {0}")]
    Embed(#[from] crate::embed::EmbedError),
    #[error("generator: {0}")]
    Generate(#[from] crate::answer::GenerateError),
    #[error("{0}")]
    Config(String),
}

impl App {
    pub async fn open(config: Config) -> Result<Arc<App>, StartError> {
        let cpu = Arc::new(CpuPool::new(config.cpu_threads()));
        let data_dir = config.storage.data_dir.clone();
        // The metadata store comes first: with embedded vectors on
        // PostgreSQL, it also holds the log the vector index follows.
        let (meta, pg): (Arc<dyn MetaStore>, Option<Arc<PgStore>>) = match &config.metadata {
            MetadataConfig::Sqlite { max_connections } => (
                Arc::new(SqliteStore::open(&data_dir, *max_connections).await?),
                None,
            ),
            MetadataConfig::Postgres(pg_config) => {
                let pg = Arc::new(PgStore::open(pg_config).await?);
                (pg.clone(), Some(pg))
            }
        };
        let (vectors, vector_keys): (Arc<dyn VectorStore>, Option<Vec<String>>) =
            match (&config.vectors, pg) {
                (VectorsConfig::Embedded { index_threshold }, None) => {
                    let store = EdgeStore::open(&data_dir, cpu.clone(), *index_threshold).await?;
                    let keys = store.keys();
                    (store, Some(keys))
                }
                (VectorsConfig::Embedded { index_threshold }, Some(pg)) => {
                    // This replica's index is derived data, rebuilt from the
                    // log at every start, in its own directory.
                    let dir = data_dir.join("follower");
                    if dir.exists() {
                        std::fs::remove_dir_all(&dir).map_err(|e| {
                            StartError::Config(format!("cannot clear {}: {e}", dir.display()))
                        })?;
                    }
                    let local = EdgeStore::open(&dir, cpu.clone(), *index_threshold).await?;
                    (Follower::open(local, pg).await?, None)
                }
                (VectorsConfig::Qdrant(q), _) => (QdrantStore::open(q).await?, None),
            };
        let embedders = embed::build(&config.embedders, cpu.clone())?;
        let generator = answer::build(&config.generator)?;
        let chunker = Arc::new(Chunker::new(&config.chunking).map_err(StartError::Config)?);
        // BM25 length normalisation expects the average chunk length in
        // tokens: about one token per six characters of English once
        // stopwords are gone, for chunks filled close to their size.
        let bm25 =
            Arc::new(Bm25::new(config.chunking.size as f64 / 6.0).map_err(StartError::Config)?);
        // Redis never fails start-up by being down (only by a bad URL).
        let metrics = Metrics::new();
        let redis = match &config.redis {
            Some(r) => Some(
                crate::redis::Shared::open(r, metrics.redis.clone())
                    .await
                    .map_err(StartError::Config)?,
            ),
            None => None,
        };
        if redis.is_some() && matches!(config.cache, crate::config::CacheConfig::Memory { .. }) {
            tracing::warn!(
                "cache.kind = \"memory\" with [redis]: each replica caches alone and does not see another replica's changes until ttl_secs; use cache.kind = \"redis\" with several replicas"
            );
        }
        let cache =
            QueryCache::new(&config.cache, redis.clone(), &metrics).map_err(StartError::Config)?;
        let embedding_cache = EmbeddingCache::new(config.redis.as_ref(), redis.clone(), &metrics);
        let rate_limiter =
            crate::ratelimit::RateLimiter::new(&config.rate_limit, redis.clone(), &metrics);
        let app = App {
            bm25,
            cache,
            embedding_cache,
            redis,
            rate_limiter,
            limiter: Arc::new(Semaphore::new(config.server.max_in_flight as usize)),
            doc_locks: (0..DOC_LOCK_STRIPES)
                .map(|_| tokio::sync::Mutex::new(()))
                .collect(),
            config,
            meta,
            vectors,
            embedders,
            generator,
            chunker,
            cpu,
            metrics,
            started: Instant::now(),
            ingests_running: AtomicU64::new(0),
            shutting_down: AtomicBool::new(false),
            requests_total: AtomicU64::new(0),
            requests_5xx: AtomicU64::new(0),
        };
        if let Some(keys) = vector_keys {
            app.reconcile(&keys).await?;
        }
        Ok(Arc::new(app))
    }

    /// After an unclean stop the two stores can disagree about which
    /// collections exist: a create writes vectors first, a delete removes
    /// metadata first. Drop vector shards nobody owns; recreate missing ones.
    ///
    /// Only for the single-process embedded store: with shared stores
    /// another replica may be half-way through a create right now, and a
    /// leftover remote collection costs space, not correctness.
    async fn reconcile(&self, vector_keys: &[String]) -> Result<(), StartError> {
        let collections = self.meta.list_collections().await?;
        let known: std::collections::HashSet<String> =
            collections.iter().map(|c| c.key.to_string()).collect();
        for key in vector_keys {
            if !known.contains(key) {
                tracing::warn!(%key, "dropping vector shard with no collection (interrupted create or delete)");
                self.vectors.drop_collection(key).await?;
            }
        }
        let have: std::collections::HashSet<&String> = vector_keys.iter().collect();
        for c in &collections {
            if !have.contains(&c.key.to_string()) {
                tracing::error!(collection = %c.name, "vector shard missing; recreating it empty (re-ingest this collection's documents)");
                self.vectors
                    .create_collection(&c.key.to_string(), c.dimensions)
                    .await?;
            }
        }
        Ok(())
    }

    /// The lock stripe for a document id.
    pub fn doc_lock(&self, collection: &str, doc_id: &str) -> usize {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        collection.hash(&mut h);
        doc_id.hash(&mut h);
        (h.finish() as usize) % DOC_LOCK_STRIPES
    }

    pub fn doc_locks(&self) -> &[tokio::sync::Mutex<()>] {
        &self.doc_locks
    }

    /// Every pool with its real occupancy.
    pub fn pools(&self) -> Vec<PoolStatus> {
        let max = self.config.server.max_in_flight;
        let available = self.limiter.available_permits() as u32;
        let in_flight = max.saturating_sub(available);
        let mut pools = vec![
            self.meta.pool_status(),
            PoolStatus {
                name: "cpu".into(),
                kind: "blocking-threads".into(),
                size: self.cpu.threads() as u32,
                idle: (self.cpu.threads() as u64).saturating_sub(self.cpu.busy()) as u32,
                in_use: self.cpu.busy() as u32,
                max: self.cpu.threads() as u32,
                waiting: self.cpu.waiting() as u32,
                acquire_wait: None,
            },
            PoolStatus {
                name: "http-in-flight".into(),
                kind: "admission".into(),
                size: in_flight,
                idle: 0,
                in_use: in_flight,
                max,
                waiting: 0,
                acquire_wait: None,
            },
        ];
        if let Some(redis) = &self.redis {
            pools.push(redis.pool_status());
        }
        pools
    }

    pub fn queues(&self) -> Vec<QueueStatus> {
        let mut queues = vec![
            QueueStatus {
                name: "cpu".into(),
                depth: self.cpu.waiting(),
            },
            QueueStatus {
                name: "ingest".into(),
                depth: self.ingests_running.load(Ordering::Relaxed),
            },
            QueueStatus {
                name: "vector-indexing".into(),
                depth: self.vectors.pending_work(),
            },
        ];
        if let Some(r) = &self.redis {
            queues.push(QueueStatus {
                name: "redis-in-flight".into(),
                depth: r.in_flight(),
            });
        }
        queues
    }

    pub fn status(&self, state: &str) -> Status {
        let c = &self.config;
        let max = c.server.max_in_flight as u64;
        Status {
            version: env!("CARGO_PKG_VERSION").into(),
            uptime_secs: self.started.elapsed().as_secs_f64(),
            state: state.into(),
            config: ConfigSummary {
                listen: c.server.listen.to_string(),
                metadata: c.metadata.describe(),
                vectors: c.vectors.describe(),
                cache: c.cache.describe(),
                generator: c.generator.describe(),
                embedders: self
                    .embedders
                    .iter()
                    .map(|(name, e)| format!("{name}={}", e.model()))
                    .collect(),
                max_in_flight: c.server.max_in_flight,
                max_body_bytes: c.server.max_body_bytes,
                cpu_threads: self.cpu.threads() as u32,
            },
            pools: self.pools(),
            caches: vec![self.cache.status(), self.embedding_cache.status()],
            queues: self.queues(),
            requests: RequestStats {
                total: self.requests_total.load(Ordering::Relaxed),
                in_flight: max.saturating_sub(self.limiter.available_permits() as u64),
                shed: self.metrics.shed.get(),
                errors_5xx: self.requests_5xx.load(Ordering::Relaxed),
            },
            backends: Vec::new(),
        }
    }

    /// Flush and close every backend (called after the server drained).
    pub async fn close(&self) {
        self.vectors.close().await;
        self.meta.close().await;
    }
}
