//! Collection rows by name, remembered in process on a single node.
//!
//! Every request that names a collection first looks its row up
//! ([`super::resolve`]): on SQLite that is a round trip to a connection
//! thread and back, about 3 % of an uncached query's own CPU plus two
//! thread switches (docs/BENCHMARKS.md). A row never changes once written,
//! and on a single node this process makes every create and delete, so the
//! row can be kept until the collection is deleted here.
//!
//! Shared stores do not use this: another replica may delete a collection
//! and create one of the same name.
//!
//! A lookup that raced a delete must not put the deleted row back: each
//! delete bumps an epoch under the same lock, and a row read from the store
//! is kept only if no delete happened since the read began.

use std::collections::HashMap;
use std::sync::RwLock;

use crate::meta::CollectionRow;

/// The rows, and the number of deletes so far.
#[derive(Default)]
pub struct Names {
    inner: RwLock<Inner>,
}

#[derive(Default)]
struct Inner {
    rows: HashMap<String, CollectionRow>,
    epoch: u64,
}

impl Names {
    /// The remembered row of `name`, or (not remembered) the epoch to pass
    /// to [`remember`](Names::remember) once the row is read from the store.
    pub fn get(&self, name: &str) -> Result<CollectionRow, u64> {
        let inner = self.read();
        inner.rows.get(name).cloned().ok_or(inner.epoch)
    }

    /// Keep `row`, read from the store after [`get`](Names::get) missed
    /// and returned `epoch`, unless a collection was deleted since.
    pub fn remember(&self, epoch: u64, row: &CollectionRow) {
        let mut inner = self.write();
        if inner.epoch == epoch {
            inner.rows.insert(row.name.clone(), row.clone());
        }
    }

    /// Forget `name`: it was deleted (call after the store's delete).
    pub fn forget(&self, name: &str) {
        let mut inner = self.write();
        inner.epoch += 1;
        inner.rows.remove(name);
    }

    // A panic while holding the lock cannot leave the map half-written
    // (insert and remove are whole), so a poisoned lock is still usable.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::CollectionKey;

    fn row(name: &str) -> CollectionRow {
        CollectionRow {
            key: CollectionKey::random(),
            name: name.into(),
            embedder: "default".into(),
            model: "m".into(),
            dimensions: 3,
            created_at: "now".into(),
        }
    }

    #[test]
    fn a_row_is_kept_until_its_collection_is_deleted() {
        let n = Names::default();
        let r = row("kb");
        let epoch = n.get("kb").unwrap_err();
        n.remember(epoch, &r);
        assert_eq!(n.get("kb"), Ok(r));
        n.forget("kb");
        assert!(n.get("kb").is_err());
    }

    #[test]
    fn a_lookup_that_raced_a_delete_is_not_kept() {
        let n = Names::default();
        let epoch = n.get("kb").unwrap_err(); // a lookup misses, reads the row...
        n.forget("kb"); // ...while the collection is deleted
        n.remember(epoch, &row("kb"));
        let after = n.get("kb").unwrap_err();
        assert_ne!(after, epoch);
        // A lookup after the delete is kept again.
        n.remember(after, &row("kb"));
        assert!(n.get("kb").is_ok());
    }
}
