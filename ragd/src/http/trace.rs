//! Request ids and the access log: the outermost middleware.
//!
//! Every request gets an id: the caller's `X-Request-Id` when it is sane
//! (1 to 128 visible ASCII characters), otherwise a fresh UUID. The id is
//! returned in the response's `X-Request-Id` and is a field of the `request`
//! span wrapping the whole request, so every log line written while serving
//! it carries it (and, with the `otel` feature, every exported span). When
//! the request ends, one line with target `ragd::access` records method,
//! route (the matched template, not the raw path), status, duration and id.
//! Values are tracing fields: the JSON format escapes them. In the text
//! format they are written as they are, which is safe because none can hold
//! a space or a line break: the id is visible ASCII only, the route is the
//! router's template (never the raw path) and the method an HTTP token.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

/// The request and response header carrying the id.
pub const REQUEST_ID: &str = "x-request-id";

/// Longest caller-supplied id kept as is.
pub const MAX_ID_LEN: usize = 128;

/// The caller's id if it is 1..=128 visible ASCII characters, else a new
/// UUID (simple form, 32 hex digits).
pub fn request_id(header: Option<&HeaderValue>) -> String {
    header
        .map(HeaderValue::as_bytes)
        .filter(|b| !b.is_empty() && b.len() <= MAX_ID_LEN && b.iter().all(u8::is_ascii_graphic))
        .and_then(|b| std::str::from_utf8(b).ok())
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string())
}

/// Give the request an id and a span, serve it, echo the id, log one line.
pub async fn access(mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request_id(req.headers().get(REQUEST_ID));
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let method = req.method().clone();
    // Handlers further in see the id the response will carry.
    if let Ok(v) = HeaderValue::from_str(&id) {
        req.headers_mut().insert(REQUEST_ID, v);
    }
    let span = tracing::info_span!("request", request_id = %id, method = %method, route = %route);
    let mut resp = next.run(req).instrument(span.clone()).await;
    let status = resp.status().as_u16();
    let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    span.in_scope(|| {
        tracing::info!(
            target: "ragd::access",
            method = %method,
            route = %route,
            status,
            duration_ms = (duration_ms * 1000.0).round() / 1000.0,
            request_id = %id,
            "request"
        );
    });
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert(REQUEST_ID, v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sane_ids_are_kept_and_others_replaced() {
        let keep = HeaderValue::from_static("abc-123_X.y");
        assert_eq!(request_id(Some(&keep)), "abc-123_X.y");
        let long = HeaderValue::from_str(&"a".repeat(MAX_ID_LEN + 1)).unwrap();
        let spaced = HeaderValue::from_static("a b");
        let empty = HeaderValue::from_static("");
        let high = HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap();
        for bad in [Some(&long), Some(&spaced), Some(&empty), Some(&high), None] {
            let id = request_id(bad);
            assert_eq!(id.len(), 32, "{id}");
            assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
        }
        assert_ne!(request_id(None), request_id(None));
    }
}
