//! The files `ingest` considers: DIR walked as ripgrep walks it, each file
//! with its document id.
//!
//! - `.gitignore` files (also outside a git repository), `.ignore` files and
//!   those of DIR's parents are honoured; hidden files and folders are
//!   skipped; symbolic links are not followed into folders, and a link to a
//!   file counts as that file.
//! - Without `--glob`, a file is taken when its extension is one ragd reads
//!   ([`EXTENSIONS`]). `--glob` patterns (gitignore syntax, through
//!   `ignore::overrides`) then choose instead: a file is taken when it
//!   matches one, and never when it matches a `!` pattern; with only `!`
//!   patterns, the extensions still choose among the rest. Globs select
//!   among the files the walk finds: they never bring back hidden or ignored
//!   files (unlike `rg --glob`).
//! - DIR may be one file: it is taken whatever its extension, with its file
//!   name as id.
//!
//! A document id is the path relative to DIR with `/` between components.

use std::path::{Component, Path, PathBuf};

use ignore::overrides::{Override, OverrideBuilder};
use ignore::{Match, WalkBuilder};

use super::summary::Failure;
use crate::error::Error;

/// Extensions of the formats ragd reads (compared case-insensitively).
pub const EXTENSIONS: &[&str] = &[
    "txt", "text", "md", "markdown", "html", "htm", "pdf", "docx", "csv", "jsonl", "ndjson",
];

/// One file to consider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    /// Where it is on disk.
    pub path: PathBuf,
    /// Its document id: the path relative to DIR, `/`-separated.
    pub id: String,
    /// Its size when walked; batches are cut by it.
    pub bytes: u64,
}

/// What a walk found, in id order, and what it could not read.
#[derive(Debug, Default)]
pub struct Walked {
    pub files: Vec<FileEntry>,
    /// Folders or files the walk could not read, ids that are not text.
    pub failures: Vec<Failure>,
}

/// Walk `dir` (a folder or one file) with `globs`. Fails only when `dir`
/// cannot be read at all or a glob is invalid.
pub fn walk(dir: &Path, globs: &[String]) -> Result<Walked, Error> {
    let meta = std::fs::metadata(dir)
        .map_err(|e| Error::Usage(format!("{}: {}", dir.display(), io_reason(&e))))?;
    if meta.is_file() {
        let id = dir
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| {
                Error::Usage(format!(
                    "{}: the file name is not valid UTF-8, and ragd's ids are text",
                    dir.display()
                ))
            })?
            .to_string();
        return Ok(Walked {
            files: vec![FileEntry {
                path: dir.to_path_buf(),
                id,
                bytes: meta.len(),
            }],
            failures: Vec::new(),
        });
    }
    if !meta.is_dir() {
        return Err(Error::Usage(format!(
            "{}: not a folder or a regular file",
            dir.display()
        )));
    }
    let select = Selection::new(dir, globs)?;
    let mut out = Walked::default();
    let walker = WalkBuilder::new(dir)
        .require_git(false)
        .sort_by_file_name(|a, b| a.cmp(b))
        .build();
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let path = error_path(&e).map_or_else(
                    || dir.display().to_string(),
                    |p| relative(dir, p).to_string_lossy().into_owned(),
                );
                out.failures
                    .push(Failure::local(path, "walk", e.to_string()));
                continue;
            }
        };
        if entry.depth() == 0 || !is_file(&entry) {
            continue;
        }
        let rel = relative(dir, entry.path());
        if !select.takes(rel) {
            continue;
        }
        let Some(id) = doc_id(rel) else {
            out.failures.push(Failure::local(
                rel.to_string_lossy(),
                "file_name",
                "the path is not valid UTF-8, and ragd's ids are text",
            ));
            continue;
        };
        match std::fs::metadata(entry.path()) {
            Ok(m) => out.files.push(FileEntry {
                path: entry.path().to_path_buf(),
                id,
                bytes: m.len(),
            }),
            Err(e) => out.failures.push(Failure::local(id, "read", io_reason(&e))),
        }
    }
    out.files.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

/// Which walked files are taken: the globs, else the extensions.
struct Selection {
    globs: Override,
}

impl Selection {
    fn new(dir: &Path, globs: &[String]) -> Result<Selection, Error> {
        let mut b = OverrideBuilder::new(dir);
        for g in globs {
            b.add(g)
                .map_err(|e| Error::Usage(format!("--glob '{g}': {e}")))?;
        }
        let globs = b
            .build()
            .map_err(|e| Error::Usage(format!("--glob: {e}")))?;
        Ok(Selection { globs })
    }

    /// `rel` is a file's path relative to DIR.
    fn takes(&self, rel: &Path) -> bool {
        match self.globs.matched(rel, false) {
            Match::Whitelist(_) => true,
            Match::Ignore(_) => false,
            // no glob, or only `!` globs and this file matches none
            Match::None => has_known_extension(rel),
        }
    }
}

/// Whether ragd reads files with this name's extension.
pub fn has_known_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EXTENSIONS.iter().any(|k| k.eq_ignore_ascii_case(e)))
}

/// A regular file, or a link to one.
fn is_file(entry: &ignore::DirEntry) -> bool {
    match entry.file_type() {
        Some(t) if t.is_file() => true,
        Some(t) if t.is_symlink() => std::fs::metadata(entry.path()).is_ok_and(|m| m.is_file()),
        _ => false,
    }
}

fn relative<'a>(dir: &Path, path: &'a Path) -> &'a Path {
    path.strip_prefix(dir).unwrap_or(path)
}

/// The id of the file at `rel` (relative to DIR): its components joined
/// with `/`; `None` when one is not UTF-8.
pub fn doc_id(rel: &Path) -> Option<String> {
    let mut parts = Vec::new();
    for c in rel.components() {
        match c {
            Component::Normal(s) => parts.push(s.to_str()?),
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(parts.join("/"))
}

/// The path an error of the walker is about, if it names one.
fn error_path(e: &ignore::Error) -> Option<&Path> {
    match e {
        ignore::Error::WithPath { path, .. } => Some(path),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            error_path(err)
        }
        ignore::Error::Partial(errs) => errs.iter().find_map(error_path),
        _ => None,
    }
}

/// An I/O error as a reason, without Rust's `(os error N)`.
pub fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or folder".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}
