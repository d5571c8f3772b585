//! Errors of the service layer and their one mapping to HTTP.
//!
//! Backends have their own error enums ([`crate::meta::MetaError`],
//! [`crate::vectors::VectorError`], [`crate::embed::EmbedError`]...); they
//! convert into [`ApiError`], and [`ApiError::into_response`] is the only place
//! that chooses a status code and writes the `{"error":{...}}` envelope.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ragd_api::{ErrorBody, ErrorDetail, codes};

/// An error a request can end with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    MalformedJson(String),
    #[error("{0}")]
    BadRequest(String),
    /// No key, or one that is unknown, revoked or expired (401 with
    /// `WWW-Authenticate: Bearer`). The message never holds the key.
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// A valid key that may not do this (403); the message never says
    /// whether a collection the key cannot see exists.
    #[error("{0}")]
    Forbidden(String),
    #[error("an API key named {0:?} already exists")]
    KeyExists(String),
    #[error("no API key named {0:?}")]
    KeyNotFound(String),
    #[error("collection {0:?} does not exist")]
    CollectionNotFound(String),
    #[error("document {doc:?} does not exist in collection {collection:?}")]
    DocumentNotFound { collection: String, doc: String },
    #[error("no job {0:?} (ended jobs are kept for a week)")]
    JobNotFound(String),
    #[error("no route for {0}")]
    NotFound(String),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("collection {0:?} already exists")]
    CollectionExists(String),
    #[error("{0}")]
    ModelMismatch(String),
    #[error("request body is larger than the limit of {limit} bytes")]
    PayloadTooLarge { limit: u64 },
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{field}: {message}")]
    InvalidField { field: String, message: String },
    #[error("server is at its limit of {0} requests in flight; retry shortly")]
    Overloaded(u32),
    /// The CPU queue already holds more work than `server.max_queue_wait_ms`.
    #[error(
        "server is saturated: about {wait_ms} ms of queued work, over its limit of {limit_ms} ms (server.max_queue_wait_ms); retry shortly"
    )]
    Saturated { wait_ms: u64, limit_ms: u64 },
    #[error(
        "server is at its limit of {max} writes in flight (waited {waited_secs} s); retry shortly"
    )]
    WritesBusy { max: u32, waited_secs: u64 },
    #[error(
        "{budget} rate limit of {per_minute} requests per minute reached; retry in {retry_after_secs} s"
    )]
    RateLimited {
        budget: &'static str,
        per_minute: u32,
        retry_after_secs: u64,
    },
    /// A backend failed; `source` is its own error.
    #[error("{backend} is unavailable: {source}")]
    Backend {
        backend: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// An upstream (remote embedder or generator) is down or overloaded,
    /// after retries, or its circuit breaker is open.
    #[error("{what} is unavailable: {source}")]
    UpstreamUnavailable {
        what: &'static str,
        retry_after_secs: u64,
        #[source]
        source: crate::upstream::UpstreamError,
    },
    #[error("server is shutting down")]
    ShuttingDown,
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::InvalidField {
            field: field.into(),
            message: message.into(),
        }
    }

    /// `backend` (e.g. "vector store") failed with `source`.
    pub fn backend(
        backend: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        ApiError::Backend {
            backend,
            source: source.into(),
        }
    }

    /// HTTP status and stable code.
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        use ApiError::*;
        match self {
            MalformedJson(_) => (StatusCode::BAD_REQUEST, codes::MALFORMED_JSON),
            BadRequest(_) => (StatusCode::BAD_REQUEST, codes::BAD_REQUEST),
            Unauthenticated(_) => (StatusCode::UNAUTHORIZED, codes::UNAUTHENTICATED),
            Forbidden(_) => (StatusCode::FORBIDDEN, codes::FORBIDDEN),
            KeyExists(_) => (StatusCode::CONFLICT, codes::KEY_EXISTS),
            KeyNotFound(_) => (StatusCode::NOT_FOUND, codes::KEY_NOT_FOUND),
            CollectionNotFound(_) => (StatusCode::NOT_FOUND, codes::COLLECTION_NOT_FOUND),
            JobNotFound(_) => (StatusCode::NOT_FOUND, codes::JOB_NOT_FOUND),
            DocumentNotFound { .. } => (StatusCode::NOT_FOUND, codes::DOCUMENT_NOT_FOUND),
            NotFound(_) => (StatusCode::NOT_FOUND, codes::NOT_FOUND),
            MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, codes::METHOD_NOT_ALLOWED),
            CollectionExists(_) => (StatusCode::CONFLICT, codes::COLLECTION_EXISTS),
            ModelMismatch(_) => (StatusCode::CONFLICT, codes::MODEL_MISMATCH),
            PayloadTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, codes::PAYLOAD_TOO_LARGE),
            UnsupportedMediaType(_) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                codes::UNSUPPORTED_MEDIA_TYPE,
            ),
            InvalidField { .. } => (StatusCode::UNPROCESSABLE_ENTITY, codes::INVALID_FIELD),
            Overloaded(_) | Saturated { .. } | WritesBusy { .. } => {
                (StatusCode::SERVICE_UNAVAILABLE, codes::OVERLOADED)
            }
            UpstreamUnavailable { .. } => {
                (StatusCode::SERVICE_UNAVAILABLE, codes::UPSTREAM_UNAVAILABLE)
            }
            RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, codes::RATE_LIMITED),
            Backend { .. } => (StatusCode::SERVICE_UNAVAILABLE, codes::BACKEND_UNAVAILABLE),
            ShuttingDown => (StatusCode::SERVICE_UNAVAILABLE, codes::SHUTTING_DOWN),
            Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, codes::INTERNAL),
        }
    }

    pub fn body(&self) -> ErrorBody {
        let (_, code) = self.status_and_code();
        ErrorBody {
            error: ErrorDetail {
                code: code.to_string(),
                message: self.to_string(),
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, _) = self.status_and_code();
        if status.is_server_error() {
            // Debug-quoted: a message that carries request input cannot
            // start a forged log line.
            tracing::warn!(error = ?self.to_string(), "request failed");
        }
        let retry = match self {
            ApiError::Overloaded(_)
            | ApiError::Saturated { .. }
            | ApiError::WritesBusy { .. }
            | ApiError::Backend { .. }
            | ApiError::ShuttingDown => Some(1),
            ApiError::RateLimited {
                retry_after_secs, ..
            }
            | ApiError::UpstreamUnavailable {
                retry_after_secs, ..
            } => Some(retry_after_secs),
            _ => None,
        };
        let challenge = matches!(self, ApiError::Unauthenticated(_));
        let mut resp = (status, axum::Json(self.body())).into_response();
        if challenge {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(secs) = retry {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}
