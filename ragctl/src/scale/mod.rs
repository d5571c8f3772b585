//! `ragctl scale SERVICE=N`: change a compose service's replica count
//! through the Docker API, the way `docker compose up --scale` does.
//!
//! - A service's replicas are the containers labelled
//!   `com.docker.compose.service=SERVICE` (and `...project=P`), not one-off.
//! - Scaling up clones the highest-numbered running replica: its container
//!   configuration, host configuration and every network with its aliases,
//!   with `com.docker.compose.container-number` set to the next free numbers
//!   and the name `project-service-N` (or `project_service_N` when the
//!   existing replicas use compose v1's underscores). Fixed host ports are
//!   made ephemeral, since two replicas cannot bind the same one. Each new
//!   replica is started and counts only once its `/ready` answers 200.
//! - Scaling down stops the highest numbers first (the image's stop signal,
//!   SIGTERM for ragd, which drains in-flight requests, then SIGKILL after
//!   `--stop-timeout`) and removes them. Scaling to 0 keeps the lowest
//!   numbered replica, stopped: it is what a later scale-up starts again
//!   and clones (with none left there would be nothing to clone).
//! - A Docker Swarm service of that name is scaled through the service API.
//!
//! [`plan`] computes what would change without changing anything
//! (`--dry-run` prints it); [`execute`] carries it out.
//!
//! Layout:
//! - this module: the request, plan and report types, and `SERVICE=N`.
//! - `plan`: deciding what to do (which replicas go, start or get cloned).
//! - `clone`: what a clone of the template looks like (create body, networks).
//! - `execute`: doing it through Docker, one [`Step`] per replica.
//! - `ready`: waiting for a started replica's `/ready`.
//! - `swarm`: the same for a Docker Swarm service, through the service API.
//! - `text`: the plan and the steps as human text.

mod clone;
mod execute;
mod plan;
mod ready;
mod swarm;
mod text;

use std::collections::BTreeMap;
use std::time::Duration;

use bollard::Docker;
use bollard::query_parameters::InspectContainerOptions;
use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, ScaleError};

pub use clone::clone_body;
pub use execute::execute;
pub use plan::plan;
pub use ready::url_from_inspect;
pub(crate) use ready::wait_ready;
pub use text::{plan_text, steps_text};

/// Parse `SERVICE=N`.
pub fn parse_spec(spec: &str) -> Result<(String, u32), Error> {
    let (svc, n) = spec
        .split_once('=')
        .ok_or_else(|| Error::Usage(format!("expected SERVICE=N (e.g. ragd=4), got `{spec}`")))?;
    let svc = svc.trim();
    if svc.is_empty() {
        return Err(Error::Usage(format!("no service name in `{spec}`")));
    }
    let n: u32 = n.trim().parse().map_err(|_| {
        Error::Usage(format!(
            "replica count in `{spec}` must be a whole number from 0 up"
        ))
    })?;
    Ok((svc.to_string(), n))
}

/// What `scale` is asked to do.
#[derive(Debug, Clone)]
pub struct ScaleRequest {
    pub service: String,
    pub replicas: u32,
    pub project: Option<String>,
    /// ragd's port inside the containers, for the readiness check.
    pub port: u16,
    /// How long each new replica may take to answer `/ready`.
    pub ready_timeout: Duration,
    /// Seconds between the stop signal and SIGKILL.
    pub stop_timeout: u32,
}

/// A replica to create.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NewReplica {
    pub name: String,
    pub number: u32,
    pub image: String,
    /// Network → aliases on it.
    pub networks: BTreeMap<String, Vec<String>>,
}

/// What will change.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ScalePlan {
    pub project: String,
    pub service: String,
    /// `compose` or `swarm`.
    pub mode: String,
    /// Replicas (containers or swarm tasks) now.
    pub current: u32,
    pub desired: u32,
    /// Container the new replicas are cloned from.
    pub template: Option<String>,
    pub create: Vec<NewReplica>,
    /// Stopped replicas that will be started again.
    pub start: Vec<String>,
    /// Highest numbers first.
    pub remove: Vec<String>,
    /// Stopped but kept (scale to 0: the template of a later scale-up).
    pub stop: Vec<String>,
    pub notes: Vec<String>,
    #[serde(skip)]
    template_id: Option<String>,
    #[serde(skip)]
    remove_ids: Vec<String>,
    #[serde(skip)]
    start_ids: Vec<String>,
    #[serde(skip)]
    stop_ids: Vec<String>,
    #[serde(skip)]
    swarm_version: Option<u64>,
}

impl ScalePlan {
    /// A plan that changes nothing yet.
    fn new(project: String, service: String, mode: &str, current: u32, desired: u32) -> ScalePlan {
        ScalePlan {
            project,
            service,
            mode: mode.into(),
            current,
            desired,
            template: None,
            create: Vec::new(),
            start: Vec::new(),
            remove: Vec::new(),
            stop: Vec::new(),
            notes: Vec::new(),
            template_id: None,
            remove_ids: Vec::new(),
            start_ids: Vec::new(),
            stop_ids: Vec::new(),
            swarm_version: None,
        }
    }
}

/// How one replica fared.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Step {
    pub name: String,
    /// `created`, `started`, `removed`, `scaled`.
    pub action: String,
    pub url: Option<String>,
    pub ok: bool,
    pub seconds: f64,
    /// What went wrong, as the user reads it.
    pub error: Option<String>,
    /// The same failure, typed, for callers that act on its kind.
    #[serde(skip)]
    pub failure: Option<ScaleError>,
}

/// The plan and what happened.
#[derive(Debug, Clone, Serialize)]
pub struct ScaleReport {
    pub plan: ScalePlan,
    pub dry_run: bool,
    pub steps: Vec<Step>,
    /// From the command to the last replica ready (or removed).
    pub seconds: f64,
}

/// A container's inspect document as JSON (`null` if it does not serialize).
async fn inspect(d: &Docker, id: &str) -> Result<Value, bollard::errors::Error> {
    d.inspect_container(id, None::<InspectContainerOptions>)
        .await
        .map(|i| serde_json::to_value(&i).unwrap_or(Value::Null))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_parsing() {
        assert_eq!(parse_spec("ragd=4").unwrap(), ("ragd".into(), 4));
        assert_eq!(parse_spec(" ragd = 0").unwrap(), ("ragd".into(), 0));
        assert!(parse_spec("ragd").is_err());
        assert!(parse_spec("=3").is_err());
        assert!(parse_spec("ragd=-1").is_err());
        assert!(parse_spec("ragd=many").is_err());
    }
}
