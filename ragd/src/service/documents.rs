//! Documents: ingest, get, list, delete.
//!
//! An ingest is acknowledged only when it is durable in both stores. The
//! order of writes keeps every acknowledged version readable through a crash:
//! 0. the new version is recorded as pending in the metadata store,
//! 1. new vectors are upserted under fresh point ids (old ones stay),
//! 2. the metadata transaction swaps the document to its new version (and
//!    records the replaced one as pending),
//! 3. the previous version's vectors are deleted, and it is no longer
//!    pending.
//!
//! A crash after 0 or 1 leaves unreferenced vectors (never shown: queries
//! join on the metadata store); after 2, stale vectors. Either way the
//! version stays pending, and the orphan sweep ([`super::sweep`]) removes
//! its vectors when ragd starts again.

use std::collections::{BTreeSet, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use ragd_api::{
    Document, DocumentFormat, DocumentInput, DocumentList, DocumentSummary, IngestRequest,
    IngestResponse, IngestTimings, IngestedDocument, PageQuery,
};
use tracing::{Instrument, info_span};
use uuid::Uuid;

use super::{embedder_for, ms_since, resolve, unless_deleted};
use crate::app::{Backends, Topology};
use crate::chunk::Chunk;
use crate::embed::{EmbedError, Embedder, Lane};
use crate::error::ApiError;
use crate::key::CollectionKey;
use crate::meta::{CollectionRow, NewChunk, NewDocument};
use crate::vectors::{ChunkPoint, Sparse};

/// Stripes of the per-document ingest lock.
const DOC_LOCK_STRIPES: usize = 64;

/// Serialises concurrent writes of the same document id (striped locks),
/// and counts the ingests running (the `ingest` queue of `/status`).
pub struct DocLocks {
    stripes: Vec<tokio::sync::Mutex<()>>,
    running: AtomicU64,
}

impl Default for DocLocks {
    fn default() -> Self {
        Self::new()
    }
}

impl DocLocks {
    pub fn new() -> DocLocks {
        DocLocks {
            stripes: (0..DOC_LOCK_STRIPES)
                .map(|_| tokio::sync::Mutex::new(()))
                .collect(),
            running: AtomicU64::new(0),
        }
    }

    /// The stripe of a document id.
    fn stripe(&self, collection: CollectionKey, doc_id: &str) -> usize {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        collection.hash(&mut h);
        doc_id.hash(&mut h);
        (h.finish() as usize) % DOC_LOCK_STRIPES
    }

    /// Lock every stripe of `ids`, in order (so concurrent ingests cannot
    /// deadlock).
    pub(crate) async fn lock<'a>(
        &self,
        collection: CollectionKey,
        ids: impl Iterator<Item = &'a str>,
    ) -> Vec<tokio::sync::MutexGuard<'_, ()>> {
        let stripes: BTreeSet<usize> = ids.map(|id| self.stripe(collection, id)).collect();
        let mut guards = Vec::with_capacity(stripes.len());
        for s in stripes {
            guards.push(self.stripes[s].lock().await);
        }
        guards
    }

    /// Ingests running now.
    pub fn running(&self) -> u64 {
        self.running.load(Ordering::Relaxed)
    }
}

/// Counts one ingest as running until dropped (also when the request is
/// cancelled).
struct Running<'a>(&'a AtomicU64);

