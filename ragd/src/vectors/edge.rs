//! The embedded vector store: one qdrant-edge shard per collection under
//! `<data_dir>/vectors/<collection key>/`.
//!
//! qdrant-edge 0.7.2 is synchronous and has traps this module exists to hide
//! (see docs/ARCHITECTURE.md, "qdrant-edge"):
//! 1. `flush()` panics if another thread is inside `update()`: every update
//!    and flush of a shard runs under the shard's `write` lock.
//! 2. `load()` does not replay the WAL and `update()` does not fsync: an
//!    upsert returns only after a flush that covers it. Concurrent ingests
//!    share flushes (group commit): whoever flushes covers every update
//!    applied before it started.
//! 3. The WAL directory is never touched by hand.
//! 4. HNSW is built only by an explicit, blocking `optimize()`: it runs on a
//!    background thread once enough vectors are unindexed.
//! 6. `PointStruct::new` panics on a non-object payload: the payload is
//!    always built here as an object.
//!
//! All engine calls run on the [`CpuPool`], never on async workers.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use async_trait::async_trait;
use qdrant_edge::{
    AnyVariants, Condition, CreateIndex, Distance, EdgeConfig, EdgeOptimizersConfig, EdgeShard,
    EdgeSparseVectorParams, EdgeVectorParams, FieldCondition, FieldIndexOperations, Filter,
    JsonPath, Match, Modifier, NamedQuery, PayloadFieldSchema, PayloadSchemaType, PointId,
    PointInsertOperations, PointOperations, PointStruct, QueryEnum, QueryRequest, ScoringQuery,
    SparseVector, UpdateOperation, ValueVariants, Vector, Vectors, WithPayloadInterface,
    WithVector,
};
use uuid::Uuid;

use super::layout::{self, DENSE, SPARSE};
use super::{
    ChunkPoint, FilterValue, Hit, MetaFilter, SearchQuery, Sparse, VectorError, VectorStore,
};
use crate::cpu::CpuPool;
use crate::key::CollectionKey;

pub struct EdgeStore {
    root: PathBuf,
    pool: Arc<CpuPool>,
    /// Unindexed vectors that trigger a background HNSW build.
    index_threshold: u64,
    shards: RwLock<HashMap<CollectionKey, Arc<Shard>>>,
    /// Background optimizations running now.
    optimizing: Arc<AtomicU64>,
}

struct Shard {
    /// Dropped by hand (see `Drop for Shard`).
    engine: std::mem::ManuallyDrop<EdgeShard>,
    dir: PathBuf,
    /// Serialises `update()` and `flush()` (trap 1).
    write: Mutex<()>,
    /// Number of updates applied so far.
    applied: AtomicU64,
    /// Number of updates covered by the last completed flush.
    flushed: Mutex<u64>,
    /// Vectors written since the last optimize.
    unindexed: AtomicU64,
    optimizing: AtomicBool,
}

/// An I/O error on `path`, saying what was being done.
fn io(what: &str, path: &Path) -> impl FnOnce(std::io::Error) -> VectorError {
    let context = format!("{what} {}", path.display());
    move |source| VectorError::Io { context, source }
}

impl EdgeStore {
    /// Open every shard under `<data_dir>/vectors`.
    pub async fn open(
        data_dir: &Path,
        pool: Arc<CpuPool>,
        index_threshold: u64,
    ) -> Result<Arc<EdgeStore>, VectorError> {
        let root = data_dir.join("vectors");
        std::fs::create_dir_all(&root).map_err(io("cannot create", &root))?;
        let store = Arc::new(EdgeStore {
            root: root.clone(),
            pool,
            index_threshold,
            shards: RwLock::new(HashMap::new()),
            optimizing: Arc::new(AtomicU64::new(0)),
        });
        let entries = std::fs::read_dir(&root).map_err(io("cannot read", &root))?;
        for entry in entries.flatten() {
            let path = entry.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if !path.is_dir() || name.starts_with('.') {
                continue;
            }
            let Ok(key) = name.parse::<CollectionKey>() else {
                tracing::warn!(dir = %path.display(), "not a collection key; left alone");
                continue;
            };
            let p = path.clone();
            let engine = store.pool.run(move || EdgeShard::load(&p, None)).await??;
            let info = engine.info();
            let unindexed = info.points_count.saturating_sub(info.indexed_vectors_count) as u64;
            let shard = Arc::new(Shard::new(engine, unindexed));
            store
                .shards
                .write()
                .expect("shard map lock")
                .insert(key, shard.clone());
            store.maybe_optimize(key, &shard);
        }
        Ok(store)
    }

