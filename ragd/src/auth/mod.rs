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
//! That memory is [`KeyCache`], a map behind a read-write lock rather than
//! the `moka` cache the query cache uses: every authenticated request reads
//! it, and moka's bookkeeping for its eviction policy cost 2,500
//! instructions per read, a tenth of a cached question (`callgrind`, see
//! docs/RELIABILITY.md). Keys are few and their entries tiny, so a full
//! map is simply emptied of stale entries, or of all of them.
//!
//! [`secret`] makes keys and compares them; nothing here logs a key.

pub mod secret;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use ragd_api::KeyScope;

use crate::config::AuthConfig;
use crate::meta::{KeyRow, MetaError, MetaStore};

/// Keys looked up and remembered at most (the cache's bound).
const CACHE_ENTRIES: usize = 10_000;

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
        // The clock is read only for keys that expire.
        self.unusable_from.is_none_or(|t| {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0);
            now < t
        })
    }
}

/// What one replica remembers of the keys it looked up: key id → the key
/// (`None`: no such key), each for `ttl` after its lookup, at most
/// [`CACHE_ENTRIES`] of them.
struct KeyCache {
    ttl: Duration,
    /// foldhash, seeded per process: ids are chosen by whoever sends a
    /// key, so the hash must not be predictable (as FxHash is), and
    /// SipHash cost more than the lookup around it.
    entries: RwLock<HashMap<u64, (Instant, Option<Arc<Known>>), foldhash::fast::RandomState>>,
}

impl KeyCache {
    /// The remembered answer for `id`, if it is younger than the TTL.
    fn get(&self, id: u64) -> Option<Option<Arc<Known>>> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        let (at, known) = entries.get(&id)?;
        (at.elapsed() < self.ttl).then(|| known.clone())
    }

    fn insert(&self, id: u64, known: Option<Arc<Known>>) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= CACHE_ENTRIES && !entries.contains_key(&id) {
            entries.retain(|_, (at, _)| at.elapsed() < self.ttl);
            if entries.len() >= CACHE_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(id, (Instant::now(), known));
    }

    fn forget(&self, id: u64) {
        self.entries
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
    }
}

/// A key id (12 hex digits, checked by [`secret::id_of`]) as a number: the
/// cache's key, cheap to hash.
fn id_number(id: &str) -> Option<u64> {
    u64::from_str_radix(id, 16).ok()
}

/// Verifies API keys; one per process.
pub struct Auth {
    enabled: bool,
    store: Arc<dyn MetaStore>,
    /// What this replica looked up, for `auth.cache_secs` (`None`: 0).
    cache: Option<KeyCache>,
}

impl Auth {
    pub fn new(config: &AuthConfig, store: Arc<dyn MetaStore>) -> Auth {
        let cache = (config.cache_secs > 0).then(|| KeyCache {
            ttl: Duration::from_secs(config.cache_secs),
            entries: RwLock::new(HashMap::default()),
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
        let value = authorization.ok_or(Denied::Missing)?.trim();
        let key = secret::bearer(value).ok_or(Denied::Invalid)?;
        let id = secret::id_of(key).ok_or(Denied::Invalid)?;
        let known = self.lookup(id).await?.ok_or(Denied::Invalid)?;
        let matches = known.hash.is_some_and(|h| secret::matches_hash(key, &h));
        if !matches || !known.usable_now() {
            return Err(Denied::Invalid);
        }
        Ok(known.caller.clone())
    }

    async fn lookup(&self, id: &str) -> Result<Option<Arc<Known>>, MetaError> {
        let number = id_number(id);
        let cache = self.cache.as_ref().zip(number);
        if let Some(hit) = cache.and_then(|(c, n)| c.get(n)) {
            return Ok(hit);
        }
        let known = self
            .store
            .find_key(id)
            .await?
            .map(|r| Arc::new(Known::of(&r)));
        if let Some((c, n)) = cache {
            c.insert(n, known.clone());
        }
        Ok(known)
    }

    /// Drop what this replica remembers of key `id` (after a revoke here).
    pub fn forget(&self, id: &str) {
        if let Some((c, n)) = self.cache.as_ref().zip(id_number(id)) {
            c.forget(n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(ttl: Duration) -> KeyCache {
        KeyCache {
            ttl,
            entries: RwLock::new(HashMap::default()),
        }
    }

    fn known(name: &str) -> Option<Arc<Known>> {
        Some(Arc::new(Known {
            hash: None,
            unusable_from: None,
            caller: Arc::new(Caller {
                name: name.into(),
                scope: KeyScope::Query,
                collections: None,
            }),
        }))
    }

    fn name(hit: Option<Option<Arc<Known>>>) -> Option<Option<String>> {
        hit.map(|k| k.map(|k| k.caller.name.to_string()))
    }

    #[test]
    fn the_cache_remembers_keys_and_unknown_ids_until_forgotten() {
        let c = cache(Duration::from_secs(60));
        assert_eq!(name(c.get(1)), None, "never looked up");
        c.insert(1, known("a"));
        c.insert(2, None);
        assert_eq!(name(c.get(1)), Some(Some("a".into())));
        assert_eq!(name(c.get(2)), Some(None), "an unknown id is remembered");
        c.forget(1);
        assert_eq!(name(c.get(1)), None);
    }

    #[test]
    fn entries_older_than_the_ttl_are_not_used() {
        let c = cache(Duration::from_millis(20));
        c.insert(1, known("a"));
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(name(c.get(1)), None, "stale: looked up again");
        c.insert(1, known("b"));
        assert_eq!(name(c.get(1)), Some(Some("b".into())));
    }

    #[test]
    fn a_full_cache_is_emptied_rather_than_grown() {
        let c = cache(Duration::from_secs(60));
        for id in 0..CACHE_ENTRIES as u64 {
            c.insert(id, None);
        }
        c.insert(0, known("again"));
        assert_eq!(
            c.entries.read().unwrap().len(),
            CACHE_ENTRIES,
            "a known id replaces itself"
        );
        c.insert(u64::MAX, known("new"));
        let entries = c.entries.read().unwrap();
        assert!(entries.len() <= CACHE_ENTRIES, "{}", entries.len());
        assert!(entries.contains_key(&u64::MAX));
    }

    #[test]
    fn ids_are_numbers_of_twelve_hex_digits() {
        assert_eq!(id_number("00000000000f"), Some(15));
        assert_eq!(id_number("ffffffffffff"), Some(0xffff_ffff_ffff));
        assert_eq!(id_number("not hex"), None);
    }
}
