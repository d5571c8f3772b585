//! Questions and cited answers.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::Metadata;

/// `POST /v1/collections/{name}/query`
///
/// Send `Accept: text/event-stream` to receive the answer as Server-Sent
/// Events (`citations`, then `delta`s of answer text, then `done` with the
/// full [`QueryResponse`]).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QueryRequest {
    /// The question, 1 to 4096 bytes.
    pub question: String,
    /// Passages to retrieve, 1 to 50 (default 5).
    #[serde(default = "default_top_k")]
    pub top_k: u32,
    /// Only passages whose document metadata matches every key. A scalar
    /// value must be equal; an array means "any of these values".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub filter: Option<Metadata>,
}

/// Default number of passages retrieved by a query.
pub const DEFAULT_TOP_K: u32 = 5;
/// Largest accepted `top_k`.
pub const MAX_TOP_K: u32 = 50;

fn default_top_k() -> u32 {
    DEFAULT_TOP_K
}

/// A retrieved passage that the answer may cite as `[n]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Citation {
    /// 1-based number used in the answer text (`[1]`, `[2]` ...).
    pub n: u32,
    pub document_id: String,
    pub chunk_index: u32,
    /// Similarity score from the vector search (cosine, higher is closer).
    pub score: f32,
    pub text: String,
    #[schema(value_type = Object)]
    pub metadata: Metadata,
}

/// Where a query's time went, in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct QueryTimings {
    pub embed_ms: f64,
    pub search_ms: f64,
    pub generate_ms: f64,
    pub total_ms: f64,
}

/// The answer to a query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct QueryResponse {
    pub answer: String,
    pub citations: Vec<Citation>,
    pub timings: QueryTimings,
    /// True when served from the query-result cache (timings are then the
    /// original computation's, except `total_ms`).
    pub cached: bool,
}

/// Names of the Server-Sent Events of a streamed query, in order.
pub mod sse {
    /// Data: JSON array of [`super::Citation`].
    pub const CITATIONS: &str = "citations";
    /// Data: JSON string, the next piece of answer text.
    pub const DELTA: &str = "delta";
    /// Data: the complete [`super::QueryResponse`].
    pub const DONE: &str = "done";
    /// Data: an [`crate::ErrorBody`]; the stream ends after it.
    pub const ERROR: &str = "error";
}
