//! Who may call ragd and how much: API keys, per-client rate limits, and
//! how calls to upstream models survive their failures.

use serde::{Deserialize, Serialize};

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
