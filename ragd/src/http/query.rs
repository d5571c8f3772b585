//! `POST /v1/collections/{name}/query`: JSON, or Server-Sent Events when the
//! client sends `Accept: text/event-stream`.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use futures::{SinkExt, StreamExt};
use ragd_api::{ErrorBody, QueryRequest, QueryResponse, sse};

use super::extract::ApiJson;
use crate::app::App;
use crate::error::ApiError;
use crate::service::{ms_since, query};

pub fn routes() -> Router<Arc<App>> {
    Router::new().route("/v1/collections/{name}/query", post(handle))
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
    if !wants_sse(&headers) {
        return Ok(Json(query::query(&app, &name, req).await?).into_response());
    }
    let started = Instant::now();
    let mut p = query::prepare(&app, req)?;
    let (mut tx, rx) = futures::channel::mpsc::channel::<Event>(16);
    if let Some(r) = query::cached(&app, &name, &mut p, started).await {
        tokio::spawn(async move {
            let _ = tx.send(json_event(sse::CITATIONS, &r.citations)).await;
            let _ = tx.send(json_event(sse::DELTA, &r.answer)).await;
            let _ = tx.send(json_event(sse::DONE, &r)).await;
        });
    } else {
        // Errors before the first byte are ordinary JSON errors.
        let r = query::retrieve(&app, &name, &p).await?;
        let t = Instant::now();
        let mut answer_stream = query::answer_stream(&app, &p, &r).await?;
        tokio::spawn(async move {
            if tx
                .send(json_event(sse::CITATIONS, &r.citations))
                .await
                .is_err()
            {
                return;
            }
            let mut answer = String::new();
            while let Some(piece) = answer_stream.next().await {
                match piece {
                    Ok(text) => {
                        answer.push_str(&text);
                        if tx.send(json_event(sse::DELTA, &text)).await.is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        let body = ApiError::from(e).body();
                        let _ = tx.send(json_event(sse::ERROR, &body)).await;
                        return;
                    }
                }
            }
            let resp = query::finish(&app, p, r, answer, ms_since(t), started).await;
            let _ = tx.send(json_event(sse::DONE, &resp)).await;
        });
    }
    let stream = rx.map(Ok::<_, Infallible>);
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response())
}

fn json_event<T: serde::Serialize>(name: &str, data: &T) -> Event {
    Event::default()
        .event(name)
        .data(serde_json::to_string(data).unwrap_or_else(|_| "null".into()))
}
