//! A local vector index that follows a shared log, so that replicas without
//! a Qdrant server still answer from the same vectors.
//!
//! With PostgreSQL metadata and embedded vectors, every change to the vectors
//! (create, drop, upsert, delete) is appended to a log kept in PostgreSQL
//! ([`VectorLog`]), and every replica applies the log, in order, to its own
//! in-process qdrant-edge index. A write returns once its log entries are
//! committed (durable, visible to every replica) and applied locally. A
//! search first checks the log's head: if another replica wrote something
//! newer, it is applied before searching, so a document acknowledged by one
//! replica is found by the next query on any other (read-your-writes across
//! replicas, at the price of one indexed `max(seq)` per uncached query).
//!
//! The local index is derived data: it is rebuilt from the log at start-up.
//!
//! - [`log`]: what a log entry is and what a log guarantees.
//! - [`postgres`]: the log in PostgreSQL.

pub mod log;
pub mod postgres;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use uuid::Uuid;

pub use self::log::{LogEntry, VectorLog};
use super::edge::EdgeStore;
use super::{ChunkPoint, Hit, MetaFilter, SearchQuery, VectorError, VectorStore};
use crate::key::CollectionKey;

/// Entries read from the log per round trip while catching up.
const READ_BATCH: usize = 2000;

/// The embedded index, kept in step with a [`VectorLog`].
pub struct Follower {
    local: Arc<EdgeStore>,
    log: Arc<dyn VectorLog>,
    /// Highest seq applied to the local index.
    applied: AtomicU64,
    /// One task applies at a time; others needing newer entries wait here.
    apply: tokio::sync::Mutex<()>,
}

impl Follower {
    /// Follow `log` into `local`, which must start empty; returns once the
    /// whole log is applied.
    pub async fn open(
        local: Arc<EdgeStore>,
        log: Arc<dyn VectorLog>,
    ) -> Result<Arc<Follower>, VectorError> {
        let f = Arc::new(Follower {
            local,
            log,
            applied: AtomicU64::new(0),
            apply: tokio::sync::Mutex::new(()),
        });
        let started = std::time::Instant::now();
        f.sync().await?;
        tracing::info!(
            seq = f.applied(),
            collections = f.local.keys().len(),
            ms = started.elapsed().as_millis() as u64,
            "vector index rebuilt from the log in PostgreSQL"
        );
        Ok(f)
    }

    /// Highest log seq applied locally.
    pub fn applied(&self) -> u64 {
        self.applied.load(Ordering::Acquire)
    }

    /// Apply everything committed to the log so far.
    pub async fn sync(&self) -> Result<(), VectorError> {
        let head = self.log.head().await?;
        self.catch_up_to(head).await
    }

    async fn catch_up_to(&self, target: u64) -> Result<(), VectorError> {
        if self.applied() >= target {
            return Ok(());
        }
        let _one_at_a_time = self.apply.lock().await;
        loop {
            let after = self.applied();
            if after >= target {
                return Ok(());
            }
            let batch = self.log.read(after, READ_BATCH).await?;
            let Some(&(last, _)) = batch.last() else {
                // Everything up to `target` was compacted away.
                return Ok(());
            };
            self.apply_batch(batch).await?;
            self.applied.store(last, Ordering::Release);
        }
    }

    /// Apply entries in order, sending runs of upserts to one collection in
    /// one call. Applying is idempotent (creating a collection that exists
    /// is skipped, upserts overwrite, deletes of nothing do nothing), so a
    /// batch interrupted by an error is simply applied again.
    async fn apply_batch(&self, batch: Vec<(u64, LogEntry)>) -> Result<(), VectorError> {
        let mut run: Option<(CollectionKey, Vec<ChunkPoint>)> = None;
        for (_, entry) in batch {
            if let LogEntry::Upsert { key, point } = entry {
                match &mut run {
                    Some((k, points)) if *k == key => points.push(point),
                    _ => {
                        self.flush_run(run.take()).await?;
                        run = Some((key, vec![point]));
                    }
                }
                continue;
            }
            self.flush_run(run.take()).await?;
            match entry {
                LogEntry::CreateCollection { key, dimensions } => {
                    if !self.local.contains(key) {
                        self.local.create_collection(key, dimensions).await?;
                    }
                }
                LogEntry::DropCollection { key } => self.local.drop_collection(key).await?,
                LogEntry::DeleteDocument { key, doc_id, keep } => {
                    if self.local.contains(key) {
                        self.local.delete_document(key, &doc_id, keep).await?;
                    }
                }
                LogEntry::DeleteVersion {
                    key,
                    doc_id,
                    version,
                } => {
                    if self.local.contains(key) {
                        self.local.delete_version(key, &doc_id, version).await?;
                    }
                }
                LogEntry::Upsert { .. } => unreachable!("handled above"),
            }
        }
        self.flush_run(run).await
    }

    async fn flush_run(
        &self,
        run: Option<(CollectionKey, Vec<ChunkPoint>)>,
    ) -> Result<(), VectorError> {
        match run {
            // A collection dropped later in the log is gone locally, and so
            // are its points: nothing to do.
            Some((key, points)) if self.local.contains(key) => self.local.upsert(key, points).await,
            _ => Ok(()),
        }
    }

    /// Commit `entries` to the log, then apply the log up to them.
    async fn write(&self, entries: Vec<LogEntry>) -> Result<(), VectorError> {
        let seq = self.log.append(entries).await?;
        self.catch_up_to(seq).await
    }
}

#[async_trait]
impl VectorStore for Follower {
    fn kind(&self) -> &'static str {
        "qdrant-edge+postgres-log"
    }

    async fn create_collection(
        &self,
        key: CollectionKey,
        dimensions: u32,
    ) -> Result<(), VectorError> {
        self.write(vec![LogEntry::CreateCollection { key, dimensions }])
            .await
    }

    async fn drop_collection(&self, key: CollectionKey) -> Result<(), VectorError> {
        self.write(vec![LogEntry::DropCollection { key }]).await
    }

    async fn upsert(&self, key: CollectionKey, points: Vec<ChunkPoint>) -> Result<(), VectorError> {
        if points.is_empty() {
            return Ok(());
        }
        let entries = points
            .into_iter()
            .map(|point| LogEntry::Upsert { key, point })
            .collect();
        self.write(entries).await
    }

    async fn delete_document(
        &self,
        key: CollectionKey,
        doc_id: &str,
        keep: Option<Uuid>,
    ) -> Result<(), VectorError> {
        self.write(vec![LogEntry::DeleteDocument {
            key,
            doc_id: doc_id.to_string(),
            keep,
        }])
        .await
    }

    async fn delete_version(
        &self,
        key: CollectionKey,
        doc_id: &str,
        version: Uuid,
    ) -> Result<(), VectorError> {
        self.write(vec![LogEntry::DeleteVersion {
            key,
            doc_id: doc_id.to_string(),
            version,
        }])
        .await
    }

    async fn search(
        &self,
        key: CollectionKey,
        query: &SearchQuery,
        limit: usize,
        filter: &MetaFilter,
    ) -> Result<Vec<Hit>, VectorError> {
        self.sync().await?;
        self.local.search(key, query, limit, filter).await
    }

    async fn count(&self, key: CollectionKey) -> Result<u64, VectorError> {
        self.sync().await?;
        self.local.count(key).await
    }

    async fn health(&self) -> Result<(), VectorError> {
        self.log.head().await?;
        self.local.health().await
    }

    fn pending_work(&self) -> u64 {
        self.local.pending_work()
    }

    async fn close(&self) {
        self.local.close().await
    }
}
