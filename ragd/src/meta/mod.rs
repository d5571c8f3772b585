//! Metadata stores: collections, documents and chunk texts, the source of
//! truth that the vector index points into.
//!
//! - [`sqlite`]: SQLite through sqlx, the embedded default.
//! - [`postgres`]: PostgreSQL through sqlx, shared by replicas; also holds
//!   the log of vector changes that embedded indexes follow.

pub mod postgres;
pub mod sqlite;

use async_trait::async_trait;
use ragd_api::{DocumentFormat, Metadata, PoolStatus};
use uuid::Uuid;

/// A collection row.
#[derive(Debug, Clone, PartialEq)]
pub struct CollectionRow {
    /// Stable key, also the vector store's name for the collection.
    pub key: Uuid,
    pub name: String,
    pub embedder: String,
    pub model: String,
    pub dimensions: u32,
    pub created_at: String,
}

/// A document with its chunks, as written by an ingest.
#[derive(Debug, Clone)]
pub struct NewDocument {
    pub id: String,
    pub version: Uuid,
    pub text: String,
    pub metadata: Metadata,
    pub format: DocumentFormat,
    pub chunks: Vec<NewChunk>,
}

#[derive(Debug, Clone)]
pub struct NewChunk {
    pub point_id: Uuid,
    pub index: u32,
    pub text: String,
    /// Markdown heading path, empty if none.
    pub heading: String,
}

/// A stored document.
#[derive(Debug, Clone)]
pub struct DocumentRow {
    pub id: String,
    pub version: Uuid,
    pub text: String,
    pub metadata: Metadata,
    pub format: DocumentFormat,
    pub chunks: u32,
    pub bytes: u64,
    pub updated_at: String,
}

/// A chunk found by point id, with what a citation needs.
#[derive(Debug, Clone)]
pub struct ChunkRow {
    pub point_id: Uuid,
    pub doc_id: String,
    pub index: u32,
    pub text: String,
    pub heading: String,
    pub metadata: Metadata,
}

/// Why a metadata operation failed.
#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    #[error("collection {0:?} already exists")]
    CollectionExists(String),
    #[error("metadata store: {0}")]
    Backend(String),
    #[error("metadata store: stored data is corrupt: {0}")]
    Corrupt(String),
}

impl From<sqlx::Error> for MetaError {
    fn from(e: sqlx::Error) -> Self {
        MetaError::Backend(e.to_string())
    }
}

/// A metadata store backend.
#[async_trait]
pub trait MetaStore: Send + Sync {
    /// `sqlite`, `postgres`.
    fn kind(&self) -> &'static str;

    /// Whether other processes (replicas) may write the same store. Then a
    /// replica may have vectors of a newer version in flight that it has not
    /// committed yet, so old vectors are deleted version by version, never
    /// "everything but the current one".
    fn shared(&self) -> bool {
        false
    }

    async fn create_collection(&self, c: &CollectionRow) -> Result<(), MetaError>;
    async fn list_collections(&self) -> Result<Vec<CollectionRow>, MetaError>;
    async fn get_collection(&self, name: &str) -> Result<Option<CollectionRow>, MetaError>;
    /// Deletes the collection and everything in it; false if it did not exist.
    async fn delete_collection(&self, key: Uuid) -> Result<bool, MetaError>;
    /// (documents, chunks) in a collection.
    async fn collection_counts(&self, key: Uuid) -> Result<(u64, u64), MetaError>;

    /// Insert or replace a document and all its chunks atomically. Returns the
    /// version it replaced, if any.
    async fn put_document(&self, key: Uuid, doc: &NewDocument) -> Result<Option<Uuid>, MetaError>;
    async fn get_document(&self, key: Uuid, id: &str) -> Result<Option<DocumentRow>, MetaError>;
    async fn document_version(&self, key: Uuid, id: &str) -> Result<Option<Uuid>, MetaError>;
    async fn list_documents(&self, key: Uuid) -> Result<Vec<DocumentRow>, MetaError>;
    /// Returns the version deleted, `None` if the document did not exist.
    async fn delete_document(&self, key: Uuid, id: &str) -> Result<Option<Uuid>, MetaError>;

    /// Chunks for these point ids (unknown ids are skipped), in any order.
    async fn chunks_by_points(&self, key: Uuid, ids: &[Uuid]) -> Result<Vec<ChunkRow>, MetaError>;

    /// Occupancy of the connection pool.
    fn pool_status(&self) -> PoolStatus;

    async fn health(&self) -> Result<(), MetaError>;

    async fn close(&self);
}

/// RFC 3339 UTC timestamp with second precision, for display and ordering.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
