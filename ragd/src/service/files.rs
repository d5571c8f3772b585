//! Files made into documents: uploads in the formats ragd reads (text,
//! Markdown, HTML, PDF, DOCX; CSV and JSON Lines as one document per row),
//! and JSON documents whose `format` needs converting (HTML).
//!
//! The format of an upload is, in this order: the part's content type when
//! it names one (not `application/octet-stream` or `text/plain`), the file
//! name's extension, the first bytes (`%PDF-`, a zip, `<html`), else plain
//! text. The text is extracted by the `ragd-extract` crate, bounded in size
//! (its [`Limits`]) and in time ([`EXTRACT_TIMEOUT`]), on a thread of its
//! own at batch priority, so a hostile file can neither stall the server
//! nor hold up questions. A format ragd cannot read is 415; a corrupt file,
//! one without text, or one over a bound is 422 naming the file.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use bytes::Bytes;
use ragd_api::{DocumentFormat, DocumentInput, Metadata};
use ragd_extract::{ExtractError, Extracted, Format, Limits, Row};
use tokio::sync::Semaphore;

use super::documents::Source;
use crate::error::ApiError;

/// Longest one file's extraction may take.
pub const EXTRACT_TIMEOUT: Duration = Duration::from_secs(30);

/// Extractions running at once (each on a thread of its own). A file that
/// outlives [`EXTRACT_TIMEOUT`] keeps its slot until it ends, so hostile
/// files cannot pile up threads.
const EXTRACTIONS: usize = 2;

static SLOTS: LazyLock<Arc<Semaphore>> = LazyLock::new(|| Arc::new(Semaphore::new(EXTRACTIONS)));

/// One uploaded file.
#[derive(Debug, Clone)]
pub struct Upload {
    /// The document id: the file name as sent, `\` made `/`, without a
    /// leading `./` or `/`.
    pub id: String,
    pub content_type: Option<String>,
    pub bytes: Bytes,
}

/// SHA-256 of `bytes`, lowercase hex (the one implementation, shared with
/// the API keys' stored hashes).
pub use crate::auth::secret::sha256_hex;

/// A file name as a document id (see [`Upload::id`]).
pub fn id_of_file_name(name: &str) -> String {
    let id = name.replace('\\', "/");
    let mut id = id.as_str();
    while let Some(rest) = id.strip_prefix("./").or_else(|| id.strip_prefix('/')) {
        id = rest;
    }
    id.to_string()
}

/// The format of an upload (see the module documentation).
pub fn format_of(upload: &Upload) -> Result<Format, ApiError> {
    let generic = |ct: &str| {
        let base = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        base.is_empty() || base == "application/octet-stream" || base == "text/plain"
    };
    if let Some(ct) = upload.content_type.as_deref().filter(|ct| !generic(ct)) {
        return Format::from_content_type(ct).ok_or_else(|| {
            ApiError::UnsupportedMediaType(format!(
                "{}: content type {ct:?} cannot be read; {READABLE}",
                upload.id
            ))
        });
    }
    if let Some(f) = Format::from_file_name(&upload.id) {
        return Ok(f);
    }
    if let Some(f) = Format::sniff(&upload.bytes) {
        return Ok(f);
    }
    let has_extension = upload
        .id
        .rsplit('/')
        .next()
        .is_some_and(|name| name.trim_start_matches('.').contains('.'));
    if has_extension {
        return Err(ApiError::UnsupportedMediaType(format!(
            "{}: this kind of file cannot be read; {READABLE}",
            upload.id
        )));
    }
    Ok(Format::Text)
}

/// What the 415 errors list.
const READABLE: &str = "ragd reads .txt, .md, .html, .pdf, .docx, .csv and .jsonl files";

