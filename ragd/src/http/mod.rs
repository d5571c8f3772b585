//! The HTTP layer: routes, extractors, middleware and the OpenAPI document.
//! Handlers are thin: extract, validate, call [`crate::service`], wrap.

pub mod collections;
pub mod documents;
pub mod extract;
pub mod middleware;
pub mod ops;
pub mod query;
pub mod trace;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Router};
use tower_http::catch_panic::CatchPanicLayer;
use utoipa::OpenApi;

use crate::app::App;
use crate::error::ApiError;

#[derive(OpenApi)]
#[openapi(
    info(title = "ragd", description = "RAG service: ingest documents, ask questions, get answers with cited passages."),
    paths(
        collections::create, collections::list, collections::get_one, collections::delete,
        documents::ingest, documents::list, documents::get_one, documents::delete,
        query::handle,
        ops::health, ops::ready, ops::metrics, ops::status,
    ),
    tags(
        (name = "collections", description = "Sets of documents embedded by one model"),
        (name = "documents", description = "Ingest, read and delete documents"),
        (name = "query", description = "Questions and cited answers"),
        (name = "operations", description = "Health, readiness, metrics, status"),
    )
)]
pub struct ApiDoc;

/// The whole application router.
pub fn router(app: Arc<App>) -> Router {
    let limit = app.config.server.max_body_bytes;
    let api = Router::new()
        .merge(collections::routes())
        .merge(documents::routes())
        .merge(query::routes())
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            middleware::admit,
        ))
        // Outside admission: a client over its rate limit takes no slot.
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            middleware::rate_limit,
        ));
    Router::new()
        .merge(api)
        .merge(ops::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            middleware::record,
        ))
        .layer(DefaultBodyLimit::max(limit as usize))
        .layer(Extension(extract::BodyLimit(limit)))
        .layer(CatchPanicLayer::custom(panic_response))
        // Outermost: request id, span and access log (see `trace`).
        .layer(axum::middleware::from_fn(trace::access))
        .with_state(app)
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::NotFound(uri.path().to_string())
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

fn panic_response(err: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let msg = err
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "panic".into());
    tracing::error!(%msg, "handler panicked");
    ApiError::Internal("the request could not be completed".into()).into_response()
}
