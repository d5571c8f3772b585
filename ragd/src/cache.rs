//! Query-result cache: answers to repeated questions without embedding or
//! searching again.
//!
//! Entries are keyed by collection, the collection's *generation*, the
//! question and the retrieval parameters. Every change to a collection
//! (ingest, delete) bumps its generation, so no entry computed before the
//! change can ever be served after it; the stale entries age out of the LRU.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ragd_api::{CacheStatus, QueryResponse};

use crate::config::CacheConfig;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey {
    collection: String,
    generation: u64,
    /// Question, top_k and filter, canonically serialised.
    request: String,
}

pub struct QueryCache {
    inner: Option<moka::sync::Cache<CacheKey, Arc<QueryResponse>>>,
    generations: Mutex<HashMap<String, u64>>,
    max_entries: u64,
    ttl_secs: u64,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl QueryCache {
    pub fn new(cfg: &CacheConfig) -> QueryCache {
        let (inner, max_entries, ttl_secs) = match cfg {
            CacheConfig::Memory {
                max_entries,
                ttl_secs,
            } => (
                Some(
                    moka::sync::Cache::builder()
                        .max_capacity(*max_entries)
                        .time_to_live(Duration::from_secs(*ttl_secs))
                        .build(),
                ),
                *max_entries,
                *ttl_secs,
            ),
            CacheConfig::Off => (None, 0, 0),
        };
        QueryCache {
            inner,
            generations: Mutex::new(HashMap::new()),
            max_entries,
            ttl_secs,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The key for a request against the collection's current contents.
    pub fn key(&self, collection: &str, request: String) -> CacheKey {
        let generation = *self
            .generations
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(collection)
            .unwrap_or(&0);
        CacheKey {
            collection: collection.to_string(),
            generation,
            request,
        }
    }

    pub fn get(&self, key: &CacheKey) -> Option<Arc<QueryResponse>> {
        let cache = self.inner.as_ref()?;
        let found = cache.get(key);
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Store a result, unless the collection changed since `key` was made
    /// (then the result may already be stale).
    pub fn put(&self, key: CacheKey, value: Arc<QueryResponse>) {
        let Some(cache) = &self.inner else { return };
        let current = self.key(&key.collection, String::new()).generation;
        if current == key.generation {
            cache.insert(key, value);
        }
    }

    /// Forget everything cached for `collection`.
    pub fn invalidate(&self, collection: &str) {
        *self
            .generations
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(collection.to_string())
            .or_insert(0) += 1;
    }

    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }
    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }

    pub fn status(&self) -> CacheStatus {
        CacheStatus {
            name: "query-results".into(),
            kind: if self.inner.is_some() {
                "memory"
            } else {
                "off"
            }
            .into(),
            entries: self.inner.as_ref().map(|c| c.entry_count()).unwrap_or(0),
            max_entries: self.max_entries,
            hits: self.hits(),
            misses: self.misses(),
            ttl_secs: self.ttl_secs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(answer: &str) -> Arc<QueryResponse> {
        Arc::new(QueryResponse {
            answer: answer.into(),
            mode: ragd_api::RetrievalMode::Hybrid,
            citations: vec![],
            timings: Default::default(),
            cached: false,
        })
    }

    #[test]
    fn invalidation_hides_old_entries_and_refuses_late_puts() {
        let cache = QueryCache::new(&CacheConfig::default());
        let k = cache.key("docs", "q".into());
        cache.put(k.clone(), response("old"));
        assert_eq!(cache.get(&k).unwrap().answer, "old");
        let late = cache.key("docs", "q2".into());
        cache.invalidate("docs");
        let k2 = cache.key("docs", "q".into());
        assert!(cache.get(&k2).is_none());
        // A result computed before the change must not be stored after it.
        cache.put(late.clone(), response("stale"));
        assert!(cache.get(&cache.key("docs", "q2".into())).is_none());
        assert_eq!(cache.hits(), 1);
        assert_eq!(cache.misses(), 2);
        // Other collections are untouched.
        let other = cache.key("other", "q".into());
        cache.put(other.clone(), response("x"));
        cache.invalidate("docs");
        assert!(cache.get(&other).is_some());
    }
}
