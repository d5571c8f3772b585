//! What an operator sees, built in one place: `/status` (state, config
//! summary, pools, caches, queues, request counters, backend health),
//! `/ready`, and the pool and queue gauges that `/metrics` exports.

use std::future::Future;
use std::time::{Duration, Instant};

use ragd_api::{
    BackendHealth, ConfigSummary, PoolStatus, QueueStatus, Ready, ServiceState, Status,
};

use super::App;

/// How long a backend's health probe may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Probe one backend, bounded by [`PROBE_TIMEOUT`].
async fn probe<F, E>(name: &str, kind: &str, required: bool, fut: F) -> BackendHealth
where
    F: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    let t = Instant::now();
    let result = tokio::time::timeout(PROBE_TIMEOUT, fut).await;
    let error = match result {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(e.to_string()),
        Err(_) => Some(format!("no answer within {} s", PROBE_TIMEOUT.as_secs())),
    };
    BackendHealth {
        name: name.into(),
        kind: kind.into(),
        ok: error.is_none(),
        error,
        latency_ms: t.elapsed().as_secs_f64() * 1000.0,
        required,
    }
}

/// The state the probed backends put ragd in. Without its stores ragd can
/// answer nothing; without an embedder, the generator or Redis, some
/// requests still succeed.
pub fn state_of(backends: &[BackendHealth]) -> ServiceState {
    let stores_down = backends
        .iter()
        .any(|b| !b.ok && (b.name == "metadata" || b.name == "vectors"));
    if stores_down {
        ServiceState::Down
    } else if backends.iter().all(|b| b.ok) {
        ServiceState::Ok
    } else {
        ServiceState::Degraded
    }
}

impl App {
    /// Probe every backend, one after the other.
    pub async fn probe_backends(&self) -> Vec<BackendHealth> {
        let b = &self.backends;
        let mut out = vec![
            probe("metadata", b.meta.kind(), true, b.meta.health()).await,
            probe("vectors", b.vectors.kind(), true, b.vectors.health()).await,
        ];
        for (name, e) in &b.embedders {
            out.push(probe(&format!("embedder:{name}"), e.kind(), true, e.health()).await);
        }
        out.push(probe("generator", b.generator.kind(), true, b.generator.health()).await);
        // Redis only speeds things up and shares counters: without it ragd
        // serves (degraded), so it never makes ragd unready.
        if let Some(redis) = &b.redis {
            out.push(probe("redis", "redis", false, redis.health()).await);
        }
        out
    }

    /// `/ready`: every required backend answers and ragd is not stopping.
    pub async fn ready(&self) -> Ready {
        let backends = self.probe_backends().await;
        let ready =
            backends.iter().all(|b| b.ok || !b.required) && !self.runtime.is_shutting_down();
        Ready { ready, backends }
    }

    /// Every pool with its real occupancy.
    pub fn pools(&self) -> Vec<PoolStatus> {
        let b = &self.backends;
        let cpu = &b.cpu;
        let threads = cpu.threads() as u32;
        let mut pools = vec![
            b.meta.pool_status(),
            PoolStatus {
                name: "cpu".into(),
                kind: "blocking-threads".into(),
                size: threads,
                idle: threads.saturating_sub(cpu.busy() as u32),
                in_use: cpu.busy() as u32,
                max: threads,
                waiting: cpu.waiting() as u32,
                acquire_wait: None,
            },
            PoolStatus {
                name: "cpu-batch".into(),
                kind: "low-priority-threads".into(),
                size: cpu.batch_threads() as u32,
                idle: (cpu.batch_threads() as u32).saturating_sub(cpu.batch_busy() as u32),
                in_use: cpu.batch_busy() as u32,
                max: cpu.batch_threads() as u32,
                waiting: cpu.batch_waiting() as u32,
                acquire_wait: None,
            },
        ];
        pools.extend(self.runtime.pool_status());
        if let Some(redis) = &b.redis {
            pools.push(redis.pool_status());
        }
        pools
    }

    /// Work waiting, by queue.
    pub fn queues(&self) -> Vec<QueueStatus> {
        let b = &self.backends;
        let mut queues = vec![
            QueueStatus {
                name: "cpu".into(),
                depth: b.cpu.waiting(),
            },
            QueueStatus {
                name: "cpu-batch".into(),
                depth: b.cpu.batch_waiting(),
            },
            QueueStatus {
                name: "ingest".into(),
                depth: b.doc_locks.running(),
            },
            QueueStatus {
                name: "vector-indexing".into(),
                depth: b.vectors.pending_work(),
            },
        ];
        if let Some(r) = &b.redis {
            queues.push(QueueStatus {
                name: "redis-in-flight".into(),
                depth: r.in_flight(),
            });
        }
        queues
    }

    fn config_summary(&self) -> ConfigSummary {
        let c = &self.config;
        ConfigSummary {
            listen: c.server.listen.to_string(),
            metadata: c.metadata.describe(),
            vectors: c.vectors.describe(),
            cache: c.cache.describe(),
            generator: c.generator.describe(),
            embedders: self
                .backends
                .embedders
                .iter()
                .map(|(name, e)| format!("{name}={}", e.model()))
                .collect(),
            max_in_flight: c.server.max_in_flight,
            max_body_bytes: c.server.max_body_bytes,
            cpu_threads: self.backends.cpu.threads() as u32,
            cpus: crate::cpus::budget().cpus,
            cpus_source: crate::cpus::budget().source.as_str().into(),
            async_threads: tokio::runtime::Handle::try_current()
                .map_or(0, |h| h.metrics().num_workers() as u32),
        }
    }

    /// `/status`: everything at once, with every backend probed now.
    pub async fn status(&self) -> Status {
        let backends = self.probe_backends().await;
        let b = &self.backends;
        Status {
            version: env!("CARGO_PKG_VERSION").into(),
            uptime_secs: self.uptime_secs(),
            state: state_of(&backends),
            config: self.config_summary(),
            pools: self.pools(),
            caches: vec![b.cache.status(), b.embedding_cache.status()],
            queues: self.queues(),
            requests: self.runtime.request_stats(),
            backends,
        }
    }

    /// Bring the pool and queue gauges of `/metrics` up to date.
    pub fn refresh_gauges(&self) {
        for pool in self.pools() {
            self.metrics.set_pool(&pool);
        }
        for q in self.queues() {
            self.metrics.set_queue(&q);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn health(name: &str, ok: bool, required: bool) -> BackendHealth {
        BackendHealth {
            name: name.into(),
            kind: "k".into(),
            ok,
            error: (!ok).then(|| "down".into()),
            latency_ms: 0.0,
            required,
        }
    }

    #[test]
    fn the_stores_decide_down_the_rest_degraded() {
        let all_ok = [
            health("metadata", true, true),
            health("vectors", true, true),
        ];
        assert_eq!(state_of(&all_ok), ServiceState::Ok);
        let redis_down = [
            health("metadata", true, true),
            health("redis", false, false),
        ];
        assert_eq!(state_of(&redis_down), ServiceState::Degraded);
        let embedder_down = [
            health("vectors", true, true),
            health("embedder:x", false, true),
        ];
        assert_eq!(state_of(&embedder_down), ServiceState::Degraded);
        let meta_down = [
            health("metadata", false, true),
            health("redis", false, false),
        ];
        assert_eq!(state_of(&meta_down), ServiceState::Down);
        assert_eq!(
            serde_json::to_value(ServiceState::Degraded).unwrap(),
            "degraded"
        );
    }
}
