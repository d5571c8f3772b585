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
//!   `--stop-timeout`) and removes them.
//! - A Docker Swarm service of that name is scaled through the service API.
//!
//! [`plan`] computes what would change without changing anything
//! (`--dry-run` prints it); [`execute`] carries it out.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::models::{ContainerCreateBody, EndpointSettings, NetworkConnectRequest};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, InspectContainerOptions, ListContainersOptionsBuilder,
    RemoveContainerOptionsBuilder, StopContainerOptionsBuilder,
};
use serde::Serialize;
use serde_json::{Value, json};

use crate::docker::{self, ContainerInfo, explain, labels};
use crate::error::{Error, ProjectHint};

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
    pub notes: Vec<String>,
    #[serde(skip)]
    template_id: Option<String>,
    #[serde(skip)]
    remove_ids: Vec<String>,
    #[serde(skip)]
    start_ids: Vec<String>,
    #[serde(skip)]
    swarm_version: Option<u64>,
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
    pub error: Option<String>,
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

fn name_for(project: &str, service: &str, n: u32, sep: char) -> String {
    format!("{project}{sep}{service}{sep}{n}")
}

/// Work out what `scale` would do. Reads only.
pub async fn plan(d: &Docker, req: &ScaleRequest) -> Result<ScalePlan, Error> {
    let mut filters: HashMap<String, Vec<String>> = HashMap::new();
    let mut lbl = vec![format!("{}={}", labels::SERVICE, req.service)];
    if let Some(p) = &req.project {
        lbl.push(format!("{}={p}", labels::PROJECT));
    }
    filters.insert("label".into(), lbl);
    let opts = ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&filters)
        .build();
    let found: Vec<ContainerInfo> = d
        .list_containers(Some(opts))
        .await
        .map_err(|e| Error::Docker(explain(&e)))?
        .iter()
        .filter_map(|c| serde_json::to_value(c).ok())
        .map(|v| ContainerInfo::from_summary(&v))
        .filter(|c| !c.oneoff)
        .collect();
    if found.is_empty() {
        if let Some(p) = swarm_plan(d, req).await {
            return Ok(p);
        }
        let all = docker::list(d, req.project.as_deref()).await?;
        let known: BTreeSet<String> = all
            .iter()
            .filter_map(|c| {
                Some(match (&c.project, &c.service) {
                    (Some(p), Some(s)) if req.project.is_none() => format!("{s} (project {p})"),
                    (_, Some(s)) => s.clone(),
                    _ => return None,
                })
            })
            .collect();
        return Err(Error::UnknownService {
            service: req.service.clone(),
            where_: ProjectHint(req.project.clone()),
            known: format!(
                "{}. ragctl scales by cloning an existing replica; start the first one with `docker compose up -d {}`",
                if known.is_empty() {
                    "none (no container has compose labels)".to_string()
                } else {
                    known.into_iter().collect::<Vec<_>>().join(", ")
                },
                req.service
            ),
        });
    }
    let projects: BTreeSet<String> = found.iter().filter_map(|c| c.project.clone()).collect();
    if projects.len() > 1 {
        return Err(Error::AmbiguousProject {
            service: req.service.clone(),
            projects: projects.into_iter().collect::<Vec<_>>().join(", "),
        });
    }
    let project = projects
        .into_iter()
        .next()
        .unwrap_or_else(|| req.project.clone().unwrap_or_default());
    let mut replicas = found;
    replicas.sort_by_key(|c| (c.number.unwrap_or(0), c.name.clone()));
    let current = replicas.len() as u32;
    let desired = req.replicas;
    let mut p = ScalePlan {
        project: project.clone(),
        service: req.service.clone(),
        mode: "compose".into(),
        current,
        desired,
        template: None,
        create: Vec::new(),
        start: Vec::new(),
        remove: Vec::new(),
        notes: Vec::new(),
        template_id: None,
        remove_ids: Vec::new(),
        start_ids: Vec::new(),
        swarm_version: None,
    };
    if desired < current {
        // highest numbers first
        for c in replicas.iter().rev().take((current - desired) as usize) {
            p.remove.push(c.name.clone());
            p.remove_ids.push(c.id.clone());
        }
    }
    let kept: Vec<&ContainerInfo> = replicas.iter().take(desired as usize).collect();
    for c in kept.iter().filter(|c| !c.running()) {
        p.start.push(c.name.clone());
        p.start_ids.push(c.id.clone());
    }
    if desired > current {
        let template = replicas
            .iter()
            .rev()
            .find(|c| c.running())
            .or(replicas.last())
            .expect("found is not empty");
        let inspect = d
            .inspect_container(&template.id, None::<InspectContainerOptions>)
            .await
            .map_err(|e| Error::Docker(explain(&e)))?;
        let t = serde_json::to_value(&inspect).unwrap_or(Value::Null);
        let sep = if template.name
            == name_for(&project, &req.service, template.number.unwrap_or(0), '_')
        {
            '_'
        } else {
            '-'
        };
        let networks = template_networks(&t, template);
        let image = t
            .pointer("/Config/Image")
            .and_then(Value::as_str)
            .unwrap_or(&template.image)
            .to_string();
        let used: BTreeSet<u32> = replicas.iter().filter_map(|c| c.number).collect();
        let mut next = used.iter().max().copied().unwrap_or(0) + 1;
        for _ in current..desired {
            while used.contains(&next) {
                next += 1;
            }
            let name = name_for(&project, &req.service, next, sep);
            let nets = networks
                .iter()
                .map(|(net, aliases)| {
                    let mut a: Vec<String> = aliases
                        .iter()
                        .map(|x| {
                            if *x == template.name {
                                name.clone()
                            } else {
                                x.clone()
                            }
                        })
                        .collect();
                    a.dedup();
                    (net.clone(), a)
                })
                .collect();
            p.create.push(NewReplica {
                name,
                number: next,
                image: image.clone(),
                networks: nets,
            });
            next += 1;
        }
        if has_fixed_host_port(&t) {
            p.notes.push(format!(
                "{} publishes a fixed host port; new replicas get ephemeral host ports instead",
                template.name
            ));
        }
        p.template = Some(template.name.clone());
        p.template_id = Some(template.id.clone());
    }
    Ok(p)
}

