//! The HTTP layer: routes, extractors, middleware and the OpenAPI document.
//! Handlers are thin: extract, validate, call [`crate::service`], wrap.

pub mod auth;
pub mod collections;
pub mod documents;
pub mod extract;
pub mod jobs;
pub mod keys;
pub mod middleware;
pub mod openai;
pub mod ops;
pub mod query;
pub mod tls;
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
        jobs::get_one,
        query::handle, query::search,
        openai::chat, openai::models,
        keys::create, keys::list, keys::revoke,
        ops::health, ops::ready, ops::metrics, ops::status,
    ),
    tags(
        (name = "collections", description = "Sets of documents embedded by one model"),
        (name = "documents", description = "Ingest, read and delete documents"),
        (name = "query", description = "Questions and cited answers"),
        (name = "openai", description = "OpenAI-compatible chat completions (a collection is a model)"),
        (name = "keys", description = "API keys (admin keys only)"),
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
        .merge(openai::routes())
        .merge(jobs::routes())
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
        .merge(keys::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // Outside the API's layers: rate limits see the verified caller.
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            auth::authenticate,
        ))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            middleware::record,
        ))
        .layer(DefaultBodyLimit::max(limit as usize))
        .layer(Extension(extract::BodyLimit(limit)))
        .layer(CatchPanicLayer::custom(panic_response))
        // Outermost: preflight requests are answered before any key check.
        .layer(tower::util::option_layer(cors(
            &app.config.server.cors_origins,
        )))
        // Outermost: request id, span and access log (see `trace`).
        .layer(axum::middleware::from_fn(trace::access))
        .with_state(app)
}

/// The router of `server.admin_listen`: operations routes only, no keys.
pub fn admin_router(app: Arc<App>) -> Router {
    Router::new()
        .merge(ops::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            middleware::record,
        ))
        .layer(CatchPanicLayer::custom(panic_response))
        .with_state(app)
}

/// CORS for `server.cors_origins` (none when empty): the listed origins
/// (or `*`) may call the API with a bearer key and JSON.
fn cors(origins: &[String]) -> Option<tower_http::cors::CorsLayer> {
    use axum::http::{HeaderValue, Method, header};
    use tower_http::cors::{AllowOrigin, CorsLayer};
    if origins.is_empty() {
        return None;
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        // Checked by `Config::validate_access`.
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::POST, Method::DELETE])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT])
            .max_age(std::time::Duration::from_secs(600)),
    )
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
