//! `/v1/collections/{name}/documents` routes: JSON ingest, multipart
//! upload of `.txt`/`.md` files, get, list, delete.

use std::sync::Arc;

use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{StatusCode, header};
use axum::routing::get;
use axum::{Json, Router};
use ragd_api::{
    Document, DocumentFormat, DocumentInput, DocumentList, ErrorBody, IngestRequest,
    IngestResponse, Metadata,
};

use super::extract::{ApiJson, max_body};
use crate::app::App;
use crate::error::ApiError;
use crate::service::documents;

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/v1/collections/{name}/documents", get(list).post(ingest))
        .route(
            "/v1/collections/{name}/documents/{id}",
            get(get_one).delete(delete),
        )
}

/// Ingest documents. Send JSON ([`IngestRequest`]) or `multipart/form-data`
/// with `.txt`/`.md` files (each file's name becomes its document id) and an
/// optional `metadata` part holding a JSON object applied to every file.
/// Re-ingesting an id replaces that document. The response is sent once the
/// documents are durable.
#[utoipa::path(post, path = "/v1/collections/{name}/documents", tag = "documents",
    params(("name" = String, Path, description = "Collection name")),
    request_body(content = IngestRequest, description = "JSON documents, or multipart/form-data files"),
    responses((status = 201, body = IngestResponse), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn ingest(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    req: Request,
) -> Result<(StatusCode, Json<IngestResponse>), ApiError> {
    let is_multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let body = if is_multipart {
        let limit = max_body(&req);
        let mp = Multipart::from_request(req, &())
            .await
            .map_err(|e| ApiError::BadRequest(e.body_text()))?;
        read_multipart(mp, limit).await?
    } else {
        ApiJson::<IngestRequest>::from_request(req, &()).await?.0
    };
    // The ingest runs to completion even if the client goes away, so a
    // disconnect can never leave a half-written document.
    let task = tokio::spawn(async move { documents::ingest(&app.backends, &name, body).await });
    let resp = task
        .await
        .map_err(|e| ApiError::Internal(format!("ingest task: {e}")))??;
    Ok((StatusCode::CREATED, Json(resp)))
}

async fn read_multipart(mut mp: Multipart, limit: u64) -> Result<IngestRequest, ApiError> {
    let mut documents = Vec::new();
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
            Some(file) => {
                // Only the final path component, whatever the client sent.
                let id = file.rsplit(['/', '\\']).next().unwrap_or(&file).to_string();
                let lower = id.to_ascii_lowercase();
                let format = if lower.ends_with(".md") || lower.ends_with(".markdown") {
                    DocumentFormat::Markdown
                } else if lower.ends_with(".txt") || lower.ends_with(".text") {
                    DocumentFormat::Text
                } else {
                    return Err(ApiError::UnsupportedMediaType(format!(
                        "{id}: only .txt and .md files can be uploaded"
                    )));
                };
                let text = String::from_utf8(bytes.to_vec())
                    .map_err(|_| ApiError::invalid(id.clone(), "file is not valid UTF-8 text"))?;
                documents.push(DocumentInput {
                    id: Some(id),
                    text,
                    metadata: None,
                    format,
                });
            }
        }
    }
    if let Some(m) = metadata {
        for d in &mut documents {
            d.metadata = Some(m.clone());
        }
    }
    Ok(IngestRequest { documents })
}

/// List a collection's documents (ids and sizes, no text).
#[utoipa::path(get, path = "/v1/collections/{name}/documents", tag = "documents",
    params(("name" = String, Path, description = "Collection name")),
    responses((status = 200, body = DocumentList), (status = 404, body = ErrorBody)))]
pub async fn list(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
) -> Result<Json<DocumentList>, ApiError> {
    Ok(Json(DocumentList {
        documents: documents::list(&app.backends, &name).await?,
    }))
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