/// Networks of the template with their aliases, minus what belongs to the
/// template alone (its short id, added by the engine).
fn template_networks(t: &Value, c: &ContainerInfo) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    let mode = t
        .pointer("/HostConfig/NetworkMode")
        .and_then(Value::as_str)
        .unwrap_or("");
    if mode == "host" || mode == "none" || mode.starts_with("container:") {
        return out;
    }
    if let Some(nets) = t
        .pointer("/NetworkSettings/Networks")
        .and_then(Value::as_object)
    {
        for (name, ep) in nets {
            let aliases: Vec<String> = ep
                .get("Aliases")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .filter(|a| !c.id.starts_with(a) || a.len() < 12)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            out.insert(name.clone(), aliases);
        }
    }
    out
}

fn has_fixed_host_port(t: &Value) -> bool {
    t.pointer("/HostConfig/PortBindings")
        .and_then(Value::as_object)
        .is_some_and(|m| {
            m.values()
                .flat_map(|v| v.as_array().into_iter().flatten())
                .any(|b| {
                    b.get("HostPort")
                        .and_then(Value::as_str)
                        .is_some_and(|p| !p.is_empty() && p != "0")
                })
        })
}

/// The create body for a clone of the template `t` (an inspect document).
pub fn clone_body(t: &Value, new: &NewReplica, primary: Option<&str>) -> Value {
    let mut cfg = t.get("Config").cloned().unwrap_or_else(|| json!({}));
    let id = t.get("Id").and_then(Value::as_str).unwrap_or("");
    if let Some(obj) = cfg.as_object_mut() {
        // The engine sets the hostname to the short id unless one was given.
        if obj
            .get("Hostname")
            .and_then(Value::as_str)
            .is_some_and(|h| h.len() >= 12 && id.starts_with(h))
        {
            obj.remove("Hostname");
        }
        let lbls = obj.entry("Labels").or_insert_with(|| json!({}));
        if let Some(l) = lbls.as_object_mut() {
            l.insert(labels::NUMBER.into(), json!(new.number.to_string()));
            l.insert(labels::ONEOFF.into(), json!("False"));
        }
        obj.insert("Image".into(), json!(new.image));
    }
    let mut host = t.get("HostConfig").cloned().unwrap_or_else(|| json!({}));
    if let Some(pb) = host.get_mut("PortBindings").and_then(Value::as_object_mut) {
        for bindings in pb.values_mut() {
            for b in bindings.as_array_mut().into_iter().flatten() {
                if let Some(o) = b.as_object_mut() {
                    o.insert("HostPort".into(), json!(""));
                }
            }
        }
    }
    if let Some(net) = primary {
        let aliases = new.networks.get(net).cloned().unwrap_or_default();
        let mut ep = json!({});
        if !is_predefined(net) && !aliases.is_empty() {
            ep["Aliases"] = json!(aliases);
        }
        cfg["NetworkingConfig"] = json!({"EndpointsConfig": {net: ep}});
    }
    cfg["HostConfig"] = host;
    cfg
}

