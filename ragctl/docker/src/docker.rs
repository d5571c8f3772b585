//! The Docker Engine API through bollard: connecting, listing containers the
//! way `docker ps` and compose see them, one-off and streamed stats, events,
//! a container's limits, its logs, restarting and stopping it.
//!
//! Engine documents are read through `serde_json::Value` into our own small
//! types ([`ContainerInfo`]), so fields the engine omits or an older API
//! version does not know become defaults instead of errors. The client
//! negotiates the API version, so engines older than bollard's default
//! (e.g. 20.10, API 1.41) work.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use bollard::Docker;
use bollard::query_parameters::{
    InspectContainerOptions, ListContainersOptionsBuilder, LogsOptionsBuilder,
    RestartContainerOptionsBuilder, StatsOptionsBuilder, StopContainerOptionsBuilder,
};
use futures::{Stream, StreamExt};
use serde::Serialize;
use serde_json::Value;

use crate::DockerError;
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
/// with [`DockerError::Unreachable`] naming the address and the reason.
pub async fn connect() -> Result<Docker, DockerError> {
    let addr = engine_address();
    let unreachable = |why: String| DockerError::Unreachable {
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
pub async fn list(
    docker: &Docker,
    project: Option<&str>,
) -> Result<Vec<ContainerInfo>, DockerError> {
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
        .map_err(|e| DockerError::Engine(explain(&e)))?;
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
pub async fn stats_once(docker: &Docker, id: &str) -> Result<StatsSample, DockerError> {
    let opts = StatsOptionsBuilder::default()
        .stream(false)
        .one_shot(false)
        .build();
    let mut s = docker.stats(id, Some(opts));
    match tokio::time::timeout(Duration::from_secs(10), s.next()).await {
        Ok(Some(Ok(v))) => Ok(StatsSample::from_model(&v)),
        Ok(Some(Err(e))) => Err(DockerError::Engine(explain(&e))),
        Ok(None) => Err(DockerError::Engine("no stats".into())),
        Err(_) => Err(DockerError::Engine("stats timed out".into())),
    }
}

/// Streamed stats readings (one per second from the engine), like
/// `docker stats`.
pub fn stats_stream(
    docker: &Docker,
    id: &str,
) -> impl Stream<Item = Result<StatsSample, DockerError>> + Send + use<> {
    let opts = StatsOptionsBuilder::default()
        .stream(true)
        .one_shot(false)
        .build();
    docker.stats(id, Some(opts)).map(|r| {
        r.map(|v| StatsSample::from_model(&v))
            .map_err(|e| DockerError::Engine(explain(&e)))
    })
}

/// The container actions [`container_events`] asks the engine for: every
/// lifecycle action, not `exec_*` (a healthcheck is three of them per
/// container and interval) nor `top`.
pub const CONTAINER_ACTIONS: &[&str] = &[
    "attach",
    "commit",
    "copy",
    "create",
    "destroy",
    "detach",
    "die",
    "export",
    "health_status",
    "kill",
    "oom",
    "pause",
    "rename",
    "resize",
    "restart",
    "start",
    "stop",
    "unpause",
    "update",
];

/// A container lifecycle event: `(action, container id, name)`. The engine
/// filters them ([`CONTAINER_ACTIONS`]), so the healthchecks' `exec_*`
/// events never reach us. (With `health_status` among the values the
/// engine matches them as prefixes, which `health_status: healthy` needs
/// and no `exec_` action meets.)
pub fn container_events(
    docker: &Docker,
) -> impl Stream<Item = Result<(String, String, String), DockerError>> + Send + use<> {
    let filters: HashMap<String, Vec<String>> = HashMap::from([
        ("type".to_string(), vec!["container".to_string()]),
        (
            "event".to_string(),
            CONTAINER_ACTIONS.iter().map(|a| a.to_string()).collect(),
        ),
    ]);
    let opts = bollard::query_parameters::EventsOptionsBuilder::default()
        .filters(&filters)
        .build();
    docker.events(Some(opts)).map(|r| {
        r.map(|ev| {
            let actor = ev.actor.unwrap_or_default();
            let name = actor
                .attributes
                .and_then(|mut a| a.remove("name"))
                .unwrap_or_default();
            (
                ev.action.unwrap_or_default(),
                actor.id.unwrap_or_default(),
                name,
            )
        })
        .map_err(|e| DockerError::Engine(explain(&e)))
    })
}

/// What a container may use and how it is stopped: `docker inspect`'s
/// host configuration, as the console's detail view shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Limits {
    /// CPUs it may use (`--cpus`, or quota / period); `None`: no limit.
    pub cpus: Option<f64>,
    /// Relative CPU weight (`--cpu-shares`); `None`: the default 1024.
    pub cpu_shares: Option<u64>,
    /// CPUs it may run on (`--cpuset-cpus`).
    pub cpuset: Option<String>,
    /// Memory limit in bytes; `None`: no limit.
    pub memory_bytes: Option<u64>,
    pub memory_reservation_bytes: Option<u64>,
    /// Memory plus swap; `Some(-1)` unlimited swap.
    pub memory_swap_bytes: Option<i64>,
    /// Process limit; `None`: no limit.
    pub pids: Option<i64>,
    /// `no`, `always`, `on-failure:3`, `unless-stopped`.
    pub restart_policy: String,
    /// The signal `docker stop` and `restart` send first (SIGTERM when unset).
    pub stop_signal: String,
    /// Seconds between the stop signal and SIGKILL (10 when unset).
    pub stop_timeout: Option<i64>,
    /// RFC 3339, as the engine gives it.
    pub started_at: Option<String>,
    /// Restarts by the restart policy.
    pub restart_count: u64,
}

impl Limits {
    /// Read `GET /containers/{id}/json`.
    pub fn from_inspect(v: &Value) -> Limits {
        let hc = |k: &str| v.pointer(&format!("/HostConfig/{k}"));
        let positive = |k: &str| hc(k).and_then(Value::as_i64).filter(|x| *x > 0);
        let cpus = positive("NanoCpus").map(|n| n as f64 / 1e9).or_else(|| {
            let quota = positive("CpuQuota")?;
            let period = positive("CpuPeriod").unwrap_or(100_000);
            Some(quota as f64 / period as f64)
        });
        let policy = hc("RestartPolicy/Name")
            .and_then(Value::as_str)
            .filter(|p| !p.is_empty())
            .unwrap_or("no");
        let retries = hc("RestartPolicy/MaximumRetryCount")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        Limits {
            cpus,
            cpu_shares: positive("CpuShares").map(|x| x as u64),
            cpuset: hc("CpusetCpus")
                .and_then(Value::as_str)
                .filter(|c| !c.is_empty())
                .map(str::to_string),
            memory_bytes: positive("Memory").map(|x| x as u64),
            memory_reservation_bytes: positive("MemoryReservation").map(|x| x as u64),
            memory_swap_bytes: hc("MemorySwap").and_then(Value::as_i64).filter(|x| *x != 0),
            pids: positive("PidsLimit"),
            restart_policy: if policy == "on-failure" && retries > 0 {
                format!("on-failure:{retries}")
            } else {
                policy.to_string()
            },
            stop_signal: v
                .pointer("/Config/StopSignal")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .unwrap_or("SIGTERM")
                .to_string(),
            stop_timeout: v.pointer("/Config/StopTimeout").and_then(Value::as_i64),
            started_at: v
                .pointer("/State/StartedAt")
                .and_then(Value::as_str)
                .map(str::to_string),
            restart_count: v.get("RestartCount").and_then(Value::as_u64).unwrap_or(0),
        }
    }
}

/// A container's limits, from `docker inspect`.
pub async fn limits(docker: &Docker, id: &str) -> Result<Limits, DockerError> {
    let v = docker
        .inspect_container(id, None::<InspectContainerOptions>)
        .await
        .map_err(|e| DockerError::Engine(explain(&e)))?;
    Ok(Limits::from_inspect(
        &serde_json::to_value(&v).unwrap_or(Value::Null),
    ))
}

/// Whether the container runs now (`docker inspect`'s `State.Running`).
pub async fn running(docker: &Docker, id: &str) -> Result<bool, DockerError> {
    let v = docker
        .inspect_container(id, None::<InspectContainerOptions>)
        .await
        .map_err(|e| DockerError::Engine(explain(&e)))?;
    Ok(v.state.and_then(|s| s.running).unwrap_or(false))
}

/// `docker restart -t SECS`: the container's stop signal (SIGTERM for
/// ragd, which drains in-flight requests), SIGKILL after `timeout_secs`,
/// then start again.
pub async fn restart(docker: &Docker, id: &str, timeout_secs: u32) -> Result<(), DockerError> {
    let opts = RestartContainerOptionsBuilder::default()
        .t(timeout_secs.min(i32::MAX as u32) as i32)
        .build();
    docker
        .restart_container(id, Some(opts))
        .await
        .map_err(|e| DockerError::Engine(explain(&e)))
}

/// `docker stop -t SECS`: the stop signal first, SIGKILL after `timeout_secs`.
pub async fn stop(docker: &Docker, id: &str, timeout_secs: u32) -> Result<(), DockerError> {
    let opts = StopContainerOptionsBuilder::default()
        .t(timeout_secs.min(i32::MAX as u32) as i32)
        .build();
    docker
        .stop_container(id, Some(opts))
        .await
        .map_err(|e| DockerError::Engine(explain(&e)))
}

/// Where a logs stream starts: the last N lines, or every line since a
/// Unix time (seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogsFrom {
    Tail(usize),
    Since(i64),
}

/// `docker logs --follow --tail N` (or `--since T`): stdout and stderr as
/// they come, in chunks that are not cut at line ends ([`LineSplitter`]
/// does that).
pub fn logs(
    docker: &Docker,
    id: &str,
    from: LogsFrom,
) -> impl Stream<Item = Result<bytes::Bytes, DockerError>> + Send + use<> {
    let opts = LogsOptionsBuilder::default()
        .follow(true)
        .stdout(true)
        .stderr(true);
    let opts = match from {
        LogsFrom::Tail(n) => opts.tail(&n.to_string()),
        LogsFrom::Since(t) => opts.since(t.clamp(0, i32::MAX as i64) as i32).tail("all"),
    }
    .build();
    docker.logs(id, Some(opts)).map(|r| {
        r.map(|o| o.into_bytes())
            .map_err(|e| DockerError::Engine(explain(&e)))
    })
}

/// Cuts a stream of log chunks into lines fit for a terminal: split at
/// `\n`, `\r` dropped, tabs expanded, ANSI escape sequences (a program's
/// own colours) and other control characters removed.
#[derive(Debug, Default)]
pub struct LineSplitter {
    partial: Vec<u8>,
}

impl LineSplitter {
    /// The complete lines in `chunk` (with what earlier chunks left over).
    pub fn push(&mut self, chunk: &[u8]) -> Vec<String> {
        self.partial.extend_from_slice(chunk);
        let mut lines = Vec::new();
        while let Some(i) = self.partial.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=i).collect();
            lines.push(clean_line(&line[..line.len() - 1]));
        }
        lines
    }

    /// What is left without a line end (the stream ended).
    pub fn finish(&mut self) -> Option<String> {
        (!self.partial.is_empty()).then(|| clean_line(&std::mem::take(&mut self.partial)))
    }
}

