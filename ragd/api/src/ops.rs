//! Operations endpoints: `/health`, `/ready`, `/status`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `GET /health`: the process answers.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Health {
    pub status: String,
    pub version: String,
}

/// `GET /ready`: 200 when every backend is usable, 503 otherwise.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Ready {
    pub ready: bool,
    pub backends: Vec<BackendHealth>,
}

/// One backend's health as seen by ragd.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BackendHealth {
    /// `metadata`, `vectors`, `embedder:NAME`, `cache`, `generator`.
    pub name: String,
    /// `sqlite`, `postgres`, `qdrant-edge`, `pocket-encoder`, `memory`...
    pub kind: String,
    pub ok: bool,
    /// Why it is not ok (absent when ok).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Round-trip time of the health probe in milliseconds.
    pub latency_ms: f64,
    /// Whether ragd needs this backend to serve. An optional one (the Redis
    /// cache) being down makes ragd `degraded`, not unready.
    #[serde(default = "required_default")]
    pub required: bool,
}

fn required_default() -> bool {
    true
}

/// ragd's overall state, as `/status` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ServiceState {
    /// Every backend answers.
    Ok,
    /// Serving, with the embedder, the generator or Redis impaired.
    Degraded,
    /// The metadata or the vector store is unreachable: nothing can be
    /// answered.
    Down,
}

impl ServiceState {
    pub fn as_str(&self) -> &'static str {
        match self {
            ServiceState::Ok => "ok",
            ServiceState::Degraded => "degraded",
            ServiceState::Down => "down",
        }
    }
}

impl std::fmt::Display for ServiceState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `GET /status`: everything an operator needs in one JSON document.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Status {
    pub version: String,
    pub uptime_secs: f64,
    pub state: ServiceState,
    pub config: ConfigSummary,
    pub pools: Vec<PoolStatus>,
    pub caches: Vec<CacheStatus>,
    pub queues: Vec<QueueStatus>,
    pub requests: RequestStats,
    /// Every backend probed for this report.
    #[serde(default)]
    pub backends: Vec<BackendHealth>,
}

/// The parts of the configuration that explain behaviour under load.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ConfigSummary {
    pub listen: String,
    pub metadata: String,
    pub vectors: String,
    pub cache: String,
    pub generator: String,
    pub embedders: Vec<String>,
    pub max_in_flight: u32,
    pub max_body_bytes: u64,
    pub cpu_threads: u32,
    /// The CPUs ragd sized its pools for: its cgroup CPU quota when it has
    /// one (0.25 under `docker run --cpus 0.25`), else its cores.
    #[serde(default)]
    pub cpus: f64,
    /// Where `cpus` came from: `cgroup CPU quota` or `cores`.
    #[serde(default)]
    pub cpus_source: String,
    /// Async worker threads (one per CPU of the budget, rounded up).
    #[serde(default)]
    pub async_threads: u32,
}

/// A pool of connections or workers, with its real occupancy.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PoolStatus {
    /// `metadata`, `cpu`, `http-in-flight`...
    pub name: String,
    pub kind: String,
    /// Members that exist now (open connections, live workers).
    pub size: u32,
    pub idle: u32,
    pub in_use: u32,
    pub max: u32,
    /// Callers waiting for a member right now.
    pub waiting: u32,
    /// Time callers waited to get a member, measured by ragd since start
    /// (absent for pools that do not hand out members).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acquire_wait: Option<AcquireWait>,
}

/// How long callers waited to acquire a pool member (e.g. a connection).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AcquireWait {
    /// Acquisitions measured.
    pub count: u64,
    /// Acquisitions that failed (timed out or backend down).
    pub failed: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// A cache with its size and hit counters since start.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CacheStatus {
    pub name: String,
    pub kind: String,
    pub entries: u64,
    pub max_entries: u64,
    pub hits: u64,
    pub misses: u64,
    pub ttl_secs: u64,
}

/// A queue of pending background work.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct QueueStatus {
    pub name: String,
    pub depth: u64,
}

/// Request counters since start.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RequestStats {
    pub total: u64,
    pub in_flight: u64,
    pub shed: u64,
    pub errors_5xx: u64,
}