impl<'a> Running<'a> {
    fn start(counter: &'a AtomicU64) -> Running<'a> {
        counter.fetch_add(1, Ordering::Relaxed);
        Running(counter)
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Documents accepted in one ingest request.
pub const MAX_DOCUMENTS: usize = 1000;

fn validate_doc_id(id: &str, field: &str) -> Result<(), ApiError> {
    if id.is_empty() || id.chars().count() > 256 || id.chars().any(char::is_control) {
        return Err(ApiError::invalid(
            field,
            "must be 1-256 characters without control characters",
        ));
    }
    Ok(())
}

/// Largest metadata of one document, as JSON: it is copied into every
/// chunk's vector payload, so a large one would be multiplied.
pub const MAX_METADATA_BYTES: usize = 16 * 1024;
/// Deepest nesting of objects and arrays in metadata.
pub const MAX_METADATA_DEPTH: usize = 8;

fn validate_metadata(m: &ragd_api::Metadata, field: &str) -> Result<(), ApiError> {
    fn depth(v: &serde_json::Value) -> usize {
        match v {
            serde_json::Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
            serde_json::Value::Object(o) => 1 + o.values().map(depth).max().unwrap_or(0),
            _ => 0,
        }
    }
    let json = serde_json::to_string(m).unwrap_or_default();
    if json.len() > MAX_METADATA_BYTES {
        return Err(ApiError::invalid(
            field,
            format!(
                "must be at most {MAX_METADATA_BYTES} bytes as JSON, got {}",
                json.len()
            ),
        ));
    }
    if 1 + m.values().map(depth).max().unwrap_or(0) > MAX_METADATA_DEPTH {
        return Err(ApiError::invalid(
            field,
            format!("must nest objects and arrays at most {MAX_METADATA_DEPTH} deep"),
        ));
    }
    // PostgreSQL cannot store NUL in text or JSON (keys included).
    if json.contains("\\u0000") {
        return Err(ApiError::invalid(field, "must not contain NUL characters"));
    }
    Ok(())
}

/// One document to ingest as the pipeline takes it: the API's input (its
/// text already extracted when it came as a file, see [`super::files`]),
/// and what only the original knows.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Source {
    pub input: DocumentInput,
    /// SHA-256 (lowercase hex) of what the client sent, when that was not
    /// `input.text` itself (a file); of the text otherwise.
    pub sha256: Option<String>,
    /// Page starts of a paged source (PDF): (page from 1, byte offset in
    /// `input.text`), ascending.
    pub pages: Vec<(u32, usize)>,
}

impl From<DocumentInput> for Source {
    fn from(input: DocumentInput) -> Source {
        Source {
            input,
            sha256: None,
            pages: Vec::new(),
        }
    }
}

impl Source {
    fn sha256(&self) -> String {
        self.sha256
            .clone()
            .unwrap_or_else(|| super::files::sha256_hex(self.input.text.as_bytes()))
    }
}

/// Check documents as an ingest takes them (1 to [`MAX_DOCUMENTS`], ids,
/// text, metadata): 422 naming the field.
pub(crate) fn validate(docs: &[Source]) -> Result<(), ApiError> {
    if docs.is_empty() {
        return Err(ApiError::invalid(
            "documents",
            "must hold at least one document",
        ));
    }
    if docs.len() > MAX_DOCUMENTS {
        return Err(ApiError::invalid(
            "documents",
            format!(
                "at most {MAX_DOCUMENTS} documents per request, got {}",
                docs.len()
            ),
        ));
    }
    let mut seen = HashSet::new();
    for (i, d) in docs.iter().map(|s| &s.input).enumerate() {
        if let Some(id) = &d.id {
            validate_doc_id(id, &format!("documents[{i}].id"))?;
            if !seen.insert(id.as_str()) {
                return Err(ApiError::invalid(
                    format!("documents[{i}].id"),
                    format!("{id:?} appears more than once in this request"),
                ));
            }
        }
        if d.text.trim().is_empty() {
            return Err(ApiError::invalid(
                format!("documents[{i}].text"),
                "must not be empty",
            ));
        }
        // PostgreSQL cannot store NUL in text or JSON; refuse it on every
        // backend so that a document is accepted or refused alike.
        if d.text.contains('\0') {
            return Err(ApiError::invalid(
                format!("documents[{i}].text"),
                "must not contain NUL characters",
            ));
        }
        if let Some(m) = &d.metadata {
            validate_metadata(m, &format!("documents[{i}].metadata"))?;
        }
    }
    Ok(())
}

/// A chunk ready to be written: its text and heading, the text that is
/// indexed (embedded), its BM25 vector.
struct Prepared {
    chunk: Chunk,
    indexed: String,
    sparse: Sparse,
    /// The source's page the chunk starts on (paged sources).
    page: Option<u32>,
}

pub async fn ingest(
    b: &Backends,
    collection: &str,
    req: IngestRequest,
) -> Result<IngestResponse, ApiError> {
    let sources = super::files::from_json(req.documents).await?;
    ingest_sources(b, collection, sources).await
}

/// Ingest documents already made into [`Source`]s (uploaded files are
/// extracted by [`super::files`] first).
pub async fn ingest_sources(
    b: &Backends,
    collection: &str,
    sources: Vec<Source>,
) -> Result<IngestResponse, ApiError> {
    validate(&sources)?;
    let coll = resolve(b, collection).await?;
    let result = ingest_into(b, &coll, sources).await;
    // Nothing of an ingest into a collection deleted meanwhile remains
    // with the collection.
    unless_deleted(b, &coll, result).await
}

async fn ingest_into(
    b: &Backends,
    coll: &CollectionRow,
    sources: Vec<Source>,
) -> Result<IngestResponse, ApiError> {
    let started = Instant::now();
    let embedder = embedder_for(b, coll)?;
    let _running = Running::start(&b.doc_locks.running);
    let docs: Vec<Source> = sources
        .into_iter()
        .map(|mut d| {
            d.input.id.get_or_insert_with(|| Uuid::new_v4().to_string());
            d
        })
        .collect();

    // 1. Chunk every document (CPU work, off the async workers).
    let t = Instant::now();
    let chunked = chunk_all(b, &docs).await?;
    let chunk_ms = ms_since(t);

    // 2. Embed every chunk in one call (the embedder batches).
    let t = Instant::now();
    let vectors = embed_all(b, coll, embedder.as_ref(), &chunked).await?;
    let embed_ms = ms_since(t);

    // 3. Write both stores under the documents' locks.
    let t = Instant::now();
    let (points, new_docs) = to_writes(docs, chunked, vectors);
    let total_chunks = points.len();
    let documents = write(b, coll, points, &new_docs).await?;
    let store_ms = ms_since(t);
    b.metrics.ingested_chunks.inc_by(total_chunks as u64);
    Ok(IngestResponse {
        documents,
        chunks: total_chunks as u32,
        timings: IngestTimings {
            chunk_ms,
            embed_ms,
            store_ms,
            total_ms: ms_since(started),
        },
    })
}

/// Each document's chunks, with their BM25 vectors.
async fn chunk_all(b: &Backends, docs: &[Source]) -> Result<Vec<Vec<Prepared>>, ApiError> {
    let texts: Vec<(String, DocumentFormat, Vec<(u32, usize)>)> = docs
        .iter()
        .map(|d| (d.input.text.clone(), d.input.format, d.pages.clone()))
        .collect();
    let chunker = b.chunker.clone();
    let bm25 = b.bm25.clone();
    let chunked = b
        .cpu
        .run_batch(move || {
            texts
                .iter()
                .map(|(text, format, pages)| {
                    chunker
                        .split(text, *format)
                        .into_iter()
                        .map(|chunk| {
                            let indexed = chunk.indexed_text();
                            let sparse = bm25.document(&indexed);
                            Prepared {
                                page: ragd_extract::page_at(pages, chunk.offset),
                                chunk,
                                indexed,
                                sparse,
                            }
                        })
                        .collect()
                })
                .collect()
        })
        .await?;
    Ok(chunked)
}

/// One dense vector per chunk, in order, from the collection's embedder.
async fn embed_all(
    b: &Backends,
    coll: &CollectionRow,
    embedder: &dyn Embedder,
    chunked: &[Vec<Prepared>],
) -> Result<Vec<Vec<f32>>, ApiError> {
    let all: Vec<String> = chunked
        .iter()
        .flatten()
        .map(|p| p.indexed.clone())
        .collect();
    let want = all.len();
    let t = Instant::now();
    let vectors = embedder
        .embed(all, Lane::Batch)
        .instrument(info_span!("embed", embedder = %coll.embedder, texts = want))
        .await?;
    if vectors.len() != want {
        let got = vectors.len();
        return Err(EmbedError::Count { got, want }.into());
    }
    b.metrics
        .embed_duration
        .get_or_create(&crate::metrics::NameLabel {
            name: coll.embedder.clone(),
        })
        .observe(t.elapsed().as_secs_f64());
    Ok(vectors)
}

/// The vector points and metadata rows of the new versions.
fn to_writes(
    docs: Vec<Source>,
    chunked: Vec<Vec<Prepared>>,
    vectors: Vec<Vec<f32>>,
) -> (Vec<ChunkPoint>, Vec<NewDocument>) {
    let mut vectors = vectors.into_iter();
    let mut points = Vec::with_capacity(vectors.len());
    let mut new_docs = Vec::with_capacity(docs.len());
    for (source, chunks) in docs.into_iter().zip(chunked) {
        let sha256 = source.sha256();
        let doc = source.input;
        let version = Uuid::new_v4();
        let id = doc.id.unwrap_or_default();
        let metadata = doc.metadata.unwrap_or_default();
        let mut new_chunks = Vec::with_capacity(chunks.len());
        for (i, p) in chunks.into_iter().enumerate() {
            let point_id = Uuid::new_v4();
            points.push(ChunkPoint {
                id: point_id,
                doc_id: id.clone(),
                version,
                chunk_index: i as u32,
                vector: vectors.next().unwrap_or_default(),
                sparse: p.sparse,
                metadata: metadata.clone(),
            });
            new_chunks.push(NewChunk {
                point_id,
                index: i as u32,
                text: p.chunk.text,
                heading: p.chunk.heading,
                page: p.page,
            });
        }
        new_docs.push(NewDocument {
            id,
            version,
            text: doc.text,
            metadata,
            format: doc.format,
            sha256,
            chunks: new_chunks,
        });
    }
    (points, new_docs)
}

/// Steps 1-3 of the module documentation, holding the documents' locks.
async fn write(
    b: &Backends,
    coll: &CollectionRow,
    points: Vec<ChunkPoint>,
    new_docs: &[NewDocument],
) -> Result<Vec<IngestedDocument>, ApiError> {
    let _guards = b
        .doc_locks
        .lock(coll.key, new_docs.iter().map(|d| d.id.as_str()))
        .await;
    let versions: Vec<(&str, Uuid)> = new_docs
        .iter()
        .map(|d| (d.id.as_str(), d.version))
        .collect();
    b.meta
        .note_pending(coll.key, &versions)
        .instrument(info_span!("store", store = "metadata", op = "note_pending"))
        .await?;
    b.vectors
        .upsert(coll.key, points)
        .instrument(info_span!("store", store = "vectors", op = "upsert"))
        .await?;
    let mut results = Vec::with_capacity(new_docs.len());
    let mut replaced = Vec::new();
    for d in new_docs {
        let previous = b
            .meta
            .put_document(coll.key, d)
            .instrument(info_span!("store", store = "metadata", op = "put_document"))
            .await?;
        if let Some(old) = previous {
            replaced.push((d.id.as_str(), d.version, old));
        }
        results.push(IngestedDocument {
            id: d.id.clone(),
            chunks: d.chunks.len() as u32,
            replaced: previous.is_some(),
        });
    }
    b.cache
        .invalidate(&coll.name)
        .instrument(info_span!("cache", op = "invalidate"))
        .await;
    for (id, version, old) in replaced {
        drop_old_vectors(b, coll.key, id, old, Some(version)).await?;
    }
    Ok(results)
}

pub async fn get(b: &Backends, collection: &str, id: &str) -> Result<Document, ApiError> {
    let coll = resolve(b, collection).await?;
    let d = b
        .meta
        .get_document(coll.key, id)
        .await?
        .ok_or_else(|| ApiError::DocumentNotFound {
            collection: collection.to_string(),
            doc: id.to_string(),
        })?;
    Ok(Document {
        id: d.id,
        collection: coll.name,
        text: d.text,
        metadata: d.metadata,
        format: d.format,
        chunks: d.chunks,
        updated_at: d.updated_at,
        sha256: d.sha256,
    })
}

/// One page of a collection's documents (see [`PageQuery`]).
pub async fn list(
    b: &Backends,
    collection: &str,
    page: &PageQuery,
) -> Result<DocumentList, ApiError> {
    let limit = super::page_limit(page)?;
    let coll = resolve(b, collection).await?;
    let mut rows = b
        .meta
        .list_documents(coll.key, page.after.as_deref(), limit + 1)
        .await?;
    let next = super::next_cursor(&mut rows, limit, |d| &d.id);
    Ok(DocumentList {
        documents: rows
            .into_iter()
            .map(|d| DocumentSummary {
                id: d.id,
                chunks: d.chunks,
                bytes: d.bytes,
                updated_at: d.updated_at,
                sha256: d.sha256,
            })
            .collect(),
        next,
    })
}

pub async fn delete(b: &Backends, collection: &str, id: &str) -> Result<(), ApiError> {
    let coll = resolve(b, collection).await?;
    let _guard = b.doc_locks.lock(coll.key, std::iter::once(id)).await;
    // Metadata first: from this commit on, queries cannot return the
    // document even if the vector delete below is interrupted.
    let Some(deleted) = b
        .meta
        .delete_document(coll.key, id)
        .instrument(info_span!(
            "store",
            store = "metadata",
            op = "delete_document"
        ))
        .await?
    else {
        return Err(ApiError::DocumentNotFound {
            collection: collection.to_string(),
            doc: id.to_string(),
        });
    };
    b.cache.invalidate(&coll.name).await;
    let dropped = drop_old_vectors(b, coll.key, id, deleted, None).await;
    unless_deleted(b, &coll, dropped).await
}

/// Remove the vectors of version `old`, which the metadata no longer
/// references (`current` is the version it references now, if any), as the
/// deployment's [`Topology`] allows; then `old` is no longer pending.
///
/// One process: everything but `current` goes, which also sweeps versions
/// that a crash left behind between the vector write and the metadata swap
/// (the per-document locks guarantee no newer version is in flight). Shared
/// stores: only `old` goes, because another replica may have upserted the
/// vectors of a newer version that it has not swapped in yet; deleting
/// "everything but current" lost them (found by the two-replica race test).
async fn drop_old_vectors(
    b: &Backends,
    key: CollectionKey,
    doc_id: &str,
    old: Uuid,
    current: Option<Uuid>,
) -> Result<(), ApiError> {
    let span = info_span!("store", store = "vectors", op = "delete_document");
    match b.topology {
        Topology::SingleNode => {
            b.vectors
                .delete_document(key, doc_id, current)
                .instrument(span)
                .await?
        }
        Topology::SharedStores => {
            b.vectors
                .delete_version(key, doc_id, old)
                .instrument(span)
                .await?
        }
    }
    b.meta.clear_pending(key, doc_id, old).await?;
    Ok(())
}
