//! The HTTP API of ragd, defined once.
//!
//! Every request and response body that crosses the wire between ragd and its
//! clients (loadgen, ragctl, tests, users with curl) is declared here and only
//! here. ragd serialises these types, the tools deserialise them, and
//! `GET /openapi.json` is generated from the same definitions, so the three can
//! never drift apart.
//!
//! Layout:
//! - [`collections`]: create/list/get/delete collections.
//! - [`documents`]: ingest, get and delete documents.
//! - [`query`]: questions, answers, citations and timings.
//! - [`jobs`]: asynchronous ingests.
//! - [`keys`]: API keys and their scopes.
//! - [`openai`]: the OpenAI-compatible chat completions and models.
//! - [`ops`]: health, readiness and the `/status` snapshot.
//! - [`error`]: the error envelope and its stable codes.

pub mod collections;
pub mod documents;
pub mod error;
pub mod jobs;
pub mod keys;
pub mod openai;
pub mod ops;
pub mod query;

pub use collections::*;
pub use documents::*;
pub use error::*;
pub use jobs::*;
pub use keys::*;
pub use ops::*;
pub use query::*;

/// Prefix of every versioned route.
pub const API_PREFIX: &str = "/v1";

/// Arbitrary JSON object attached to a document (author, source, tags...).
pub type Metadata = serde_json::Map<String, serde_json::Value>;
