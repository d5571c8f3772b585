//! Where ragd keeps data, and the servers it can use for it: the data
//! directory, the metadata store (SQLite or PostgreSQL), the vector store
//! (embedded or a Qdrant server), the query cache and Redis.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Where ragd keeps its files.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// Data directory: SQLite database and embedded vector shards live here.
    pub data_dir: PathBuf,
    /// With shared stores (several replicas), the orphan sweep removes the
    /// vectors of an unfinished ingest only once it is this old: keep it
    /// above the longest ingest. A single node sweeps everything at start.
    pub orphan_grace_secs: u64,
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./data"),
            orphan_grace_secs: 900,
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
