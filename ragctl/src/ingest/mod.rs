//! `ragctl ingest`: bulk-ingest a folder (or one file) into a running ragd.
//!
//! A run is a few steps, each in its own module:
//! - [`walk`]: the files under DIR (ripgrep's walker: `.gitignore`, hidden
//!   files, `--glob`), each with its document id (its path relative to DIR).
//! - [`plan`]: which of them to send: each file's SHA-256 against the one
//!   ragd holds for the document with that id (listed page by page).
//! - [`batch`]: the files to send, grouped into multipart requests of at
//!   most [`batch::MAX_FILES`] files and [`batch::MAX_BYTES`].
//! - [`send`]: the batches in flight, retries, and every failure attributed
//!   to its file; each outcome is one [`Record`] on a channel.
//! - [`api`]: the ragd routes used and their errors.
//! - [`progress`]: the bar on stderr, one consumer of the records.
//! - [`summary`]: the other consumer: the run's report, rendered as text or
//!   JSON.
//!
//! [`run`] does it all; `commands::ingest` prints the summary and turns it
//! into an exit status. Interruption is a channel ([`Interrupts`]): the first
//! message stops new batches (those in flight finish), a second one aborts
//! them.

pub mod api;
pub mod batch;
pub mod plan;
pub mod progress;
pub mod send;
pub mod summary;
pub mod walk;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::error::Error;
pub use progress::Progress;
pub use send::Record;
pub use summary::{Failure, Summary};

/// Batches in flight when `--concurrency` is not given.
pub const DEFAULT_CONCURRENCY: u16 = 4;

/// How long ragd may take to answer one upload: embedding a full batch on a
/// small CPU takes a while, and a retried upload replaces what it sent.
pub const UPLOAD_TIMEOUT: Duration = Duration::from_secs(600);

/// Everything `ingest` needs, checked (see `commands::ingest_options`).
#[derive(Debug, Clone)]
pub struct Options {
    /// The folder to walk, or one file.
    pub dir: PathBuf,
    pub collection: String,
    /// ragd's base URL, e.g. `http://127.0.0.1:8080`.
    pub target: reqwest::Url,
    /// `--glob` patterns (gitignore syntax; `!` excludes). Empty: the
    /// extensions in [`walk::EXTENSIONS`].
    pub globs: Vec<String>,
    /// Batches in flight, at least 1.
    pub concurrency: usize,
    /// Create the collection when it does not exist.
    pub create: bool,
    /// Send every file, also those ragd holds unchanged.
    pub force: bool,
    /// Walk and compare, send nothing.
    pub dry_run: bool,
}

/// Ctrl-C presses (or a test's stand-in for them): one message per press.
pub type Interrupts = mpsc::UnboundedReceiver<()>;

/// The next interrupt; never, once nobody can send one.
async fn interrupted(rx: &mut Interrupts) {
    if rx.recv().await.is_none() {
        std::future::pending::<()>().await;
    }
}

/// Walk, compare, send; the summary of what happened. Fails as a whole
/// only before anything is sent (DIR missing, ragd unreachable, collection
/// missing...); a file that fails is a [`Failure`] in the summary.
pub async fn run(
    opts: &Options,
    progress: &Progress,
    interrupts: &mut Interrupts,
) -> Result<Summary, Error> {
    let started = Instant::now();
    let mut summary = Summary::new(opts);

    let walked = {
        let (dir, globs) = (opts.dir.clone(), opts.globs.clone());
        tokio::task::spawn_blocking(move || walk::walk(&dir, &globs))
            .await
            .map_err(|e| Error::Usage(format!("walking {}: {e}", opts.dir.display())))??
    };
    summary.found = walked.files.len();
    summary.failures.extend(walked.failures);

    let api = api::Api::new(&opts.target, &opts.collection);
    let exists = api.collection_exists().await?;
    if !exists {
        if !opts.create {
            return Err(Error::CollectionNotFound {
                collection: opts.collection.clone(),
                url: opts.target.as_str().trim_end_matches('/').to_string(),
            });
        }
        if opts.dry_run {
            summary.would_create = true;
        } else {
            api.create_collection().await?;
            summary.created = true;
        }
    }

    // Listing and hashing can take a while on a large tree; Ctrl-C stops them.
    let planned = tokio::select! {
        p = plan::plan(&api, exists, walked.files, opts.force, progress) => p?,
        () = interrupted(interrupts) => {
            summary.interrupted = true;
            summary.not_sent = summary.found;
            summary.finish(started.elapsed());
            return Ok(summary);
        }
    };
    summary.skipped = planned.skip.len();
    summary.failures.extend(planned.failures);
    summary.to_send = planned.send.len();
    if opts.dry_run {
        summary.planned = planned.listing;
        summary.finish(started.elapsed());
        return Ok(summary);
    }

    let batches = batch::batches(planned.send);
    progress.start_sending(summary.to_send as u64);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let sender = send::Sender::new(api, tx);
    let mut pending = batches.into_iter();
    let mut in_flight = tokio::task::JoinSet::new();
    let mut stopping = false;
    loop {
        while !stopping && in_flight.len() < opts.concurrency {
            let Some(b) = pending.next() else { break };
            let s = sender.clone();
            in_flight.spawn(async move { s.send_batch(b).await });
        }
        if in_flight.is_empty() {
            break;
        }
        tokio::select! {
            Some(record) = rx.recv() => {
                summary.record(&record);
                progress.record(&record, &summary);
            }
            Some(_) = in_flight.join_next() => {}
            () = interrupted(interrupts) => {
                if stopping {
                    progress.note("second Ctrl-C: abandoning the batches in flight");
                    in_flight.abort_all();
                } else {
                    stopping = true;
                    summary.interrupted = true;
                    progress.note(&format!(
                        "Ctrl-C: finishing the {} batch(es) in flight, starting no more (Ctrl-C again to abandon them)",
                        in_flight.len()
                    ));
                }
            }
        }
    }
    drop(sender);
    while let Some(record) = rx.recv().await {
        summary.record(&record);
        progress.record(&record, &summary);
    }
    summary.not_sent = summary
        .to_send
        .saturating_sub(summary.ingested + summary.send_failures);
    summary.finish(started.elapsed());
    Ok(summary)
}