    /// Whether a collection's shard is open.
    pub fn contains(&self, key: CollectionKey) -> bool {
        self.shards
            .read()
            .expect("shard map lock")
            .contains_key(&key)
    }

    /// Delete the points matching `filter` and flush.
    async fn delete_where(&self, key: CollectionKey, filter: Filter) -> Result<(), VectorError> {
        let shard = self.shard(key)?;
        self.pool
            .run(move || -> Result<(), VectorError> {
                let seq = shard.apply(UpdateOperation::PointOperation(
                    PointOperations::DeletePointsByFilter(filter),
                ))?;
                shard.flush_covering(seq)
            })
            .await?
    }

    /// Keys of the shards on disk (collections the vector store knows).
    pub fn keys(&self) -> Vec<CollectionKey> {
        self.shards
            .read()
            .expect("shard map lock")
            .keys()
            .copied()
            .collect()
    }

    fn shard(&self, key: CollectionKey) -> Result<Arc<Shard>, VectorError> {
        self.shards
            .read()
            .expect("shard map lock")
            .get(&key)
            .cloned()
            .ok_or(VectorError::NoSuchCollection(key))
    }

    fn shard_config(&self, dimensions: u32) -> EdgeConfig {
        // The indexing threshold is in KiB of vector data.
        let kb = (self.index_threshold as usize * dimensions as usize * 4 / 1024).max(1);
        EdgeConfig::builder()
            .vector(
                DENSE,
                EdgeVectorParams::builder(dimensions as usize, Distance::Cosine).build(),
            )
            .sparse_vector(
                SPARSE,
                EdgeSparseVectorParams::builder()
                    .modifier(Modifier::Idf)
                    .build(),
            )
            .optimizers(EdgeOptimizersConfig {
                indexing_threshold: Some(kb),
                ..Default::default()
            })
            .build()
    }

    /// Start a background HNSW build if enough vectors are unindexed.
    fn maybe_optimize(&self, key: CollectionKey, shard: &Arc<Shard>) {
        if shard.unindexed.load(Ordering::Relaxed) < self.index_threshold {
            return;
        }
        if shard.optimizing.swap(true, Ordering::AcqRel) {
            return;
        }
        let shard = shard.clone();
        let running = self.optimizing.clone();
        let threshold = self.index_threshold;
        running.fetch_add(1, Ordering::Relaxed);
        std::thread::Builder::new()
            .name(format!("optimize-{key}"))
            .spawn(move || {
                // Index building is bulk work: at the batch lane's priority
                // (with the threads the engine starts from here), it takes
                // the CPU only when questions leave it idle.
                crate::cpu::lower_priority();
                // Vectors written while an optimize runs are left for the
                // next round, so loop until few enough remain.
                loop {
                    let before = shard.unindexed.load(Ordering::Relaxed);
                    if before < threshold {
                        break;
                    }
                    let started = std::time::Instant::now();
                    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        shard.engine.optimize()
                    }));
                    match result {
                        Ok(Ok(_)) => {
                            shard.unindexed.fetch_sub(before, Ordering::Relaxed);
                            tracing::info!(collection = %key, vectors = before, secs = started.elapsed().as_secs_f64(), "vector index built");
                        }
                        Ok(Err(e)) => {
                            tracing::warn!(collection = %key, error = %e, "optimize failed");
                            break;
                        }
                        Err(_) => {
                            tracing::error!(collection = %key, "optimize panicked");
                            break;
                        }
                    }
                }
                shard.optimizing.store(false, Ordering::Release);
                running.fetch_sub(1, Ordering::Relaxed);
            })
            .map_err(|e| tracing::error!(error = %e, "cannot start optimize thread"))
            .ok();
    }
}

