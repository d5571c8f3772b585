//! Carrying out a compose plan through the Docker API: stop and remove,
//! start again, create clones, all concurrently, each ending in one
//! [`Step`] that says how that replica fared.

use std::time::Instant;

use bollard::Docker;
use bollard::models::{ContainerCreateBody, EndpointSettings, NetworkConnectRequest};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, RemoveContainerOptionsBuilder, StartContainerOptions,
    StopContainerOptionsBuilder,
};
use serde_json::Value;

use super::clone::{clone_body, is_predefined, primary_network};
use super::ready::wait_ready;
use super::{NewReplica, ScalePlan, ScaleRequest, Step, inspect, swarm};
use crate::docker::explain;
use crate::error::{Error, ScaleError};

/// Carry out a plan. New replicas are created and awaited concurrently;
/// removals stop gracefully, also concurrently.
pub async fn execute(d: &Docker, p: &ScalePlan, req: &ScaleRequest) -> Result<Vec<Step>, Error> {
    if p.mode == "swarm" {
        return swarm::execute(d, p).await.map(|s| vec![s]);
    }
    let template = match &p.template_id {
        Some(id) => Some(
            inspect(d, id)
                .await
                .map_err(|e| Error::Docker(explain(&e)))?,
        ),
        None => None,
    };
    let removals = p
        .remove
        .iter()
        .zip(&p.remove_ids)
        .map(|(name, id)| remove_one(d, name, id, req.stop_timeout));
    let stops = p
        .stop
        .iter()
        .zip(&p.stop_ids)
        .map(|(name, id)| stop_one(d, name, id, req.stop_timeout));
    let starts = p
        .start
        .iter()
        .zip(&p.start_ids)
        .map(|(name, id)| start_one(d, name, id, req));
    let creates = p
        .create
        .iter()
        .map(|n| create_one(d, template.as_ref(), n, req));
    let (r, x, s, c) = tokio::join!(
        futures::future::join_all(removals),
        futures::future::join_all(stops),
        futures::future::join_all(starts),
        futures::future::join_all(creates)
    );
    Ok(r.into_iter().chain(x).chain(s).chain(c).collect())
}

/// The step of one replica, from when it began and how it ended (the URL
/// it is ready at, if it is a running replica).
pub(super) fn step(
    name: &str,
    action: &str,
    started: Instant,
    res: Result<Option<String>, ScaleError>,
) -> Step {
    let (url, failure) = match res {
        Ok(url) => (url, None),
        Err(e) => (None, Some(e)),
    };
    Step {
        name: name.to_string(),
        action: action.into(),
        url,
        ok: failure.is_none(),
        seconds: started.elapsed().as_secs_f64(),
        error: failure.as_ref().map(ToString::to_string),
        failure,
    }
}

/// Stop (the image's stop signal, SIGKILL after `stop_timeout` s), then remove.
async fn remove_one(d: &Docker, name: &str, id: &str, stop_timeout: u32) -> Step {
    let started = Instant::now();
    let res = stop_and_remove(d, id, stop_timeout).await.map(|()| None);
    step(name, "removed", started, res)
}

/// Stop and keep (scale to 0).
async fn stop_one(d: &Docker, name: &str, id: &str, stop_timeout: u32) -> Step {
    let started = Instant::now();
    let res = stop(d, id, stop_timeout).await.map(|()| None);
    step(name, "stopped", started, res)
}

async fn stop_and_remove(d: &Docker, id: &str, stop_timeout: u32) -> Result<(), ScaleError> {
    stop(d, id, stop_timeout).await?;
    let rm = RemoveContainerOptionsBuilder::default().build();
    d.remove_container(id, Some(rm))
        .await
        .map_err(|e| ScaleError::Docker(explain(&e)))
}

