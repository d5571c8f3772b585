//! Configuration: one TOML file plus `RAGD_*` environment overrides.
//!
//! Every option has a default, so ragd runs with no file at all. Unknown keys
//! are rejected, and errors name the file, the key and the expected form.
//! Environment variables override the file: `RAGD_SERVER__LISTEN=0.0.0.0:9000`
//! sets `server.listen` (sections and keys joined by a double underscore).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use serde::{Deserialize, Serialize};

mod limits;
mod models;
mod stores;

pub use limits::*;
pub use models::*;
pub use stores::*;

/// The whole configuration of one ragd process.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub storage: StorageConfig,
    pub metadata: MetadataConfig,
    pub vectors: VectorsConfig,
    /// Named embedders; a collection names one when it is created.
    pub embedders: BTreeMap<String, EmbedderConfig>,
    pub generator: GeneratorConfig,
    pub cache: CacheConfig,
    pub chunking: ChunkingConfig,
    pub retrieval: RetrievalConfig,
    /// Redis shared by every replica: query cache (`cache.kind = "redis"`),
    /// question-embedding cache and rate-limit counters. Absent: nothing is
    /// shared through Redis.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redis: Option<RedisConfig>,
    pub rate_limit: RateLimitConfig,
    /// Log format and filter (see [`crate::telemetry`]).
    pub log: crate::telemetry::LogConfig,
    /// OpenTelemetry trace export (cargo feature `otel`).
    pub trace: crate::telemetry::TraceConfig,
    pub auth: AuthConfig,
    pub upstream: UpstreamConfig,
}

impl Default for Config {
    fn default() -> Self {
        let mut embedders = BTreeMap::new();
        embedders.insert(DEFAULT_EMBEDDER.to_string(), EmbedderConfig::Pocket);
        Self {
            server: ServerConfig::default(),
            storage: StorageConfig::default(),
            metadata: MetadataConfig::default(),
            vectors: VectorsConfig::default(),
            embedders,
            generator: GeneratorConfig::default(),
            cache: CacheConfig::default(),
            chunking: ChunkingConfig::default(),
            retrieval: RetrievalConfig::default(),
            redis: None,
            rate_limit: RateLimitConfig::default(),
            log: Default::default(),
            trace: Default::default(),
            auth: AuthConfig::default(),
            upstream: UpstreamConfig::default(),
        }
    }
}

/// Name of the embedder used when a collection does not name one.
pub const DEFAULT_EMBEDDER: &str = "default";

/// HTTP listener and request limits.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Largest accepted request body in bytes (413 above it).
    pub max_body_bytes: u64,
    /// API requests handled at once; more are shed with 503 + Retry-After.
    pub max_in_flight: u32,
    /// Uncached questions are shed (503 + Retry-After) while the CPU queue
    /// holds more than this much work, estimated from its length and the
    /// average job time; so under overload admitted questions keep their
    /// latency. 0: never.
    pub max_queue_wait_ms: u64,
    /// Writes (ingests, deletes) handled at once, inside `max_in_flight`;
    /// more wait up to `ingest_wait_secs`, so bulk loads cannot crowd out
    /// questions.
    pub max_ingests_in_flight: u32,
    /// Seconds a write waits for a slot before 503 `overloaded`.
    pub ingest_wait_secs: u64,
    /// Seconds given to in-flight requests to finish on shutdown.
    pub shutdown_grace_secs: u64,
    /// Threads for CPU-heavy work (embedding, vector search); 0 = two per
    /// core (measured faster than one per core: see docs/BENCHMARKS.md).
    pub cpu_threads: u32,
    /// A second listener serving only `/health`, `/ready`, `/metrics` and
    /// the full `/status`, without API keys (for scrapers; plain HTTP).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_listen: Option<SocketAddr>,
    /// Origins allowed to call the API from a browser (CORS), e.g.
    /// `["https://app.example"]`; empty: no CORS headers.
    pub cors_origins: Vec<String>,
    /// PEM certificate chain: with `tls_key`, `listen` serves HTTPS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of `tls_cert`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_key: Option<PathBuf>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".parse().expect("valid default address"),
            max_body_bytes: 16 * 1024 * 1024,
            max_in_flight: 1024,
            max_queue_wait_ms: 50,
            max_ingests_in_flight: 4,
            ingest_wait_secs: 30,
            shutdown_grace_secs: 30,
            cpu_threads: 0,
            admin_listen: None,
            cors_origins: Vec::new(),
            tls_cert: None,
            tls_key: None,
        }
    }
}