impl Drop for Shard {
    /// The engine flushes itself when dropped and panics if its files are
    /// gone (a deleted collection, a removed data directory): drop it only
    /// while its directory exists; otherwise there is nothing left to flush.
    fn drop(&mut self) {
        if self.dir.exists() {
            let engine = &mut self.engine;
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                // SAFETY: dropped exactly once, here, and never used again.
                unsafe { std::mem::ManuallyDrop::drop(engine) }
            }));
        }
    }
}

impl Shard {
    fn new(engine: EdgeShard, unindexed: u64) -> Shard {
        Shard {
            dir: engine.path().to_path_buf(),
            engine: std::mem::ManuallyDrop::new(engine),
            write: Mutex::new(()),
            applied: AtomicU64::new(0),
            flushed: Mutex::new(0),
            unindexed: AtomicU64::new(unindexed),
            optimizing: AtomicBool::new(false),
        }
    }

    /// Apply one update under the write lock; returns its sequence number.
    fn apply(&self, op: UpdateOperation) -> Result<u64, VectorError> {
        let _w = self.write.lock().unwrap_or_else(|p| p.into_inner());
        self.engine.update(op)?;
        Ok(self.applied.fetch_add(1, Ordering::AcqRel) + 1)
    }

    /// Return once a flush covering update `seq` has completed (group commit).
    fn flush_covering(&self, seq: u64) -> Result<(), VectorError> {
        let mut flushed = self.flushed.lock().unwrap_or_else(|p| p.into_inner());
        if *flushed >= seq {
            return Ok(());
        }
        let _w = self.write.lock().unwrap_or_else(|p| p.into_inner());
        let upto = self.applied.load(Ordering::Acquire);
        // flush() asserts it holds the segment lock at once; a background
        // optimize may hold it for a moment while swapping segments.
        for attempt in 0..50 {
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.engine.flush())) {
                Ok(()) => {
                    *flushed = upto;
                    return Ok(());
                }
                Err(_) if attempt < 49 => std::thread::sleep(std::time::Duration::from_millis(20)),
                Err(_) => break,
            }
        }
        Err(VectorError::FlushIncomplete)
    }
}

fn to_sparse(s: Sparse) -> SparseVector {
    SparseVector {
        indices: s.indices,
        values: s.values,
    }
}

/// The best `limit` points for `vector` on the named vector: (point id,
/// score), ranked like every store ranks (see [`super::nearest_complete`]).
fn nearest(
    engine: &EdgeShard,
    using: &str,
    vector: qdrant_edge::VectorInternal,
    limit: usize,
    filter: &Option<Filter>,
) -> Result<Vec<(Uuid, f32)>, VectorError> {
    super::nearest_complete_sync(limit, |n| {
        nearest_once(engine, using, vector.clone(), n, filter)
    })
}

/// One nearest-neighbour query as the engine answers it.
fn nearest_once(
    engine: &EdgeShard,
    using: &str,
    vector: qdrant_edge::VectorInternal,
    limit: usize,
    filter: &Option<Filter>,
) -> Result<Vec<(Uuid, f32)>, VectorError> {
    let request = QueryRequest {
        prefetches: vec![],
        query: Some(ScoringQuery::Vector(QueryEnum::Nearest(NamedQuery {
            query: vector,
            using: Some(using.to_string()),
        }))),
        filter: filter.clone(),
        score_threshold: None,
        limit,
        offset: 0,
        params: None,
        with_vector: WithVector::Bool(false),
        with_payload: WithPayloadInterface::Bool(false),
    };
    Ok(engine
        .query(request)?
        .into_iter()
        .filter_map(|p| match p.id {
            PointId::Uuid(id) => Some((id, p.score)),
            PointId::NumId(_) => None,
        })
        .collect())
}

