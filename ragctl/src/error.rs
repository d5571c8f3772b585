//! ragctl's errors, each with a stable code for `--json` output and scripts.
//!
//! - [`Error`]: what a command fails with; `main` prints it and exits with
//!   [`Error::exit_code`].
//! - [`ScaleError`]: why one replica's step of `scale` failed (the command
//!   goes on with the others and reports each step).
//! - [`ReadyError`]: why a started replica did not become ready.
//!
//! `ingest` reports each file's failure in its summary (see
//! [`crate::ingest::Failure`]); the command then fails as a whole with
//! [`Error::IngestFailed`] or [`Error::Interrupted`], which
//! [`Error::reported`] marks as already printed.

use std::fmt;
use std::time::Duration;

/// Everything a ragctl command can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The Docker engine does not answer (socket missing, daemon down...).
    #[error("cannot reach the Docker engine at {address}: {reason}")]
    DockerUnreachable { address: String, reason: String },
    /// The engine answered with an error.
    #[error("Docker engine error: {0}")]
    Docker(String),
    /// `scale` named a service no container belongs to.
    #[error("unknown service `{service}`{where_}; services found: {known}")]
    UnknownService {
        service: String,
        where_: ProjectHint,
        known: String,
    },
    /// The service exists in several compose projects; `--project` is needed.
    #[error(
        "service `{service}` exists in several compose projects ({projects}); choose one with --project"
    )]
    AmbiguousProject { service: String, projects: String },
    /// A command-line value that parsed but makes no sense.
    #[error("{0}")]
    Usage(String),
    /// Too few measurements for a fit, or a fit that did not converge.
    #[error("{0}")]
    Plan(String),
    /// New replicas did not answer `/ready` in time.
    #[error("{0}")]
    NotReady(String),
    #[error("{path}: {reason}")]
    File { path: String, reason: String },
    /// ragd does not answer at all (connection refused, timeout...).
    #[error("cannot reach ragd at {url}: {reason}")]
    RagdUnreachable { url: String, reason: String },
    /// ragd answered a request the command cannot do without (listing,
    /// creating) with an error.
    #[error("{what}: ragd answered {status} {code}: {message}")]
    Ragd {
        /// The request, e.g. `GET /v1/collections/docs/documents`.
        what: String,
        status: u16,
        /// The envelope's `code`, or `http_error` without an envelope.
        code: String,
        message: String,
    },
    /// `ingest` into a collection that does not exist, without `--create`.
    #[error("collection {collection} does not exist on {url}: create it with --create")]
    CollectionNotFound { collection: String, url: String },
    /// `ingest` ran to its end but some files failed (each is in the
    /// summary already printed).
    #[error("{failed} of {attempted} files failed; each is in the summary with its reason")]
    IngestFailed { failed: usize, attempted: usize },
    /// Ctrl-C stopped `ingest`; the summary says what was done.
    #[error(
        "interrupted: {not_sent} files not sent; run the same command again to resume (unchanged files are skipped)"
    )]
    Interrupted { not_sent: usize },
    /// `status --check` found alerts (each is in the report printed).
    #[error("{alerts} alert(s) firing; each is in the report above")]
    AlertsFiring { alerts: usize },
}

impl From<ragkit_docker::DockerError> for Error {
    /// The shared crate's errors keep their codes and messages here.
    fn from(e: ragkit_docker::DockerError) -> Error {
        match e {
            ragkit_docker::DockerError::Unreachable { address, reason } => {
                Error::DockerUnreachable { address, reason }
            }
            ragkit_docker::DockerError::Engine(m) => Error::Docker(m),
        }
    }
}

/// ` in project X`, or nothing.
#[derive(Debug)]
pub struct ProjectHint(pub Option<String>);

impl fmt::Display for ProjectHint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(p) => write!(f, " in compose project `{p}`"),
            None => Ok(()),
        }
    }
}

