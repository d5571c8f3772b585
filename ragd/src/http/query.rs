//! `POST /v1/collections/{name}/query`: JSON, or Server-Sent Events when the
//! client sends `Accept: text/event-stream`; `POST .../search`: the
//! passages alone.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use futures::StreamExt;
use ragd_api::{ErrorBody, QueryRequest, QueryResponse, SearchResponse, sse};

use super::extract::ApiJson;
use crate::app::App;
use crate::error::ApiError;
use crate::service::query::{self, QueryEvent};

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/v1/collections/{name}/query", post(handle))
        .route("/v1/collections/{name}/search", post(search))
}

fn wants_sse(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/event-stream"))
}

/// Ask a question; the answer cites the retrieved passages as `[n]`.
/// With `Accept: text/event-stream` the answer is streamed as SSE events
/// `citations`, `delta`..., `done` (or `error`).
#[utoipa::path(post, path = "/v1/collections/{name}/query", tag = "query",
    params(("name" = String, Path, description = "Collection name")),
    request_body = QueryRequest,
    responses((status = 200, body = QueryResponse, content_type = "application/json"),
        (status = 200, description = "SSE stream when Accept: text/event-stream", content_type = "text/event-stream"),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "Rate limit reached; retry after Retry-After seconds"),
        (status = 503, body = ErrorBody)))]
pub async fn handle(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<QueryRequest>,
) -> Result<Response, ApiError> {
    // Errors before the first byte are ordinary JSON errors.
    let outcome = query::query(&app.backends, &name, req).await?;
    if !wants_sse(&headers) {
        return Ok(Json(outcome.collect().await?).into_response());
    }
    let events = outcome
        .into_events()
        .map(|e| Ok::<_, Infallible>(sse_event(e)));
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response())
}

/// Retrieval only: the passages a query with the same body would cite,
/// best first, without an answer (for clients that bring their own LLM).
#[utoipa::path(post, path = "/v1/collections/{name}/search", tag = "query",
    params(("name" = String, Path, description = "Collection name")),
    request_body = QueryRequest,
    responses((status = 200, body = SearchResponse),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "Rate limit reached; retry after Retry-After seconds"),
        (status = 503, body = ErrorBody)))]
pub async fn search(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    ApiJson(req): ApiJson<QueryRequest>,
) -> Result<Json<SearchResponse>, ApiError> {
    Ok(Json(query::search(&app.backends, &name, req).await?))
}

/// One query event as an SSE event.
fn sse_event(e: QueryEvent) -> Event {
    match e {
        QueryEvent::Citations(c) => json_event(sse::CITATIONS, &c),
        QueryEvent::Delta(text) => json_event(sse::DELTA, &text),
        QueryEvent::Done(r) => json_event(sse::DONE, &r),
        QueryEvent::Failed(e) => json_event(sse::ERROR, &e.body()),
    }
}

fn json_event<T: serde::Serialize>(name: &str, data: &T) -> Event {
    Event::default()
        .event(name)
        .data(serde_json::to_string(data).unwrap_or_else(|_| "null".into()))
}