/// Payload field `field` equals `value`.
fn keyword_condition(field: &str, value: String) -> Condition {
    Condition::Field(FieldCondition::new_match(
        field.parse::<JsonPath>().expect("static json path"),
        Match::new_value(ValueVariants::String(value)),
    ))
}

fn doc_condition(doc_id: &str) -> Condition {
    keyword_condition(layout::DOC_ID, doc_id.to_string())
}

fn version_condition(version: Uuid) -> Condition {
    keyword_condition(layout::VERSION, version.to_string())
}

fn to_filter(filter: &MetaFilter) -> Option<Filter> {
    if filter.0.is_empty() {
        return None;
    }
    let conds = filter
        .0
        .iter()
        .filter_map(|(key, v)| {
            // Keys are validated to [A-Za-z0-9_-], so this path always parses.
            let path = layout::meta_field(key).parse::<JsonPath>().ok()?;
            let m = match v {
                FilterValue::String(s) => Match::new_value(ValueVariants::String(s.clone())),
                FilterValue::Integer(i) => Match::new_value(ValueVariants::Integer(*i)),
                FilterValue::Bool(b) => Match::new_value(ValueVariants::Bool(*b)),
                FilterValue::AnyString(v) => {
                    Match::new_any(AnyVariants::Strings(v.iter().cloned().collect()))
                }
                FilterValue::AnyInteger(v) => {
                    Match::new_any(AnyVariants::Integers(v.iter().copied().collect()))
                }
            };
            Some(Condition::Field(FieldCondition::new_match(path, m)))
        })
        .collect();
    Some(Filter {
        must: Some(conds),
        ..Default::default()
    })
}

