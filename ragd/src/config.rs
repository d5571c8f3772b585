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

/// Where ragd keeps its files.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// Data directory: SQLite database and embedded vector shards live here.
    pub data_dir: PathBuf,
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./data"),
        }
    }
}

/// Metadata store (collections, documents, chunk texts).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, tag = "kind", rename_all = "lowercase")]
pub enum MetadataConfig {
    /// SQLite file `ragd.db` in the data directory.
    Sqlite {
        /// Connections in the pool (SQLite allows one writer at a time).
        #[serde(default = "default_sqlite_max")]
        max_connections: u32,
    },
    /// PostgreSQL through sqlx; what several replicas share. With embedded
    /// vectors, PostgreSQL also holds the vector log every replica's local
    /// index follows (see `vectors::follower`).
    Postgres(PostgresConfig),
}

/// PostgreSQL connection pool settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresConfig {
    /// `postgres://user:password@host:port/database`.
    pub url: String,
    /// Connections this replica opens at most.
    #[serde(default = "default_pg_max")]
    pub max_connections: u32,
    /// Connections kept open while idle.
    #[serde(default = "default_pg_min")]
    pub min_connections: u32,
    /// A request waiting longer than this for a connection fails with 503.
    #[serde(default = "default_pg_acquire_ms")]
    pub acquire_timeout_ms: u64,
    /// PostgreSQL cancels a statement running longer than this (0 = never).
    #[serde(default = "default_pg_statement_ms")]
    pub statement_timeout_ms: u64,
    /// Connecting through PgBouncer in transaction mode: no startup
    /// parameters and no prepared statements kept across transactions.
    #[serde(default)]
    pub pgbouncer: bool,
    /// ragd replicas expected to share this database; with
    /// `max_connections` it gives the connection budget checked at start-up
    /// against PostgreSQL's `max_connections`.
    #[serde(default = "default_replicas")]
    pub replicas: u32,
}

fn default_pg_max() -> u32 {
    16
}
fn default_pg_min() -> u32 {
    1
}
fn default_pg_acquire_ms() -> u64 {
    5000
}
fn default_pg_statement_ms() -> u64 {
    10_000
}
fn default_replicas() -> u32 {
    1
}

fn default_sqlite_max() -> u32 {
    8
}

impl Default for MetadataConfig {
    fn default() -> Self {
        MetadataConfig::Sqlite {
            max_connections: default_sqlite_max(),
        }
    }
}

impl MetadataConfig {
    pub fn describe(&self) -> String {
        match self {
            MetadataConfig::Sqlite { .. } => "sqlite".into(),
            MetadataConfig::Postgres(pg) => format!("postgres:{}", redact_url(&pg.url)),
        }
    }
}

/// Vector store.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, tag = "kind", rename_all = "lowercase")]
pub enum VectorsConfig {
    /// In-process Qdrant engine (qdrant-edge), one shard per collection
    /// under `<data_dir>/vectors`.
    Embedded {
        /// Build the HNSW index in the background once a collection has
        /// this many unindexed vectors (below it, brute force is faster).
        #[serde(default = "default_index_threshold")]
        index_threshold: u64,
    },
    /// A Qdrant server over gRPC (qdrant-client), shared by every replica.
    Qdrant(QdrantConfig),
}

/// Qdrant server connection.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QdrantConfig {
    /// gRPC URL, e.g. `http://127.0.0.1:6334`.
    pub url: String,
    /// Environment variable holding the API key, if the server needs one.
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// Prefix of the Qdrant collection names ragd creates.
    #[serde(default = "default_qdrant_prefix")]
    pub collection_prefix: String,
    /// Timeout of one request in milliseconds.
    #[serde(default = "default_qdrant_timeout")]
    pub timeout_ms: u64,
}

fn default_qdrant_prefix() -> String {
    "ragd_".into()
}
fn default_qdrant_timeout() -> u64 {
    10_000
}

fn default_index_threshold() -> u64 {
    2000
}

impl Default for VectorsConfig {
    fn default() -> Self {
        VectorsConfig::Embedded {
            index_threshold: default_index_threshold(),
        }
    }
}

