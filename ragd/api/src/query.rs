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
    /// How passages are retrieved; the server's default (`retrieval.mode`)
    /// when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<RetrievalMode>,
}

/// How passages are found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RetrievalMode {
    /// Nearest embedding vectors (cosine similarity).
    Dense,
    /// BM25 keyword match (sparse vectors with IDF).
    Sparse,
    /// Both, fused by reciprocal rank fusion.
    Hybrid,
}

impl RetrievalMode {
    pub const ALL: [RetrievalMode; 3] = [Self::Dense, Self::Sparse, Self::Hybrid];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dense => "dense",
            Self::Sparse => "sparse",
            Self::Hybrid => "hybrid",
        }
    }
}

impl std::fmt::Display for RetrievalMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for RetrievalMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "dense" => Ok(Self::Dense),
            "sparse" => Ok(Self::Sparse),
            "hybrid" => Ok(Self::Hybrid),
            other => Err(format!(
                "unknown retrieval mode {other:?} (dense, sparse, hybrid)"
            )),
        }
    }
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
    /// Retrieval score, higher is better: cosine similarity (dense), BM25
    /// (sparse) or reciprocal-rank-fusion score (hybrid).
    pub score: f32,
    /// Markdown heading path of the passage ("Setup > Linux"), if any.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub heading: String,
    /// Page of the source (PDF) the passage starts on, from 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
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
    /// The retrieval mode used.
    pub mode: RetrievalMode,
    pub timings: QueryTimings,
    /// True when served from the query-result cache (timings are then the
    /// original computation's, except `total_ms`).
    pub cached: bool,
}

/// `POST /v1/collections/{name}/search` (same body as the query route):
/// the passages only, for clients that bring their own LLM.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SearchResponse {
    /// Best first, numbered from 1 as a query would cite them.
    pub passages: Vec<Citation>,
    /// The retrieval mode used.
    pub mode: RetrievalMode,
    /// `generate_ms` is 0: nothing is generated.
    pub timings: QueryTimings,
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
