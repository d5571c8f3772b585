//! Documents: ingest (JSON or multipart upload), get and delete.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::Metadata;

/// How a document's text is to be read when chunking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DocumentFormat {
    /// Plain text: split on paragraphs, then sentences.
    #[default]
    Text,
    /// Markdown: split on headings, blocks and paragraphs first.
    Markdown,
    /// HTML: converted to Markdown (headings, lists, tables and code
    /// blocks kept; scripts and styles dropped), then split as Markdown.
    /// The document is stored as the converted Markdown. PDF and DOCX
    /// files are uploaded as files (multipart), not as JSON text.
    Html,
}

/// One document to ingest.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentInput {
    /// Stable id. Re-ingesting the same id replaces the document's chunks.
    /// Generated (UUID) when absent. 1-256 characters, no control characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The document's full text (UTF-8, non-empty).
    pub text: String,
    /// JSON object stored with every chunk; usable in query filters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Metadata>,
    #[serde(default)]
    pub format: DocumentFormat,
}

/// `POST /v1/collections/{name}/documents`
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IngestRequest {
    /// 1 to 1000 documents.
    pub documents: Vec<DocumentInput>,
}

/// What happened to one ingested document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IngestedDocument {
    pub id: String,
    /// Chunks stored for it.
    pub chunks: u32,
    /// True when an earlier version with this id was replaced.
    pub replaced: bool,
}

/// Response to an ingest: every document is durable when this is sent.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IngestResponse {
    pub documents: Vec<IngestedDocument>,
    /// Total chunks stored by this request.
    pub chunks: u32,
    pub timings: IngestTimings,
}

/// Where an ingest's time went, in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IngestTimings {
    pub chunk_ms: f64,
    pub embed_ms: f64,
    pub store_ms: f64,
    pub total_ms: f64,
}

/// `GET /v1/collections/{name}/documents/{id}`
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Document {
    pub id: String,
    pub collection: String,
    pub text: String,
    #[schema(value_type = Object)]
    pub metadata: Metadata,
    pub format: DocumentFormat,
    pub chunks: u32,
    /// RFC 3339 time of the last (re-)ingest.
    pub updated_at: String,
    /// SHA-256 (lowercase hex) of what was sent: an uploaded file's bytes,
    /// or the JSON text. Absent for documents stored before ragd kept it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// `GET /v1/collections/{name}/documents`: ids and sizes, without text.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DocumentList {
    /// One page, in id order (see [`crate::PageQuery`]).
    pub documents: Vec<DocumentSummary>,
    /// The cursor of the next page (`?after=` this); absent on the last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DocumentSummary {
    pub id: String,
    pub chunks: u32,
    /// Bytes of the stored (indexed) text.
    pub bytes: u64,
    pub updated_at: String,
    /// As in [`Document::sha256`]: compare a file's hash with it to skip
    /// unchanged files (`ragctl ingest` does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}
