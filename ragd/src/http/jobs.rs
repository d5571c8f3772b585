//! `GET /v1/jobs/{id}`: an asynchronous ingest, followed (see
//! [`crate::service::jobs`]).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Extension, Json, Router};
use ragd_api::{ErrorBody, Job};

use crate::app::App;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::service::jobs;

pub fn routes() -> Router<Arc<App>> {
    Router::new().route("/v1/jobs/{id}", get(get_one))
}

/// An asynchronous ingest's state, progress and error. A key limited to
/// collections sees only the jobs of its own (others are 404, as if they
/// did not exist).
#[utoipa::path(get, path = "/v1/jobs/{id}", tag = "documents",
    params(("id" = String, Path, description = "Job id, from the 202 of POST .../documents?wait=false")),
    responses((status = 200, body = Job), (status = 404, body = ErrorBody)))]
pub async fn get_one(
    State(app): State<Arc<App>>,
    caller: Option<Extension<Arc<Caller>>>,
    Path(id): Path<String>,
) -> Result<Json<Job>, ApiError> {
    let job = jobs::get(&app.backends, &id).await?;
    if caller.is_some_and(|Extension(c)| !c.sees(&job.collection)) {
        return Err(ApiError::JobNotFound(id));
    }
    Ok(Json(job))
}