#[async_trait]
impl VectorStore for EdgeStore {
    fn kind(&self) -> &'static str {
        "qdrant-edge"
    }

    async fn create_collection(
        &self,
        key: CollectionKey,
        dimensions: u32,
    ) -> Result<(), VectorError> {
        let dir = self.root.join(key.to_string());
        let config = self.shard_config(dimensions);
        let engine = self
            .pool
            .run(move || -> Result<EdgeShard, VectorError> {
                std::fs::create_dir_all(&dir).map_err(io("cannot create", &dir))?;
                let engine = EdgeShard::new(&dir, config)?;
                // Deletes and re-ingests filter on these fields.
                for field in layout::INDEXED_FIELDS {
                    engine.update(UpdateOperation::FieldIndexOperation(
                        FieldIndexOperations::CreateIndex(CreateIndex {
                            field_name: field.parse::<JsonPath>().expect("static json path"),
                            field_schema: Some(PayloadFieldSchema::FieldType(
                                PayloadSchemaType::Keyword,
                            )),
                        }),
                    ))?;
                }
                engine.flush();
                Ok(engine)
            })
            .await??;
        self.shards
            .write()
            .expect("shard map lock")
            .insert(key, Arc::new(Shard::new(engine, 0)));
        Ok(())
    }

    async fn drop_collection(&self, key: CollectionKey) -> Result<(), VectorError> {
        let shard = self.shards.write().expect("shard map lock").remove(&key);
        let dir = self.root.join(key.to_string());
        self.pool
            .run(move || {
                if let Some(shard) = shard {
                    // The engine flushes when dropped: wait until in-flight
                    // searches and writes let go of it, drop it here, and
                    // only then delete its files.
                    for _ in 0..1000 {
                        if Arc::strong_count(&shard) == 1 {
                            break;
                        }
                        std::thread::sleep(std::time::Duration::from_millis(10));
                    }
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(shard)));
                }
                match std::fs::remove_dir_all(&dir) {
                    Ok(()) => Ok(()),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                    Err(e) => Err(io("cannot remove", &dir)(e)),
                }
            })
            .await?
    }

    async fn upsert(&self, key: CollectionKey, points: Vec<ChunkPoint>) -> Result<(), VectorError> {
        if points.is_empty() {
            return Ok(());
        }
        let shard = self.shard(key)?;
        let n = points.len() as u64;
        let s = shard.clone();
        // Upserts come from ingests (and the follower's replay of them):
        // bulk work, in the batch lane. Searches do not wait for them.
        self.pool
            .run_batch(move || -> Result<(), VectorError> {
                let list = points
                    .into_iter()
                    .map(|p| {
                        let payload = serde_json::Value::Object(layout::payload(&p));
                        let mut named = vec![(DENSE, Vector::new_dense(p.vector))];
                        if !p.sparse.is_empty() {
                            named.push((SPARSE, Vector::from(to_sparse(p.sparse))));
                        }
                        PointStruct::new(PointId::Uuid(p.id), Vectors::new_named(named), payload)
                            .into()
                    })
                    .collect();
                let seq = s.apply(UpdateOperation::PointOperation(
                    PointOperations::UpsertPoints(PointInsertOperations::PointsList(list)),
                ))?;
                s.flush_covering(seq)
            })
            .await??;
        shard.unindexed.fetch_add(n, Ordering::Relaxed);
        self.maybe_optimize(key, &shard);
        Ok(())
    }

    async fn delete_document(
        &self,
        key: CollectionKey,
        doc_id: &str,
        keep: Option<Uuid>,
    ) -> Result<(), VectorError> {
        let mut filter = Filter::new_must(doc_condition(doc_id));
        if let Some(v) = keep {
            filter.must_not = Some(vec![version_condition(v)]);
        }
        self.delete_where(key, filter).await
    }

    async fn delete_version(
        &self,
        key: CollectionKey,
        doc_id: &str,
        version: Uuid,
    ) -> Result<(), VectorError> {
        let mut filter = Filter::new_must(doc_condition(doc_id));
        filter
            .must
            .get_or_insert_with(Vec::new)
            .push(version_condition(version));
        self.delete_where(key, filter).await
    }

    async fn search(
        &self,
        key: CollectionKey,
        query: &SearchQuery,
        limit: usize,
        filter: &MetaFilter,
    ) -> Result<Vec<Hit>, VectorError> {
        let shard = self.shard(key)?;
        let filter = to_filter(filter);
        let mut query = query.clone();
        self.pool
            .run(move || -> Result<Vec<Hit>, VectorError> {
                let dense = match query.dense.take() {
                    Some(v) => Some(nearest(&shard.engine, DENSE, v.into(), limit, &filter)?),
                    None => None,
                };
                let sparse = match query.sparse.take() {
                    Some(s) if !s.is_empty() => Some(nearest(
                        &shard.engine,
                        SPARSE,
                        to_sparse(s).into(),
                        limit,
                        &filter,
                    )?),
                    _ => None,
                };
                Ok(super::combine(dense, sparse, &query, limit))
            })
            .await?
    }

    async fn count(&self, key: CollectionKey) -> Result<u64, VectorError> {
        let shard = self.shard(key)?;
        let n = self
            .pool
            .run(move || shard.engine.info().points_count)
            .await?;
        Ok(n as u64)
    }

    async fn health(&self) -> Result<(), VectorError> {
        let root = self.root.clone();
        match std::fs::metadata(&root) {
            Ok(m) if m.is_dir() => Ok(()),
            Ok(_) => Err(VectorError::Io {
                context: root.display().to_string(),
                source: std::io::Error::other("not a directory"),
            }),
            Err(source) => Err(VectorError::Io {
                context: root.display().to_string(),
                source,
            }),
        }
    }

    fn pending_work(&self) -> u64 {
        self.optimizing.load(Ordering::Relaxed)
    }

    async fn close(&self) {
        let shards: Vec<Arc<Shard>> = self
            .shards
            .read()
            .expect("shard map lock")
            .values()
            .cloned()
            .collect();
        for shard in shards {
            let seq = shard.applied.load(Ordering::Acquire);
            let _ = self.pool.run(move || shard.flush_covering(seq)).await;
        }
    }
}
