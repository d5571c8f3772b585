//! Asynchronous ingests: `POST /v1/collections/{name}/documents?wait=false`
//! answers 202 with a [`Job`] once the job is durable in the metadata
//! store; `GET /v1/jobs/{id}` follows it. A job survives a crash or a
//! restart: it resumes (on another replica, with shared stores) where its
//! last committed batch ended, and ends `succeeded` or `failed` with the
//! reason, never silently dropped.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// Accepted, not started (or waiting to resume after a restart).
    Queued,
    Running,
    /// Every document is durable.
    Succeeded,
    /// Stopped at an error (`error` says which); documents of the batches
    /// before it are durable, the rest were not written.
    Failed,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
        }
    }

    /// Whether the job has ended.
    pub fn is_final(self) -> bool {
        matches!(self, JobState::Succeeded | JobState::Failed)
    }
}

impl std::str::FromStr for JobState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "queued" => JobState::Queued,
            "running" => JobState::Running,
            "succeeded" => JobState::Succeeded,
            "failed" => JobState::Failed,
            other => return Err(format!("unknown job state {other:?}")),
        })
    }
}

/// `GET /v1/jobs/{id}`, and the 202 answer of an asynchronous ingest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Job {
    pub id: String,
    pub collection: String,
    pub state: JobState,
    /// Documents in the job.
    pub documents: u32,
    /// Documents durable so far.
    pub done: u32,
    /// Chunks stored so far.
    pub chunks: u32,
    /// Why it failed: the error code and message a synchronous ingest
    /// would have answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339: the last change of state or progress.
    pub updated_at: String,
}

/// `?wait=` of the ingest route.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct IngestQuery {
    /// `false`: answer 202 with a job as soon as it is accepted, instead of
    /// 201 once the documents are durable (the default, `true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait: Option<bool>,
}