/// Uploads made into documents; `metadata` (the request's `metadata` part)
/// applies to each. CSV and JSON Lines files become one document per row,
/// `FILE#N` (or `FILE#ID` for a JSON Lines row with an `id`), with the
/// row's fields as metadata.
pub async fn from_uploads(
    uploads: Vec<Upload>,
    metadata: Option<Metadata>,
) -> Result<Vec<Source>, ApiError> {
    let mut sources = Vec::with_capacity(uploads.len());
    for upload in uploads {
        let format = format_of(&upload)?;
        let sha256 = sha256_hex(&upload.bytes);
        if format.is_rows() {
            let rows = bounded(&upload.id, {
                let bytes = upload.bytes.clone();
                move || ragd_extract::rows(format, &bytes, &Limits::default())
            })
            .await?;
            sources.extend(
                rows.into_iter()
                    .map(|row| row_source(&upload.id, &sha256, row, &metadata)),
            );
            continue;
        }
        let extracted = bounded(&upload.id, {
            let bytes = upload.bytes.clone();
            move || ragd_extract::extract(format, &bytes, &Limits::default())
        })
        .await?;
        let mut source = document_source(upload.id, format, extracted, metadata.clone());
        source.sha256 = Some(sha256);
        sources.push(source);
    }
    Ok(sources)
}

/// JSON documents made into sources; HTML is converted to Markdown.
pub async fn from_json(docs: Vec<DocumentInput>) -> Result<Vec<Source>, ApiError> {
    let mut sources = Vec::with_capacity(docs.len());
    for (i, doc) in docs.into_iter().enumerate() {
        if doc.format != DocumentFormat::Html {
            sources.push(Source::from(doc));
            continue;
        }
        let field = format!("documents[{i}].text");
        let sha256 = sha256_hex(doc.text.as_bytes());
        let text = Bytes::from(doc.text.into_bytes());
        let extracted = bounded(&field, move || {
            ragd_extract::extract(Format::Html, &text, &Limits::default())
        })
        .await?;
        let id = doc.id.clone();
        let mut source = document_source(
            id.unwrap_or_default(),
            Format::Html,
            extracted,
            doc.metadata,
        );
        source.input.id = doc.id;
        source.sha256 = Some(sha256);
        sources.push(source);
    }
    Ok(sources)
}

/// A document from extracted text: Markdown (every converted format is),
/// its pages, and its title as metadata `title` unless the client set one.
fn document_source(
    id: String,
    format: Format,
    extracted: Extracted,
    metadata: Option<Metadata>,
) -> Source {
    let mut metadata = metadata;
    if let Some(title) = extracted.title.filter(|t| !t.trim().is_empty()) {
        let m = metadata.get_or_insert_with(Metadata::new);
        m.entry("title").or_insert(title.into());
    }
    Source {
        input: DocumentInput {
            id: Some(id),
            text: extracted.text,
            metadata,
            format: match format {
                Format::Text => DocumentFormat::Text,
                _ => DocumentFormat::Markdown,
            },
        },
        sha256: None,
        pages: extracted.pages,
    }
}

/// One row of a CSV or JSON Lines file as a document. Its `sha256` is the
/// whole file's, so that a bulk ingest can tell an unchanged file from the
/// rows it became (`ragctl ingest` skips a file whose rows all carry it).
fn row_source(file: &str, file_sha256: &str, row: Row, metadata: &Option<Metadata>) -> Source {
    let key = row.id.clone().unwrap_or_else(|| row.number.to_string());
    let mut fields = row.fields;
    // The request's metadata is the client's word: it wins over a field.
    if let Some(m) = metadata {
        fields.extend(m.clone());
    }
    Source {
        input: DocumentInput {
            id: Some(format!("{file}#{key}")),
            text: row.text,
            metadata: Some(fields),
            format: DocumentFormat::Text,
        },
        sha256: Some(file_sha256.to_string()),
        pages: Vec::new(),
    }
}

