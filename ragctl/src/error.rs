//! ragctl's errors, each with a stable code for `--json` output and scripts.

use std::fmt;

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
        }
    }

    /// Process exit status for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) => 2,
            Error::DockerUnreachable { .. } => 3,
            Error::UnknownService { .. } | Error::AmbiguousProject { .. } => 4,
            Error::NotReady(_) => 5,
            _ => 1,
        }
    }
}
