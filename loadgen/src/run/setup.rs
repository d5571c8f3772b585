//! Before a run: the target must answer `GET /health`, and the collection
//! the profile queries must exist and hold documents (created, and
//! `setup.corpus` ingested, when it does not).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::profile::{Kind, Profile};

use super::RunError;

/// Why the collection could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("{0}")]
    Request(#[from] reqwest::Error),
    #[error("GET {url} answered {status}")]
    Get {
        url: String,
        status: reqwest::StatusCode,
    },
    #[error("creating it answered {status}: {body}")]
    Create {
        status: reqwest::StatusCode,
        body: String,
    },
    #[error(transparent)]
    Corpus(#[from] CorpusError),
    #[error("ingesting the corpus answered {status}: {body}")]
    Ingest {
        status: reqwest::StatusCode,
        body: String,
    },
}

/// Why `setup.corpus` could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    #[error("cannot read the corpus directory {}: {source}", .dir.display())]
    ReadDir {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {source}", .file.display())]
    ReadFile {
        file: PathBuf,
        source: std::io::Error,
    },
    #[error("the corpus directory {} holds no .md or .txt file", .dir.display())]
    Empty { dir: PathBuf },
}

/// `GET /health` until it answers (up to 5 s), with an error that says
/// what to do when it does not.
pub(super) async fn check_target(http: &reqwest::Client, target: &str) -> Result<(), RunError> {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut last;
    loop {
        match http
            .get(format!("{target}/health"))
            .timeout(Duration::from_secs(2))
            .send()
            .await
        {
            Ok(r) if r.status().is_success() => return Ok(()),
            Ok(r) => last = format!("GET /health answered {}", r.status()),
            Err(e) => {
                // reqwest's message hides the cause ("connection refused").
                let mut msg = e.to_string();
                let mut src = std::error::Error::source(&e);
                while let Some(c) = src {
                    msg = format!("{msg}: {c}");
                    src = c.source();
                }
                last = msg;
            }
        }
        if Instant::now() >= deadline {
            return Err(RunError::Unreachable {
                target: target.to_string(),
                cause: last,
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Make sure the collection the profile queries exists and holds
/// documents: create it and ingest `setup.corpus` when it does not.
pub(super) async fn setup(
    http: &reqwest::Client,
    target: &str,
    p: &Profile,
) -> Result<(), RunError> {
    prepare(http, target, p)
        .await
        .map_err(|source| RunError::Setup {
            collection: p.collection.clone(),
            source,
        })
}

async fn prepare(http: &reqwest::Client, target: &str, p: &Profile) -> Result<(), SetupError> {
    if !p
        .scenarios
        .iter()
        .any(|s| matches!(s.kind, Kind::Query | Kind::Ingest) && s.weight > 0)
    {
        return Ok(());
    }
    if documents(http, target, &p.collection).await? > 0 {
        return Ok(());
    }
    let Some(dir) = &p.setup_corpus else {
        return Ok(());
    };
    ingest(http, target, &p.collection, &read_corpus(dir)?).await
}

/// Documents in the collection; a missing one is created (and holds 0).
async fn documents(
    http: &reqwest::Client,
    target: &str,
    collection: &str,
) -> Result<u64, SetupError> {
    let url = format!("{target}/v1/collections/{collection}");
    let resp = http.get(&url).send().await?;
    if resp.status().is_success() {
        return Ok(resp.json::<ragd_api::Collection>().await?.documents);
    }
    if resp.status().as_u16() != 404 {
        return Err(SetupError::Get {
            url,
            status: resp.status(),
        });
    }
    let body = ragd_api::CreateCollection {
        name: collection.to_string(),
        embedder: None,
    };
    let r = http
        .post(format!("{target}/v1/collections"))
        .json(&body)
        .send()
        .await?;
    if !r.status().is_success() && r.status().as_u16() != 409 {
        return Err(SetupError::Create {
            status: r.status(),
            body: r.text().await.unwrap_or_default(),
        });
    }
    Ok(0)
}

/// Ingest `docs` into the collection, eight at a time.
async fn ingest(
    http: &reqwest::Client,
    target: &str,
    collection: &str,
    docs: &[ragd_api::DocumentInput],
) -> Result<(), SetupError> {
    for batch in docs.chunks(8) {
        let body = ragd_api::IngestRequest {
            documents: batch.to_vec(),
        };
        let r = http
            .post(format!("{target}/v1/collections/{collection}/documents"))
            .timeout(Duration::from_secs(300))
            .json(&body)
            .send()
            .await?;
        if !r.status().is_success() {
            return Err(SetupError::Ingest {
                status: r.status(),
                body: r.text().await.unwrap_or_default(),
            });
        }
    }
    Ok(())
}

/// The `.md` and `.txt` files of a directory, as documents named after them.
pub fn read_corpus(dir: &Path) -> Result<Vec<ragd_api::DocumentInput>, CorpusError> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|source| CorpusError::ReadDir {
            dir: dir.to_path_buf(),
            source,
        })?
        .filter_map(|d| d.ok().map(|d| d.path()))
        .filter(|p| matches!(p.extension().and_then(|x| x.to_str()), Some("md" | "txt")))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).map_err(|source| CorpusError::ReadFile {
            file: f.clone(),
            source,
        })?;
        if text.trim().is_empty() {
            continue;
        }
        let md = f.extension().and_then(|x| x.to_str()) == Some("md");
        let mut meta = ragd_api::Metadata::new();
        meta.insert("source".into(), "loadgen-setup".into());
        out.push(ragd_api::DocumentInput {
            id: f.file_name().map(|n| n.to_string_lossy().into_owned()),
            text,
            metadata: Some(meta),
            format: if md {
                ragd_api::DocumentFormat::Markdown
            } else {
                ragd_api::DocumentFormat::Text
            },
        });
    }
    if out.is_empty() {
        return Err(CorpusError::Empty {
            dir: dir.to_path_buf(),
        });
    }
    Ok(out)
}