fn is_predefined(net: &str) -> bool {
    matches!(net, "bridge" | "host" | "none" | "default")
}

/// The network a container is created on: its network mode when that names
/// one of its networks, else the first.
fn primary_network(t: &Value, new: &NewReplica) -> Option<String> {
    let mode = t
        .pointer("/HostConfig/NetworkMode")
        .and_then(Value::as_str)
        .unwrap_or("");
    if new.networks.contains_key(mode) {
        return Some(mode.to_string());
    }
    if mode == "default" && new.networks.contains_key("bridge") {
        return Some("bridge".into());
    }
    new.networks.keys().next().cloned()
}

/// Base URL of ragd in a container, from an inspect document.
pub fn url_from_inspect(v: &Value, port: u16) -> Option<String> {
    if let Some(bs) = v
        .pointer(&format!("/NetworkSettings/Ports/{port}~1tcp"))
        .and_then(Value::as_array)
    {
        for b in bs {
            let hp = b.get("HostPort").and_then(Value::as_str).unwrap_or("");
            if hp.is_empty() {
                continue;
            }
            let ip = match b.get("HostIp").and_then(Value::as_str).unwrap_or("") {
                "" | "0.0.0.0" => "127.0.0.1".to_string(),
                "::" => "[::1]".to_string(),
                ip if ip.contains(':') => format!("[{ip}]"),
                ip => ip.to_string(),
            };
            return Some(format!("http://{ip}:{hp}"));
        }
    }
    if v.pointer("/HostConfig/NetworkMode").and_then(Value::as_str) == Some("host") {
        return Some(format!("http://127.0.0.1:{port}"));
    }
    v.pointer("/NetworkSettings/Networks")
        .and_then(Value::as_object)?
        .values()
        .filter_map(|n| n.get("IPAddress").and_then(Value::as_str))
        .find(|ip| !ip.is_empty())
        .map(|ip| format!("http://{ip}:{port}"))
}

