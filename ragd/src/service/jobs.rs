//! Asynchronous ingests (`POST .../documents?wait=false`): accepted as a
//! job in the metadata store, answered 202 at once, written in the
//! background by the runner of some replica, followed at `GET
//! /v1/jobs/{id}`.
//!
//! - [`submit`] checks the request as a synchronous ingest would (bad
//!   documents or an unknown collection are refused at once), gives every
//!   document its id, and stores the job with its documents: from the 202
//!   on, the job is durable.
//! - [`run`], one per process, claims jobs one at a time and writes each in
//!   batches of [`BATCH`] documents through the synchronous ingest
//!   ([`super::documents::ingest_sources`]), recording progress after each
//!   batch. A crash loses at most the batch in flight: the job stays
//!   `running` with a heartbeat that stops, and is claimed again (at once
//!   on a single node, where the one process is its only runner; after
//!   [`STALE_AFTER`] without a heartbeat with shared stores) and resumes
//!   after its last recorded batch. Writing a batch again is harmless: an
//!   ingest of an id replaces it. A graceful stop finishes the batch in
//!   flight and gives the job back (queued), so it resumes at once.
//! - A batch failing for a reason that may pass (a backend down, the
//!   server busy) is retried with backoff; one the client caused (a
//!   collection deleted meanwhile, a document refused) fails the job with
//!   that error, visibly.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use ragd_api::{Job, JobState};
use tokio::sync::Notify;
use uuid::Uuid;

use super::documents::{Source, ingest_sources, validate};
use super::resolve;
use crate::app::{Backends, Topology};
use crate::error::ApiError;
use crate::meta::{MetaStore, now_rfc3339, unix_now};

/// Documents written per batch (and per progress record).
pub const BATCH: usize = 16;
/// How often a runner beats for the job it runs.
pub const BEAT_EVERY: Duration = Duration::from_secs(5);
/// With shared stores, a running job whose heartbeat is older than this
/// is taken to have lost its runner, and is claimed again.
pub const STALE_AFTER: Duration = Duration::from_secs(30);
/// How often an idle runner looks for jobs it was not woken for (another
/// replica's, or a stale one).
const POLL_EVERY: Duration = Duration::from_secs(2);
/// Ended jobs are kept this long for `GET /v1/jobs/{id}`.
const KEEP_ENDED: Duration = Duration::from_secs(7 * 24 * 3600);
/// Tries of a batch that failed for a reason that may pass.
const TRIES: u32 = 6;

/// The job runner of this process: who it is, how to wake it, and how to
/// stop it (shared by the runner task and [`Backends`]).
pub struct Jobs {
    /// Random per process: the `owner` of the jobs it runs.
    owner: String,
    wake: Notify,
    stopping: AtomicBool,
    /// Held by the runner while it claims or writes a batch (and holds the
    /// backends); [`Jobs::stop`] takes it to wait for the batch to end.
    busy: tokio::sync::Mutex<()>,
}

impl Default for Jobs {
    fn default() -> Self {
        Self::new()
    }
}

impl Jobs {
    pub fn new() -> Jobs {
        Jobs {
            owner: Uuid::new_v4().to_string(),
            wake: Notify::new(),
            stopping: AtomicBool::new(false),
            busy: tokio::sync::Mutex::new(()),
        }
    }

    /// The process is stopping: let the batch being written finish, then
    /// start nothing more. The job stays `running` and resumes at the next
    /// start (a batch written twice is harmless). Returns once the runner
    /// holds no backends, so the stores can close.
    pub async fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.wake.notify_one();
        let _idle = self.busy.lock().await;
    }

    fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }
}

/// Accept `sources` for `collection` as a job (see the module docs).
pub async fn submit(b: &Backends, collection: &str, sources: Vec<Source>) -> Result<Job, ApiError> {
    validate(&sources)?;
    resolve(b, collection).await?;
    let sources: Vec<Source> = sources
        .into_iter()
        .map(|mut s| {
            s.input.id.get_or_insert_with(|| Uuid::new_v4().to_string());
            s
        })
        .collect();
    let now = now_rfc3339();
    let job = Job {
        id: Uuid::new_v4().to_string(),
        collection: collection.to_string(),
        state: JobState::Queued,
        documents: sources.len() as u32,
        done: 0,
        chunks: 0,
        error: None,
        created_at: now.clone(),
        updated_at: now,
    };
    let json = serde_json::to_string(&sources)
        .map_err(|e| ApiError::Internal(format!("job documents: {e}")))?;
    b.meta.create_job(&job, &json).await?;
    b.jobs.wake.notify_one();
    Ok(job)
}

/// One job, as `GET /v1/jobs/{id}` shows it.
pub async fn get(b: &Backends, id: &str) -> Result<Job, ApiError> {
    b.meta
        .get_job(id)
        .await?
        .ok_or_else(|| ApiError::JobNotFound(id.to_string()))
}

