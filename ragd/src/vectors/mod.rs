//! Vector stores: where chunk embeddings live and are searched.
//!
//! The store is an *index*, not the source of truth: the metadata store holds
//! every chunk's text and the id of its point. A search returns point ids and
//! scores; the service joins them with the metadata store, so a point that the
//! metadata store does not know (left over from a crash between the two
//! writes) is never shown to a user.
//!
//! - [`edge`]: qdrant-edge in-process, the embedded default.

pub mod edge;

use async_trait::async_trait;
use ragd_api::Metadata;
use serde_json::Value;
use uuid::Uuid;

/// A chunk's vector with the payload used for filtering.
#[derive(Debug, Clone)]
pub struct ChunkPoint {
    pub id: Uuid,
    pub doc_id: String,
    /// Ingest version of the document this chunk belongs to.
    pub version: Uuid,
    pub chunk_index: u32,
    pub vector: Vec<f32>,
    /// Document metadata (a JSON object), filterable by key.
    pub metadata: Metadata,
}

/// One search hit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    pub id: Uuid,
    pub score: f32,
}

/// Metadata filter, validated: every key must match; a list means any-of.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetaFilter(pub Vec<(String, FilterValue)>);

#[derive(Debug, Clone, PartialEq)]
pub enum FilterValue {
    String(String),
    Integer(i64),
    Bool(bool),
    AnyString(Vec<String>),
    AnyInteger(Vec<i64>),
}

impl MetaFilter {
    /// Validate a user-supplied filter object. The error names the key.
    pub fn parse(filter: &Metadata) -> Result<MetaFilter, (String, String)> {
        let mut out = Vec::with_capacity(filter.len());
        for (key, value) in filter {
            if key.is_empty()
                || key.len() > 64
                || !key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Err((
                    format!("filter.{key}"),
                    "keys must be 1-64 characters of letters, digits, '_' or '-'".into(),
                ));
            }
            let v = match value {
                Value::String(s) => FilterValue::String(s.clone()),
                Value::Bool(b) => FilterValue::Bool(*b),
                Value::Number(n) if n.is_i64() => FilterValue::Integer(n.as_i64().unwrap_or(0)),
                Value::Array(items) if !items.is_empty() => {
                    if items.iter().all(|i| i.is_string()) {
                        FilterValue::AnyString(
                            items
                                .iter()
                                .filter_map(|i| i.as_str().map(String::from))
                                .collect(),
                        )
                    } else if items.iter().all(|i| i.is_i64()) {
                        FilterValue::AnyInteger(items.iter().filter_map(|i| i.as_i64()).collect())
                    } else {
                        return Err((
                            format!("filter.{key}"),
                            "a list must hold only strings or only integers".into(),
                        ));
                    }
                }
                _ => {
                    return Err((
                        format!("filter.{key}"),
                        "values must be a string, integer, boolean, or a non-empty list of strings or integers".into(),
                    ));
                }
            };
            out.push((key.clone(), v));
        }
        Ok(MetaFilter(out))
    }
}

/// Why a vector operation failed.
#[derive(Debug, thiserror::Error)]
pub enum VectorError {
    #[error("vector collection {0} does not exist")]
    NoSuchCollection(String),
    #[error("vector store: {0}")]
    Backend(String),
}

/// A vector store backend. Collections are addressed by a stable key (the
/// collection's uuid), never by its user-visible name.
#[async_trait]
pub trait VectorStore: Send + Sync {
    /// `qdrant-edge`, `qdrant`...
    fn kind(&self) -> &'static str;

    async fn create_collection(&self, key: &str, dimensions: u32) -> Result<(), VectorError>;

    /// Remove a collection and all its points. Missing is not an error.
    async fn drop_collection(&self, key: &str) -> Result<(), VectorError>;

    /// Store `points` durably. Returns once a crash can no longer lose them.
    async fn upsert(&self, key: &str, points: Vec<ChunkPoint>) -> Result<(), VectorError>;

    /// Delete every point of `doc_id` except those of version `keep`
    /// (`None` deletes them all).
    async fn delete_document(
        &self,
        key: &str,
        doc_id: &str,
        keep: Option<Uuid>,
    ) -> Result<(), VectorError>;

    /// Nearest points to `vector`, best first.
    async fn search(
        &self,
        key: &str,
        vector: Vec<f32>,
        limit: usize,
        filter: &MetaFilter,
    ) -> Result<Vec<Hit>, VectorError>;

    /// Points stored in a collection.
    async fn count(&self, key: &str) -> Result<u64, VectorError>;

    /// Probe the backend.
    async fn health(&self) -> Result<(), VectorError>;

    /// Background work not yet done (e.g. collections waiting for indexing).
    fn pending_work(&self) -> u64 {
        0
    }

    /// Make everything written so far durable and stop background work.
    async fn close(&self) {}
}
