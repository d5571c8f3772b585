//! One picture of the deployment: containers (Docker), ragd replicas, host.
//!
//! [`Snapshot`] is what `ragctl status --json` prints and what `ragctl top`
//! draws from; [`collect`] takes one for `status`. [`Thresholds`] decides what
//! is highlighted and which alerts are raised, in one place for both.

use std::collections::BTreeSet;
use std::time::Duration;

use futures::future::join_all;
use serde::Serialize;

use crate::docker::{self, ContainerInfo};
use crate::host::{HostRow, HostSampler};
use crate::ragd::{self, ReplicaRow, Target};
use crate::stats::ContainerStats;

/// Which containers and replicas to look at.
#[derive(Debug, Clone)]
pub struct Scope {
    /// `--target` URLs; always probed.
    pub targets: Vec<String>,
    /// Compose service whose containers are ragd replicas.
    pub service: String,
    /// Only this compose project (all containers when `None`).
    pub project: Option<String>,
    /// ragd's port inside its containers.
    pub port: u16,
}

/// URL probed when no `--target` is given and Docker shows no replica.
pub const DEFAULT_TARGET: &str = "http://127.0.0.1:8080";

impl Scope {
    /// The replicas to probe: every `--target`, plus the running containers
    /// of the ragd service; [`DEFAULT_TARGET`] when that leaves none.
    pub fn targets(&self, containers: &[ContainerInfo]) -> Vec<Target> {
        let mut out: Vec<Target> = Vec::new();
        let mut seen = BTreeSet::new();
        for t in &self.targets {
            let url = t.trim_end_matches('/').to_string();
            if seen.insert(url.clone()) {
                out.push(Target {
                    name: url.clone(),
                    url,
                });
            }
        }
        for c in containers {
            if c.running()
                && !c.oneoff
                && c.service.as_deref() == Some(self.service.as_str())
                && (self.project.is_none() || c.project == self.project)
                && let Some(url) = c.url_for_port(self.port)
                && seen.insert(url.clone())
            {
                out.push(Target {
                    name: c.name.clone(),
                    url,
                });
            }
        }
        if out.is_empty() {
            out.push(Target {
                name: DEFAULT_TARGET.into(),
                url: DEFAULT_TARGET.into(),
            });
        }
        out
    }
}

/// A container row: identity from `docker ps`, figures from `docker stats`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContainerRow {
    #[serde(flatten)]
    pub info: ContainerInfo,
    /// `None` when the container is not running or stats failed.
    pub stats: Option<ContainerStats>,
    /// Bytes per second between the last two readings (`top` only).
    pub net_rx_per_sec: Option<f64>,
    pub net_tx_per_sec: Option<f64>,
}

/// The Docker side of a snapshot.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DockerSection {
    pub address: String,
    pub reachable: bool,
    /// Why Docker is missing from the picture.
    pub error: Option<String>,
    pub containers: Vec<ContainerRow>,
}

/// Everything `status` prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Snapshot {
    pub docker: DockerSection,
    pub replicas: Vec<ReplicaRow>,
    pub host: HostRow,
    /// Thresholds crossed, one line each.
    pub alerts: Vec<String>,
}

/// What counts as "too much": highlighted in `top`, listed in `status`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Thresholds {
    pub cpu_percent: f64,
    pub mem_percent: f64,
    /// Fraction of requests answered 5xx.
    pub error_rate: f64,
    /// The P95 latency objective in milliseconds.
    pub p95_slo_ms: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            cpu_percent: 80.0,
            mem_percent: 85.0,
            error_rate: 0.05,
            p95_slo_ms: 300.0,
        }
    }
}

impl Thresholds {
    pub fn cpu(&self, pct: f64) -> bool {
        pct > self.cpu_percent
    }
    pub fn mem(&self, pct: f64) -> bool {
        pct > self.mem_percent
    }
    pub fn errors(&self, rate: f64) -> bool {
        rate > self.error_rate
    }
    pub fn p95(&self, ms: f64) -> bool {
        ms > self.p95_slo_ms
    }

