//! The service layer: what each API operation does, independent of HTTP.
//!
//! Handlers in [`crate::http`] extract and validate, call one function here
//! and render its result. Demo mode and tests call the same functions. Each
//! takes the [`Backends`] it works on, never the HTTP runtime.
//!
//! - [`collections`]: create, list, get, delete.
//! - [`documents`]: ingest (chunk → embed → vectors → metadata), get, delete.
//! - [`query`]: the query pipeline, once for every way of answering.
//! - [`keys`]: API keys (create, list, revoke), for `/v1/keys` and
//!   `ragd keys`.

pub mod collections;
pub mod documents;
pub mod files;
pub mod jobs;
pub mod keys;
pub mod names;
pub mod query;
pub mod sweep;

use std::sync::Arc;

use tracing::Instrument as _;

use crate::app::Backends;
use crate::embed::{EmbedError, Embedder};
use crate::error::ApiError;
use crate::meta::{CollectionRow, MetaError};
use crate::vectors::VectorError;

impl From<MetaError> for ApiError {
    fn from(e: MetaError) -> Self {
        match e {
            MetaError::CollectionExists(name) => ApiError::CollectionExists(name),
            MetaError::KeyExists(name) => ApiError::KeyExists(name),
            MetaError::Corrupt(m) => ApiError::Internal(format!("metadata store: {m}")),
            other => ApiError::backend("metadata store", other),
        }
    }
}

impl From<VectorError> for ApiError {
    fn from(e: VectorError) -> Self {
        match e {
            VectorError::NoSuchCollection(k) => {
                ApiError::Internal(format!("vector store has no collection {k}"))
            }
            other => ApiError::backend("vector store", other),
        }
    }
}

impl From<EmbedError> for ApiError {
    fn from(e: EmbedError) -> Self {
        match e {
            EmbedError::Input(m) => ApiError::invalid("text", m),
            EmbedError::Upstream(u) if u.is_unavailable() => upstream_unavailable("embedder", u),
            other => ApiError::backend("embedder", other),
        }
    }
}

impl From<crate::answer::GenerateError> for ApiError {
    fn from(e: crate::answer::GenerateError) -> Self {
        match e {
            crate::answer::GenerateError::Upstream(u) if u.is_unavailable() => {
                upstream_unavailable("generator", u)
            }
            other => ApiError::backend("generator", other),
        }
    }
}

fn upstream_unavailable(what: &'static str, source: crate::upstream::UpstreamError) -> ApiError {
    ApiError::UpstreamUnavailable {
        what,
        retry_after_secs: source.retry_after_secs().unwrap_or(1),
        source,
    }
}

impl From<crate::cpu::JobPanicked> for ApiError {
    fn from(e: crate::cpu::JobPanicked) -> Self {
        ApiError::Internal(e.to_string())
    }
}

/// A collection by name, or 404. On a single node the row comes from
/// [`names::Names`] once it was read.
pub async fn resolve(b: &Backends, name: &str) -> Result<CollectionRow, ApiError> {
    let epoch = match b.names.as_ref().map(|n| n.get(name)) {
        Some(Ok(row)) => return Ok(row),
        Some(Err(epoch)) => Some(epoch),
        None => None,
    };
    let row = b
        .meta
        .get_collection(name)
        .instrument(tracing::info_span!(
            "store",
            store = "metadata",
            op = "get_collection"
        ))
        .await?
        .ok_or_else(|| ApiError::CollectionNotFound(name.to_string()))?;
    if let (Some(n), Some(epoch)) = (&b.names, epoch) {
        n.remember(epoch, &row);
    }
    Ok(row)
}

/// `result` of work on collection `coll`, which this request resolved
/// before doing it, as if the request had come after any delete of that
/// collection made while it ran.
///
/// A collection deleted meanwhile (by another request or another replica)
/// makes the stores refuse the request's searches and writes; that is a
/// 404, not a backend failure (found twice by the API fuzzer, on ingest and
/// on search). Only server errors are checked, and only a lookup that finds
/// no collection of that name, or one re-created under another key, counts:
/// a failed lookup is not proof.
pub async fn unless_deleted<T>(
    b: &Backends,
    coll: &CollectionRow,
    result: Result<T, ApiError>,
) -> Result<T, ApiError> {
    match result {
        Err(e) if e.status_and_code().0.is_server_error() => {
            match b.meta.get_collection(&coll.name).await {
                Ok(Some(now)) if now.key == coll.key => Err(e),
                Ok(_) => Err(ApiError::CollectionNotFound(coll.name.clone())),
                Err(_) => Err(e),
            }
        }
        result => result,
    }
}

/// The embedder that made a collection's vectors, refusing a different model.
pub fn embedder_for(b: &Backends, c: &CollectionRow) -> Result<Arc<dyn Embedder>, ApiError> {
    let e = b.embedders.get(&c.embedder).ok_or_else(|| {
        ApiError::ModelMismatch(format!(
            "collection {:?} was created with embedder {:?}, which is no longer configured",
            c.name, c.embedder
        ))
    })?;
    if e.model() != c.model || e.dimensions() != c.dimensions {
        return Err(ApiError::ModelMismatch(format!(
            "collection {:?} holds vectors of model {:?} ({} dimensions) but embedder {:?} is now {:?} ({} dimensions); re-create the collection to change models",
            c.name,
            c.model,
            c.dimensions,
            c.embedder,
            e.model(),
            e.dimensions()
        )));
    }
    Ok(e.clone())
}

/// Milliseconds since `t`.
pub fn ms_since(t: std::time::Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

/// A list page's `limit`, checked (default [`ragd_api::DEFAULT_PAGE_LIMIT`]).
pub fn page_limit(page: &ragd_api::PageQuery) -> Result<u32, ApiError> {
    match page.limit {
        None => Ok(ragd_api::DEFAULT_PAGE_LIMIT),
        Some(n @ 1..=ragd_api::MAX_PAGE_LIMIT) => Ok(n),
        Some(n) => Err(ApiError::invalid(
            "limit",
            format!("must be 1 to {}, got {n}", ragd_api::MAX_PAGE_LIMIT),
        )),
    }
}

/// Cut `rows` (fetched with one more than `limit`) to the page; the cursor
/// of the next page when there is one.
pub fn next_cursor<T>(rows: &mut Vec<T>, limit: u32, key: impl Fn(&T) -> &str) -> Option<String> {
    if rows.len() <= limit as usize {
        return None;
    }
    rows.truncate(limit as usize);
    rows.last().map(|r| key(r).to_string())
}