impl VectorsConfig {
    pub fn describe(&self) -> String {
        match self {
            VectorsConfig::Embedded { .. } => "qdrant-edge".into(),
            VectorsConfig::Qdrant(q) => format!("qdrant:{}", redact_url(&q.url)),
        }
    }
}

/// An embedding model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, tag = "kind", rename_all = "lowercase")]
pub enum EmbedderConfig {
    /// The bundled MiniLM (pocket-encoder): 384 dimensions, no download.
    Pocket,
    /// An OpenAI-compatible `/v1/embeddings` endpoint (TEI, vLLM, Ollama, OpenAI).
    Openai {
        /// Base URL, e.g. `http://127.0.0.1:8081` (ragd appends `/v1/embeddings`).
        url: String,
        /// Model name sent in the request.
        model: String,
        /// Vector dimensions the model returns.
        dimensions: u32,
        /// Environment variable holding a bearer token, if the endpoint needs one.
        #[serde(default)]
        api_key_env: Option<String>,
        /// Request timeout in seconds.
        #[serde(default = "default_http_timeout")]
        timeout_secs: u64,
    },
}

fn default_http_timeout() -> u64 {
    30
}

/// How answers are written from the retrieved passages.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, tag = "kind", rename_all = "lowercase")]
pub enum GeneratorConfig {
    /// Built in: picks the passages' most relevant sentences and cites them.
    Extractive {
        /// Sentences in an answer.
        #[serde(default = "default_sentences")]
        max_sentences: u32,
    },
    /// An OpenAI-compatible `/v1/chat/completions` endpoint (vLLM, Ollama,
    /// llama.cpp server, OpenAI).
    Openai {
        url: String,
        model: String,
        #[serde(default)]
        api_key_env: Option<String>,
        #[serde(default = "default_max_tokens")]
        max_tokens: u32,
        #[serde(default)]
        temperature: f32,
        #[serde(default = "default_generate_timeout")]
        timeout_secs: u64,
    },
}

fn default_sentences() -> u32 {
    3
}
fn default_max_tokens() -> u32 {
    512
}
fn default_generate_timeout() -> u64 {
    120
}

impl Default for GeneratorConfig {
    fn default() -> Self {
        GeneratorConfig::Extractive {
            max_sentences: default_sentences(),
        }
    }
}

impl GeneratorConfig {
    pub fn describe(&self) -> String {
        match self {
            GeneratorConfig::Extractive { .. } => "extractive".into(),
            GeneratorConfig::Openai { url, model, .. } => format!("openai:{model}@{url}"),
        }
    }
}

/// Query-result cache.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, tag = "kind", rename_all = "lowercase")]
pub enum CacheConfig {
    /// In-process LRU with TTL; emptied for a collection whenever it changes.
    Memory {
        #[serde(default = "default_cache_entries")]
        max_entries: u64,
        #[serde(default = "default_cache_ttl")]
        ttl_secs: u64,
    },
    /// Shared by every replica through `[redis]`; a change through any
    /// replica empties the collection's entries for all of them.
    Redis {
        #[serde(default = "default_cache_ttl")]
        ttl_secs: u64,
    },
    /// No caching: every query is computed.
    Off,
}

fn default_cache_entries() -> u64 {
    10_000
}
fn default_cache_ttl() -> u64 {
    600
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig::Memory {
            max_entries: default_cache_entries(),
            ttl_secs: default_cache_ttl(),
        }
    }
}

impl CacheConfig {
    pub fn describe(&self) -> String {
        match self {
            CacheConfig::Memory { .. } => "memory".into(),
            CacheConfig::Redis { .. } => "redis".into(),
            CacheConfig::Off => "off".into(),
        }
    }
}

/// Redis connection, shared by the cache, the embedding cache and rate
/// limits. Redis is optional at run time: when it is down, queries are
/// computed without the cache, rate limits count locally, `/status` says
/// `degraded`, and ragd reconnects by itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisConfig {
    /// `redis://host:port/db`.
    pub url: String,
    /// Prefix of every key ragd writes (several deployments can share one Redis).
    #[serde(default = "default_redis_prefix")]
    pub prefix: String,
    /// A Redis call taking longer than this counts as a failure (the query
    /// goes on without the cache).
    #[serde(default = "default_redis_timeout")]
    pub timeout_ms: u64,
    /// Question embeddings are cached this long (0 = no embedding cache).
    #[serde(default = "default_embedding_ttl")]
    pub embedding_ttl_secs: u64,
}