/// Wait until `/ready` of the container answers 200; fails early if the
/// container stops.
async fn wait_ready(d: &Docker, id: &str, port: u16, timeout: Duration) -> Result<String, String> {
    let client = crate::ragd::client();
    let deadline = Instant::now() + timeout;
    let mut url = None;
    loop {
        let v = d
            .inspect_container(id, None::<InspectContainerOptions>)
            .await
            .map(|i| serde_json::to_value(&i).unwrap_or(Value::Null))
            .map_err(|e| explain(&e))?;
        if v.pointer("/State/Running").and_then(Value::as_bool) == Some(false) {
            let code = v
                .pointer("/State/ExitCode")
                .and_then(Value::as_i64)
                .unwrap_or(-1);
            return Err(format!(
                "container exited (code {code}) before it was ready; see `docker logs {}`",
                &id[..id.len().min(12)]
            ));
        }
        if url.is_none() {
            url = url_from_inspect(&v, port);
        }
        if let Some(u) = &url
            && let Ok(r) = client.get(format!("{u}/ready")).send().await
            && r.status().is_success()
        {
            return Ok(u.clone());
        }
        if Instant::now() >= deadline {
            return Err(match &url {
                Some(u) => format!(
                    "{u}/ready did not answer 200 within {:.0} s",
                    timeout.as_secs_f64()
                ),
                None => format!("no address for container port {port}/tcp"),
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn create_one(d: &Docker, t: &Value, new: &NewReplica, req: &ScaleRequest) -> Step {
    let started = Instant::now();
    let res: Result<String, String> = async {
        let primary = primary_network(t, new);
        let body_json = clone_body(t, new, primary.as_deref());
        let body: ContainerCreateBody = serde_json::from_value(body_json)
            .map_err(|e| format!("cannot clone the template's configuration: {e}"))?;
        let opts = CreateContainerOptionsBuilder::default()
            .name(&new.name)
            .build();
        let created = d
            .create_container(Some(opts), body)
            .await
            .map_err(|e| explain(&e))?;
        for (net, aliases) in &new.networks {
            if Some(net) == primary.as_ref() {
                continue;
            }
            let req = NetworkConnectRequest {
                container: created.id.clone(),
                endpoint_config: Some(EndpointSettings {
                    aliases: (!is_predefined(net) && !aliases.is_empty()).then(|| aliases.clone()),
                    ..Default::default()
                }),
            };
            d.connect_network(net, req)
                .await
                .map_err(|e| format!("connecting to network {net}: {}", explain(&e)))?;
        }
        d.start_container(
            &created.id,
            None::<bollard::query_parameters::StartContainerOptions>,
        )
        .await
        .map_err(|e| explain(&e))?;
        wait_ready(d, &created.id, req.port, req.ready_timeout).await
    }
    .await;
    step(&new.name, "created", started, res)
}

fn step(name: &str, action: &str, started: Instant, res: Result<String, String>) -> Step {
    let (ok, url, error) = match res {
        Ok(u) => (true, (!u.is_empty()).then_some(u), None),
        Err(e) => (false, None, Some(e)),
    };
    Step {
        name: name.to_string(),
        action: action.into(),
        url,
        ok,
        seconds: started.elapsed().as_secs_f64(),
        error,
    }
}

/// Carry out a plan. New replicas are created and awaited concurrently;
/// removals stop gracefully, also concurrently.
pub async fn execute(d: &Docker, p: &ScalePlan, req: &ScaleRequest) -> Result<Vec<Step>, Error> {
    if p.mode == "swarm" {
        return swarm_execute(d, p).await.map(|s| vec![s]);
    }
    let mut steps = Vec::new();
    let template = match &p.template_id {
        Some(id) => Some(
            d.inspect_container(id, None::<InspectContainerOptions>)
                .await
                .map(|i| serde_json::to_value(&i).unwrap_or(Value::Null))
                .map_err(|e| Error::Docker(explain(&e)))?,
        ),
        None => None,
    };
    let removals = p
        .remove
        .iter()
        .zip(&p.remove_ids)
        .map(|(name, id)| async move {
            let started = Instant::now();
            let res = async {
                let stop = StopContainerOptionsBuilder::default()
                    .t(req.stop_timeout as i32)
                    .build();
                match d.stop_container(id, Some(stop)).await {
                    // 304: already stopped
                    Ok(())
                    | Err(bollard::errors::Error::DockerResponseServerError {
                        status_code: 304,
                        ..
                    }) => {}
                    Err(e) => return Err(explain(&e)),
                }
                let rm = RemoveContainerOptionsBuilder::default().build();
                d.remove_container(id, Some(rm))
                    .await
                    .map_err(|e| explain(&e))?;
                Ok(String::new())
            }
            .await;
            step(name, "removed", started, res)
        });
    let starts = p
        .start
        .iter()
        .zip(&p.start_ids)
        .map(|(name, id)| async move {
            let started = Instant::now();
            let res = async {
                d.start_container(id, None::<bollard::query_parameters::StartContainerOptions>)
                    .await
                    .map_err(|e| explain(&e))?;
                wait_ready(d, id, req.port, req.ready_timeout).await
            }
            .await;
            step(name, "started", started, res)
        });
    let creates = p.create.iter().map(|n| {
        let t = template.as_ref();
        async move {
            match t {
                Some(t) => create_one(d, t, n, req).await,
                None => step(
                    &n.name,
                    "created",
                    Instant::now(),
                    Err("no template".into()),
                ),
            }
        }
    });
    let (r, s, c) = tokio::join!(
        futures::future::join_all(removals),
        futures::future::join_all(starts),
        futures::future::join_all(creates)
    );
    steps.extend(r);
    steps.extend(s);
    steps.extend(c);
    Ok(steps)
}

async fn swarm_plan(d: &Docker, req: &ScaleRequest) -> Option<ScalePlan> {
    let svc = d
        .inspect_service(
            &req.service,
            None::<bollard::query_parameters::InspectServiceOptions>,
        )
        .await
        .ok()?;
    let v = serde_json::to_value(&svc).ok()?;
    let current = v
        .pointer("/Spec/Mode/Replicated/Replicas")
        .and_then(Value::as_u64)? as u32;
    Some(ScalePlan {
        project: v
            .pointer("/Spec/Labels/com.docker.stack.namespace")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        service: req.service.clone(),
        mode: "swarm".into(),
        current,
        desired: req.replicas,
        template: None,
        create: Vec::new(),
        start: Vec::new(),
        remove: Vec::new(),
        notes: vec![
            "Docker Swarm service: the replica count is set through the service API".into(),
        ],
        template_id: None,
        remove_ids: Vec::new(),
        start_ids: Vec::new(),
        swarm_version: v.pointer("/Version/Index").and_then(Value::as_u64),
    })
}

async fn swarm_execute(d: &Docker, p: &ScalePlan) -> Result<Step, Error> {
    let started = Instant::now();
    let svc = d
        .inspect_service(
            &p.service,
            None::<bollard::query_parameters::InspectServiceOptions>,
        )
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
    let opts = bollard::query_parameters::UpdateServiceOptionsBuilder::default()
        .version(version as i32)
        .build();
    let res = d
        .update_service(&p.service, spec, opts, None)
        .await
        .map(|_| String::new())
        .map_err(|e| explain(&e));
    Ok(step(&p.service, "scaled", started, res))
}

/// Human text of a plan.
pub fn plan_text(p: &ScalePlan, dry_run: bool) -> String {
    let mut out = format!(
        "{} service `{}`{}: {} -> {} replicas\n",
        p.mode,
        p.service,
        if p.project.is_empty() {
            String::new()
        } else {
            format!(" in project `{}`", p.project)
        },
        p.current,
        p.desired
    );
    if let Some(t) = &p.template {
        out += &format!("  clone of {t}\n");
    }
    for c in &p.create {
        let nets: Vec<String> = c
            .networks
            .iter()
            .map(|(n, a)| {
                if a.is_empty() {
                    n.clone()
                } else {
                    format!("{n} (aliases {})", a.join(", "))
                }
            })
            .collect();
        out += &format!(
            "  create {}  image {}  networks {}\n",
            c.name,
            c.image,
            if nets.is_empty() {
                "-".into()
            } else {
                nets.join("; ")
            }
        );
    }
    for s in &p.start {
        out += &format!("  start  {s}\n");
    }
    for r in &p.remove {
        out += &format!("  stop and remove {r}\n");
    }
    if p.create.is_empty() && p.remove.is_empty() && p.start.is_empty() && p.mode == "compose" {
        out += "  nothing to do\n";
    }
    for n in &p.notes {
        out += &format!("  note: {n}\n");
    }
    if dry_run {
        out += "dry run: nothing changed\n";
    }
    out
}

/// Human text of the steps.
pub fn steps_text(steps: &[Step], total: f64) -> String {
    let mut out = String::new();
    for s in steps {
        if s.ok {
            out += &format!(
                "  {} {}{} in {:.1} s\n",
                s.action,
                s.name,
                s.url
                    .as_ref()
                    .map(|u| format!(", ready at {u}"))
                    .unwrap_or_default(),
                s.seconds
            );
        } else {
            out += &format!(
                "  FAILED {} {}: {}\n",
                s.action,
                s.name,
                s.error.as_deref().unwrap_or("?")
            );
        }
    }
    out += &format!("done in {total:.1} s\n");
    out
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

    #[test]
    fn clone_body_renumbers_and_frees_ports() {
        let t = json!({
            "Id": "0123456789abcdef0123",
            "Config": {"Hostname": "0123456789ab", "Image": "ragd:dev",
                "Labels": {"com.docker.compose.container-number": "1", "com.docker.compose.service": "ragd"}},
            "HostConfig": {"NetworkMode": "shop_default",
                "PortBindings": {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": "18080"}]}},
        });
        let new = NewReplica {
            name: "shop-ragd-2".into(),
            number: 2,
            image: "ragd:dev".into(),
            networks: BTreeMap::from([("shop_default".into(), vec!["ragd".into()])]),
        };
        let b = clone_body(&t, &new, Some("shop_default"));
        assert!(b.get("Hostname").is_none());
        assert_eq!(b["Labels"]["com.docker.compose.container-number"], "2");
        assert_eq!(
            b["HostConfig"]["PortBindings"]["8080/tcp"][0]["HostPort"],
            ""
        );
        assert_eq!(
            b["HostConfig"]["PortBindings"]["8080/tcp"][0]["HostIp"],
            "127.0.0.1"
        );
        assert_eq!(
            b["NetworkingConfig"]["EndpointsConfig"]["shop_default"]["Aliases"],
            json!(["ragd"])
        );
        let _: ContainerCreateBody = serde_json::from_value(b).unwrap();
    }

    #[test]
    fn url_from_inspect_prefers_published_port() {
        let v = json!({"NetworkSettings": {
            "Ports": {"8080/tcp": [{"HostIp": "0.0.0.0", "HostPort": "49160"}]},
            "Networks": {"n": {"IPAddress": "172.20.0.5"}}}});
        assert_eq!(
            url_from_inspect(&v, 8080).as_deref(),
            Some("http://127.0.0.1:49160")
        );
        assert_eq!(
            url_from_inspect(&v, 9000).as_deref(),
            Some("http://172.20.0.5:9000")
        );
    }
}
