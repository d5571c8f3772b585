//! Deciding what `scale` will do: find the service's replicas, then pick
//! which to remove, which to start again and how many clones to create.
//! Reads the engine only; nothing changes here.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use bollard::Docker;
use bollard::query_parameters::ListContainersOptionsBuilder;
use serde_json::Value;

use super::clone::{has_fixed_host_port, template_networks};
use super::{NewReplica, ScalePlan, ScaleRequest, inspect, swarm};
use crate::docker::{self, ContainerInfo, explain, labels};
use crate::error::{Error, ProjectHint};

/// Work out what `scale` would do. Reads only.
pub async fn plan(d: &Docker, req: &ScaleRequest) -> Result<ScalePlan, Error> {
    let mut replicas = service_containers(d, req).await?;
    if replicas.is_empty() {
        if let Some(p) = swarm::plan(d, req).await {
            return Ok(p);
        }
        return Err(unknown_service(d, req).await);
    }
    let project = one_project(&replicas, req)?;
    replicas.sort_by_key(|c| (c.number.unwrap_or(0), c.name.clone()));
    let current = replicas.len() as u32;
    let desired = req.replicas;
    let mut p = ScalePlan::new(project, req.service.clone(), "compose", current, desired);
    plan_removals(&mut p, &replicas);
    plan_restarts(&mut p, &replicas);
    if desired > current {
        plan_clones(d, &mut p, &replicas).await?;
    }
    Ok(p)
}

/// The service's replicas: its containers, one-off ones left out.
async fn service_containers(d: &Docker, req: &ScaleRequest) -> Result<Vec<ContainerInfo>, Error> {
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
    Ok(d.list_containers(Some(opts))
        .await
        .map_err(|e| Error::Docker(explain(&e)))?
        .iter()
        .filter_map(|c| serde_json::to_value(c).ok())
        .map(|v| ContainerInfo::from_summary(&v))
        .filter(|c| !c.oneoff)
        .collect())
}

/// The error for a service no container belongs to, naming the services
/// that exist (or why they cannot be listed).
async fn unknown_service(d: &Docker, req: &ScaleRequest) -> Error {
    let all = match docker::list(d, req.project.as_deref()).await {
        Ok(all) => all,
        Err(e) => return e.into(),
    };
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
    Error::UnknownService {
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
    }
}

/// The one compose project the replicas belong to; several is an error.
fn one_project(replicas: &[ContainerInfo], req: &ScaleRequest) -> Result<String, Error> {
    let projects: BTreeSet<String> = replicas.iter().filter_map(|c| c.project.clone()).collect();
    if projects.len() > 1 {
        return Err(Error::AmbiguousProject {
            service: req.service.clone(),
            projects: projects.into_iter().collect::<Vec<_>>().join(", "),
        });
    }
    Ok(projects
        .into_iter()
        .next()
        .unwrap_or_else(|| req.project.clone().unwrap_or_default()))
}

/// Scaling down: the highest numbers go first. `replicas` is sorted. To 0,
/// the lowest-numbered one is stopped and kept, as the template of a later
/// scale-up.
fn plan_removals(p: &mut ScalePlan, replicas: &[ContainerInfo]) {
    if p.desired >= p.current {
        return;
    }
    let keep = p.desired.max(1) as usize;
    for c in replicas.iter().skip(keep).rev() {
        p.remove.push(c.name.clone());
        p.remove_ids.push(c.id.clone());
    }
    if p.desired == 0
        && let Some(first) = replicas.first()
    {
        if first.running() {
            p.stop.push(first.name.clone());
            p.stop_ids.push(first.id.clone());
        }
        p.notes.push(format!(
            "{} is kept, stopped: a later scale-up starts it again and clones it",
            first.name
        ));
    }
}

/// Kept replicas that are stopped are started again.
fn plan_restarts(p: &mut ScalePlan, replicas: &[ContainerInfo]) {
    for c in replicas
        .iter()
        .take(p.desired as usize)
        .filter(|c| !c.running())
    {
        p.start.push(c.name.clone());
        p.start_ids.push(c.id.clone());
    }
}

/// Scaling up: clones of the highest-numbered running replica (else the
/// highest-numbered one), numbered after every number in use.
async fn plan_clones(
    d: &Docker,
    p: &mut ScalePlan,
    replicas: &[ContainerInfo],
) -> Result<(), Error> {
    let template = replicas
        .iter()
        .rev()
        .find(|c| c.running())
        .or(replicas.last())
        .expect("found is not empty");
    let t = inspect(d, &template.id)
        .await
        .map_err(|e| Error::Docker(explain(&e)))?;
    let sep =
        if template.name == name_for(&p.project, &p.service, template.number.unwrap_or(0), '_') {
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
    for _ in p.current..p.desired {
        while used.contains(&next) {
            next += 1;
        }
        let name = name_for(&p.project, &p.service, next, sep);
        p.create.push(NewReplica {
            networks: renamed_aliases(&networks, &template.name, &name),
            name,
            number: next,
            image: image.clone(),
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
    Ok(())
}

fn name_for(project: &str, service: &str, n: u32, sep: char) -> String {
    format!("{project}{sep}{service}{sep}{n}")
}

/// The template's networks and aliases, with its own name replaced by the
/// clone's.
fn renamed_aliases(
    networks: &BTreeMap<String, Vec<String>>,
    template: &str,
    name: &str,
) -> BTreeMap<String, Vec<String>> {
    networks
        .iter()
        .map(|(net, aliases)| {
            let mut a: Vec<String> = aliases
                .iter()
                .map(|x| {
                    if x == template {
                        name.to_string()
                    } else {
                        x.clone()
                    }
                })
                .collect();
            a.dedup();
            (net.clone(), a)
        })
        .collect()
}
