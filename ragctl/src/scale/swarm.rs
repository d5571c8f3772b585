//! A Docker Swarm service of the requested name: planned from the service's
//! spec and scaled by updating its replica count through the service API.

use std::time::Instant;

use bollard::Docker;
use bollard::query_parameters::{InspectServiceOptions, UpdateServiceOptionsBuilder};
use serde_json::Value;

use super::execute::step;
use super::{ScalePlan, ScaleRequest, Step};
use crate::docker::explain;
use crate::error::{Error, ScaleError};

/// The plan for a replicated Swarm service, if there is one of that name.
pub(super) async fn plan(d: &Docker, req: &ScaleRequest) -> Option<ScalePlan> {
    let svc = d
        .inspect_service(&req.service, None::<InspectServiceOptions>)
        .await
        .ok()?;
    let v = serde_json::to_value(&svc).ok()?;
    let current = v
        .pointer("/Spec/Mode/Replicated/Replicas")
        .and_then(Value::as_u64)? as u32;
    let project = v
        .pointer("/Spec/Labels/com.docker.stack.namespace")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let mut p = ScalePlan::new(project, req.service.clone(), "swarm", current, req.replicas);
    p.notes
        .push("Docker Swarm service: the replica count is set through the service API".into());
    p.swarm_version = v.pointer("/Version/Index").and_then(Value::as_u64);
    Some(p)
}

/// Set the service's replica count; one `scaled` step.
pub(super) async fn execute(d: &Docker, p: &ScalePlan) -> Result<Step, Error> {
    let started = Instant::now();
    let svc = d
        .inspect_service(&p.service, None::<InspectServiceOptions>)
        .await
        .map_err(|e| Error::Docker(explain(&e)))?;
    let mut spec = svc.spec.unwrap_or_default();
    let mut mode = spec.mode.unwrap_or_default();
    let mut rep = mode.replicated.unwrap_or_default();
    rep.replicas = Some(i64::from(p.desired));
    mode.replicated = Some(rep);
    spec.mode = Some(mode);
    let version = svc
        .version
        .and_then(|v| v.index)
        .or(p.swarm_version)
        .unwrap_or(0);
    let opts = UpdateServiceOptionsBuilder::default()
        .version(version as i32)
        .build();
    let res = d
        .update_service(&p.service, spec, opts, None)
        .await
        .map(|_| None)
        .map_err(|e| ScaleError::Docker(explain(&e)));
    Ok(step(&p.service, "scaled", started, res))
}
