//! The target's containers during a run: which to watch ([`Watch`]: a
//! profile's `[resources]` or `--watch PROJECT[/SERVICE]`), and the
//! [`Sampler`] that reads their Docker stats about once per second while
//! the run goes on.
//!
//! The engine, the container list and the `docker stats` arithmetic are
//! `ragkit-docker`'s, the same code as `ragctl status` and `top`. Each
//! running container of the compose project (and service, when named) gets
//! the engine's stats stream (one reading a second); each reading becomes a
//! [`ResourceSample`]: CPU as `docker stats` computes it divided by the
//! container's CPU limit in cores (`--cpus`, or quota / period; without a
//! limit, the CPUs online), memory as `docker stats` computes it (used
//! over the limit). Containers that start or stop during the run are
//! picked up or dropped at the next listing (every second).
//!
//! Nothing here can fail a run: an unreachable engine or a project with no
//! running container leaves a note (printed once on stderr, and put in the
//! report), and the resource thresholds are then reported as not judged.
//! The per-stage figures and the verdicts are computed from the samples
//! when the report is built (`report/resources.rs`).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use ragkit_docker::bollard::Docker;
use ragkit_docker::docker::{self, ContainerInfo, Limits};
use ragkit_docker::stats::{CpuStats, StatsSample};
use tokio::task::{AbortHandle, JoinHandle, JoinSet};

use crate::report::{ContainerMeta, ResourceSample, Resources};
use crate::run::now_unix_ms;

/// Which containers to sample: a compose project, optionally one of its
/// services (`PROJECT[/SERVICE]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watch {
    /// The `com.docker.compose.project` label (`docker compose -p NAME`).
    pub project: String,
    /// The `com.docker.compose.service` label; `None`: every service.
    pub service: Option<String>,
}

/// Why a `--watch` value could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "{value:?}: expected PROJECT or PROJECT/SERVICE, the compose project (docker compose -p NAME) and optionally one of its services, e.g. \"ragd/ragd\""
)]
pub struct WatchError {
    pub value: String,
}

impl FromStr for Watch {
    type Err = WatchError;

    fn from_str(s: &str) -> Result<Watch, WatchError> {
        let bad = || WatchError { value: s.into() };
        let (project, service) = match s.trim().split_once('/') {
            Some((p, svc)) => (p.trim(), Some(svc.trim())),
            None => (s.trim(), None),
        };
        let name_ok = |n: &str| !n.is_empty() && !n.contains(['/', ' ', '=']);
        if !name_ok(project) || service.is_some_and(|s| !name_ok(s)) {
            return Err(bad());
        }
        Ok(Watch {
            project: project.to_string(),
            service: service.map(str::to_string),
        })
    }
}

impl fmt::Display for Watch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.service {
            Some(s) => write!(f, "{}/{s}", self.project),
            None => f.write_str(&self.project),
        }
    }
}

impl Watch {
    /// Whether `c` is one of the containers this watch samples: running,
    /// not a one-off (`docker compose run`), of the service when named.
    pub fn matches(&self, c: &ContainerInfo) -> bool {
        c.running()
            && !c.oneoff
            && c.project.as_deref() == Some(self.project.as_str())
            && self
                .service
                .as_deref()
                .is_none_or(|s| c.service.as_deref() == Some(s))
    }

    /// What the report says when nothing matched.
    fn nothing_matched(&self) -> String {
        match &self.service {
            Some(s) => format!(
                "no running container of compose service {s:?} in project {:?} was found",
                self.project
            ),
            None => format!(
                "no running container of compose project {:?} was found",
                self.project
            ),
        }
    }
}

/// What the sampling tasks share with [`Sampler::finish`].
#[derive(Default)]
struct Shared {
    samples: Vec<ResourceSample>,
    containers: BTreeMap<String, ContainerMeta>,
    /// Why nothing could be sampled (engine unreachable, list failed).
    note: Option<String>,
    /// The note was printed on stderr already.
    announced: bool,
}

