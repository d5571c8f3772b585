//! Opening ragd from its configuration: the only place that chooses
//! backends. Also reconciles the embedded vector store with the metadata
//! store after an unclean stop.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{App, Backends, Runtime, Topology};
use crate::answer;
use crate::cache::{EmbeddingCache, QueryCache};
use crate::chunk::Chunker;
use crate::config::{CacheConfig, Config, MetadataConfig, VectorsConfig};
use crate::cpu::CpuPool;
use crate::embed::{self, bm25::Bm25};
use crate::key::CollectionKey;
use crate::meta::MetaStore;
use crate::meta::postgres::PgStore;
use crate::meta::sqlite::SqliteStore;
use crate::metrics::Metrics;
use crate::pg::Pg;
use crate::service::documents::DocLocks;
use crate::service::jobs::{self, Jobs};
use crate::service::sweep;
use crate::vectors::VectorStore;
use crate::vectors::edge::EdgeStore;
use crate::vectors::follower::Follower;
use crate::vectors::follower::postgres::PgLog;
use crate::vectors::qdrant::QdrantStore;

/// Why ragd could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("metadata store: {0}")]
    Meta(#[from] crate::meta::MetaError),
    #[error("metadata store: {0}")]
    Postgres(#[from] crate::pg::PgError),
    #[error("vector store: {0}")]
    Vectors(#[from] crate::vectors::VectorError),
    #[error("embedder: {0}")]
    Embed(#[from] crate::embed::EmbedError),
    #[error("generator: {0}")]
    Generate(#[from] crate::answer::GenerateError),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Config(#[from] crate::config::ConfigError),
    #[error("chunking: {0}")]
    Chunking(#[from] text_splitter::ChunkConfigError),
    #[error("{0}")]
    Bm25(#[from] crate::embed::bm25::Bm25Error),
    #[error("{0}")]
    Redis(#[from] crate::redis::Error),
    #[error("orphan sweep: {0}")]
    Sweep(#[source] crate::error::ApiError),
}

/// The two stores, and what the embedded vector store already held.
struct Stores {
    meta: Arc<dyn MetaStore>,
    vectors: Arc<dyn VectorStore>,
    topology: Topology,
    /// Collections in the embedded vector store of this process, to
    /// reconcile with the metadata store (`None`: the vectors are shared or
    /// derived, see [`App::reconcile`]).
    vector_keys: Option<Vec<CollectionKey>>,
}

/// Open (and migrate) the configured metadata store alone, with the
/// PostgreSQL pool under it if any: what `ragd keys` works on offline.
pub async fn open_meta(
    config: &Config,
) -> Result<(Arc<dyn MetaStore>, Option<Arc<Pg>>), StartError> {
    Ok(match &config.metadata {
        MetadataConfig::Sqlite { max_connections } => (
            Arc::new(SqliteStore::open(&config.storage.data_dir, *max_connections).await?),
            None,
        ),
        MetadataConfig::Postgres(pg_config) => {
            let pg = Arc::new(Pg::open(pg_config).await?);
            (Arc::new(PgStore::new(pg.clone())), Some(pg))
        }
    })
}

/// Open the metadata store, then the vector store that goes with it.
async fn open_stores(config: &Config, cpu: &Arc<CpuPool>) -> Result<Stores, StartError> {
    let data_dir = &config.storage.data_dir;
    let (meta, pg) = open_meta(config).await?;
    let topology = match pg {
        None => Topology::SingleNode,
        Some(_) => Topology::SharedStores,
    };
    let (vectors, vector_keys): (Arc<dyn VectorStore>, _) = match (&config.vectors, pg) {
        (VectorsConfig::Embedded { index_threshold }, None) => {
            let store = EdgeStore::open(data_dir, cpu.clone(), *index_threshold).await?;
            let keys = store.keys();
            (store, Some(keys))
        }
        (VectorsConfig::Embedded { index_threshold }, Some(pg)) => {
            // This replica's index is derived data, rebuilt from the log in
            // PostgreSQL at every start, in its own directory.
            let dir = data_dir.join("follower");
            if dir.exists() {
                std::fs::remove_dir_all(&dir).map_err(|source| StartError::Io {
                    context: format!("cannot clear {}", dir.display()),
                    source,
                })?;
            }
            let local = EdgeStore::open(&dir, cpu.clone(), *index_threshold).await?;
            let log = Arc::new(PgLog::new(pg));
            (Follower::open(local, log).await?, None)
        }
        (VectorsConfig::Qdrant(q), _) => (QdrantStore::open(q).await?, None),
    };
    Ok(Stores {
        meta,
        vectors,
        topology,
        vector_keys,
    })
}

impl App {
    /// Open every backend the configuration names and build the runtime.
    pub async fn open(config: Config) -> Result<Arc<App>, StartError> {
        let cpu = Arc::new(CpuPool::new(config.cpu_threads()));
        // The metadata store comes first: with embedded vectors on
        // PostgreSQL, it also holds the log the vector index follows.
        let stores = open_stores(&config, &cpu).await?;
        let embedders = embed::build(&config.embedders, cpu.clone(), &config.upstream)?;
        let generator = answer::build(&config.generator, &config.upstream)?;
        let chunker = Arc::new(Chunker::new(&config.chunking)?);
        // BM25 length normalisation expects the average chunk length in
        // tokens: about one token per six characters of English once
        // stopwords are gone, for chunks filled close to their size.
        let bm25 = Arc::new(Bm25::new(config.chunking.size as f64 / 6.0)?);
        let metrics = Arc::new(Metrics::new());
        // Redis never fails start-up by being down (only by a bad URL).
        let redis = match &config.redis {
            Some(r) => Some(crate::redis::Shared::open(r, metrics.redis.clone()).await?),
            None => None,
        };
        if redis.is_some() && matches!(config.cache, CacheConfig::Memory { .. }) {
            tracing::warn!(
                "cache.kind = \"memory\" with [redis]: each replica caches alone and does not see another replica's changes until ttl_secs; use cache.kind = \"redis\" with several replicas"
            );
        }
        let cache = QueryCache::new(&config.cache, redis.clone(), &metrics)?;
        let embedding_cache = EmbeddingCache::new(config.redis.as_ref(), redis.clone(), &metrics);
        let runtime = Runtime::new(&config, redis.clone(), metrics.clone());
        let auth = crate::auth::Auth::new(&config.auth, stores.meta.clone());
        let backends = Backends {
            meta: stores.meta,
            vectors: stores.vectors,
            topology: stores.topology,
            names: (stores.topology == Topology::SingleNode)
                .then(crate::service::names::Names::default),
            embedders,
            generator,
            cache,
            embedding_cache,
            redis,
            chunker,
            bm25,
            cpu,
            max_queue_wait: match config.server.max_queue_wait_ms {
                0 => None,
                ms => Some(Duration::from_millis(ms)),
            },
            retrieval: config.retrieval.clone(),
            doc_locks: DocLocks::new(),
            jobs: Arc::new(Jobs::new()),
            metrics: metrics.clone(),
        };
        let app = App {
            config,
            backends: Arc::new(backends),
            runtime,
            auth,
            metrics,
            started: Instant::now(),
        };
        if let Some(keys) = stores.vector_keys {
            app.reconcile(&keys).await?;
        }
        app.sweep_orphans().await?;
        Ok(Arc::new(app))
    }

    /// Remove the vectors of ingests a crash cut short, then keep sweeping
    /// in the background (see [`crate::service::sweep`]).
    async fn sweep_orphans(&self) -> Result<(), StartError> {
        let grace = Duration::from_secs(self.config.storage.orphan_grace_secs);
        let now = match self.backends.topology {
            Topology::SingleNode => Duration::ZERO,
            Topology::SharedStores => grace,
        };
        let swept = sweep::sweep(&self.backends, now)
            .await
            .map_err(StartError::Sweep)?;
        if swept > 0 {
            tracing::warn!(
                versions = swept,
                "removed the vectors of ingests an unclean stop cut short"
            );
        }
        tokio::spawn(sweep::run(Arc::downgrade(&self.backends), grace));
        // Jobs after the sweep: a resumed job writes into a clean store.
        let b = &self.backends;
        tokio::spawn(jobs::run(Arc::downgrade(b), b.jobs.clone()));
        tokio::spawn(jobs::beat(b.meta.clone(), b.jobs.clone()));
        Ok(())
    }

    /// After an unclean stop the two stores can disagree about which
    /// collections exist: a create writes vectors first, a delete removes
    /// metadata first. Drop vector shards nobody owns; recreate missing ones.
    ///
    /// Only for the single-process embedded store: with shared stores
    /// another replica may be half-way through a create right now, and a
    /// leftover remote collection costs space, not correctness.
    async fn reconcile(&self, vector_keys: &[CollectionKey]) -> Result<(), StartError> {
        let b = &self.backends;
        let collections = b.meta.list_collections().await?;
        let known: HashSet<CollectionKey> = collections.iter().map(|c| c.key).collect();
        for key in vector_keys {
            if !known.contains(key) {
                tracing::warn!(%key, "dropping vector shard with no collection (interrupted create or delete)");
                b.vectors.drop_collection(*key).await?;
            }
        }
        let have: HashSet<&CollectionKey> = vector_keys.iter().collect();
        for c in &collections {
            if !have.contains(&c.key) {
                tracing::error!(collection = %c.name, "vector shard missing; recreating it empty (re-ingest this collection's documents)");
                b.vectors.create_collection(c.key, c.dimensions).await?;
            }
        }
        Ok(())
    }
}
