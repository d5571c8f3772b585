//! `/v1/keys` routes (admin keys only, see [`super::auth`]): create, list,
//! revoke API keys.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use ragd_api::{CreateKey, CreatedKey, ErrorBody, KeyInfo, KeyList};

use super::extract::ApiJson;
use crate::app::App;
use crate::error::ApiError;
use crate::service::keys;

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/v1/keys", get(list).post(create))
        .route("/v1/keys/{name}", delete(revoke))
}

/// Create a key; the answer holds its secret, shown this once.
#[utoipa::path(post, path = "/v1/keys", tag = "keys", request_body = CreateKey,
    responses((status = 201, body = CreatedKey), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(app): State<Arc<App>>,
    ApiJson(req): ApiJson<CreateKey>,
) -> Result<(StatusCode, Json<CreatedKey>), ApiError> {
    let made = keys::create(app.backends.meta.as_ref(), req).await?;
    Ok((StatusCode::CREATED, Json(made)))
}

/// Every key, revoked ones too; never a secret.
#[utoipa::path(get, path = "/v1/keys", tag = "keys", responses((status = 200, body = KeyList)))]
pub async fn list(State(app): State<Arc<App>>) -> Result<Json<KeyList>, ApiError> {
    Ok(Json(KeyList {
        keys: keys::list(app.backends.meta.as_ref()).await?,
    }))
}

/// Revoke a key: at once on this replica, within `auth.cache_secs` on the
/// others.
#[utoipa::path(delete, path = "/v1/keys/{name}", tag = "keys",
    params(("name" = String, Path, description = "Key name")),
    responses((status = 200, body = KeyInfo), (status = 404, body = ErrorBody)))]
pub async fn revoke(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
) -> Result<Json<KeyInfo>, ApiError> {
    let info = keys::revoke(app.backends.meta.as_ref(), &name).await?;
    app.auth.forget(&info.id);
    Ok(Json(info))
}
