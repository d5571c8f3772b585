//! Documents: ingest, get, list, delete.
//!
//! An ingest is acknowledged only when it is durable in both stores. The
//! order of writes keeps every acknowledged version readable through a crash:
//! 1. new vectors are upserted under fresh point ids (old ones stay),
//! 2. the metadata transaction swaps the document to its new version,
//! 3. the previous version's vectors are deleted.
//!
//! A crash after 1 leaves unreferenced vectors (never shown: queries join on
//! the metadata store); after 2, stale vectors that step 3 of the next ingest
//! or delete of that document removes.

use std::collections::{BTreeSet, HashSet};
use std::sync::atomic::Ordering;
use std::time::Instant;

use ragd_api::{
    Document, DocumentInput, DocumentSummary, IngestRequest, IngestResponse, IngestTimings,
    IngestedDocument,
};
use uuid::Uuid;

use super::{embedder_for, ms_since, resolve};
use crate::app::App;
use crate::chunk::Chunk;
use crate::error::ApiError;
use crate::meta::{NewChunk, NewDocument};
use crate::vectors::{ChunkPoint, Sparse};

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

fn validate(req: &IngestRequest) -> Result<(), ApiError> {
    if req.documents.is_empty() {
        return Err(ApiError::invalid(
            "documents",
            "must hold at least one document",
        ));
    }
    if req.documents.len() > MAX_DOCUMENTS {
        return Err(ApiError::invalid(
            "documents",
            format!(
                "at most {MAX_DOCUMENTS} documents per request, got {}",
                req.documents.len()
            ),
        ));
    }
    let mut seen = HashSet::new();
    for (i, d) in req.documents.iter().enumerate() {
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
        if let Some(m) = &d.metadata
            && serde_json::to_string(m).is_ok_and(|j| j.contains("\\u0000"))
        {
            return Err(ApiError::invalid(
                format!("documents[{i}].metadata"),
                "must not contain NUL characters",
            ));
        }
    }
    Ok(())
}

pub async fn ingest(
    app: &App,
    collection: &str,
    req: IngestRequest,
) -> Result<IngestResponse, ApiError> {
    let started = Instant::now();
    validate(&req)?;
    let coll = resolve(app, collection).await?;
    let embedder = embedder_for(app, &coll)?;
    app.ingests_running.fetch_add(1, Ordering::Relaxed);
    let _running = scopeguard(|| {
        app.ingests_running.fetch_sub(1, Ordering::Relaxed);
    });

    // 1. Chunk every document (CPU work, off the async workers).
    let t = Instant::now();
    let docs: Vec<DocumentInput> = req
        .documents
        .into_iter()
        .map(|mut d| {
            d.id.get_or_insert_with(|| Uuid::new_v4().to_string());
            d
        })
        .collect();
    let texts: Vec<(String, ragd_api::DocumentFormat)> =
        docs.iter().map(|d| (d.text.clone(), d.format)).collect();
    let chunker = app.chunker.clone();
    let bm25 = app.bm25.clone();
    // Per document: its chunks, each with the text that is indexed and its
    // BM25 vector.
    let chunked: Vec<Vec<(Chunk, String, Sparse)>> = app
        .cpu
        .run(move || {
            texts
                .iter()
                .map(|(text, format)| {
                    chunker
                        .split(text, *format)
                        .into_iter()
                        .map(|c| {
                            let indexed = c.indexed_text();
                            let sparse = bm25.document(&indexed);
                            (c, indexed, sparse)
                        })
                        .collect()
                })
                .collect()
        })
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let chunk_ms = ms_since(t);

    // 2. Embed every chunk in one call (the embedder batches).
    let t = Instant::now();
    let all: Vec<String> = chunked
        .iter()
        .flatten()
        .map(|(_, indexed, _)| indexed.clone())
        .collect();
    let total_chunks = all.len();
    let vectors = embedder.embed(all).await?;
    if vectors.len() != total_chunks {
        return Err(ApiError::backend(
            "embedder",
            format!(
                "returned {} vectors for {total_chunks} chunks",
                vectors.len()
            ),
        ));
    }
    app.metrics
        .embed_duration
        .get_or_create(&crate::metrics::NameLabel {
            name: coll.embedder.clone(),
        })
        .observe(t.elapsed().as_secs_f64());
    let embed_ms = ms_since(t);

    // 3. Hold the per-document locks (sorted, so concurrent ingests cannot
    //    deadlock) while the stores are written.
    let t = Instant::now();
    let key = coll.key.to_string();
    let stripes: BTreeSet<usize> = docs
        .iter()
        .map(|d| app.doc_lock(&key, d.id.as_deref().unwrap_or_default()))
        .collect();
    let mut guards = Vec::with_capacity(stripes.len());
    for s in stripes {
        guards.push(app.doc_locks()[s].lock().await);
    }

    let mut vectors = vectors.into_iter();
    let mut points = Vec::with_capacity(total_chunks);
    let mut new_docs = Vec::with_capacity(docs.len());
    for (doc, chunks) in docs.into_iter().zip(chunked) {
        let version = Uuid::new_v4();
        let id = doc.id.unwrap_or_default();
        let metadata = doc.metadata.unwrap_or_default();
        let mut new_chunks = Vec::with_capacity(chunks.len());
        for (i, (chunk, _, sparse)) in chunks.into_iter().enumerate() {
            let point_id = Uuid::new_v4();
            points.push(ChunkPoint {
                id: point_id,
                doc_id: id.clone(),
                version,
                chunk_index: i as u32,
                vector: vectors.next().unwrap_or_default(),
                sparse,
                metadata: metadata.clone(),
            });
            new_chunks.push(NewChunk {
                point_id,
                index: i as u32,
                text: chunk.text,
                heading: chunk.heading,
            });
        }
        new_docs.push(NewDocument {
            id,
            version,
            text: doc.text,
            metadata,
            format: doc.format,
            chunks: new_chunks,
        });
    }
    app.vectors.upsert(&key, points).await?;
    let mut results = Vec::with_capacity(new_docs.len());
    let mut replaced = Vec::new();
    for d in &new_docs {
        let previous = app.meta.put_document(coll.key, d).await?;
        if let Some(old) = previous {
            replaced.push((d.id.clone(), d.version, old));
        }
        results.push(IngestedDocument {
            id: d.id.clone(),
            chunks: d.chunks.len() as u32,
            replaced: previous.is_some(),
        });
    }
    app.cache.invalidate(&coll.name).await;
    for (id, version, old) in replaced {
        drop_old_vectors(app, &key, &id, old, Some(version)).await?;
    }
    drop(guards);
    let store_ms = ms_since(t);
    app.metrics.ingested_chunks.inc_by(total_chunks as u64);
    Ok(IngestResponse {
        documents: results,
        chunks: total_chunks as u32,
        timings: IngestTimings {
            chunk_ms,
            embed_ms,
            store_ms,
            total_ms: ms_since(started),
        },
    })
}

