//! ragkit-docker: the Docker Engine API as the ragkit tools read it, in one
//! place, so `ragctl` (status, top, scale) and `loadgen` (resource figures
//! of the target's containers during a run) compute the same numbers.
//!
//! Layout:
//! - [`docker`]: the engine through bollard: connect (honouring
//!   `DOCKER_HOST`), list containers as `docker ps` and compose see them
//!   (compose labels), one-off and streamed stats, events, a container's
//!   limits from `docker inspect`, logs, restart and stop.
//! - [`stats`]: `docker stats` arithmetic on engine stats documents, by the
//!   formulas of docker/cli `stats_helpers.go`.
//! - [`DockerError`]: what talking to the engine fails with, each variant
//!   with a stable code; callers map it into their own error types.
//!
//! bollard is re-exported ([`bollard`]) so users name `bollard::Docker`
//! without a dependency of their own.

pub mod docker;
pub mod stats;

pub use bollard;

/// Why a call to the Docker engine failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DockerError {
    /// The engine does not answer (socket missing, daemon down...).
    #[error("cannot reach the Docker engine at {address}: {reason}")]
    Unreachable { address: String, reason: String },
    /// The engine answered with an error, or not in time.
    #[error("Docker engine error: {0}")]
    Engine(String),
}

impl DockerError {
    /// Stable code, e.g. for `{"error":{"code":...}}`.
    pub fn code(&self) -> &'static str {
        match self {
            DockerError::Unreachable { .. } => "docker_unreachable",
            DockerError::Engine(_) => "docker_error",
        }
    }
}
