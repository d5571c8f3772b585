//! Metadata stores: collections, documents and chunk texts, the source of
//! truth that the vector index points into.
//!
//! - [`sqlite`]: SQLite through sqlx, the embedded default.
//! - [`postgres`]: PostgreSQL through sqlx ([`crate::pg`]), shared by
//!   replicas.
//! - [`rows`]: decoding rows, the same for both.
//! - [`keys`]: API keys ([`KeyStore`]), which both stores also hold.
//! - [`jobs`]: asynchronous ingest jobs ([`JobStore`]), likewise.
//! - [`migrations`]: both stores' schemas, embedded in the binary.

pub mod jobs;
pub mod keys;
pub mod migrations;
pub mod postgres;
mod rows;
pub mod sqlite;

use async_trait::async_trait;
use ragd_api::{DocumentFormat, Metadata, PoolStatus};
use uuid::Uuid;

use crate::key::CollectionKey;
pub use jobs::JobStore;
pub use keys::{KeyRow, KeyStore};

/// A collection row.
#[derive(Debug, Clone, PartialEq)]
pub struct CollectionRow {
    /// Stable key, also the vector store's name for the collection.
    pub key: CollectionKey,
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
    /// SHA-256 (lowercase hex) of what the client sent: a file's bytes, or
    /// the text.
    pub sha256: String,
    pub chunks: Vec<NewChunk>,
}

#[derive(Debug, Clone)]
pub struct NewChunk {
    pub point_id: Uuid,
    pub index: u32,
    pub text: String,
    /// Markdown heading path, empty if none.
    pub heading: String,
    /// Page of a paged source (PDF) the chunk starts on.
    pub page: Option<u32>,
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
    /// See [`NewDocument::sha256`]; `None` for documents stored before it
    /// was recorded.
    pub sha256: Option<String>,
}

/// A chunk found by point id, with what a citation needs.
#[derive(Debug, Clone)]
pub struct ChunkRow {
    pub point_id: Uuid,
    pub doc_id: String,
    pub index: u32,
    pub text: String,
    pub heading: String,
    /// See [`NewChunk::page`].
    pub page: Option<u32>,
    pub metadata: Metadata,
}

/// Why a metadata operation failed. Messages do not name the store: the
/// caller does ("metadata store: ...").
#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    #[error("collection {0:?} already exists")]
    CollectionExists(String),
    #[error("an API key named {0:?} already exists")]
    KeyExists(String),
    /// The database could not be opened or prepared.
    #[error("{context}: {source}")]
    Open {
        context: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A statement failed.
    #[error("{0}")]
    Sql(#[from] sqlx::Error),
    /// PostgreSQL's pool or connection failed.
    #[error("{0}")]
    Postgres(#[from] crate::pg::PgError),
    /// Metadata that could not be written as JSON.
    #[error("metadata: {0}")]
    Encode(#[from] serde_json::Error),
    /// Another replica wrote and deleted the same document in a loop.
    #[error("document {0:?} is being written and deleted concurrently; try again")]
    Contended(String),
    /// The ingest of this document took so long that the orphan sweep
    /// claimed its vectors ([storage] orphan_grace_secs).
    #[error(
        "document {0:?}: the ingest outlived [storage] orphan_grace_secs and its vectors were swept; send it again"
    )]
    Swept(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

/// A document version whose vectors may exist in the vector store although
/// the metadata does not reference them (an ingest in flight or cut short,
/// a replaced or deleted version whose vectors are not yet removed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingVersion {
    pub key: CollectionKey,
    pub doc_id: String,
    pub version: Uuid,
}

/// A metadata store backend.
#[async_trait]
pub trait MetaStore: KeyStore + JobStore + Send + Sync {
    /// `sqlite`, `postgres`.
    fn kind(&self) -> &'static str;

    async fn create_collection(&self, c: &CollectionRow) -> Result<(), MetaError>;
    async fn list_collections(&self) -> Result<Vec<CollectionRow>, MetaError>;
    async fn get_collection(&self, name: &str) -> Result<Option<CollectionRow>, MetaError>;
    /// Deletes the collection and everything in it; false if it did not exist.
    async fn delete_collection(&self, key: CollectionKey) -> Result<bool, MetaError>;
    /// (documents, chunks) in a collection.
    async fn collection_counts(&self, key: CollectionKey) -> Result<(u64, u64), MetaError>;

    /// Insert or replace a document and all its chunks atomically. Returns the
    /// version it replaced, if any, which stays pending (see
    /// [`MetaStore::note_pending`]) until its vectors are removed. Fails
    /// with [`MetaError::Swept`] if the sweep claimed the new version.
    async fn put_document(
        &self,
        key: CollectionKey,
        doc: &NewDocument,
    ) -> Result<Option<Uuid>, MetaError>;
    async fn get_document(
        &self,
        key: CollectionKey,
        id: &str,
    ) -> Result<Option<DocumentRow>, MetaError>;
    async fn document_version(
        &self,
        key: CollectionKey,
        id: &str,
    ) -> Result<Option<Uuid>, MetaError>;
    /// Up to `limit` documents (without their text) whose id is after
    /// `after`, in id order: one page of a keyset pagination.
    async fn list_documents(
        &self,
        key: CollectionKey,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<DocumentRow>, MetaError>;
    /// Returns the version deleted, `None` if the document did not exist.
    /// The deleted version stays pending until its vectors are removed.
    async fn delete_document(
        &self,
        key: CollectionKey,
        id: &str,
    ) -> Result<Option<Uuid>, MetaError>;

    /// Record, before their vectors are written, that the vectors of these
    /// document versions may soon exist without the metadata referencing
    /// them. [`MetaStore::put_document`] clears the version it swaps in and
    /// records the one it replaces; [`MetaStore::delete_document`] records
    /// the one it deletes. What stays recorded is what the orphan sweep
    /// ([`crate::service::sweep`]) removes from the vector store.
    async fn note_pending(
        &self,
        key: CollectionKey,
        versions: &[(&str, Uuid)],
    ) -> Result<(), MetaError>;
    /// Claim a pending version for the sweep: from now on
    /// [`MetaStore::put_document`] refuses to swap it in. False if it is no
    /// longer pending (swapped in or cleared meanwhile).
    async fn claim_pending(&self, p: &PendingVersion) -> Result<bool, MetaError>;
    /// The vectors of this version are gone (or it is current): forget it.
    async fn clear_pending(
        &self,
        key: CollectionKey,
        doc_id: &str,
        version: Uuid,
    ) -> Result<(), MetaError>;
    /// Pending versions recorded at least `age` ago, oldest first, at most
    /// `limit` of them.
    async fn pending_versions(
        &self,
        age: std::time::Duration,
        limit: u32,
    ) -> Result<Vec<PendingVersion>, MetaError>;

    /// Chunks for these point ids (unknown ids are skipped), in any order.
    async fn chunks_by_points(
        &self,
        key: CollectionKey,
        ids: &[Uuid],
    ) -> Result<Vec<ChunkRow>, MetaError>;

    /// Occupancy of the connection pool.
    fn pool_status(&self) -> PoolStatus;

    async fn health(&self) -> Result<(), MetaError>;

    async fn close(&self);
}

/// Seconds since the Unix epoch (pending versions' `since`, job
/// heartbeats, OpenAI `created` fields).
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// RFC 3339 UTC timestamp with second precision, for display and ordering.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