/// Claim and run jobs, one at a time, until the process stops.
pub async fn run(backends: Weak<Backends>, jobs: Arc<Jobs>) {
    let mut last_forget = None::<tokio::time::Instant>;
    loop {
        let busy = jobs.busy.lock().await;
        if jobs.stopping() {
            return;
        }
        let Some(b) = backends.upgrade() else { return };
        if last_forget.is_none_or(|t| t.elapsed() > Duration::from_secs(3600)) {
            forget_old(&b).await;
            last_forget = Some(tokio::time::Instant::now());
        }
        // Single node: this runner is the only one, and it runs one job at
        // a time, so a job found running belongs to a process that died.
        let stale_before = match b.topology {
            Topology::SingleNode => i64::MAX,
            Topology::SharedStores => unix_now() - STALE_AFTER.as_secs() as i64,
        };
        let claimed = b.meta.claim_job(&jobs.owner, stale_before).await;
        let idle = match claimed {
            Ok(Some((job, sources))) => {
                run_one(&b, &jobs, job, &sources).await;
                false
            }
            Ok(None) => true,
            Err(e) => {
                tracing::warn!(error = %e, "job runner: cannot claim a job; retrying");
                true
            }
        };
        // The backends first, then the lock: once `stop` has the lock, this
        // task holds nothing that keeps the stores open.
        drop(b);
        drop(busy);
        if idle {
            let _ = tokio::time::timeout(POLL_EVERY, jobs.wake.notified()).await;
        }
    }
}

/// Beat for the jobs this process runs until it stops. Holds the metadata
/// store only, never the vector store.
pub async fn beat(meta: Arc<dyn MetaStore>, jobs: Arc<Jobs>) {
    loop {
        tokio::time::sleep(BEAT_EVERY).await;
        if jobs.stopping() {
            return;
        }
        if let Err(e) = meta.beat_jobs(&jobs.owner).await {
            tracing::warn!(error = %e, "job runner: heartbeat failed");
        }
    }
}

async fn forget_old(b: &Backends) {
    let before = chrono::Utc::now() - KEEP_ENDED;
    let before = before.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    match b.meta.forget_jobs(&before).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(jobs = n, "forgot jobs that ended over a week ago"),
        Err(e) => tracing::warn!(error = %e, "job runner: cannot forget old jobs"),
    }
}

/// Write the documents of `job` from its first unrecorded batch on.
async fn run_one(b: &Backends, jobs: &Jobs, job: Job, sources: &str) {
    let owner = jobs.owner.clone();
    let sources: Vec<Source> = match serde_json::from_str(sources) {
        Ok(s) => s,
        Err(e) => {
            let msg = format!("internal: the job's stored documents cannot be read: {e}");
            let _ = b
                .meta
                .finish_job(&job.id, &owner, JobState::Failed, Some(&msg))
                .await;
            return;
        }
    };
    if job.done > 0 {
        tracing::info!(job = %job.id, done = job.done, "resuming a job after an interrupted run");
    }
    let (mut done, mut chunks) = (job.done, job.chunks);
    for batch in sources[(job.done as usize).min(sources.len())..].chunks(BATCH) {
        if jobs.stopping() {
            release(b, &job.id, &owner).await;
            return;
        }
        let written = match write_batch(b, jobs, &job.collection, batch).await {
            Ok(n) => n,
            Err(_) if jobs.stopping() => {
                release(b, &job.id, &owner).await;
                return;
            }
            Err(e) => {
                let (_, code) = e.status_and_code();
                let msg = format!("{code}: {e}");
                tracing::warn!(job = %job.id, error = %msg, "job failed");
                let _ = b
                    .meta
                    .finish_job(&job.id, &owner, JobState::Failed, Some(&msg))
                    .await;
                return;
            }
        };
        done += batch.len() as u32;
        chunks += written;
        match b.meta.job_progress(&job.id, &owner, done, chunks).await {
            Ok(true) => {}
            // Another runner took it over (we were taken for dead).
            Ok(false) => return,
            Err(e) => {
                // The batch is durable; the next run writes it again.
                tracing::warn!(job = %job.id, error = %e, "job progress not recorded");
            }
        }
    }
    if let Err(e) = b
        .meta
        .finish_job(&job.id, &owner, JobState::Succeeded, None)
        .await
    {
        tracing::warn!(job = %job.id, error = %e, "job end not recorded; it will run again");
    }
}

/// Give a job back on the way out, so that it resumes at once (on this
/// replica's next start or on another one) instead of after
/// [`STALE_AFTER`]. If this fails, the heartbeat's end still frees it.
async fn release(b: &Backends, id: &str, owner: &str) {
    if let Err(e) = b.meta.release_job(id, owner).await {
        tracing::warn!(job = %id, error = %e, "job not given back; it resumes once its heartbeat is stale");
    } else {
        tracing::info!(job = %id, "stopping: job given back, it resumes where it stopped");
    }
}

/// One batch, retried with backoff while it fails for a reason that may
/// pass (5xx); returns the chunks written.
async fn write_batch(
    b: &Backends,
    jobs: &Jobs,
    collection: &str,
    batch: &[Source],
) -> Result<u32, ApiError> {
    let mut wait = Duration::from_millis(500);
    let mut tries = 0;
    loop {
        tries += 1;
        match ingest_sources(b, collection, batch.to_vec()).await {
            Ok(r) => return Ok(r.chunks),
            Err(e)
                if e.status_and_code().0.is_server_error() && tries < TRIES && !jobs.stopping() =>
            {
                tracing::warn!(error = %e, "job batch failed; retrying in {wait:?}");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(15));
            }
            Err(e) => return Err(e),
        }
    }
}
