//! Demo mode: the newcomer's first run. Ingests the Markdown files of a
//! folder (the project's own `docs/`) into a `docs` collection through the
//! same service functions the API uses, then prints a curl line to try.

use std::path::{Path, PathBuf};

use ragd_api::{CreateCollection, DocumentFormat, DocumentInput, IngestRequest};

use crate::app::App;
use crate::error::ApiError;
use crate::service::{collections, documents};

/// Name of the demo collection.
pub const COLLECTION: &str = "docs";

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no .md or .txt files in {0}")]
    Empty(PathBuf),
    #[error(transparent)]
    Api(#[from] ApiError),
}

/// `.md` and `.txt` files directly in `dir`, sorted.
fn files(dir: &Path) -> Result<Vec<PathBuf>, DemoError> {
    let io = |source| DemoError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && matches!(
                    p.extension().and_then(|e| e.to_str()),
                    Some("md") | Some("txt")
                )
        })
        .collect();
    out.sort();
    Ok(out)
}

/// Ingest `dir` into the `docs` collection (creating it if needed).
/// Returns (documents, chunks) ingested.
pub async fn load(app: &App, dir: &Path) -> Result<(usize, u32), DemoError> {
    let paths = files(dir)?;
    if paths.is_empty() {
        return Err(DemoError::Empty(dir.to_path_buf()));
    }
    match collections::create(
        &app.backends,
        CreateCollection {
            name: COLLECTION.into(),
            embedder: None,
        },
    )
    .await
    {
        Ok(_) | Err(ApiError::CollectionExists(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let mut docs = Vec::new();
    for path in &paths {
        let text = std::fs::read_to_string(path).map_err(|source| DemoError::Io {
            path: path.clone(),
            source,
        })?;
        if text.trim().is_empty() {
            continue;
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let format = if name.ends_with(".md") {
            DocumentFormat::Markdown
        } else {
            DocumentFormat::Text
        };
        let mut metadata = ragd_api::Metadata::new();
        metadata.insert("source".into(), format!("docs/{name}").into());
        docs.push(DocumentInput {
            id: Some(name),
            text,
            metadata: Some(metadata),
            format,
        });
    }
    let n = docs.len();
    let resp =
        documents::ingest(&app.backends, COLLECTION, IngestRequest { documents: docs }).await?;
    Ok((n, resp.chunks))
}

/// The curl line printed for the newcomer.
pub fn curl_line(addr: &std::net::SocketAddr) -> String {
    format!(
        "curl -s http://{addr}/v1/collections/{COLLECTION}/query -H 'content-type: application/json' -d '{{\"question\":\"How does ragd keep acknowledged data safe?\"}}'"
    )
}