/// One line, printable: escape sequences and control characters out.
pub fn clean_line(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            // ESC [ params intermediates final (CSI), or ESC and one char.
            '\x1b' => {
                if chars.peek() == Some(&'[') {
                    chars.next();
                    for c in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            break;
                        }
                    }
                } else {
                    chars.next();
                }
            }
            '\t' => {
                let pad = 8 - out.chars().count() % 8;
                out.extend(std::iter::repeat_n(' ', pad));
            }
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
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

    #[test]
    fn limits_from_inspect() {
        let v = serde_json::json!({
            "RestartCount": 2,
            "State": {"StartedAt": "2026-11-25T10:00:00.5Z"},
            "Config": {"StopSignal": "SIGINT", "StopTimeout": 45},
            "HostConfig": {"NanoCpus": 1_500_000_000i64, "Memory": 536_870_912i64,
                           "MemorySwap": -1, "PidsLimit": 256, "CpuShares": 0,
                           "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 3}}
        });
        let l = Limits::from_inspect(&v);
        assert_eq!(l.cpus, Some(1.5));
        assert_eq!(l.memory_bytes, Some(512 << 20));
        assert_eq!(l.memory_swap_bytes, Some(-1));
        assert_eq!(l.pids, Some(256));
        assert_eq!(l.cpu_shares, None);
        assert_eq!(l.restart_policy, "on-failure:3");
        assert_eq!(
            (l.stop_signal.as_str(), l.stop_timeout),
            ("SIGINT", Some(45))
        );
        assert_eq!(l.restart_count, 2);
        // Quota and period, nothing else: defaults.
        let l = Limits::from_inspect(&serde_json::json!({
            "HostConfig": {"CpuQuota": 50_000, "CpuPeriod": 100_000, "PidsLimit": -1}
        }));
        assert_eq!(l.cpus, Some(0.5));
        assert_eq!((l.pids, l.memory_bytes), (None, None));
        assert_eq!(
            (l.restart_policy.as_str(), l.stop_signal.as_str()),
            ("no", "SIGTERM")
        );
        assert_eq!(
            Limits::from_inspect(&Value::Null),
            Limits {
                restart_policy: "no".into(),
                stop_signal: "SIGTERM".into(),
                ..Limits::default()
            }
        );
    }

    #[test]
    fn log_lines_are_cut_and_cleaned() {
        let mut s = LineSplitter::default();
        assert!(s.push(b"2026 \x1b[32m INFO\x1b[0m ragd").is_empty());
        assert_eq!(
            s.push(b" listening\r\nnext\tcol\n\x07bell"),
            ["2026  INFO ragd listening", "next    col"]
        );
        assert_eq!(s.finish().as_deref(), Some("bell"));
        assert_eq!(s.finish(), None);
        assert_eq!(clean_line("é\x1b7x".as_bytes()), "éx");
    }
}
