//! What requests use: the stores, embedders, generator and caches, and the
//! kind of deployment they form. Opened once by [`super::App::open`];
//! services take `&Backends` (or the part of it they need).

use std::sync::Arc;

use crate::answer::Generator;
use crate::cache::{EmbeddingCache, QueryCache};
use crate::chunk::Chunker;
use crate::config::RetrievalConfig;
use crate::cpu::CpuPool;
use crate::embed::Embedders;
use crate::embed::bm25::Bm25;
use crate::meta::MetaStore;
use crate::metrics::Metrics;
use crate::service::documents::DocLocks;
use crate::service::jobs::Jobs;
use crate::vectors::VectorStore;

/// What kind of deployment the stores form, decided once from the
/// configuration (the metadata store's kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topology {
    /// One process owns the stores (SQLite metadata). Nothing else writes
    /// them, so after an ingest every version of a document but the current
    /// one can go, which also sweeps versions a crash left behind.
    SingleNode,
    /// Replicas share the stores (PostgreSQL metadata). Another replica may
    /// have written the vectors of a newer version that it has not committed
    /// yet, so old vectors are deleted version by version, never "all but
    /// the current one".
    SharedStores,
}

/// The backends of a running ragd.
pub struct Backends {
    /// Collections, documents and chunk texts: the source of truth.
    pub meta: Arc<dyn MetaStore>,
    /// The index the metadata store's chunks point into.
    pub vectors: Arc<dyn VectorStore>,
    pub topology: Topology,
    /// Collection rows by name, on a single node (`None` on shared stores).
    pub names: Option<crate::service::names::Names>,
    /// The configured embedders by name; a collection records the one it
    /// was created with.
    pub embedders: Embedders,
    pub generator: Arc<dyn Generator>,
    /// Query-result cache (memory, Redis or off).
    pub cache: QueryCache,
    /// Question-embedding cache (Redis; off without it).
    pub embedding_cache: EmbeddingCache,
    /// The Redis connection replicas share, when `[redis]` is configured
    /// (up or down: ragd runs without it while it is down).
    pub redis: Option<Arc<crate::redis::Shared>>,
    pub chunker: Arc<Chunker>,
    /// BM25 model for sparse (keyword) vectors.
    pub bm25: Arc<Bm25>,
    /// The bounded pool for CPU-heavy work.
    pub cpu: Arc<CpuPool>,
    /// Uncached questions are refused while the CPU queue holds more work
    /// than this (`server.max_queue_wait_ms`; `None`: never).
    pub max_queue_wait: Option<std::time::Duration>,
    /// Retrieval settings (`[retrieval]`).
    pub retrieval: RetrievalConfig,
    /// Per-document ingest locks and the count of ingests running.
    pub doc_locks: DocLocks,
    /// This process's runner of asynchronous ingests.
    pub jobs: Arc<Jobs>,
    pub metrics: Arc<Metrics>,
}

impl Backends {
    /// Make everything written durable and close the stores.
    pub async fn close(&self) {
        // The job runner finishes its batch and lets go of the stores; the
        // job resumes at the next start.
        self.jobs.stop().await;
        self.vectors.close().await;
        self.meta.close().await;
    }
}
