//! The Docker Engine API through bollard: connecting, listing containers the
//! way `docker ps` and compose see them, one-off and streamed stats, events.
//!
//! Engine documents are read through `serde_json::Value` into our own small
//! types ([`ContainerInfo`]), so fields the engine omits or an older API
//! version does not know become defaults instead of errors. The client
//! negotiates the API version, so engines older than bollard's default
//! (e.g. 20.10, API 1.41) work.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use bollard::Docker;
use bollard::query_parameters::{ListContainersOptionsBuilder, StatsOptionsBuilder};
use futures::{Stream, StreamExt};
use serde::Serialize;
use serde_json::Value;

use crate::error::Error;
use crate::stats::StatsSample;

/// Compose labels, as docker compose writes them.
pub mod labels {
    pub const PROJECT: &str = "com.docker.compose.project";
    pub const SERVICE: &str = "com.docker.compose.service";
    pub const NUMBER: &str = "com.docker.compose.container-number";
    pub const ONEOFF: &str = "com.docker.compose.oneoff";
    pub const CONFIG_HASH: &str = "com.docker.compose.config-hash";
}

/// Where the engine is, for messages: `DOCKER_HOST` or the default socket.
pub fn engine_address() -> String {
    std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into())
}

/// Connect (honouring `DOCKER_HOST`) and negotiate the API version. Fails
/// with [`Error::DockerUnreachable`] naming the address and the reason.
pub async fn connect() -> Result<Docker, Error> {
    let addr = engine_address();
    let unreachable = |why: String| Error::DockerUnreachable {
        address: addr.clone(),
        reason: why,
    };
    let docker = Docker::connect_with_defaults().map_err(|e| unreachable(e.to_string()))?;
    match tokio::time::timeout(Duration::from_secs(5), docker.negotiate_version()).await {
        Ok(Ok(d)) => Ok(d),
        Ok(Err(e)) => Err(unreachable(explain(&e))),
        Err(_) => Err(unreachable("no answer within 5 s".into())),
    }
}

/// A short reason for an engine error (the socket error, not the debug dump).
pub fn explain(e: &bollard::errors::Error) -> String {
    use bollard::errors::Error as E;
    match e {
        E::DockerResponseServerError {
            status_code,
            message,
        } => format!("engine answered {status_code}: {message}"),
        E::IOError { err } => err.to_string(),
        E::SocketNotFoundError(p) => format!("socket {p} not found"),
        other => {
            let mut s = other.to_string();
            let mut src = std::error::Error::source(other);
            while let Some(x) = src {
                s = format!("{s}: {x}");
                src = x.source();
            }
            s
        }
    }
}

/// A port mapping of a container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortInfo {
    pub private: u16,
    pub public: Option<u16>,
    pub ip: Option<String>,
    pub proto: String,
}

/// A container as `docker ps -a` lists it, with its compose identity.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContainerInfo {
    pub id: String,
    pub name: String,
    pub image: String,
    /// `running`, `exited`, `created`, `restarting`...
    pub state: String,
    /// `Up 5 minutes (healthy)`.
    pub status: String,
    /// `healthy`, `unhealthy`, `starting`, or `None` without a healthcheck.
    pub health: Option<String>,
    pub project: Option<String>,
    pub service: Option<String>,
    pub number: Option<u32>,
    pub oneoff: bool,
    pub ports: Vec<PortInfo>,
    /// Network name → IP address.
    pub networks: BTreeMap<String, String>,
    pub network_mode: Option<String>,
    #[serde(skip)]
    pub labels: BTreeMap<String, String>,
}

fn s(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or("").to_string()
}

impl ContainerInfo {
    /// Read one entry of `GET /containers/json`.
    pub fn from_summary(v: &Value) -> ContainerInfo {
        let labels: BTreeMap<String, String> = v
            .get("Labels")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        let name = v
            .get("Names")
            .and_then(Value::as_array)
            .and_then(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .find(|n| n.matches('/').count() == 1)
            })
            .map(|n| n.trim_start_matches('/').to_string())
            .unwrap_or_else(|| s(v, "Id").chars().take(12).collect());
        let status = s(v, "Status");
        let health = if status.contains("(healthy)") {
            Some("healthy".into())
        } else if status.contains("(unhealthy)") {
            Some("unhealthy".into())
        } else if status.contains("(health: starting)") {
            Some("starting".into())
        } else {
            None
        };
        let ports = v
            .get("Ports")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|p| {
                        Some(PortInfo {
                            private: u16::try_from(p.get("PrivatePort")?.as_u64()?).ok()?,
                            public: p
                                .get("PublicPort")
                                .and_then(Value::as_u64)
                                .and_then(|x| u16::try_from(x).ok()),
                            ip: p.get("IP").and_then(Value::as_str).map(str::to_string),
                            proto: p
                                .get("Type")
                                .and_then(Value::as_str)
                                .unwrap_or("tcp")
                                .to_string(),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        let networks = v
            .pointer("/NetworkSettings/Networks")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, n)| (k.clone(), s(n, "IPAddress")))
                    .collect()
            })
            .unwrap_or_default();
        ContainerInfo {
            id: s(v, "Id"),
            name,
            image: s(v, "Image"),
            state: s(v, "State"),
            status,
            health,
            project: labels.get(labels::PROJECT).cloned(),
            service: labels.get(labels::SERVICE).cloned(),
            number: labels.get(labels::NUMBER).and_then(|n| n.parse().ok()),
            oneoff: labels
                .get(labels::ONEOFF)
                .is_some_and(|v| v.eq_ignore_ascii_case("true")),
            ports,
            networks,
            network_mode: v
                .pointer("/HostConfig/NetworkMode")
                .and_then(Value::as_str)
                .map(str::to_string),
            labels,
        }
    }

    pub fn short_id(&self) -> &str {
        &self.id[..self.id.len().min(12)]
    }

    pub fn running(&self) -> bool {
        self.state == "running"
    }

    /// Where ragd in this container answers, for container port `port`:
    /// the published host port (on 127.0.0.1 when bound to all addresses),
    /// else the container's address on its first network, else (host
    /// networking) 127.0.0.1.
    pub fn url_for_port(&self, port: u16) -> Option<String> {
        if let Some(p) = self
            .ports
            .iter()
            .find(|p| p.private == port && p.proto == "tcp" && p.public.is_some())
        {
            let ip = match p.ip.as_deref() {
                None | Some("") | Some("0.0.0.0") => "127.0.0.1".to_string(),
                Some("::") => "[::1]".to_string(),
                Some(ip) if ip.contains(':') => format!("[{ip}]"),
                Some(ip) => ip.to_string(),
            };
            return Some(format!("http://{ip}:{}", p.public?));
        }
        if self.network_mode.as_deref() == Some("host") {
            return Some(format!("http://127.0.0.1:{port}"));
        }
        self.networks
            .values()
            .find(|ip| !ip.is_empty())
            .map(|ip| format!("http://{ip}:{port}"))
    }
}