/// How documents are cut into chunks before embedding.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChunkingConfig {
    /// Largest chunk in characters. The bundled model reads 128 tokens
    /// (about 500 characters of English); longer chunks are truncated by it.
    pub size: usize,
    /// Characters shared by neighbouring chunks.
    pub overlap: usize,
}

impl Default for ChunkingConfig {
    fn default() -> Self {
        Self {
            size: 480,
            overlap: 60,
        }
    }
}

/// How passages are found and when they count as relevant.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetrievalConfig {
    /// Mode used when a query names none: `dense`, `sparse` or `hybrid`.
    pub mode: ragd_api::RetrievalMode,
    /// Below this cosine similarity of the best passage (dense and hybrid
    /// modes), the answer says nothing relevant was found instead of quoting
    /// unrelated text. Calibrated on docs/eval/questions.jsonl.
    pub min_relevance: f32,
    /// The `k` of reciprocal rank fusion: score = sum of 1 / (k + rank).
    pub rrf_k: u32,
    /// Weight of the keyword (BM25) ranking in hybrid fusion, the dense
    /// ranking weighing 1 (2 measured best of 1, 1.5, 2, 3).
    pub sparse_weight: f32,
}

impl Default for RetrievalConfig {
    fn default() -> Self {
        Self {
            // Measured best on docs/eval/questions.jsonl (docs/BENCHMARKS.md):
            // BM25 beats the bundled 3-layer MiniLM, and fusing them does not
            // (yet) beat BM25 alone.
            mode: ragd_api::RetrievalMode::Sparse,
            min_relevance: 0.25,
            rrf_k: 60,
            sparse_weight: 2.0,
        }
    }
}

/// A configuration that could not be loaded, with where and why.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {0} does not exist")]
    Missing(PathBuf),
    #[error("{0}")]
    Invalid(String),
}

