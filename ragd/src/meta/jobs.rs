//! Asynchronous ingest jobs in the metadata store, so a job outlives the
//! process that accepted it and any replica sharing the store can resume
//! it. [`crate::service::jobs`] runs them.
//!
//! A job is claimed by one runner (`owner`, a random id per process) that
//! beats while it runs. A job whose heartbeat is older than the claimer's
//! bound is claimed again: a crashed runner's job resumes after its last
//! recorded batch. Progress and the end are written only by the owner.
//!
//! A stored job, without its documents, is the API's [`Job`]: nothing of
//! it is private.

use async_trait::async_trait;
use ragd_api::{Job, JobState};

use super::MetaError;
use super::rows::Columns;

/// The job table of a metadata store.
#[async_trait]
pub trait JobStore: Send + Sync {
    /// Store a new job (state `queued`) with its documents (JSON).
    async fn create_job(&self, job: &Job, sources: &str) -> Result<(), MetaError>;
    async fn get_job(&self, id: &str) -> Result<Option<Job>, MetaError>;
    /// Claim the oldest job that is queued, or running with a heartbeat
    /// before `stale_before` (Unix seconds): it is now running, owned by
    /// `owner`. Returns it with its documents.
    async fn claim_job(
        &self,
        owner: &str,
        stale_before: i64,
    ) -> Result<Option<(Job, String)>, MetaError>;
    /// Record the progress of a job `owner` runs, and beat. `false`: the
    /// job is no longer `owner`'s (claimed by another runner).
    async fn job_progress(
        &self,
        id: &str,
        owner: &str,
        done: u32,
        chunks: u32,
    ) -> Result<bool, MetaError>;
    /// End a job `owner` runs (`succeeded` or `failed` with `error`); its
    /// documents are dropped. `false`: the job is no longer `owner`'s.
    async fn finish_job(
        &self,
        id: &str,
        owner: &str,
        state: JobState,
        error: Option<&str>,
    ) -> Result<bool, MetaError>;
    /// Give back a job `owner` runs (it stops before the end): queued
    /// again, any runner may claim it at once.
    async fn release_job(&self, id: &str, owner: &str) -> Result<(), MetaError>;
    /// Beat every job `owner` runs.
    async fn beat_jobs(&self, owner: &str) -> Result<(), MetaError>;
    /// Delete the ended jobs last updated before `before` (RFC 3339).
    async fn forget_jobs(&self, before: &str) -> Result<u64, MetaError>;
}

/// The columns every job query selects (both databases).
pub(super) const JOB_COLUMNS: &str =
    "id, collection, state, documents, done, chunks, error, created_at, updated_at";

/// Decode a row of [`JOB_COLUMNS`].
pub(super) fn job_row(r: &impl Columns) -> Result<Job, MetaError> {
    let state = r.text("state")?;
    Ok(Job {
        id: r.text("id")?,
        collection: r.text("collection")?,
        state: state
            .parse()
            .map_err(|e| MetaError::Corrupt(format!("job state: {e}")))?,
        documents: r.int("documents")? as u32,
        done: r.int("done")? as u32,
        chunks: r.int("chunks")? as u32,
        error: r.opt_text("error")?,
        created_at: r.text("created_at")?,
        updated_at: r.text("updated_at")?,
    })
}
