//! The in-process query cache: an LRU with TTL, keyed by collection, the
//! collection's generation and the request. Every change to a collection
//! bumps its generation, so no entry computed before the change can be
//! served after it; the stale entries age out of the LRU.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ragd_api::QueryResponse;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    collection: String,
    generation: u64,
    request: String,
}

pub struct MemoryCache {
    entries: moka::sync::Cache<Key, Arc<QueryResponse>>,
    generations: Mutex<HashMap<String, u64>>,
}

impl MemoryCache {
    pub fn new(max_entries: u64, ttl_secs: u64) -> MemoryCache {
        MemoryCache {
            entries: moka::sync::Cache::builder()
                .max_capacity(max_entries)
                .time_to_live(Duration::from_secs(ttl_secs))
                .build(),
            generations: Mutex::new(HashMap::new()),
        }
    }

    fn generation(&self, collection: &str) -> u64 {
        *self
            .generations
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(collection)
            .unwrap_or(&0)
    }

    /// The entry for `request` under the current generation, and that
    /// generation.
    pub fn get(&self, collection: &str, request: &str) -> (Option<Arc<QueryResponse>>, u64) {
        let generation = self.generation(collection);
        let key = Key {
            collection: collection.to_string(),
            generation,
            request: request.to_string(),
        };
        (self.entries.get(&key), generation)
    }

    /// Store `value` unless the collection changed since `generation` was read.
    pub fn put(
        &self,
        collection: String,
        generation: u64,
        request: String,
        value: Arc<QueryResponse>,
    ) {
        if self.generation(&collection) == generation {
            self.entries.insert(
                Key {
                    collection,
                    generation,
                    request,
                },
                value,
            );
        }
    }

    pub fn invalidate(&self, collection: &str) {
        *self
            .generations
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(collection.to_string())
            .or_insert(0) += 1;
    }

    pub fn entries(&self) -> u64 {
        self.entries.run_pending_tasks();
        self.entries.entry_count()
    }
}