impl Config {
    /// Load defaults, then `file` (if any), then `RAGD_*` environment variables.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        // Defaults come from serde (`#[serde(default)]`), not from a merged
        // provider: merging would mix a default variant's keys into a
        // different variant chosen by the file (e.g. `[cache] kind = "off"`).
        let mut fig = Figment::new();
        if let Some(path) = file {
            if !path.exists() {
                return Err(ConfigError::Missing(path.to_path_buf()));
            }
            fig = fig.merge(Toml::file_exact(path));
        }
        // RAGD_CONFIG names the file itself; it is not a setting.
        fig = fig.merge(Env::prefixed("RAGD_").ignore(&["config"]).split("__"));
        let cfg: Config = fig.extract().map_err(|e| {
            let mut msg = String::new();
            for err in e {
                if !msg.is_empty() {
                    msg.push('\n');
                }
                msg.push_str(&describe_figment_error(&err));
            }
            ConfigError::Invalid(msg)
        })?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks that serde cannot express.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_access()?;
        let bad = |m: String| Err(ConfigError::Invalid(m));
        if self.chunking.size < 32 {
            return bad(format!(
                "chunking.size must be at least 32 characters, got {}",
                self.chunking.size
            ));
        }
        if self.chunking.overlap >= self.chunking.size {
            return bad(format!(
                "chunking.overlap ({}) must be smaller than chunking.size ({})",
                self.chunking.overlap, self.chunking.size
            ));
        }
        if !(-1.0..=1.0).contains(&self.retrieval.min_relevance) {
            return bad(format!(
                "retrieval.min_relevance is a cosine similarity in -1..=1, got {}",
                self.retrieval.min_relevance
            ));
        }
        self.trace.validate().map_err(ConfigError::Invalid)?;
        if self.server.max_in_flight == 0 {
            return bad("server.max_in_flight must be at least 1".into());
        }
        for (key, rate) in [
            ("query_burst", self.rate_limit.queries()),
            ("ingest_burst", self.rate_limit.ingests()),
        ] {
            if rate.per_minute > 0 && rate.burst == 0 {
                return bad(format!(
                    "rate_limit.{key} must be at least 1 when its budget is limited"
                ));
            }
        }
        if self.server.max_ingests_in_flight == 0 {
            return bad("server.max_ingests_in_flight must be at least 1".into());
        }
        if self.upstream.backoff_ms > self.upstream.max_backoff_ms {
            return bad(format!(
                "upstream.backoff_ms ({}) must not exceed upstream.max_backoff_ms ({})",
                self.upstream.backoff_ms, self.upstream.max_backoff_ms
            ));
        }
        if self.server.max_body_bytes < 1024 {
            return bad("server.max_body_bytes must be at least 1024".into());
        }
        if self.embedders.is_empty() {
            return bad("at least one [embedders.NAME] is required".into());
        }
        if !self.embedders.contains_key(DEFAULT_EMBEDDER) {
            return bad(format!(
                "an embedder named \"{DEFAULT_EMBEDDER}\" is required (used when a collection names none)"
            ));
        }
        for (name, e) in &self.embedders {
            if let EmbedderConfig::Openai {
                url, dimensions, ..
            } = e
            {
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return bad(format!(
                        "embedders.{name}.url must start with http:// or https://, got {url:?}"
                    ));
                }
                if *dimensions == 0 || *dimensions > 65536 {
                    return bad(format!(
                        "embedders.{name}.dimensions must be 1..=65536, got {dimensions}"
                    ));
                }
            }
        }
        if let MetadataConfig::Postgres(pg) = &self.metadata {
            if !(pg.url.starts_with("postgres://") || pg.url.starts_with("postgresql://")) {
                return bad(format!(
                    "metadata.url must start with postgres:// or postgresql://, got {:?}",
                    redact_url(&pg.url)
                ));
            }
            if pg.max_connections == 0 || pg.min_connections > pg.max_connections {
                return bad(format!(
                    "metadata.max_connections must be at least 1 and at least metadata.min_connections ({}), got {}",
                    pg.min_connections, pg.max_connections
                ));
            }
            if pg.replicas == 0 {
                return bad("metadata.replicas must be at least 1".into());
            }
        }
        if let VectorsConfig::Qdrant(q) = &self.vectors
            && !(q.url.starts_with("http://") || q.url.starts_with("https://"))
        {
            return bad(format!(
                "vectors.url must start with http:// or https:// (Qdrant's gRPC port, usually 6334), got {:?}",
                q.url
            ));
        }
        if let Some(r) = &self.redis
            && !(r.url.starts_with("redis://") || r.url.starts_with("rediss://"))
        {
            return bad(format!(
                "redis.url must start with redis:// or rediss://, got {:?}",
                redact_url(&r.url)
            ));
        }
        if matches!(self.cache, CacheConfig::Redis { .. }) && self.redis.is_none() {
            return bad("cache.kind = \"redis\" needs a [redis] section with its url".into());
        }
        if let GeneratorConfig::Openai { url, .. } = &self.generator
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return bad(format!(
                "generator.url must start with http:// or https://, got {url:?}"
            ));
        }
        Ok(())
    }

    /// Secure by default: no open API on a non-loopback address unless the
    /// configuration says so; TLS needs both files; CORS origins are URLs.
    pub fn validate_access(&self) -> Result<(), ConfigError> {
        let bad = |m: String| Err(ConfigError::Invalid(m));
        let listen = self.server.listen;
        if !self.auth.enabled && !self.auth.allow_unauthenticated && !listen.ip().is_loopback() {
            return bad(format!(
                "server.listen = {listen} is not a loopback address and API keys are off: \
                 anyone who reaches it could read, write and delete. Set auth.enabled = true \
                 (and create keys with `ragd keys create`), or set \
                 auth.allow_unauthenticated = true to serve it open on purpose"
            ));
        }
        if self.server.tls_cert.is_some() != self.server.tls_key.is_some() {
            return bad(
                "server.tls_cert and server.tls_key go together: set both or neither".into(),
            );
        }
        for o in &self.server.cors_origins {
            let ok = o == "*"
                || ((o.starts_with("http://") || o.starts_with("https://"))
                    && !o.ends_with('/')
                    && axum::http::HeaderValue::from_str(o).is_ok());
            if !ok {
                return bad(format!(
                    "server.cors_origins: {o:?} is not an origin like \"https://app.example\" (scheme and host, no path) or \"*\""
                ));
            }
        }
        Ok(())
    }

    /// Threads for CPU-heavy work, resolving 0 to two per CPU of the
    /// process's budget (its cgroup quota when it has one, see
    /// [`crate::cpus`]).
    pub fn cpu_threads(&self) -> usize {
        match self.server.cpu_threads {
            0 => crate::cpus::budget().cpu_threads(),
            n => n as usize,
        }
    }

    pub fn to_toml(&self) -> String {
        toml_string(self)
    }
}

