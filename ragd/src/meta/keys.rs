//! API keys in the metadata store, so every replica sharing the store
//! (SQLite on one node, PostgreSQL for many) sees the same keys. Only the
//! SHA-256 of each secret is stored; [`crate::auth`] verifies presented
//! secrets against it.

use async_trait::async_trait;
use ragd_api::{KeyInfo, KeyScope};

use super::MetaError;
use super::rows::Columns;

/// A stored key: everything but the secret.
#[derive(Clone, PartialEq)]
pub struct KeyRow {
    /// Public id, the `<id>` of `rgk_<id>_<secret>`; how a key is looked up.
    pub id: String,
    /// Unique name chosen by the operator.
    pub name: String,
    /// Lowercase hex SHA-256 of the whole presented key.
    pub hash: String,
    pub scope: KeyScope,
    /// Collections the key is limited to; empty: all.
    pub collections: Vec<String>,
    /// RFC 3339 UTC, second precision (ordered as text).
    pub created_at: String,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
}

impl std::fmt::Debug for KeyRow {
    // The hash is not the secret, but it is no one's business either.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRow")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("scope", &self.scope)
            .field("collections", &self.collections)
            .field("expires_at", &self.expires_at)
            .field("revoked_at", &self.revoked_at)
            .finish_non_exhaustive()
    }
}

impl KeyRow {
    /// What the API and `ragd keys list` show: never the hash.
    pub fn info(&self) -> KeyInfo {
        KeyInfo {
            name: self.name.clone(),
            id: self.id.clone(),
            scope: self.scope,
            collections: self.collections.clone(),
            created_at: self.created_at.clone(),
            expires_at: self.expires_at.clone(),
            revoked_at: self.revoked_at.clone(),
        }
    }
}

/// The key table of a metadata store.
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// [`MetaError::KeyExists`] if the name is taken.
    async fn create_key(&self, key: &KeyRow) -> Result<(), MetaError>;
    /// Every key, revoked ones included, by name.
    async fn list_keys(&self) -> Result<Vec<KeyRow>, MetaError>;
    async fn find_key(&self, id: &str) -> Result<Option<KeyRow>, MetaError>;
    /// Mark the key revoked at `at` (kept if already revoked); `None` if no
    /// key has this name.
    async fn revoke_key(&self, name: &str, at: &str) -> Result<Option<KeyRow>, MetaError>;
}

/// The columns every key query selects.
pub(super) const KEY_COLUMNS: &str =
    "id, name, hash, scope, collections, created_at, expires_at, revoked_at";

/// Decode a row of [`KEY_COLUMNS`] (the same shapes in both databases).
pub(super) fn key_row(r: &impl Columns) -> Result<KeyRow, MetaError> {
    let scope = r.text("scope")?;
    let collections = r.text("collections")?;
    Ok(KeyRow {
        id: r.text("id")?,
        name: r.text("name")?,
        hash: r.text("hash")?,
        scope: scope
            .parse()
            .map_err(|e| MetaError::Corrupt(format!("api key scope: {e}")))?,
        collections: serde_json::from_str(&collections)
            .map_err(|e| MetaError::Corrupt(format!("api key collections: {e}")))?,
        created_at: r.text("created_at")?,
        expires_at: r.opt_text("expires_at")?,
        revoked_at: r.opt_text("revoked_at")?,
    })
}
