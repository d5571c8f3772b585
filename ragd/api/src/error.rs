//! The error envelope: `{"error":{"code":"...","message":"..."}}`.
//!
//! Codes are stable strings; clients branch on them, never on messages.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Body of every non-2xx response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// One of the constants in [`codes`].
    pub code: String,
    /// Human-readable explanation; may change between versions.
    pub message: String,
}

/// Stable error codes and the HTTP status each is sent with.
pub mod codes {
    /// 400: the body is not valid JSON or not the expected shape.
    pub const MALFORMED_JSON: &str = "malformed_json";
    /// 400: a multipart upload or other body could not be read.
    pub const BAD_REQUEST: &str = "bad_request";
    /// 401: no `Authorization: Bearer KEY`, or a key that is unknown,
    /// revoked or expired; sent with `WWW-Authenticate: Bearer`.
    pub const UNAUTHENTICATED: &str = "unauthenticated";
    /// 403: a valid key whose scope or collections do not allow this
    /// request. The same answer whether or not the collection exists.
    pub const FORBIDDEN: &str = "forbidden";
    /// 404: no such API key.
    pub const KEY_NOT_FOUND: &str = "key_not_found";
    /// 409: an API key with this name already exists.
    pub const KEY_EXISTS: &str = "key_exists";
    /// 404: no such collection.
    pub const COLLECTION_NOT_FOUND: &str = "collection_not_found";
    /// 404: no such document in the collection.
    pub const DOCUMENT_NOT_FOUND: &str = "document_not_found";
    /// 404: no such asynchronous ingest job (or one that ended over a
    /// week ago).
    pub const JOB_NOT_FOUND: &str = "job_not_found";
    /// 404: no such route.
    pub const NOT_FOUND: &str = "not_found";
    /// 405: the route exists but not with this method.
    pub const METHOD_NOT_ALLOWED: &str = "method_not_allowed";
    /// 409: a collection with this name already exists.
    pub const COLLECTION_EXISTS: &str = "collection_exists";
    /// 409: the collection's vectors come from another model than the one
    /// now configured for its embedder; mixing them would give nonsense.
    pub const MODEL_MISMATCH: &str = "model_mismatch";
    /// 413: the body exceeds `server.max_body_bytes`.
    pub const PAYLOAD_TOO_LARGE: &str = "payload_too_large";
    /// 415: the content type is not accepted here.
    pub const UNSUPPORTED_MEDIA_TYPE: &str = "unsupported_media_type";
    /// 422: well-formed JSON with invalid values (empty text, top_k 0...).
    pub const INVALID_FIELD: &str = "invalid_field";
    /// 429: the client used up its query or ingest budget
    /// (`[rate_limit]`); retry after `Retry-After` seconds.
    pub const RATE_LIMITED: &str = "rate_limited";
    /// 503: too many requests in flight; retry after `Retry-After` seconds.
    pub const OVERLOADED: &str = "overloaded";
    /// 503: a backend (metadata store, vector store, embedder, generator)
    /// failed or is unreachable.
    pub const BACKEND_UNAVAILABLE: &str = "backend_unavailable";
    /// 503: an OpenAI-compatible upstream (remote embedder or generator) is
    /// down or overloaded after retries, or its circuit breaker is open;
    /// retry after `Retry-After` seconds.
    pub const UPSTREAM_UNAVAILABLE: &str = "upstream_unavailable";
    /// 503: the server is shutting down.
    pub const SHUTTING_DOWN: &str = "shutting_down";
    /// 500: a bug; the message says what failed.
    pub const INTERNAL: &str = "internal";
}