fn toml_string(cfg: &Config) -> String {
    toml::to_string_pretty(cfg).unwrap_or_else(|e| format!("# cannot render config: {e}"))
}

fn describe_figment_error(err: &figment::Error) -> String {
    let key = if err.path.is_empty() {
        String::from("(top level)")
    } else {
        err.path.join(".")
    };
    let source = match &err.metadata {
        Some(md) => match &md.source {
            Some(src) => format!(" (from {src})"),
            None => format!(" (from {})", md.name),
        },
        None => String::new(),
    };
    format!("{key}: {}{source}", err.kind)
}

#[cfg(test)]
mod properties {
    //! Any configuration file loads or is refused with a message: never a
    //! panic, whatever the sections, keys and values.
    use proptest::prelude::*;

    use super::*;

    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<i64>().prop_map(|n| n.to_string()),
            any::<u64>().prop_map(|n| n.to_string()),
            any::<f64>().prop_map(|f| format!("{f:?}")),
            any::<bool>().prop_map(|b| b.to_string()),
            "\\PC{0,20}".prop_map(|s| format!("{s:?}")),
            Just("\"0.0.0.0:0\"".to_string()),
            Just("\"http://127.0.0.1:1\"".to_string()),
            Just("\"postgres://x@127.0.0.1:1/db\"".to_string()),
            Just("[]".to_string()),
            Just("{ kind = \"openai\" }".to_string()),
        ]
    }

    fn file() -> impl Strategy<Value = String> {
        let section = prop_oneof![
            Just("server"),
            Just("storage"),
            Just("metadata"),
            Just("vectors"),
            Just("embedders.default"),
            Just("embedders.x"),
            Just("generator"),
            Just("cache"),
            Just("chunking"),
            Just("retrieval"),
            Just("redis"),
            Just("rate_limit"),
            Just("upstream"),
            Just("nonsense"),
        ];
        let key = prop_oneof![
            Just("kind"),
            Just("listen"),
            Just("url"),
            Just("size"),
            Just("overlap"),
            Just("max_in_flight"),
            Just("max_body_bytes"),
            Just("queries_per_minute"),
            Just("query_burst"),
            Just("retries"),
            Just("backoff_ms"),
            Just("max_backoff_ms"),
            Just("max_connections"),
            Just("min_connections"),
            Just("mode"),
            Just("min_relevance"),
            Just("dimensions"),
            Just("timeout_ms"),
            Just("bogus"),
        ];
        prop::collection::vec((section, prop::collection::vec((key, value()), 0..5)), 0..5)
            .prop_map(|sections| {
                sections
                    .into_iter()
                    .map(|(s, kv)| {
                        let body: Vec<String> =
                            kv.into_iter().map(|(k, v)| format!("{k} = {v}")).collect();
                        format!("[{s}]\n{}\n", body.join("\n"))
                    })
                    .collect()
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn any_file_loads_or_says_why(text in prop_oneof![file(), "\\PC{0,200}"]) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("ragd.toml");
            std::fs::write(&path, &text).unwrap();
            if let Err(e) = Config::load(Some(&path)) {
                prop_assert!(!e.to_string().trim().is_empty());
            }
        }
    }
}