pub async fn get(app: &App, collection: &str, id: &str) -> Result<Document, ApiError> {
    let coll = resolve(app, collection).await?;
    let d =
        app.meta
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
    })
}

pub async fn list(app: &App, collection: &str) -> Result<Vec<DocumentSummary>, ApiError> {
    let coll = resolve(app, collection).await?;
    Ok(app
        .meta
        .list_documents(coll.key)
        .await?
        .into_iter()
        .map(|d| DocumentSummary {
            id: d.id,
            chunks: d.chunks,
            bytes: d.bytes,
            updated_at: d.updated_at,
        })
        .collect())
}

pub async fn delete(app: &App, collection: &str, id: &str) -> Result<(), ApiError> {
    let coll = resolve(app, collection).await?;
    let key = coll.key.to_string();
    let _guard = app.doc_locks()[app.doc_lock(&key, id)].lock().await;
    // Metadata first: from this commit on, queries cannot return the
    // document even if the vector delete below is interrupted.
    let Some(deleted) = app.meta.delete_document(coll.key, id).await? else {
        return Err(ApiError::DocumentNotFound {
            collection: collection.to_string(),
            doc: id.to_string(),
        });
    };
    app.cache.invalidate(&coll.name).await;
    drop_old_vectors(app, &key, id, deleted, None).await?;
    Ok(())
}

/// Remove the vectors of version `old`, which the metadata no longer
/// references (`current` is the version it references now, if any).
///
/// One process: everything but `current` goes, which also sweeps versions
/// that a crash left behind between the vector write and the metadata swap
/// (the per-document locks guarantee no newer version is in flight). Shared
/// stores: only `old` goes, because another replica may have upserted the
/// vectors of a newer version that it has not swapped in yet; deleting
/// "everything but current" lost them (found by the two-replica race test).
async fn drop_old_vectors(
    app: &App,
    key: &str,
    doc_id: &str,
    old: Uuid,
    current: Option<Uuid>,
) -> Result<(), ApiError> {
    if app.meta.shared() {
        app.vectors.delete_version(key, doc_id, old).await?;
    } else {
        app.vectors.delete_document(key, doc_id, current).await?;
    }
    Ok(())
}

/// Runs `f` when dropped (also when the request is cancelled).
fn scopeguard<F: FnOnce()>(f: F) -> impl Drop {
    struct Guard<F: FnOnce()>(Option<F>);
    impl<F: FnOnce()> Drop for Guard<F> {
        fn drop(&mut self) {
            if let Some(f) = self.0.take() {
                f()
            }
        }
    }
    Guard(Some(f))
}