/// The image's stop signal, SIGKILL after `stop_timeout` s; an already
/// stopped container is fine.
async fn stop(d: &Docker, id: &str, stop_timeout: u32) -> Result<(), ScaleError> {
    let stop = StopContainerOptionsBuilder::default()
        .t(stop_timeout as i32)
        .build();
    match d.stop_container(id, Some(stop)).await {
        // 304: already stopped
        Ok(())
        | Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 304, ..
        }) => {}
        Err(e) => return Err(ScaleError::Docker(explain(&e))),
    }
    Ok(())
}

/// Start a stopped replica again and wait for its `/ready`.
async fn start_one(d: &Docker, name: &str, id: &str, req: &ScaleRequest) -> Step {
    let started = Instant::now();
    let res = async {
        d.start_container(id, None::<StartContainerOptions>)
            .await
            .map_err(|e| ScaleError::Docker(explain(&e)))?;
        Ok(Some(wait_ready(d, id, req.port, req.ready_timeout).await?))
    }
    .await;
    step(name, "started", started, res)
}

/// Create a clone of the template `t` (an inspect document), start it and
/// wait for its `/ready`.
async fn create_one(d: &Docker, t: Option<&Value>, new: &NewReplica, req: &ScaleRequest) -> Step {
    let started = Instant::now();
    let res = match t {
        Some(t) => create_and_start(d, t, new, req).await.map(Some),
        None => Err(ScaleError::NoTemplate),
    };
    step(&new.name, "created", started, res)
}

async fn create_and_start(
    d: &Docker,
    t: &Value,
    new: &NewReplica,
    req: &ScaleRequest,
) -> Result<String, ScaleError> {
    let primary = primary_network(t, new);
    let body: ContainerCreateBody = serde_json::from_value(clone_body(t, new, primary.as_deref()))
        .map_err(|e| ScaleError::CloneConfig(e.to_string()))?;
    let opts = CreateContainerOptionsBuilder::default()
        .name(&new.name)
        .build();
    let created = d
        .create_container(Some(opts), body)
        .await
        .map_err(|e| ScaleError::Docker(explain(&e)))?;
    // the primary network was joined at creation
    for (net, aliases) in new
        .networks
        .iter()
        .filter(|(net, _)| Some(*net) != primary.as_ref())
    {
        let join = NetworkConnectRequest {
            container: created.id.clone(),
            endpoint_config: Some(EndpointSettings {
                aliases: (!is_predefined(net) && !aliases.is_empty()).then(|| aliases.clone()),
                ..Default::default()
            }),
        };
        d.connect_network(net, join)
            .await
            .map_err(|e| ScaleError::Network {
                network: net.clone(),
                reason: explain(&e),
            })?;
    }
    d.start_container(&created.id, None::<StartContainerOptions>)
        .await
        .map_err(|e| ScaleError::Docker(explain(&e)))?;
    Ok(wait_ready(d, &created.id, req.port, req.ready_timeout).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ReadyError;

    #[test]
    fn a_step_keeps_the_message_and_the_kind() {
        let ok = step(
            "r-2",
            "created",
            Instant::now(),
            Ok(Some("http://h:1".into())),
        );
        assert!(ok.ok && ok.error.is_none() && ok.failure.is_none());
        assert_eq!(ok.url.as_deref(), Some("http://h:1"));
        let failed = step(
            "r-3",
            "created",
            Instant::now(),
            Err(ReadyError::NoAddress { port: 8080 }.into()),
        );
        assert!(!failed.ok && failed.url.is_none());
        assert_eq!(
            failed.error.as_deref(),
            Some("no address for container port 8080/tcp")
        );
        assert_eq!(
            failed.failure.as_ref().map(ScaleError::code),
            Some("no_address")
        );
        // the typed failure stays out of `--json`
        let mut keys: Vec<String> = serde_json::to_value(&failed)
            .unwrap()
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        keys.sort();
        assert_eq!(keys, ["action", "error", "name", "ok", "seconds", "url"]);
    }
}
