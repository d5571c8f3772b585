//! API keys: `/v1/keys` (admin only) and `ragd keys ...`. A key has a
//! scope and may be limited to named collections; its secret is shown once,
//! when it is created, and never again (ragd stores only its hash).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The environment variable loadgen and ragctl read an API key from; they
/// send it as `Authorization: Bearer <key>` on every request to ragd.
pub const API_KEY_ENV: &str = "RAGKIT_API_KEY";

/// The API key in [`API_KEY_ENV`], trimmed; `None` when unset or empty.
pub fn api_key_from_env() -> Option<String> {
    let key = std::env::var(API_KEY_ENV).ok()?;
    let key = key.trim();
    (!key.is_empty()).then(|| key.to_string())
}

/// What a key may do. Ordered: each scope includes the ones before it
/// (`Admin` ⊇ `Ingest` ⊇ `Query`), so `have >= need` is the check.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum KeyScope {
    /// Ask questions, read collections and documents.
    Query,
    /// Also ingest and delete documents.
    Ingest,
    /// Also create and delete collections, manage keys, read `/metrics`
    /// and the full `/status`.
    Admin,
}

impl KeyScope {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyScope::Query => "query",
            KeyScope::Ingest => "ingest",
            KeyScope::Admin => "admin",
        }
    }
}

impl std::fmt::Display for KeyScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for KeyScope {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "query" => Ok(KeyScope::Query),
            "ingest" => Ok(KeyScope::Ingest),
            "admin" => Ok(KeyScope::Admin),
            other => Err(format!(
                "unknown scope {other:?}: expected query, ingest or admin"
            )),
        }
    }
}

/// `POST /v1/keys`
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    /// 1-64 characters: letters, digits, `-`, `_`, `.`; unique.
    pub name: String,
    pub scope: KeyScope,
    /// Collections the key is limited to; empty: every collection.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub collections: Vec<String>,
    /// The key stops working this many seconds after it is created;
    /// absent: it never expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_secs: Option<u64>,
}

/// A key as ragd reports it: never its secret nor its hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct KeyInfo {
    pub name: String,
    /// Public part of the secret (`rgk_<id>_...`), to tell keys apart.
    pub id: String,
    pub scope: KeyScope,
    /// Collections the key is limited to; empty: every collection.
    pub collections: Vec<String>,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339; absent: never expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// RFC 3339; present once the key is revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
}

/// `POST /v1/keys` answer (201): the key and its secret, shown this once.
#[derive(Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CreatedKey {
    pub key: KeyInfo,
    /// Send as `Authorization: Bearer <secret>`. ragd keeps only its hash.
    pub secret: String,
}

impl std::fmt::Debug for CreatedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedKey")
            .field("key", &self.key)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// `GET /v1/keys`
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct KeyList {
    pub keys: Vec<KeyInfo>,
}
