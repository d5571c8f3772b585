//! `/v1/collections/{name}/documents` routes: JSON ingest, multipart
//! upload of files (see [`crate::service::files`]), get, list, delete.

use std::sync::Arc;

use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use ragd_api::{
    Document, DocumentList, ErrorBody, IngestQuery, IngestRequest, IngestResponse, Job, Metadata,
    PageQuery,
};

use super::extract::{ApiJson, ApiQuery, max_body};
use crate::app::App;
use crate::error::ApiError;
use crate::service::files::{self, Upload};
use crate::service::{documents, jobs};

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/v1/collections/{name}/documents", get(list).post(ingest))
        .route(
            "/v1/collections/{name}/documents/{id}",
            get(get_one).delete(delete),
        )
}

/// Ingest documents. Send JSON ([`IngestRequest`]) or `multipart/form-data`
/// with files (each file's name becomes its document id, relative paths
/// kept) and an optional `metadata` part holding a JSON object applied to
/// every file. Files may be text, Markdown, HTML, PDF or DOCX, or CSV and
/// JSON Lines (one document per row); see [`crate::service::files`].
/// Re-ingesting an id replaces that document. The response is sent once the
/// documents are durable; with `?wait=false`, 202 with a job as soon as the
/// job is durable (follow it at `GET /v1/jobs/{id}`, also in `Location`).
#[utoipa::path(post, path = "/v1/collections/{name}/documents", tag = "documents",
    params(("name" = String, Path, description = "Collection name"), IngestQuery),
    request_body(content = IngestRequest, description = "JSON documents, or multipart/form-data files"),
    responses((status = 201, body = IngestResponse),
        (status = 202, body = Job, description = "Accepted as a job (?wait=false)"),
        (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody, description = "A file of a kind ragd cannot read"),
        (status = 422, body = ErrorBody)))]
pub async fn ingest(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    ApiQuery(query): ApiQuery<IngestQuery>,
    req: Request,
) -> Result<Response, ApiError> {
    let is_multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let sources = if is_multipart {
        let limit = max_body(&req);
        let mp = Multipart::from_request(req, &())
            .await
            .map_err(|e| ApiError::BadRequest(e.body_text()))?;
        let (uploads, metadata) = read_multipart(mp, limit).await?;
        files::from_uploads(uploads, metadata).await?
    } else {
        let body = ApiJson::<IngestRequest>::from_request(req, &()).await?.0;
        files::from_json(body.documents).await?
    };
    if query.wait == Some(false) {
        let job = jobs::submit(&app.backends, &name, sources).await?;
        let location = format!("/v1/jobs/{}", job.id);
        return Ok((
            StatusCode::ACCEPTED,
            [(header::LOCATION, location)],
            Json(job),
        )
            .into_response());
    }
    // The ingest runs to completion even if the client goes away, so a
    // disconnect can never leave a half-written document.
    let task =
        tokio::spawn(async move { documents::ingest_sources(&app.backends, &name, sources).await });
    let resp = task
        .await
        .map_err(|e| ApiError::Internal(format!("ingest task: {e}")))??;
    Ok((StatusCode::CREATED, Json(resp)).into_response())
}

/// The files of a multipart request and its `metadata` part.
async fn read_multipart(
    mut mp: Multipart,
    limit: u64,
) -> Result<(Vec<Upload>, Option<Metadata>), ApiError> {
    let mut uploads = Vec::new();
    let mut metadata: Option<Metadata> = None;
    loop {
        let field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(ApiError::PayloadTooLarge { limit });
            }
            Err(e) => {
                return Err(ApiError::BadRequest(format!(
                    "multipart: {}",
                    e.body_text()
                )));
            }
        };
        let part = field.name().unwrap_or_default().to_string();
        let file_name = field.file_name().map(str::to_string);
        let content_type = field.content_type().map(str::to_string);
        let bytes = field.bytes().await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge { limit }
            } else {
                ApiError::BadRequest(format!("multipart: {}", e.body_text()))
            }
        })?;
        match file_name {
            None if part == "metadata" => {
                metadata = Some(serde_json::from_slice(&bytes).map_err(|e| {
                    ApiError::MalformedJson(format!("metadata part must be a JSON object: {e}"))
                })?);
            }
            None => {
                return Err(ApiError::invalid(
                    part,
                    "unexpected part: send files (with a filename) and an optional 'metadata' part",
                ));
            }
            Some(file) => uploads.push(Upload {
                id: files::id_of_file_name(&file),
                content_type,
                bytes,
            }),
        }
    }
    Ok((uploads, metadata))
}

/// List a collection's documents (ids and sizes, no text), one page at a
/// time in id order: follow `next` with `?after=`.
#[utoipa::path(get, path = "/v1/collections/{name}/documents", tag = "documents",
    params(("name" = String, Path, description = "Collection name"), PageQuery),
    responses((status = 200, body = DocumentList), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<DocumentList>, ApiError> {
    Ok(Json(documents::list(&app.backends, &name, &page).await?))
}

/// One document with its text and metadata.
#[utoipa::path(get, path = "/v1/collections/{name}/documents/{id}", tag = "documents",
    params(("name" = String, Path, description = "Collection name"), ("id" = String, Path, description = "Document id")),
    responses((status = 200, body = Document), (status = 404, body = ErrorBody)))]
pub async fn get_one(
    State(app): State<Arc<App>>,
    Path((name, id)): Path<(String, String)>,
) -> Result<Json<Document>, ApiError> {
    Ok(Json(documents::get(&app.backends, &name, &id).await?))
}

/// Delete a document; it stops appearing in answers at once.
#[utoipa::path(delete, path = "/v1/collections/{name}/documents/{id}", tag = "documents",
    params(("name" = String, Path, description = "Collection name"), ("id" = String, Path, description = "Document id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete(
    State(app): State<Arc<App>>,
    Path((name, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let task = tokio::spawn(async move { documents::delete(&app.backends, &name, &id).await });
    task.await
        .map_err(|e| ApiError::Internal(format!("delete task: {e}")))??;
    Ok(StatusCode::NO_CONTENT)
}
