//! The log of vector changes that replicas follow: what an entry is
//! ([`LogEntry`]) and what a log must guarantee ([`VectorLog`]).

use async_trait::async_trait;
use uuid::Uuid;

use crate::key::CollectionKey;
use crate::vectors::{ChunkPoint, VectorError};

/// One change to the vectors, as recorded in the log.
#[derive(Debug, Clone)]
pub enum LogEntry {
    CreateCollection {
        key: CollectionKey,
        dimensions: u32,
    },
    DropCollection {
        key: CollectionKey,
    },
    Upsert {
        key: CollectionKey,
        point: ChunkPoint,
    },
    /// Delete every point of `doc_id` except those of version `keep`.
    DeleteDocument {
        key: CollectionKey,
        doc_id: String,
        keep: Option<Uuid>,
    },
    /// Delete the points of one version of `doc_id`.
    DeleteVersion {
        key: CollectionKey,
        doc_id: String,
        version: Uuid,
    },
}

impl LogEntry {
    /// The collection the entry changes.
    pub fn key(&self) -> CollectionKey {
        match self {
            LogEntry::CreateCollection { key, .. }
            | LogEntry::DropCollection { key }
            | LogEntry::Upsert { key, .. }
            | LogEntry::DeleteDocument { key, .. }
            | LogEntry::DeleteVersion { key, .. } => *key,
        }
    }
}

/// A totally ordered, durable log of vector changes shared by replicas.
///
/// Sequence numbers must be assigned in commit order: a reader that has seen
/// `seq = n` committed must never later find a committed entry below `n`.
/// An implementation may drop entries whose effect a later entry undoes (an
/// upsert of a point that a later delete removes): replaying what remains
/// must give the same index.
#[async_trait]
pub trait VectorLog: Send + Sync {
    /// Append entries atomically and in order; returns the last one's seq.
    async fn append(&self, entries: Vec<LogEntry>) -> Result<u64, VectorError>;
    /// The highest committed seq (0 when the log is empty).
    async fn head(&self) -> Result<u64, VectorError>;
    /// Entries with seq > `after`, in seq order, at most `limit`.
    async fn read(&self, after: u64, limit: usize) -> Result<Vec<(u64, LogEntry)>, VectorError>;
}
