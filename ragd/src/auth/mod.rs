//! Who is calling: API keys verified against the metadata store.
//!
//! [`Auth::verify`] turns an `Authorization: Bearer KEY` header into a
//! [`Caller`] (the key's name, scope and collections) or a [`Denied`].
//! [`crate::http::auth`] decides what each route needs and puts the
//! `Caller` into the request's extensions, where later layers (per-key rate
//! limits) and handlers (filtering the collection list) read it. With
//! `[auth] enabled = false` no `Caller` is inserted at all.
//!
//! Keys live in the metadata store ([`crate::meta::KeyStore`]), so every
//! replica sharing it knows the same keys. Each replica remembers what it
//! looked up for `auth.cache_secs` (default 5 s): that is how long a
//! revoked key can keep working on a replica other than the one that
//! revoked it (the revoking replica forgets it at once). Unknown ids are
//! remembered too, so a flood of made-up keys costs one lookup per id.
//!
//! [`secret`] makes keys and compares them; nothing here logs a key.

pub mod secret;

use std::sync::Arc;
use std::time::Duration;

use ragd_api::KeyScope;

use crate::config::AuthConfig;
use crate::meta::{KeyRow, MetaError, MetaStore};

/// Keys looked up and remembered at most (the cache's bound).
const CACHE_ENTRIES: u64 = 10_000;

/// The verified caller of a request, in its extensions (as an
/// `Arc<Caller>`) when auth is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The key's name (what rate limits and logs name the caller by);
    /// shared, so that a rate-limit check clones no string.
    pub name: Arc<str>,
    pub scope: KeyScope,
    /// Collections the key is limited to; `None`: every collection.
    pub collections: Option<Vec<String>>,
}

impl Caller {
    /// Whether the caller may see and use `collection` (at its scope).
    pub fn sees(&self, collection: &str) -> bool {
        self.collections
            .as_ref()
            .is_none_or(|cs| cs.iter().any(|c| c == collection))
    }

    fn of(row: &KeyRow) -> Caller {
        Caller {
            name: row.name.as_str().into(),
            scope: row.scope,
            collections: (!row.collections.is_empty()).then(|| row.collections.clone()),
        }
    }
}

/// Why a request carries no valid key.
#[derive(Debug, thiserror::Error)]
pub enum Denied {
    #[error("this route needs an API key: send Authorization: Bearer KEY")]
    Missing,
    #[error("the API key is not valid (unknown, revoked or expired)")]
    Invalid,
    /// The key could not be looked up (the metadata store failed).
    #[error("metadata store: {0}")]
    Unavailable(#[from] MetaError),
}

/// A key as the cache keeps it: decoded once when it is looked up, so a
/// request's check hashes the presented key and allocates nothing else
/// (what made auth cost 10% of cached-query throughput).
#[derive(Debug)]
struct Known {
    /// SHA-256 of the whole key (`None`: the stored hash is not valid hex,
    /// so nothing matches it).
    hash: Option<[u8; 32]>,
    /// Unusable from this Unix second on (revoked: at once).
    unusable_from: Option<i64>,
    caller: Arc<Caller>,
}

impl Known {
    fn of(row: &KeyRow) -> Known {
        let expires = row.expires_at.as_deref().map(|e| {
            chrono::DateTime::parse_from_rfc3339(e)
                .map(|t| t.timestamp())
                .unwrap_or(i64::MIN) // unreadable: treat as expired
        });
        Known {
            hash: secret::decode_hash(&row.hash),
            unusable_from: if row.revoked_at.is_some() {
                Some(i64::MIN)
            } else {
                expires
            },
            caller: Arc::new(Caller::of(row)),
        }
    }

    fn usable_now(&self) -> bool {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        self.unusable_from.is_none_or(|t| now < t)
    }
}

/// Verifies API keys; one per process.
pub struct Auth {
    enabled: bool,
    store: Arc<dyn MetaStore>,
    /// Key id → the key (`None`: no such key), for `auth.cache_secs`.
    cache: Option<moka::sync::Cache<String, Option<Arc<Known>>>>,
}

impl Auth {
    pub fn new(config: &AuthConfig, store: Arc<dyn MetaStore>) -> Auth {
        let cache = (config.cache_secs > 0).then(|| {
            moka::sync::Cache::builder()
                .max_capacity(CACHE_ENTRIES)
                .time_to_live(Duration::from_secs(config.cache_secs))
                .build()
        });
        Auth {
            enabled: config.enabled,
            store,
            cache,
        }
    }

    /// Whether requests need keys (`auth.enabled`).
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// The caller named by an `Authorization` header value.
    pub async fn verify(&self, authorization: Option<&str>) -> Result<Arc<Caller>, Denied> {
        let value = authorization.ok_or(Denied::Missing)?;
        let (scheme, key) = value.trim().split_once(' ').ok_or(Denied::Invalid)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(Denied::Invalid);
        }
        let key = key.trim();
        let id = secret::id_of(key).ok_or(Denied::Invalid)?;
        let known = self.lookup(id).await?.ok_or(Denied::Invalid)?;
        let matches = known.hash.is_some_and(|h| secret::matches_hash(key, &h));
        if !matches || !known.usable_now() {
            return Err(Denied::Invalid);
        }
        Ok(known.caller.clone())
    }

    async fn lookup(&self, id: &str) -> Result<Option<Arc<Known>>, MetaError> {
        if let Some(hit) = self.cache.as_ref().and_then(|c| c.get(id)) {
            return Ok(hit);
        }
        let known = self
            .store
            .find_key(id)
            .await?
            .map(|r| Arc::new(Known::of(&r)));
        if let Some(c) = &self.cache {
            c.insert(id.to_string(), known.clone());
        }
        Ok(known)
    }

    /// Drop what this replica remembers of key `id` (after a revoke here).
    pub fn forget(&self, id: &str) {
        if let Some(c) = &self.cache {
            c.invalidate(id);
        }
    }
}