    /// One line per threshold crossed.
    pub fn alerts(
        &self,
        containers: &[ContainerRow],
        replicas: &[ReplicaRow],
        host: &HostRow,
    ) -> Vec<String> {
        let mut out = Vec::new();
        if self.cpu(host.cpu_percent) {
            out.push(format!(
                "host: CPU {:.1}% > {}%",
                host.cpu_percent, self.cpu_percent
            ));
        }
        if self.mem(host.mem_percent) {
            out.push(format!(
                "host: memory {:.1}% > {}%",
                host.mem_percent, self.mem_percent
            ));
        }
        for c in containers {
            if let Some(s) = &c.stats {
                if self.cpu(s.cpu_percent) {
                    out.push(format!(
                        "{}: CPU {:.1}% > {}%",
                        c.info.name, s.cpu_percent, self.cpu_percent
                    ));
                }
                if self.mem(s.mem_percent) {
                    out.push(format!(
                        "{}: memory {:.1}% > {}%",
                        c.info.name, s.mem_percent, self.mem_percent
                    ));
                }
            }
            if c.info.health.as_deref() == Some("unhealthy") {
                out.push(format!("{}: unhealthy", c.info.name));
            }
        }
        for r in replicas {
            if !r.up {
                out.push(format!(
                    "replica {}: down ({})",
                    r.name,
                    r.error.as_deref().unwrap_or("no answer")
                ));
                continue;
            }
            if !r.ready {
                out.push(format!(
                    "replica {}: not ready{}",
                    r.name,
                    r.error
                        .as_deref()
                        .map(|e| format!(" ({e})"))
                        .unwrap_or_default()
                ));
            }
            if let Some(e) = r.error_rate.filter(|e| self.errors(*e)) {
                out.push(format!(
                    "replica {}: error rate {:.1}% > {:.1}%",
                    r.name,
                    e * 100.0,
                    self.error_rate * 100.0
                ));
            }
            if let Some(p) = r.p95_ms.filter(|p| self.p95(*p)) {
                out.push(format!(
                    "replica {}: p95 {:.0} ms > SLO {:.0} ms",
                    r.name, p, self.p95_slo_ms
                ));
            }
            for p in r.pools.iter().filter(|p| p.saturated) {
                out.push(format!(
                    "replica {}: pool {} saturated ({}/{} in use, {} waiting)",
                    r.name, p.name, p.in_use, p.max, p.waiting
                ));
            }
        }
        out
    }
}

/// Take one snapshot: container list and stats (engine-side deltas, as
/// `docker stats --no-stream`), two probes of each replica `interval` apart
/// for rates, and the host over the same interval. Never fails: what cannot
/// be read is reported inside the snapshot.
pub async fn collect(scope: &Scope, thresholds: &Thresholds, interval: Duration) -> Snapshot {
    let host = tokio::task::spawn_blocking(move || HostSampler::sample_over(interval));
    let address = docker::engine_address();
    let (containers, docker_error, reachable) = match docker::connect().await {
        Err(e) => (Vec::new(), Some(e.to_string()), false),
        Ok(d) => match docker::list(&d, scope.project.as_deref()).await {
            Err(e) => (Vec::new(), Some(e.to_string()), true),
            Ok(list) => {
                let rows = join_all(list.into_iter().map(|info| {
                    let d = d.clone();
                    async move {
                        let stats = if info.running() {
                            docker::stats_once(&d, &info.id)
                                .await
                                .ok()
                                .map(|s| s.compute())
                        } else {
                            None
                        };
                        ContainerRow {
                            info,
                            stats,
                            net_rx_per_sec: None,
                            net_tx_per_sec: None,
                        }
                    }
                }))
                .await;
                (rows, None, true)
            }
        },
    };
    let infos: Vec<ContainerInfo> = containers.iter().map(|c| c.info.clone()).collect();
    let targets = scope.targets(&infos);
    let client = ragd::client();
    let first = join_all(targets.iter().map(|t| ragd::probe(&client, t))).await;
    tokio::time::sleep(interval).await;
    let second = join_all(targets.iter().map(|t| ragd::probe(&client, t))).await;
    let replicas: Vec<ReplicaRow> = first
        .iter()
        .zip(&second)
        .map(|(a, b)| ReplicaRow::from_probes(Some(a), b))
        .collect();
    let host = host.await.unwrap_or_default();
    let alerts = thresholds.alerts(&containers, &replicas, &host);
    Snapshot {
        docker: DockerSection {
            address,
            reachable,
            error: docker_error,
            containers,
        },
        replicas,
        host,
        alerts,
    }
}
