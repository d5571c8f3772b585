//! The ragd routes `ingest` uses, with the wire types of `ragd-api`:
//! `GET /v1/collections/{c}` (exists?), `POST /v1/collections` (`--create`),
//! `GET /v1/collections/{c}/documents` (paged, for the stored SHA-256s) and
//! the multipart upload to `POST /v1/collections/{c}/documents`.
//!
//! The control calls fail the command with an [`Error`] (ragd unreachable,
//! an unexpected answer); the upload hands back the raw answer, which
//! `send` interprets per batch.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use ragd_api::{CreateCollection, DocumentList, ErrorBody, MAX_PAGE_LIMIT};
use reqwest::{StatusCode, Url};

use super::UPLOAD_TIMEOUT;
use crate::error::Error;
use crate::ragd;

/// Timeout of the control calls (exists, create, one page of the list).
const CONTROL_TIMEOUT: Duration = Duration::from_secs(30);

/// One file of an upload, read into memory.
#[derive(Debug, Clone)]
pub struct Upload {
    /// The document id, sent as the part's file name.
    pub id: String,
    pub bytes: Bytes,
}

/// A ragd and one collection on it.
#[derive(Debug, Clone)]
pub struct Api {
    client: reqwest::Client,
    base: Url,
    collection: String,
}

impl Api {
    /// With [`crate::ragd::client_with`]: the API key from the environment,
    /// a short connect timeout, a timeout per request.
    pub fn new(base: &Url, collection: &str) -> Api {
        Api {
            client: ragd::client_with(Duration::from_secs(3), None),
            base: base.clone(),
            collection: collection.to_string(),
        }
    }

    pub fn base(&self) -> &str {
        self.base.as_str().trim_end_matches('/')
    }

    /// `{base}/v1/collections[/{collection}[/documents]]`, each segment
    /// percent-encoded.
    fn url(&self, with_collection: bool, documents: bool) -> Url {
        let mut u = self.base.clone();
        if let Ok(mut segs) = u.path_segments_mut() {
            segs.pop_if_empty().extend(["v1", "collections"]);
            if with_collection {
                segs.push(&self.collection);
            }
            if documents {
                segs.push("documents");
            }
        }
        u
    }

    fn unreachable(&self, e: &reqwest::Error) -> Error {
        Error::RagdUnreachable {
            url: self.base().to_string(),
            reason: ragd::short(e),
        }
    }

    /// Whether the collection exists (`GET /v1/collections/{c}`).
    pub async fn collection_exists(&self) -> Result<bool, Error> {
        let what = format!("GET /v1/collections/{}", self.collection);
        let r = self
            .client
            .get(self.url(true, false))
            .timeout(CONTROL_TIMEOUT)
            .send()
            .await
            .map_err(|e| self.unreachable(&e))?;
        match r.status() {
            s if s.is_success() => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            _ => Err(answer_error(what, r).await),
        }
    }

    /// `POST /v1/collections {"name": c}`; 409 (it exists by now) is fine.
    pub async fn create_collection(&self) -> Result<(), Error> {
        let body = CreateCollection {
            name: self.collection.clone(),
            embedder: None,
        };
        let r = self
            .client
            .post(self.url(false, false))
            .timeout(CONTROL_TIMEOUT)
            .json(&body)
            .send()
            .await
            .map_err(|e| self.unreachable(&e))?;
        if r.status().is_success() || r.status() == StatusCode::CONFLICT {
            Ok(())
        } else {
            Err(answer_error("POST /v1/collections".into(), r).await)
        }
    }

    /// Every document's id and stored SHA-256 (`None` when ragd holds none),
    /// following `next` from page to page.
    pub async fn stored_hashes(&self) -> Result<HashMap<String, Option<String>>, Error> {
        let what = format!("GET /v1/collections/{}/documents", self.collection);
        let mut out = HashMap::new();
        let mut after: Option<String> = None;
        loop {
            let mut url = self.url(true, true);
            {
                let mut q = url.query_pairs_mut();
                q.append_pair("limit", &MAX_PAGE_LIMIT.to_string());
                if let Some(a) = &after {
                    q.append_pair("after", a);
                }
            }
            let r = self
                .client
                .get(url)
                .timeout(CONTROL_TIMEOUT)
                .send()
                .await
                .map_err(|e| self.unreachable(&e))?;
            if !r.status().is_success() {
                return Err(answer_error(what, r).await);
            }
            let status = r.status().as_u16();
            let page: DocumentList = r.json().await.map_err(|e| Error::Ragd {
                what: what.clone(),
                status,
                code: "bad_response".into(),
                message: format!("not a document list: {e}"),
            })?;
            for d in page.documents {
                out.insert(d.id, d.sha256);
            }
            match page.next {
                // a cursor that does not move would loop for ever
                Some(n) if after.as_deref() != Some(n.as_str()) => after = Some(n),
                _ => return Ok(out),
            }
        }
    }

    /// Upload `files` as one `multipart/form-data` request: one part named
    /// `file` per file, its file name the document id, its content type
    /// from the extension.
    pub async fn upload(&self, files: &[Upload]) -> Result<reqwest::Response, reqwest::Error> {
        let mut form = reqwest::multipart::Form::new().percent_encode_noop();
        for f in files {
            let len = f.bytes.len() as u64;
            let part = reqwest::multipart::Part::stream_with_length(f.bytes.clone(), len)
                .file_name(f.id.clone())
                .mime_str(content_type(&f.id))?;
            form = form.part("file", part);
        }
        self.client
            .post(self.url(true, true))
            .timeout(UPLOAD_TIMEOUT)
            .multipart(form)
            .send()
            .await
    }
}

/// The content type ragd reads a file name's format from;
/// `application/octet-stream` for an extension it does not know (ragd then
/// looks at the extension and the first bytes itself).
pub fn content_type(name: &str) -> &'static str {
    let ext = name
        .rsplit('/')
        .next()
        .and_then(|b| b.rsplit_once('.'))
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "txt" | "text" => "text/plain; charset=utf-8",
        "md" | "markdown" => "text/markdown; charset=utf-8",
        "html" | "htm" => "text/html",
        "pdf" => "application/pdf",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "csv" => "text/csv",
        "jsonl" | "ndjson" => "application/x-ndjson",
        _ => "application/octet-stream",
    }
}

/// ragd's error envelope, or the start of whatever else it answered
/// (a proxy's page...), as `(code, message)`.
pub async fn error_of(r: reqwest::Response) -> (String, String) {
    let status = r.status();
    let text = r.text().await.unwrap_or_default();
    match serde_json::from_str::<ErrorBody>(&text) {
        Ok(b) => (b.error.code, b.error.message),
        Err(_) => {
            let mut t: String = text.trim().chars().take(200).collect();
            if t.is_empty() {
                t = status
                    .canonical_reason()
                    .unwrap_or("no error message")
                    .to_string();
            }
            ("http_error".into(), t)
        }
    }
}

/// An unexpected answer to a control call as an [`Error`].
async fn answer_error(what: String, r: reqwest::Response) -> Error {
    let status = r.status().as_u16();
    let (code, message) = error_of(r).await;
    Error::Ragd {
        what,
        status,
        code,
        message,
    }
}