/// `docker ps -a`, optionally only one compose project's containers.
pub async fn list(docker: &Docker, project: Option<&str>) -> Result<Vec<ContainerInfo>, Error> {
    let mut filters: HashMap<String, Vec<String>> = HashMap::new();
    if let Some(p) = project {
        filters.insert("label".into(), vec![format!("{}={p}", labels::PROJECT)]);
    }
    let opts = ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&filters)
        .build();
    let list = docker
        .list_containers(Some(opts))
        .await
        .map_err(|e| Error::Docker(explain(&e)))?;
    let mut out: Vec<ContainerInfo> = list
        .iter()
        .filter_map(|c| serde_json::to_value(c).ok())
        .map(|v| ContainerInfo::from_summary(&v))
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// One stats reading with `precpu_stats` filled in (the engine waits about
/// a second to take two readings), as `docker stats --no-stream` does.
pub async fn stats_once(docker: &Docker, id: &str) -> Result<StatsSample, Error> {
    let opts = StatsOptionsBuilder::default()
        .stream(false)
        .one_shot(false)
        .build();
    let mut s = docker.stats(id, Some(opts));
    match tokio::time::timeout(Duration::from_secs(10), s.next()).await {
        Ok(Some(Ok(v))) => Ok(StatsSample::from_value(&v)),
        Ok(Some(Err(e))) => Err(Error::Docker(explain(&e))),
        Ok(None) => Err(Error::Docker("no stats".into())),
        Err(_) => Err(Error::Docker("stats timed out".into())),
    }
}

/// Streamed stats readings (one per second from the engine), like
/// `docker stats`.
pub fn stats_stream(
    docker: &Docker,
    id: &str,
) -> impl Stream<Item = Result<StatsSample, Error>> + Send + use<> {
    let opts = StatsOptionsBuilder::default()
        .stream(true)
        .one_shot(false)
        .build();
    docker.stats(id, Some(opts)).map(|r| {
        r.map(|v| StatsSample::from_value(&v))
            .map_err(|e| Error::Docker(explain(&e)))
    })
}

/// A container lifecycle event: `(action, container id, name)`.
pub fn container_events(
    docker: &Docker,
) -> impl Stream<Item = Result<(String, String, String), Error>> + Send + use<> {
    let filters: HashMap<String, Vec<String>> =
        HashMap::from([("type".to_string(), vec!["container".to_string()])]);
    let opts = bollard::query_parameters::EventsOptionsBuilder::default()
        .filters(&filters)
        .build();
    docker.events(Some(opts)).map(|r| {
        r.map(|ev| {
            let v = serde_json::to_value(&ev).unwrap_or(Value::Null);
            let action = s(&v, "Action");
            let id = v
                .pointer("/Actor/ID")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let name = v
                .pointer("/Actor/Attributes/name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            (action, id, name)
        })
        .map_err(|e| Error::Docker(explain(&e)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_with_compose_labels() {
        let v: Value = serde_json::from_str(
            r#"{"Id":"0123456789abcdef","Names":["/shop-ragd-2"],"Image":"ragd:dev",
            "State":"running","Status":"Up 3 minutes (healthy)",
            "Labels":{"com.docker.compose.project":"shop","com.docker.compose.service":"ragd",
                      "com.docker.compose.container-number":"2","com.docker.compose.oneoff":"False"},
            "Ports":[{"PrivatePort":8080,"PublicPort":49153,"IP":"0.0.0.0","Type":"tcp"}],
            "NetworkSettings":{"Networks":{"shop_default":{"IPAddress":"172.18.0.3"}}},
            "HostConfig":{"NetworkMode":"shop_default"}}"#,
        )
        .unwrap();
        let c = ContainerInfo::from_summary(&v);
        assert_eq!(c.name, "shop-ragd-2");
        assert_eq!(c.project.as_deref(), Some("shop"));
        assert_eq!(c.number, Some(2));
        assert!(!c.oneoff);
        assert_eq!(c.health.as_deref(), Some("healthy"));
        assert_eq!(
            c.url_for_port(8080).as_deref(),
            Some("http://127.0.0.1:49153")
        );
        assert_eq!(
            c.url_for_port(9000).as_deref(),
            Some("http://172.18.0.3:9000")
        );
        // odd data: nothing but garbage
        let c =
            ContainerInfo::from_summary(&serde_json::json!({"Ports": [1, {"x": 2}], "Labels": 5}));
        assert_eq!(c.name, "");
        assert!(c.ports.is_empty());
    }
}
