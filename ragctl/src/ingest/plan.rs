//! Which walked files to send: a file is skipped when ragd holds a document
//! with its id whose SHA-256 (of the uploaded bytes) equals the file's.
//! Files are only hashed when there is a stored hash to compare with; with
//! `--force` nothing is listed or hashed.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::api::Api;
use super::progress::Progress;
use super::summary::{Failure, PlannedFile};
use super::walk::{FileEntry, io_reason};
use crate::error::Error;

/// The walked files, sorted into what to do with each.
#[derive(Debug, Default)]
pub struct Planned {
    pub send: Vec<FileEntry>,
    pub skip: Vec<FileEntry>,
    /// Files that could not be read to be hashed.
    pub failures: Vec<Failure>,
    /// Every file with its action and reason, in id order (for `--dry-run`).
    pub listing: Vec<PlannedFile>,
}

/// List the collection's hashes (when it `exists`) and compare.
pub async fn plan(
    api: &Api,
    exists: bool,
    files: Vec<FileEntry>,
    force: bool,
    progress: &Progress,
) -> Result<Planned, Error> {
    let stored = if exists && !force {
        progress.phase("listing the collection's documents");
        api.stored_hashes().await?
    } else {
        HashMap::new()
    };
    progress.comparing(files.len() as u64);
    let p = progress.clone();
    tokio::task::spawn_blocking(move || compare(files, &stored, force, &p))
        .await
        .map_err(|e| Error::Usage(format!("comparing files: {e}")))
}

/// Sort `files` by their hashes against `stored` (id -> stored SHA-256).
pub fn compare(
    files: Vec<FileEntry>,
    stored: &HashMap<String, Option<String>>,
    force: bool,
    progress: &Progress,
) -> Planned {
    let mut out = Planned::default();
    let sorted: std::collections::BTreeMap<&str, Option<&str>> = stored
        .iter()
        .map(|(id, h)| (id.as_str(), h.as_deref()))
        .collect();
    for f in files {
        let reason = if force {
            "forced"
        } else {
            match stored_hash(&sorted, &f.id) {
                None => "new",
                Some(None) => "no_hash",
                Some(Some(want)) => match sha256_file(&f.path) {
                    Ok(h) if h.eq_ignore_ascii_case(want) => "unchanged",
                    Ok(_) => "changed",
                    Err(e) => {
                        out.failures
                            .push(Failure::local(&f.id, "read", io_reason(&e)));
                        progress.tick();
                        continue;
                    }
                },
            }
        };
        let action = if reason == "unchanged" {
            "skip"
        } else {
            "send"
        };
        out.listing.push(PlannedFile {
            path: f.id.clone(),
            bytes: f.bytes,
            action,
            reason,
        });
        if action == "skip" {
            out.skip.push(f);
        } else {
            out.send.push(f);
        }
        progress.tick();
    }
    out
}

/// The hash ragd holds for file `id`: its document's, or, for a CSV or
/// JSON Lines file that ragd stored as row documents `ID#ROW`, the file's
/// hash that every row carries (`None` inside when they differ or lack it).
fn stored_hash<'a>(
    sorted: &std::collections::BTreeMap<&str, Option<&'a str>>,
    id: &str,
) -> Option<Option<&'a str>> {
    if let Some(h) = sorted.get(id) {
        return Some(*h);
    }
    let prefix = format!("{id}#");
    let mut rows = sorted
        .range(prefix.as_str()..)
        .take_while(|(k, _)| k.starts_with(&prefix))
        .map(|(_, h)| *h);
    let first = rows.next()?;
    Some(if rows.all(|h| h == first) {
        first
    } else {
        None
    })
}

/// Lowercase hex SHA-256 of a file's bytes, read in blocks.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

/// Lowercase hex SHA-256 of bytes in memory.
pub fn sha256_bytes(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