/// Samples the watched containers until [`Sampler::finish`].
pub struct Sampler {
    watch: Watch,
    shared: Arc<Mutex<Shared>>,
    task: JoinHandle<()>,
}

impl Sampler {
    /// Start sampling in the background (on the current tokio runtime).
    pub fn start(watch: Watch) -> Sampler {
        let shared = Arc::new(Mutex::new(Shared::default()));
        let task = tokio::spawn(sample(watch.clone(), shared.clone()));
        Sampler {
            watch,
            shared,
            task,
        }
    }

    /// Stop sampling and return what was gathered, with a note (printed
    /// on stderr unless it was already) when nothing was.
    pub async fn finish(self) -> Resources {
        self.task.abort();
        // Dropping the task's JoinSet aborts the per-container streams.
        let _ = self.task.await;
        let mut shared = std::mem::take(&mut *self.shared.lock().expect("sampler lock"));
        if shared.samples.is_empty() && shared.note.is_none() {
            shared.note = Some(self.watch.nothing_matched());
        }
        if !shared.samples.is_empty() {
            shared.note = None;
        } else if let Some(note) = &shared.note
            && !shared.announced
        {
            eprintln!("loadgen: resources of {} not measured: {note}", self.watch);
        }
        Resources::unaggregated(
            Some(self.watch.to_string()),
            shared.note,
            shared.containers.into_values().collect(),
            shared.samples,
        )
    }
}