fn default_redis_prefix() -> String {
    "ragd".into()
}
fn default_redis_timeout() -> u64 {
    250
}
fn default_embedding_ttl() -> u64 {
    86_400
}

/// Per-client rate limits on the API routes (not on `/health`, `/ready`,
/// `/metrics`, `/status`), GCRA with a burst (see [`crate::ratelimit`]).
/// The client is the API key when the request carries one, else the peer
/// IP address. Counted in Redis when `[redis]` is set (one budget across
/// all replicas), else per process.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitConfig {
    /// Questions and reads (GETs, `POST .../query`) per client per minute,
    /// sustained; 0 = no limit.
    pub queries_per_minute: u32,
    /// Questions and reads a client with an unused budget may send at once.
    pub query_burst: u32,
    /// Writes (ingests, deletes, collection changes) per client per minute,
    /// sustained; 0 = no limit.
    pub ingests_per_minute: u32,
    /// Writes a client with an unused budget may send at once.
    pub ingest_burst: u32,
}

/// One budget: a sustained rate and a burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub per_minute: u32,
    pub burst: u32,
}

impl RateLimitConfig {
    pub fn queries(&self) -> Rate {
        Rate {
            per_minute: self.queries_per_minute,
            burst: self.query_burst,
        }
    }

    pub fn ingests(&self) -> Rate {
        Rate {
            per_minute: self.ingests_per_minute,
            burst: self.ingest_burst,
        }
    }
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            queries_per_minute: 0,
            query_burst: 10,
            ingests_per_minute: 0,
            ingest_burst: 10,
        }
    }
}

/// How calls to OpenAI-compatible upstreams (remote embedders, the remote
/// generator) survive their failures: retries and a circuit breaker (see
/// [`crate::upstream`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UpstreamConfig {
    /// Retries of a call refused, timed out, or answered 429 or 5xx.
    pub retries: u32,
    /// First backoff before a retry, doubled each time, with jitter.
    pub backoff_ms: u64,
    /// Longest wait before a retry, `Retry-After` included.
    pub max_backoff_ms: u64,
    /// Calls failed in a row (after retries) that open the circuit; 0 = never.
    pub breaker_failures: u32,
    /// Seconds the circuit stays open (calls fail fast) before one probe.
    pub breaker_cooldown_secs: u64,
}

impl Default for UpstreamConfig {
    fn default() -> Self {
        Self {
            retries: 2,
            backoff_ms: 100,
            max_backoff_ms: 5000,
            breaker_failures: 5,
            breaker_cooldown_secs: 10,
        }
    }
}

/// API keys (`ragd keys`, `/v1/keys`): who may call the API.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Require `Authorization: Bearer KEY` on every route but `/health`,
    /// `/ready` and `/openapi.json`.
    pub enabled: bool,
    /// Let ragd start on a non-loopback `server.listen` with `enabled =
    /// false` (anyone who reaches it can read, write and delete).
    pub allow_unauthenticated: bool,
    /// Seconds a verified key is remembered by a replica: the bound on how
    /// long a revoked key keeps working there (0 = look up every request).
    pub cache_secs: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            allow_unauthenticated: false,
            cache_secs: 5,
        }
    }
}

/// A URL without its password, for logs and `/status`.
pub fn redact_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.rsplit_once('@') {
            Some((userinfo, host)) => {
                let user = userinfo.split(':').next().unwrap_or("");
                format!("{scheme}://{user}@{host}")
            }
            None => url.to_string(),
        },
        None => url.to_string(),
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

    /// Threads for CPU-heavy work, resolving 0 to two per core.
    pub fn cpu_threads(&self) -> usize {
        match self.server.cpu_threads {
            0 => {
                2 * std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(1)
            }
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
