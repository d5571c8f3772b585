//! Collections: create (fixing the embedding model), list, get, delete.

use super::{resolve, unless_deleted};
use crate::app::Backends;
use crate::config::DEFAULT_EMBEDDER;
use crate::error::ApiError;
use crate::key::CollectionKey;
use crate::meta::{CollectionRow, now_rfc3339};
use ragd_api::{Collection, CollectionList, CreateCollection, PageQuery};

/// Collection names: 1-64 of `[A-Za-z0-9._-]`, starting with a letter or digit.
pub fn validate_name(name: &str) -> Result<(), ApiError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "name",
            "must be 1-64 characters of letters, digits, '.', '_' or '-', starting with a letter or digit",
        ))
    }
}

async fn describe(b: &Backends, row: CollectionRow) -> Result<Collection, ApiError> {
    let (documents, chunks) = b.meta.collection_counts(row.key).await?;
    Ok(Collection {
        name: row.name,
        embedder: row.embedder,
        model: row.model,
        dimensions: row.dimensions,
        documents,
        chunks,
        vectors: None,
        created_at: row.created_at,
    })
}

pub async fn create(b: &Backends, req: CreateCollection) -> Result<Collection, ApiError> {
    validate_name(&req.name)?;
    let embedder_name = req.embedder.unwrap_or_else(|| DEFAULT_EMBEDDER.to_string());
    let embedder = b.embedders.get(&embedder_name).ok_or_else(|| {
        ApiError::invalid(
            "embedder",
            format!(
                "no embedder named {embedder_name:?}; configured: {}",
                b.embedders.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        )
    })?;
    if b.meta.get_collection(&req.name).await?.is_some() {
        return Err(ApiError::CollectionExists(req.name));
    }
    let row = CollectionRow {
        key: CollectionKey::random(),
        name: req.name,
        embedder: embedder_name,
        model: embedder.model().to_string(),
        dimensions: embedder.dimensions(),
        created_at: now_rfc3339(),
    };
    // Vectors first: a crash in between leaves an unowned shard, which the
    // next start-up removes.
    b.vectors.create_collection(row.key, row.dimensions).await?;
    if let Err(e) = b.meta.create_collection(&row).await {
        let _ = b.vectors.drop_collection(row.key).await;
        return Err(e.into());
    }
    b.cache.invalidate(&row.name).await;
    tracing::info!(collection = %row.name, model = %row.model, "collection created");
    describe(b, row).await
}

/// Every collection as the metadata store has it, in name order, without
/// counting anything (what `/v1/models` shows).
pub async fn rows(b: &Backends) -> Result<Vec<CollectionRow>, ApiError> {
    Ok(b.meta.list_collections().await?)
}

/// One page of the collections `visible` lets through, in name order
/// (see [`PageQuery`]). Collections are few: the names are listed whole
/// and only the page's collections are counted.
pub async fn page(
    b: &Backends,
    page: &PageQuery,
    visible: impl Fn(&str) -> bool,
) -> Result<CollectionList, ApiError> {
    let limit = super::page_limit(page)?;
    let after = page.after.as_deref().unwrap_or("");
    let mut rows: Vec<_> = b
        .meta
        .list_collections()
        .await?
        .into_iter()
        .filter(|r| r.name.as_str() > after && visible(&r.name))
        .take(limit as usize + 1)
        .collect();
    let next = super::next_cursor(&mut rows, limit, |r| &r.name);
    let mut collections = Vec::with_capacity(rows.len());
    for row in rows {
        collections.push(describe(b, row).await?);
    }
    Ok(CollectionList { collections, next })
}

/// One collection, with its vector count (see [`Collection::vectors`]).
pub async fn get(b: &Backends, name: &str) -> Result<Collection, ApiError> {
    let row = resolve(b, name).await?;
    let described = async {
        let mut c = describe(b, row.clone()).await?;
        c.vectors = Some(b.vectors.count(row.key).await?);
        Ok(c)
    }
    .await;
    unless_deleted(b, &row, described).await
}

pub async fn delete(b: &Backends, name: &str) -> Result<(), ApiError> {
    let row = resolve(b, name).await?;
    // Metadata first: once it is gone no query can return the collection's
    // chunks, even if removing the vectors is interrupted.
    let deleted = b.meta.delete_collection(row.key).await;
    if let Some(n) = &b.names {
        n.forget(name);
    }
    if !deleted? {
        return Err(ApiError::CollectionNotFound(name.to_string()));
    }
    b.cache.invalidate(name).await;
    b.vectors.drop_collection(row.key).await?;
    tracing::info!(collection = %name, "collection deleted");
    Ok(())
}