/// List the watched containers every second, following each running one's
/// stats stream; on an engine that cannot be reached, note it and stop.
async fn sample(watch: Watch, shared: Arc<Mutex<Shared>>) {
    let d = match docker::connect().await {
        Ok(d) => d,
        Err(e) => {
            let note = e.to_string();
            eprintln!("loadgen: resources of {watch} not measured: {note}");
            let mut s = shared.lock().expect("sampler lock");
            s.note = Some(note);
            s.announced = true;
            return;
        }
    };
    let mut followers = JoinSet::new();
    let mut following: HashMap<String, AbortHandle> = HashMap::new();
    loop {
        match docker::list(&d, Some(&watch.project)).await {
            Ok(list) => {
                let wanted: Vec<&ContainerInfo> =
                    list.iter().filter(|c| watch.matches(c)).collect();
                following.retain(|id, h| {
                    let keep = !h.is_finished() && wanted.iter().any(|c| &c.id == id);
                    if !keep {
                        h.abort();
                    }
                    keep
                });
                for c in wanted {
                    if following.contains_key(&c.id) {
                        continue;
                    }
                    let limits = docker::limits(&d, &c.id).await.unwrap_or_default();
                    shared
                        .lock()
                        .expect("sampler lock")
                        .containers
                        .insert(c.id.clone(), container_meta(c, &limits));
                    let h = followers.spawn(follow(
                        d.clone(),
                        c.short_id().to_string(),
                        c.id.clone(),
                        limits,
                        shared.clone(),
                    ));
                    following.insert(c.id.clone(), h);
                }
            }
            Err(e) => {
                let mut s = shared.lock().expect("sampler lock");
                if s.note.is_none() {
                    s.note = Some(e.to_string());
                }
            }
        }
        // Reap the streams that ended (a container that stopped).
        while followers.try_join_next().is_some() {}
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

fn container_meta(c: &ContainerInfo, limits: &Limits) -> ContainerMeta {
    ContainerMeta {
        id: c.short_id().to_string(),
        name: c.name.clone(),
        service: c.service.clone(),
        cpu_limit_cores: limits.cpus,
        mem_limit_bytes: limits.memory_bytes,
    }
}

/// One container's stats stream, each reading measured against the one
/// before (the first only serves as that base).
async fn follow(
    d: Docker,
    short_id: String,
    id: String,
    limits: Limits,
    shared: Arc<Mutex<Shared>>,
) {
    let mut stream = docker::stats_stream(&d, &id).boxed();
    let mut previous: Option<CpuStats> = None;
    while let Some(Ok(reading)) = stream.next().await {
        if let Some(prev) = &previous
            && let Some(s) = measure(&short_id, &reading, prev, &limits, now_unix_ms())
        {
            shared.lock().expect("sampler lock").samples.push(s);
        }
        previous = Some(reading.cpu_stats.clone());
    }
}

/// One sample from a stats reading and the CPU reading before it: CPU in
/// % of the container's limit in cores (the CPUs online without a limit),
/// memory in % of its limit as `docker stats` shows it. `None` when the
/// reading holds no CPU counters (a container stopping).
pub fn measure(
    id: &str,
    reading: &StatsSample,
    previous: &CpuStats,
    limits: &Limits,
    t_ms: u64,
) -> Option<ResourceSample> {
    reading.cpu_stats.system_cpu_usage?;
    let figures = reading.compute_against(previous);
    let online = match reading.cpu_stats.online_cpus {
        Some(n) if n > 0 => n as f64,
        _ => match reading.cpu_stats.cpu_usage.percpu_usage.as_ref() {
            Some(v) if !v.is_empty() => v.len() as f64,
            _ => std::thread::available_parallelism().map_or(1, |n| n.get()) as f64,
        },
    };
    let limit_cores = limits.cpus.filter(|c| *c > 0.0).unwrap_or(online);
    let cores = figures.cpu_percent / 100.0;
    let round = |v: f64| (v * 1e4).round() / 1e4;
    Some(ResourceSample {
        t_ms,
        id: id.to_string(),
        cpu_pct: round(cores / limit_cores * 100.0),
        mem_pct: round(figures.mem_percent),
        cpu_cores: round(cores),
        cpu_limit_cores: limit_cores,
        mem_bytes: figures.mem_used_bytes,
        mem_limit_bytes: figures.mem_limit_bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watch_values() {
        let w: Watch = "ragd/ragd".parse().unwrap();
        assert_eq!(
            (w.project.as_str(), w.service.as_deref()),
            ("ragd", Some("ragd"))
        );
        assert_eq!(w.to_string(), "ragd/ragd");
        let w: Watch = "shop".parse().unwrap();
        assert_eq!((w.project.as_str(), w.service), ("shop", None));
        for bad in ["", "/ragd", "shop/", "a/b/c", "a b"] {
            let e = bad.parse::<Watch>().unwrap_err().to_string();
            assert!(e.contains("PROJECT/SERVICE"), "{bad}: {e}");
        }
    }

    #[test]
    fn a_sample_is_measured_against_the_limit() {
        // 0.1 s of CPU over 1 s of a 4-CPU host: docker stats shows 10%,
        // which is half of a 0.2-CPU limit.
        let prev = CpuStats {
            cpu_usage: ragkit_docker::stats::CpuUsage {
                total_usage: Some(1_000_000_000),
                percpu_usage: None,
            },
            system_cpu_usage: Some(100_000_000_000),
            online_cpus: Some(4),
        };
        let mut reading = StatsSample::default();
        reading.cpu_stats = CpuStats {
            cpu_usage: ragkit_docker::stats::CpuUsage {
                total_usage: Some(1_100_000_000),
                percpu_usage: None,
            },
            system_cpu_usage: Some(104_000_000_000),
            online_cpus: Some(4),
        };
        reading.memory_stats.usage = Some(300 << 20);
        reading.memory_stats.limit = Some(1 << 30);
        let limits = Limits {
            cpus: Some(0.2),
            ..Limits::default()
        };
        let s = measure("abc", &reading, &prev, &limits, 5).unwrap();
        assert_eq!(s.cpu_cores, 0.1);
        assert_eq!(s.cpu_pct, 50.0);
        assert_eq!(s.cpu_limit_cores, 0.2);
        assert_eq!(s.mem_pct, 29.2969);
        // No limit: of the 4 CPUs online.
        let s = measure("abc", &reading, &prev, &Limits::default(), 5).unwrap();
        assert_eq!((s.cpu_pct, s.cpu_limit_cores), (2.5, 4.0));
        // No counters: no sample.
        assert!(measure("abc", &StatsSample::default(), &prev, &limits, 5).is_none());
    }
}