/// Run one extraction on a thread of its own at batch priority, at most
/// [`EXTRACTIONS`] at once and [`EXTRACT_TIMEOUT`] long, its errors as API
/// errors naming `what` (the file).
async fn bounded<T, F>(what: &str, job: F) -> Result<T, ApiError>
where
    F: FnOnce() -> Result<T, ExtractError> + Send + 'static,
    T: Send + 'static,
{
    let work = async {
        let permit = SLOTS
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| ApiError::Internal("extraction slots closed".into()))?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("ragd-extract".into())
            .spawn(move || {
                let _permit = permit;
                crate::cpu::lower_priority();
                let _ = tx.send(job());
            })
            .map_err(|e| ApiError::Internal(format!("extraction thread: {e}")))?;
        rx.await
            .map_err(|_| ApiError::Internal("extraction thread ended without a result".into()))
    };
    match tokio::time::timeout(EXTRACT_TIMEOUT, work).await {
        Err(_) => Err(ApiError::invalid(
            what,
            format!(
                "reading the file took longer than {} s; it may be damaged or built to stall readers",
                EXTRACT_TIMEOUT.as_secs()
            ),
        )),
        Ok(Err(e)) => Err(e),
        Ok(Ok(Ok(v))) => Ok(v),
        Ok(Ok(Err(e))) => Err(match e {
            ExtractError::Unsupported(m) => ApiError::UnsupportedMediaType(format!("{what}: {m}")),
            other => ApiError::invalid(what, other.to_string()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upload(id: &str, content_type: Option<&str>, bytes: &'static [u8]) -> Upload {
        Upload {
            id: id.into(),
            content_type: content_type.map(str::to_string),
            bytes: Bytes::from_static(bytes),
        }
    }

    #[test]
    fn the_format_comes_from_the_content_type_then_the_name_then_the_bytes() {
        let f = |u: Upload| format_of(&u).map_err(|e| e.status_and_code().0.as_u16());
        assert_eq!(
            f(upload("a.txt", Some("application/pdf"), b"")),
            Ok(Format::Pdf)
        );
        assert_eq!(
            f(upload("a.md", Some("text/plain"), b"# x")),
            Ok(Format::Markdown)
        );
        assert_eq!(f(upload("a.pdf", None, b"")), Ok(Format::Pdf));
        assert_eq!(
            f(upload(
                "report",
                Some("application/octet-stream"),
                b"%PDF-1.4"
            )),
            Ok(Format::Pdf)
        );
        assert_eq!(f(upload("notes", None, b"just words")), Ok(Format::Text));
        assert_eq!(f(upload("a.exe", None, b"MZ")), Err(415));
        assert_eq!(f(upload("a.txt", Some("image/png"), b"")), Err(415));
    }

    #[test]
    fn file_names_become_ids_with_forward_slashes() {
        assert_eq!(id_of_file_name("docs\\guide\\a.md"), "docs/guide/a.md");
        assert_eq!(id_of_file_name("./a/b.pdf"), "a/b.pdf");
        assert_eq!(id_of_file_name("/abs/c.txt"), "abs/c.txt");
        assert_eq!(id_of_file_name("plain.md"), "plain.md");
    }

    #[test]
    fn sha256_is_lowercase_hex() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[tokio::test]
    async fn rows_become_documents_with_their_fields() {
        let csv = upload(
            "people.csv",
            None,
            b"name,city\nAda,London\nAlan,Wilmslow\n",
        );
        let meta: Metadata = serde_json::from_str(r#"{"source":"hr"}"#).unwrap();
        let s = from_uploads(vec![csv], Some(meta)).await.unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].input.id.as_deref(), Some("people.csv#1"));
        assert!(
            s[1].input.text.contains("Wilmslow"),
            "{:?}",
            s[1].input.text
        );
        let m = s[1].input.metadata.as_ref().unwrap();
        assert_eq!(
            (m["city"].as_str(), m["source"].as_str()),
            (Some("Wilmslow"), Some("hr"))
        );
    }

    #[tokio::test]
    async fn a_corrupt_file_is_422_naming_it_and_an_unknown_kind_415() {
        let e = from_uploads(vec![upload("bad.pdf", None, b"%PDF-1.4 garbage")], None)
            .await
            .unwrap_err();
        assert_eq!(e.status_and_code().0.as_u16(), 422, "{e}");
        assert!(e.to_string().contains("bad.pdf"), "{e}");
        let e = from_uploads(vec![upload("x.bin", None, b"\x00\x01")], None)
            .await
            .unwrap_err();
        assert_eq!(e.status_and_code().0.as_u16(), 415, "{e}");
    }
}
