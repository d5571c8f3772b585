//! What a collection looks like in every vector store, defined once: the
//! names of its two vectors and the payload each point carries.
//!
//! The embedded store ([`super::edge`]) and the Qdrant server store
//! ([`super::qdrant`]) both build their collections and points from here, so
//! a filter, a delete or a search means the same on either.

use serde_json::{Map, Value};

use super::ChunkPoint;

/// Name of the dense vector (cosine) in every collection.
pub const DENSE: &str = "dense";
/// Name of the sparse vector (BM25 term weights, IDF applied at search time).
pub const SPARSE: &str = "bm25";

/// Payload field: the document a point belongs to.
pub const DOC_ID: &str = "doc_id";
/// Payload field: the ingest version of that document.
pub const VERSION: &str = "version";
/// Payload field: the chunk's index in its document.
pub const CHUNK: &str = "chunk";
/// Payload field: the document's metadata object; filter key `k` matches
/// `meta.k`.
pub const META: &str = "meta";

/// Payload fields with a keyword index: deletes and re-ingests filter on them.
pub const INDEXED_FIELDS: [&str; 2] = [DOC_ID, VERSION];

/// The payload path a metadata filter key matches.
pub fn meta_field(key: &str) -> String {
    format!("{META}.{key}")
}

/// The payload of a point: always a JSON object (qdrant-edge panics on
/// anything else).
pub fn payload(p: &ChunkPoint) -> Map<String, Value> {
    let mut map = Map::with_capacity(4);
    map.insert(DOC_ID.into(), p.doc_id.clone().into());
    map.insert(VERSION.into(), p.version.to_string().into());
    map.insert(CHUNK.into(), p.chunk_index.into());
    map.insert(META.into(), Value::Object(p.metadata.clone()));
    map
}