impl Error {
    /// Stable code, e.g. for `{"error":{"code":...}}`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::DockerUnreachable { .. } => "docker_unreachable",
            Error::Docker(_) => "docker_error",
            Error::UnknownService { .. } => "unknown_service",
            Error::AmbiguousProject { .. } => "ambiguous_project",
            Error::Usage(_) => "usage",
            Error::Plan(_) => "plan",
            Error::NotReady(_) => "not_ready",
            Error::File { .. } => "file",
            Error::RagdUnreachable { .. } => "ragd_unreachable",
            Error::Ragd { .. } => "ragd_error",
            Error::CollectionNotFound { .. } => "collection_not_found",
            Error::IngestFailed { .. } => "ingest_failed",
            Error::Interrupted { .. } => "interrupted",
            Error::AlertsFiring { .. } => "alerts_firing",
        }
    }

    /// Process exit status for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) => 2,
            Error::DockerUnreachable { .. } | Error::RagdUnreachable { .. } => 3,
            Error::UnknownService { .. }
            | Error::AmbiguousProject { .. }
            | Error::CollectionNotFound { .. } => 4,
            Error::NotReady(_) => 5,
            // 128 + SIGINT, as a shell reports a command stopped by Ctrl-C
            Error::Interrupted { .. } => 130,
            _ => 1,
        }
    }

    /// Whether the command already printed its report (with `--json`, a
    /// JSON document), so `main` must not print a second one on stdout.
    pub fn reported(&self) -> bool {
        matches!(
            self,
            Error::IngestFailed { .. } | Error::Interrupted { .. } | Error::AlertsFiring { .. }
        )
    }
}

/// Why one step of `scale` (create, start, remove or scale one replica)
/// failed. Its message is the step's `error` in the report.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScaleError {
    /// The engine refused a create, start, stop, remove or service update.
    #[error("{0}")]
    Docker(String),
    /// The template's inspect document does not make a create body.
    #[error("cannot clone the template's configuration: {0}")]
    CloneConfig(String),
    /// The new container could not join one of the template's networks.
    #[error("connecting to network {network}: {reason}")]
    Network { network: String, reason: String },
    /// The plan has replicas to create but no template to clone.
    #[error("no template")]
    NoTemplate,
    /// The replica was started but did not become ready.
    #[error(transparent)]
    Ready(#[from] ReadyError),
}

impl ScaleError {
    /// Stable code, e.g. for scripts that retry some kinds and not others.
    pub fn code(&self) -> &'static str {
        match self {
            ScaleError::Docker(_) => "docker_error",
            ScaleError::CloneConfig(_) => "clone_config",
            ScaleError::Network { .. } => "network_connect",
            ScaleError::NoTemplate => "no_template",
            ScaleError::Ready(e) => e.code(),
        }
    }
}

/// Why a started replica did not answer `/ready` with 200.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReadyError {
    /// Inspecting the container failed.
    #[error("{0}")]
    Docker(String),
    /// The container stopped before it was ready; its logs say why.
    #[error("container exited (code {code}) before it was ready; see `docker logs {container}`")]
    Exited {
        code: i64,
        /// Short container id, for `docker logs`.
        container: String,
    },
    /// `/ready` did not answer 200 before the deadline.
    #[error("{url}/ready did not answer 200 within {secs:.0} s", secs = .timeout.as_secs_f64())]
    Timeout { url: String, timeout: Duration },
    /// The container never showed an address for ragd's port.
    #[error("no address for container port {port}/tcp")]
    NoAddress { port: u16 },
}

impl ReadyError {
    /// Stable code, e.g. for scripts that retry some kinds and not others.
    pub fn code(&self) -> &'static str {
        match self {
            ReadyError::Docker(_) => "docker_error",
            ReadyError::Exited { .. } => "exited",
            ReadyError::Timeout { .. } => "ready_timeout",
            ReadyError::NoAddress { .. } => "no_address",
        }
    }
}
