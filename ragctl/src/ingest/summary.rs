//! The report of one `ingest` run: built once from the walk, the plan and
//! the send [`Record`]s, printed as text ([`text`]) or as one JSON object
//! (the [`Summary`] serialised).

use std::fmt::Write as _;
use std::time::Duration;

use serde::{Serialize, Serializer};

use super::Options;
use super::send::Record;

/// Why one file was not ingested.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// The file's path relative to DIR (its document id).
    pub path: String,
    /// ragd's HTTP status; `null` when ragd did not answer or the file was
    /// never sent (unreadable...).
    pub status: Option<u16>,
    /// ragd's error code (`unsupported_media_type`, `invalid_field`,
    /// `payload_too_large`...), or ragctl's own: `unreachable` (no answer
    /// after 3 tries), `read` (the file cannot be read), `walk` (a folder
    /// cannot be read), `file_name` (not UTF-8), `bad_response`.
    pub code: String,
    pub message: String,
}

impl Failure {
    /// A failure found on this side, without an HTTP status.
    pub fn local(path: impl Into<String>, code: &str, message: impl Into<String>) -> Failure {
        Failure {
            path: path.into(),
            status: None,
            code: code.into(),
            message: message.into(),
        }
    }

    /// The reason as one line: `message (413 payload_too_large)`, without
    /// the path when ragd's message starts with it already.
    pub fn reason(&self) -> String {
        let m = self
            .message
            .strip_prefix(self.path.as_str())
            .and_then(|m| m.strip_prefix(": "))
            .unwrap_or(&self.message);
        match self.status {
            Some(s) => format!("{m} ({s} {})", self.code),
            None => format!("{m} ({})", self.code),
        }
    }
}

/// What `--dry-run` would do with one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedFile {
    pub path: String,
    pub bytes: u64,
    /// `send` or `skip`.
    pub action: &'static str,
    /// `new` (no document with this id), `changed` (another SHA-256),
    /// `no_hash` (ragd holds no SHA-256 for it), `forced` (`--force`) or
    /// `unchanged`.
    pub reason: &'static str,
}

/// One run, as printed.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub collection: String,
    pub target: String,
    pub dry_run: bool,
    /// The collection was created by this run (`--create`).
    pub created: bool,
    /// With `--dry-run --create`: the collection does not exist yet.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub would_create: bool,
    /// Ctrl-C stopped the run before every file was sent.
    pub interrupted: bool,
    /// Files the walk found.
    pub found: usize,
    /// Files skipped because ragd holds them unchanged.
    pub skipped: usize,
    /// Files to send after the comparison.
    pub to_send: usize,
    /// Files ingested.
    pub ingested: usize,
    /// Documents ingested (a CSV or JSON Lines file makes one per row).
    pub documents: usize,
    /// Chunks stored for them.
    pub chunks: u64,
    /// Files that failed (walk, read or ragd's refusal): `failures.len()`.
    pub failed: usize,
    /// Files to send that were not (interrupted).
    pub not_sent: usize,
    #[serde(rename = "elapsed_secs", serialize_with = "secs")]
    pub elapsed: Duration,
    pub files_per_sec: f64,
    pub chunks_per_sec: f64,
    pub failures: Vec<Failure>,
    /// With `--dry-run`: every file and what would be done with it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub planned: Vec<PlannedFile>,
    /// Failures met while sending (the others are the walk's and the
    /// plan's), for `not_sent`.
    #[serde(skip)]
    pub send_failures: usize,
}

fn secs<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1000.0).round() / 1000.0)
}

impl Summary {
    pub fn new(opts: &Options) -> Summary {
        Summary {
            collection: opts.collection.clone(),
            target: opts.target.as_str().trim_end_matches('/').to_string(),
            dry_run: opts.dry_run,
            created: false,
            would_create: false,
            interrupted: false,
            found: 0,
            skipped: 0,
            to_send: 0,
            ingested: 0,
            documents: 0,
            chunks: 0,
            failed: 0,
            not_sent: 0,
            elapsed: Duration::ZERO,
            files_per_sec: 0.0,
            chunks_per_sec: 0.0,
            failures: Vec::new(),
            planned: Vec::new(),
            send_failures: 0,
        }
    }

    /// Count one outcome of the send.
    pub fn record(&mut self, r: &Record) {
        match r {
            Record::Ingested {
                files,
                documents,
                chunks,
            } => {
                self.ingested += files;
                self.documents += documents;
                self.chunks += chunks;
            }
            Record::Failed(f) => {
                self.send_failures += 1;
                self.failures.push(f.clone());
            }
        }
    }

    /// Fill in the derived figures once the run is over.
    pub fn finish(&mut self, elapsed: Duration) {
        self.elapsed = elapsed;
        self.failed = self.failures.len();
        self.failures.sort_by(|a, b| a.path.cmp(&b.path));
        let s = elapsed.as_secs_f64();
        if s > 0.0 {
            self.files_per_sec = round2(self.ingested as f64 / s);
            self.chunks_per_sec = round2(self.chunks as f64 / s);
        }
    }
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// The summary for a terminal: counts, rates, then every failure as
/// `path: reason`.
pub fn text(s: &Summary) -> String {
    let mut o = String::new();
    if s.dry_run {
        for p in &s.planned {
            let _ = writeln!(
                o,
                "{:<5} {}  ({}, {})",
                p.action,
                p.path,
                human_bytes(p.bytes),
                p.reason
            );
        }
        let send_bytes: u64 = s
            .planned
            .iter()
            .filter(|p| p.action == "send")
            .map(|p| p.bytes)
            .sum();
        let _ = writeln!(
            o,
            "dry run: {} files found, {} unchanged (would be skipped), {} would be sent ({}) to {} on {}{}; nothing was sent.",
            s.found,
            s.skipped,
            s.to_send,
            human_bytes(send_bytes),
            s.collection,
            s.target,
            if s.would_create {
                " (the collection would be created)"
            } else {
                ""
            }
        );
    } else {
        let _ = writeln!(
            o,
            "ingest into {} on {}{}",
            s.collection,
            s.target,
            if s.created {
                " (collection created)"
            } else {
                ""
            }
        );
        let _ = writeln!(o, "  found       {:>7} files", s.found);
        let _ = writeln!(o, "  unchanged   {:>7} skipped", s.skipped);
        let _ = writeln!(
            o,
            "  ingested    {:>7} files: {} documents, {} chunks",
            s.ingested, s.documents, s.chunks
        );
        let _ = writeln!(o, "  failed      {:>7}", s.failed);
        if s.interrupted {
            let _ = writeln!(
                o,
                "  not sent    {:>7} (interrupted: run the same command again to resume)",
                s.not_sent
            );
        }
        let _ = writeln!(
            o,
            "  elapsed     {:>7.1} s  ({:.1} files/s, {:.1} chunks/s)",
            s.elapsed.as_secs_f64(),
            s.files_per_sec,
            s.chunks_per_sec
        );
    }
    if !s.failures.is_empty() {
        let _ = writeln!(o, "failures:");
        for f in &s.failures {
            let _ = writeln!(o, "  {}: {}", f.path, f.reason());
        }
    }
    o
}

/// `1.2 KiB`, `3.4 MiB`.
pub fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut v = b as f64;
    let mut i = 0;
    while v >= 1024.0 && i < UNITS.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[i])
    }
}
