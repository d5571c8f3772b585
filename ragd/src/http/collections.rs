//! `/v1/collections` routes.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Extension, Json, Router};
use ragd_api::{Collection, CollectionList, CreateCollection, ErrorBody, PageQuery};

use super::extract::{ApiJson, ApiQuery};
use crate::app::App;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::service::collections;

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/v1/collections", get(list).post(create))
        .route("/v1/collections/{name}", get(get_one).delete(delete))
}

/// Create a collection; its embedding model is fixed from now on.
#[utoipa::path(post, path = "/v1/collections", tag = "collections",
    request_body = CreateCollection,
    responses((status = 201, body = Collection), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(app): State<Arc<App>>,
    ApiJson(req): ApiJson<CreateCollection>,
) -> Result<(StatusCode, Json<Collection>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(collections::create(&app.backends, req).await?),
    ))
}

/// List collections with their document and chunk counts, one page at a
/// time in name order: follow `next` with `?after=`.
#[utoipa::path(get, path = "/v1/collections", tag = "collections",
    params(PageQuery),
    responses((status = 200, body = CollectionList), (status = 422, body = ErrorBody)))]
pub async fn list(
    State(app): State<Arc<App>>,
    caller: Option<Extension<Arc<Caller>>>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<CollectionList>, ApiError> {
    // A key limited to collections sees only those.
    let visible = |name: &str| caller.as_ref().is_none_or(|Extension(c)| c.sees(name));
    Ok(Json(
        collections::page(&app.backends, &page, visible).await?,
    ))
}

/// One collection with its counts.
#[utoipa::path(get, path = "/v1/collections/{name}", tag = "collections",
    params(("name" = String, Path, description = "Collection name")),
    responses((status = 200, body = Collection), (status = 404, body = ErrorBody)))]
pub async fn get_one(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
) -> Result<Json<Collection>, ApiError> {
    Ok(Json(collections::get(&app.backends, &name).await?))
}

/// Delete a collection with all its documents and vectors.
#[utoipa::path(delete, path = "/v1/collections/{name}", tag = "collections",
    params(("name" = String, Path, description = "Collection name")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    collections::delete(&app.backends, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}
